"""A `.gz` export or zip member that is cut short or damaged: every record decompressed before
the damage is read, and an error names the input and why the read stopped."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from scanner import exitcodes
from scanner.audit import bulk, sources
from scanner.audit.ingest import exit_code, ingest
from tests import auditgen

WRITERS = {"json-lines": auditgen.f2_json_lines, "csv": auditgen.f4_purview_new}
HEADER_LINES = {"json-lines": 0, "csv": 1}


def _export(name: str, copies: int = 60) -> bytes:
    """Records with distinct Ids (480 of them), one a line."""
    records = list({r["Id"]: r for r in auditgen.repeated_records(copies)}.values())
    return WRITERS[name](records).encode()


def _whole_records(cut_gz: bytes, name: str) -> int:
    """The records whose line ends before the cut: what zlib decompresses of it."""
    text = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut_gz)
    return text.count(b"\n") - HEADER_LINES[name]


@pytest.mark.parametrize("in_blocks", [True, False])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("name", WRITERS)
def test_a_cut_gzip_export_keeps_the_records_before_the_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, keep: float,
        in_blocks: bool) -> None:
    packed = auditgen.gzip_bytes(_export(name))
    cut = packed[:int(len(packed) * keep)]
    path = auditgen.write_bytes(tmp_path, "cut.gz", cut)
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 16 << 10)    # the cut after some blocks, too
    monkeypatch.setattr(sources, "PIECE", 4 << 10)
    if not in_blocks:
        monkeypatch.setattr(bulk, "open_records", lambda raw: None)

    log = ingest([str(path)])

    assert log.distinct_records == _whole_records(cut, name) > 0
    assert [(e.source_file, e.reason.split(":")[0]) for e in log.errors] == [
        (f"{path}!gunzip", f"read stopped after row {log.distinct_records:,}")]
    assert "end-of-stream marker" in log.errors[0].reason
    assert exit_code(log) == exitcodes.PARTIAL


def test_a_gzip_export_damaged_at_its_start_is_named(tmp_path: Path) -> None:
    packed = bytearray(auditgen.gzip_bytes(_export("csv")))
    packed[12:40] = b"\xff" * 28                 # the first deflate block, past the header
    path = auditgen.write_bytes(tmp_path, "damaged.csv.gz", bytes(packed))

    log = ingest([str(path)])

    assert [(e.source_file, e.reason) for e in log.errors] == [
        (f"{path}!gunzip",
         "unreadable: Error -3 while decompressing data: invalid code lengths set")]
    assert exit_code(log) == exitcodes.FAILED


def test_a_whole_gzip_export_reads_as_the_plain_one(tmp_path: Path) -> None:
    data = _export("json-lines", copies=300)
    plain = auditgen.write_bytes(tmp_path, "export.jsonl", data)
    packed = auditgen.write_bytes(tmp_path, "export.jsonl.gz", auditgen.gzip_bytes(data))

    plain_log, packed_log = ingest([str(plain)]), ingest([str(packed)])

    assert packed_log.errors == []
    assert packed_log.distinct_records == plain_log.distinct_records == 8 * 300
    assert len(packed_log.sync_events) == len(plain_log.sync_events)


def test_a_zip_member_that_fails_its_check_keeps_its_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CRC that does not match is found on the member's last piece, which zipfile drops: the
    records before that piece are kept, and the member is named in an error."""
    data = _export("json-lines")
    archive = bytearray(auditgen.zip_bytes({"audit.jsonl": data}))
    entry = archive.index(b"PK\x01\x02")          # the central directory entry
    crc = struct.unpack_from("<I", archive, entry + 16)[0]
    struct.pack_into("<I", archive, entry + 16, crc ^ 1)
    path = auditgen.write_bytes(tmp_path, "export.zip", bytes(archive))
    monkeypatch.setattr(sources, "PIECE", 4 << 10)

    log = ingest([str(path)])

    lines = data.splitlines(keepends=True)
    lost = b"".join(lines[log.distinct_records:])
    assert 0 < len(lost) <= sources.PIECE + max(map(len, lines))
    assert [(e.source_file, e.reason) for e in log.errors] == [
        (f"{path}!audit.jsonl", f"read stopped after row {log.distinct_records}: "
                                "Bad CRC-32 for file 'audit.jsonl'")]
    assert exit_code(log) == exitcodes.PARTIAL
