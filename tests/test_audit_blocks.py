"""Block reading (scanner/audit/bulk.py) gives what the line-by-line reader gives.

Exports of many records, written by tests/auditgen.py, are read with small blocks so that some
blocks are in the compact form (counted in bulk) and some are not (read line by line); the
result must equal reading the whole file line by line, and match the counts known from the
records written.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path

import pytest

from scanner.audit import bulk
from scanner.audit.ingest import ingest
from tests import auditgen
from tests.auditgen import compact

COPIES = 60                 # 60 x the 8 sample records, each Id new
BLOCK = 4096                # a few records a block
CSV_HEADER = ["CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex",
              "ResultCount", "Identity"]


def _records() -> list[dict]:
    """The sample records again and again with new Ids; every third one written twice."""
    return auditgen.repeated_records(COPIES)


def _json_lines(records: list[dict]) -> str:
    lines = [compact(r) for r in records]
    lines[100] = " " + lines[100]                       # not the compact form
    lines[200] = lines[200] + "\r"                      # CRLF from here on
    lines.insert(300, "")                               # a blank line
    lines[350] = lines[350].replace('"Id"', '"Id" ')    # other spacing
    lines[380] = lines[380][:52] + lines[380][53] + "-" + lines[380][54:]   # a dash moved
    # the latest time, written without its T: compared as written, it would sort first
    later = next(i for i in range(400, len(lines)) if '"UserLoggedIn"' in lines[i])
    lines[later] = lines[later][:17] + "2024-03-03 23:00:00" + lines[later][36:]
    lines.insert(420, '{"CreationTime":"2024-03-01T08:59:00","Id":"short"}')   # 51 bytes
    return "\n".join(lines) + "\n"


def _csv(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for index, record in enumerate(records, 1):
        writer.writerow([record["CreationTime"], record["UserId"], record["Operation"],
                         compact(record), index, len(records) + 1, record["Id"]])
    return out.getvalue()


def _read_both(path: Path, monkeypatch: pytest.MonkeyPatch, block: int = BLOCK) -> tuple:
    monkeypatch.setattr(bulk, "BLOCK_SIZE", block)
    batches = []
    original = bulk.RecordBatch.__init__

    def counting(self, *args, **kwargs) -> None:
        batches.append(1)
        original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(bulk.RecordBatch, "__init__", counting)
        in_blocks = ingest([str(path)])
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "open_records", lambda raw: None)
        by_line = ingest([str(path)])
    return in_blocks, by_line, len(batches)


@pytest.mark.parametrize("writer", [_json_lines, _csv])
def test_blocks_read_as_lines_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 writer) -> None:
    records = _records()
    path = auditgen.write_bytes(tmp_path, "export", writer(records).encode())

    in_blocks, by_line, batches = _read_both(path, monkeypatch)

    short = int(writer is _json_lines)      # its one record that is not a sample one
    assert batches > 20
    assert in_blocks == by_line
    assert in_blocks.distinct_records == 8 * COPIES + short
    assert in_blocks.mail_items_accessed == 6 * COPIES
    assert in_blocks.coverage[0].rows == len(records) + short
    assert len(in_blocks.sync_events) == 4 * COPIES
    assert len(in_blocks.bind_events) == 3 * COPIES
    assert in_blocks.duplicates_dropped == len(records) - 8 * COPIES


def test_csv_result_index_gap_is_found_in_blocks(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records()
    path = auditgen.write_bytes(tmp_path, "export.csv", _csv(records).encode())

    in_blocks, by_line, _ = _read_both(path, monkeypatch)

    assert in_blocks.coverage[0].warnings == [
        f"ResultCount {len(records) + 1} but {len(records)} rows present"]
    assert in_blocks.coverage == by_line.coverage


@pytest.mark.parametrize("block", [1500, BLOCK, 5003])
def test_odd_quotes_and_a_quoted_newline_fall_back_to_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    records = _records()
    text = _csv(records).splitlines(keepends=True)
    logins = [i for i, line in enumerate(text) if ",UserLoggedIn," in line]
    # a cell end `}",` inside AuditData (odd quote runs): the line reader cuts the cell there
    text[logins[5]] = text[logins[5]].replace(',""Version"":1,', ',""Version"":""1}","2"",')
    text[logins[9]] = text[logins[9]].replace("UserLoggedIn,", '"UserLogged\r\nIn",', 1)
    path = auditgen.write_bytes(tmp_path, "export.csv", "".join(text).encode())

    in_blocks, by_line, batches = _read_both(path, monkeypatch, block)

    assert batches > 20
    assert in_blocks == by_line
    assert in_blocks.mail_items_accessed == 6 * COPIES
    assert in_blocks.coverage[0].rows == len(records)


def test_a_block_whose_ids_are_not_all_guids_is_read_by_line() -> None:
    lines = [compact(r) for r in _records()[:4]]
    for index in (1, 2):                    # a dash more: as many hex digits lost as dashes won
        lines[index] = lines[index][:76] + "-" + lines[index][77:]
    block = ("\n" + "\n".join(lines) + "\n").encode()
    starts = bulk._line_starts(block)

    assert len(starts) == 4
    assert bulk._json_heads(block, starts) is None
    plain = ("\n" + "\n".join(compact(r) for r in _records()[:4]) + "\n").encode()
    assert bulk._json_heads(plain, starts) is not None


@pytest.mark.parametrize("damage", ["closing quote lost", "stray quote", "row cut short"])
def test_a_row_whose_quotes_do_not_pair_costs_that_row_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    records = _records()
    text = _csv(records).split("\r\n")
    bind = next(i for i, row in enumerate(text) if i > 200 and '""Folders""' in row
                and '""Bind""' in row)
    if damage == "closing quote lost":
        text[bind] = text[bind].replace('}",', "},", 1)
    elif damage == "stray quote":
        text[bind] = text[bind].replace('""Folders""', '""Fold"ers""', 1)
    else:
        text[bind] = text[bind][:len(text[bind]) // 2]
    path = auditgen.write_bytes(tmp_path, "export.csv", "\r\n".join(text).encode())

    in_blocks, by_line, _ = _read_both(path, monkeypatch)

    assert in_blocks == by_line
    assert [e.line for e in in_blocks.errors] == [bind + 1]
    assert in_blocks.coverage[0].rows == len(records)
    assert in_blocks.distinct_records == 8 * COPIES


def _plain_json_lines(records: list[dict]) -> str:
    return "".join(compact(r) + "\n" for r in records)


@pytest.mark.parametrize("writer", [_plain_json_lines, _csv])
def test_blank_lines_cost_no_memory_per_line(tmp_path: Path, writer) -> None:
    text = writer(_records()[:10])
    first_end = text.index("\n") + 1
    blank = text[:first_end] + "\r\n" * 500_000 + text[first_end:]      # 1 MB of blank lines
    path = auditgen.write_bytes(tmp_path, "export", blank.encode())

    tracemalloc.start()
    log = ingest([str(path)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert log.coverage[0].rows == 10
    assert peak < 16 * 2**20
