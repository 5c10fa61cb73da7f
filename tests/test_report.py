"""Scan report documents read back: a report with a wrong type is refused, naming the field."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from scanner.records import FolderRecord, ScanReport, StoreFile, TargetInfo
from scanner.report import (
    ReportError,
    flat_records,
    not_json,
    parse_report,
    report_document,
)

UTC = dt.timezone.utc


def a_report() -> dict:
    folder = FolderRecord(path="/Root - Mailbox/IPM_SUBTREE/Calendar", name="Calendar",
                          local_id=33026, item_count=6, replica_id=1, global_counter=0x10D)
    store = StoreFile(path="C:/Users/a/a.ost", profile_user="a", found_by="default-location",
                      folders=[folder])
    report = ScanReport(started=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), finished=None,
                        target=TargetInfo("folder", "/x", "folder /x"), host=None,
                        files=[store], scan_id="s1")
    return report_document(report)


def test_a_report_reads_back_with_its_values() -> None:
    report = parse_report(a_report(), "a.json")

    assert report.started == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert report.files[0].folders[0].global_counter == 0x10D


@pytest.mark.parametrize(("field", "value", "said"), [
    ("item_count", "lots", "files[0].folders[0].item_count: expected int, got 'lots'"),
    ("created", 12, "files[0].folders[0].created: expected an ISO 8601 time, got 12"),
    ("created", "yesterday", "files[0].folders[0].created: a time without its zone"),
    ("created", "2024-13-40T00:00:00Z", "files[0].folders[0].created: not an ISO 8601 time"),
    ("modified", "2024-03-14T02:37:51", "files[0].folders[0].modified: a time without its"),
    ("global_counter", True, "files[0].folders[0].global_counter: expected int, got True"),
])
def test_a_wrong_type_is_refused_naming_the_field(field: str, value: object, said: str) -> None:
    document = copy.deepcopy(a_report())
    document["files"][0]["folders"][0][field] = value

    with pytest.raises(ReportError, match="a.json: malformed report: " + said.replace("[", r"\[")
                       .replace("]", r"\]").replace("(", r"\(")):
        parse_report(document, "a.json")


def test_flat_records_keep_one_type_per_field() -> None:
    records = list(flat_records(parse_report(a_report(), "a.json")))

    folder = next(r for r in records if r["ostscan.record"] == "folder")
    assert folder["ostscan.folder.global_counter"] == 0x10D


@pytest.mark.parametrize(("edit", "said"), [
    (lambda d: d["files"][0].update(status="weird"), "files[0].status: unknown status 'weird'"),
    (lambda d: d["files"][0].update(sha256="zz"), "files[0].sha256: not a SHA-256 in hex"),
    (lambda d: d["files"][0]["folders"][0].update(item_count=-5),
     "files[0].folders[0].item_count: negative"),
    (lambda d: d["files"][0]["folders"][0].update(database_guid="not-a-guid"),
     "files[0].folders[0].database_guid: not a GUID"),
    (lambda d: d["files"].append(copy.deepcopy(d["files"][0])),
     "file 'C:/Users/a/a.ost' listed twice"),
])
def test_values_a_scan_never_writes_are_refused(edit: object, said: str) -> None:
    document = copy.deepcopy(a_report())
    edit(document)

    with pytest.raises(ReportError, match=re.escape(said)):
        parse_report(document, "a.json")


@pytest.mark.parametrize(("data", "said"), [
    (b"!BDN" + bytes(600), "an Outlook data file (OST/PST), not a scan report"),
    (b"PK\x03\x04" + bytes(100), "a zip archive that cannot be opened (it starts as a zip: cut"),
    (b"  \n", "an empty file, not a scan report"),
    (bytes(range(256)), "binary data, not a scan report"),
    (b'{"schema_version": "1.0", "files": [', "JSON cut short or broken"),
    (b'{"CreationTime":"2024-03-01T08:59:00"}\n{"CreationTime":"x"}\n', "given with --audit"),
    (b"CreationDate,UserIds,Operations,AuditData\n", "given with --audit"),
    (b'{"schema_version":"1.0","ostscan.scan_id":"x","ostscan.record":"file"}\n{}\n',
     "a scan report in JSON lines (scan --format jsonl)"),
])
def test_what_is_given_as_a_report_but_is_not_one_is_named(data: bytes, said: str) -> None:
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        error = exc

    assert said in not_json("input", error, data)
