"""A text file given to scan by itself is no Outlook store: its reason says which command it was
probably meant for, from its first bytes."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from scanner.scan import ScanOptions, scan_path

NOT_PFF = "not a PFF file: no !BDN signature"
AUDIT = NOT_PFF + " (this looks like an audit export: use `ostscan audit`)"
REPORT = NOT_PFF + " (this looks like a scan report: use `ostscan collect` or " \
    "`ostscan correlate --report`)"

CSV_HEADER = "CreationDate,UserIds,Operations,AuditData\r\n2024-01-15T09:00:00,a@b.c,Sync,{}\r\n"
RECORD = {"CreationTime": "2024-01-15T09:00:00", "Operation": "MailItemsAccessed"}
SCAN_REPORT = {"schema_version": "1.0", "document": "ostscan.scan_report",
               "target": {"kind": "file", "path": "a.ost"}, "files": []}


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("recs.jsonl", (json.dumps(RECORD) + "\n").encode(), AUDIT),
    ("recs.json", b"  [\n" + json.dumps(RECORD).encode() + b"]", AUDIT),
    ("export.csv", CSV_HEADER.encode(), AUDIT),
    ("export-bom.csv", codecs.BOM_UTF8 + CSV_HEADER.encode(), AUDIT),
    ("export-utf16.csv", codecs.BOM_UTF16_LE + CSV_HEADER.encode("utf-16-le"), AUDIT),
    ("export-utf16-nobom.csv", CSV_HEADER.encode("utf-16-le"), AUDIT),
    ("PC-1.json", json.dumps(SCAN_REPORT, indent=2).encode(), REPORT),
    ("notes.txt", b"hello\n", NOT_PFF),
    ("random.bin", bytes(range(256)) * 4, NOT_PFF),
])
def test_a_file_given_alone_says_what_it_looks_like(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(content)

    [store] = scan_path(str(tmp_path / name), ScanOptions()).files

    assert (store.status, store.reason) == ("not-pff", reason)


def test_a_text_file_found_in_a_folder_gets_no_hint(tmp_path: Path) -> None:
    (tmp_path / "export.ost").write_text(CSV_HEADER, encoding="utf-8")

    [store] = scan_path(str(tmp_path), ScanOptions()).files

    assert (store.path, store.status, store.reason) == ("export.ost", "not-pff", NOT_PFF)
