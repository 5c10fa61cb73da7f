"""An input that ends inside a record looks cut short: a coverage warning names its last line
and the exit code is 1, also when the cut record is a copy of one read whole before (its data
is then not lost, but the records after it are)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from scanner import exitcodes
from scanner.audit import bulk, split
from scanner.audit.ingest import AuditLog, exit_code, ingest
from tests import auditgen
from tests.auditgen import compact

CUT = "ends inside a record"
CSV_HEADER = ["CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex",
              "ResultCount", "Identity"]


def _cut_lines(log: AuditLog) -> list[str]:
    return [w for c in log.coverage for w in c.warnings if CUT in w]


def _records(copies: int, last_is_a_copy: bool) -> list[dict]:
    """Sample records with new Ids; the last one a copy of a record read before, or new."""
    records = auditgen.repeated_records(copies)
    if last_is_a_copy:
        return [*records, records[1]]
    return [*records, {**records[1], "Id": "00000000-0000-4000-8000-999999999999"}]


def _json_lines(records: list[dict], keep: float) -> str:
    lines = [compact(r) for r in records]
    return "\n".join(lines[:-1] + [lines[-1][:int(len(lines[-1]) * keep)]])


def _csv(records: list[dict], keep: float) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for index, record in enumerate(records, 1):
        writer.writerow([record["CreationTime"], record["UserId"], record["Operation"],
                         compact(record), index, len(records), record["Id"]])
    text = out.getvalue()
    last = text.rstrip("\r\n").rfind("\n") + 1
    return text[:last + int((len(text) - last) * keep)]


@pytest.mark.parametrize("name", auditgen.FORMATS)
def test_a_whole_export_is_not_said_to_be_cut(tmp_path: Path, name: str) -> None:
    log = ingest([str(auditgen.write_format(tmp_path, name))])

    assert _cut_lines(log) == []


@pytest.mark.parametrize("in_blocks", [True, False])
@pytest.mark.parametrize("last_is_a_copy", [True, False])
def test_json_lines_cut_inside_the_last_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               in_blocks: bool, last_is_a_copy: bool) -> None:
    records = _records(20, last_is_a_copy)
    path = auditgen.write_bytes(tmp_path, "cut.jsonl", _json_lines(records, 0.6).encode())
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 4096)
    if not in_blocks:
        monkeypatch.setattr(bulk, "open_records", lambda raw: None)

    log = ingest([str(path)])

    assert _cut_lines(log) == [f"{CUT} (line {len(records):,}): the input looks cut short, "
                               "later records are probably missing"]
    assert exit_code(log) == exitcodes.PARTIAL
    assert log.distinct_records == 8 * 20 + (not last_is_a_copy)
    assert [e.line for e in log.errors] == ([] if last_is_a_copy else [len(records)])


def test_blank_lines_after_the_cut_record_do_not_hide_it(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(20, True)
    text = _json_lines(records, 0.5) + "\n" * 5000
    path = auditgen.write_bytes(tmp_path, "cut.jsonl", text.encode())
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 4096)

    log = ingest([str(path)])

    assert [w.split(":")[0] for w in _cut_lines(log)] == [f"{CUT} (line {len(records)})"]


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_csv_cut_inside_the_last_row(tmp_path: Path, keep: float) -> None:
    """Inside AuditData (a quoted cell left open), or in a cell after it (cells missing)."""
    records = _records(20, True)
    path = auditgen.write_bytes(tmp_path, "cut.csv", _csv(records, keep).encode())

    log = ingest([str(path)])

    assert [w.split(":")[0] for w in _cut_lines(log)] == [f"{CUT} (line {len(records) + 1:,})"]
    assert exit_code(log) == exitcodes.PARTIAL


@pytest.mark.parametrize("cut", ["inside the last record", "before the closing bracket"])
def test_a_json_array_cut_short(tmp_path: Path, cut: str) -> None:
    text = auditgen.f1_management_api_blob(_records(3, True)).rstrip()
    assert text.endswith("]")
    text = text[:-1] if cut == "before the closing bracket" else text[:-40]
    path = auditgen.write_bytes(tmp_path, "cut.json", text.encode())

    log = ingest([str(path)])

    assert len(_cut_lines(log)) == 1
    assert exit_code(log) == exitcodes.PARTIAL


@pytest.mark.parametrize("writer", [_json_lines, _csv])
def test_two_processes_find_the_cut_at_the_end_only(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     writer) -> None:
    records = _records(1500, True)
    path = auditgen.write_bytes(tmp_path, "cut", writer(records, 0.5).encode())
    whole = auditgen.write_bytes(tmp_path, "whole", writer(records, 1.0).encode())
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 64 << 10)
    monkeypatch.setattr(split, "usable_cpus", lambda: 2)
    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", 0)
    parts = []
    real_plan = split._plan
    monkeypatch.setattr(split, "_plan", lambda name: parts.append(real_plan(name)) or parts[-1])

    cut_log, whole_log = ingest([str(path)]), ingest([str(whole)])

    assert all(plan is not None for plan in parts)
    assert len(_cut_lines(cut_log)) == 1
    assert f"line {len(records) + (writer is _csv):,})" in _cut_lines(cut_log)[0]
    assert _cut_lines(whole_log) == []


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\n\n  \n"])
def test_a_cut_last_line_followed_by_a_newline_is_found(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        ending: str) -> None:
    records = _records(20, True)
    path = auditgen.write_bytes(tmp_path, "cut.jsonl", (_json_lines(records, 0.5)
                                                        + ending).encode())
    monkeypatch.setattr(bulk, "BLOCK_SIZE", 4096)

    log = ingest([str(path)])

    assert [w.split(":")[0] for w in _cut_lines(log)] == [f"{CUT} (line {len(records)})"]
