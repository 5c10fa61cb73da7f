"""`ostscan audit` leaves the access times of the exports it reads, and of the folders it lists,
as they were: plain, gzip, zip, and a large file read by two processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner.audit import bulk, split
from scanner.audit.ingest import ingest
from tests import auditgen

pytestmark = pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is Linux-only")

ACCESSED = 1577836800 * 10**9      # 2020-01-01: older than the modification time, so that
MODIFIED = 1609459200 * 10**9      # 2021-01-01   a relatime mount would update it on a read


def _exports(folder: Path) -> list[Path]:
    """The sample records as JSON lines: plain, gzipped and zipped, in a folder and below."""
    data = auditgen.f2_json_lines(auditgen.repeated_records(40)).encode()
    (folder / "more").mkdir(parents=True)
    return [folder, folder / "more",
            auditgen.write_bytes(folder, "export.jsonl", data),
            auditgen.write_bytes(folder, "export.jsonl.gz", auditgen.gzip_bytes(data)),
            auditgen.write_bytes(folder / "more", "export.zip",
                                 auditgen.zip_bytes({"audit.jsonl": data}))]


def _set_old_access_times(paths: list[Path]) -> None:
    for path in reversed(paths):       # children first: setting times does not touch a parent
        os.utime(path, ns=(ACCESSED, MODIFIED))


def _touched(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths if p.stat().st_atime_ns != ACCESSED]


@pytest.mark.parametrize("given", ["files", "folder"])
def test_reading_exports_keeps_their_access_times(tmp_path: Path, given: str) -> None:
    paths = _exports(tmp_path / "evidence")
    _set_old_access_times(paths)
    inputs = paths[2:] if given == "files" else paths[:1]

    log = ingest([str(p) for p in inputs])

    assert log.distinct_records == 8 * 40
    assert _touched(paths, tmp_path) == []


def test_a_file_read_by_two_processes_keeps_its_access_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = auditgen.write_bytes(tmp_path, "export.jsonl", auditgen.f2_json_lines(
        auditgen.repeated_records(400)).encode())
    _set_old_access_times([path])
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 64 << 10)
    monkeypatch.setattr(split, "usable_cpus", lambda: 2)
    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", 0)

    log = ingest([str(path)])

    assert log.distinct_records == 8 * 400
    assert _touched([path], tmp_path) == []
