"""A large export read by two processes (scanner/audit/split.py) gives exactly what one gives.

Exports of a few MB are written from tests/auditgen.py records with new Ids; the split is
forced (no size floor, small blocks) and the AuditLog, and the events in the order
`iter_events` gives them, are compared field by field with reading in one process.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import re
from pathlib import Path

import pytest

from scanner.audit import bulk, split
from scanner.audit import ingest as ingest_module
from scanner.audit.ingest import AuditLog, IngestState, ingest, iter_events
from tests import auditgen
from tests.auditgen import compact

COPIES = 1500               # 1500 x the 8 sample records: about 3 MB
BLOCK = 64 << 10
CSV_HEADER = ["CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex",
              "ResultCount", "Identity"]
FAR_COPIES = (41, 42)       # first-half records written again at the end


def _records(far_copies: bool) -> list[dict]:
    """Sample records with new Ids, every third one twice (positions 3, 6, 9...: copies of the
    one before); `far_copies`: a few first-half records again at the end, one of them a
    damaged one (`_damaged`), so that its whole copy comes after the cut."""
    records = auditgen.repeated_records(COPIES)
    if far_copies:
        records += [records[i] for i in (*FAR_COPIES, _single_mail_items(records, 46))]
    return records


def _single_mail_items(records: list[dict], start: int) -> int:
    """The first MailItemsAccessed record from `start` on that is written once."""
    return next(i for i in range(start, len(records))
                if i % 3 == 1 and records[i]["Operation"] == "MailItemsAccessed")


def _damaged(records: list[dict]) -> tuple[int, ...]:
    """Records cut short: near the start, at a tenth and 400 from the end; each is a
    MailItemsAccessed record written once, so each is parsed and reported."""
    return tuple(_single_mail_items(records, start)
                 for start in (46, len(records) // 10, len(records) - 400))


def _cut(text: str) -> str:
    """A record cut short, as a broken export leaves it."""
    return text[:len(text) * 2 // 3]


def _json_lines(records: list[dict]) -> str:
    damaged = _damaged(records)
    lines = [_cut(compact(r)) if i in damaged else compact(r) for i, r in enumerate(records)]
    middle = len(lines) // 2
    whole_later = _single_mail_items(records, middle + 9)
    lines.insert(middle + 5, _cut(lines[whole_later]))     # a damaged copy, whole one after
    lines.insert(middle - 3, "")                           # a blank line
    return "\n".join(lines) + "\n"


def _csv(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    middle, damaged = len(records) // 2, _damaged(records)
    for index, record in enumerate(records):
        operation = record["Operation"]
        if abs(index - middle) < 3:
            operation = operation[:4] + "\r\n" + operation[4:]    # a quoted newline
        audit = _cut(compact(record)) if index in damaged else compact(record)
        writer.writerow([record["CreationTime"], record["UserId"], operation, audit,
                         index + 1, len(records), record["Id"]])
    return out.getvalue()


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, parts: bool) -> tuple[AuditLog, list]:
    with monkeypatch.context() as patch:
        patch.setattr(split, "MIN_SPLIT_BYTES", 0 if parts else 1 << 62)
        log = ingest([str(path)])
        events = list(iter_events([str(path)], state=IngestState()))
    return log, events


def _spy_absorb(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    taken: list[bool] = []
    original = ingest_module._FileReader.absorb

    def absorb(self, part, line_offset: int) -> bool:
        taken.append(original(self, part, line_offset))
        return taken[-1]

    monkeypatch.setattr(ingest_module._FileReader, "absorb", absorb)
    return taken


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BLOCK_SIZE", BLOCK)
    monkeypatch.setattr(split, "usable_cpus", lambda: 2)


@pytest.mark.parametrize("far_copies", [False, True])
@pytest.mark.parametrize("writer", [_json_lines, _csv])
def test_two_processes_read_as_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        writer, far_copies: bool) -> None:
    records = _records(far_copies)
    path = auditgen.write_bytes(tmp_path, "export", writer(records).encode())
    assert path.stat().st_size > 2 * 2**20
    taken = _spy_absorb(monkeypatch)

    in_parts, events_in_parts = _read(path, monkeypatch, parts=True)
    whole, events_whole = _read(path, monkeypatch, parts=False)

    # the child's part is taken unless a record id of it was met before the cut
    assert taken == [not far_copies] * 2
    assert in_parts == whole
    assert events_in_parts == events_whole
    assert whole.distinct_records == 8 * COPIES
    assert whole.mail_items_accessed == 6 * COPIES
    assert whole.coverage[0].rows == len(records) + (writer is _json_lines)
    if writer is _json_lines:        # line numbers: + 1, + 2 past the two lines put in
        middle = len(records) // 2
        first, second, late = _damaged(records)
        assert [e.line for e in whole.errors] == [first + 1, second + 1, middle + 7, late + 3]
        assert all(e.reason.startswith("truncated") for e in whole.errors)
    else:
        assert len(whole.errors) == 3


def test_a_cut_inside_a_quoted_csv_row_is_read_again(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(False)
    text = _csv(records)
    path = auditgen.write_bytes(tmp_path, "export.csv", text.encode())
    inside = re.search(r',"[A-Za-z-]{4}\r\n', text).end()    # within the quoted cell
    monkeypatch.setattr(split, "find_cut", lambda path, after, part: len(text[:inside].encode()))
    taken = _spy_absorb(monkeypatch)

    in_parts, events_in_parts = _read(path, monkeypatch, parts=True)
    whole, events_whole = _read(path, monkeypatch, parts=False)

    assert taken == []           # the child's part was not even asked for
    assert in_parts == whole
    assert events_in_parts == events_whole
    assert whole.coverage[0].rows == len(records)
    assert len(whole.sync_events) == 4 * COPIES


def test_small_compressed_or_single_cpu_inputs_stay_in_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _json_lines(_records(False)).encode()
    plain = auditgen.write_bytes(tmp_path, "export.jsonl", text)
    packed = auditgen.write_bytes(tmp_path, "export.jsonl.gz", auditgen.gzip_bytes(text))
    sources = {s.name: s for s in split_sources([str(plain), str(packed)])}

    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", 0)
    assert split.worth_splitting(sources[str(plain)])
    assert not split.worth_splitting(sources[f"{packed}!gunzip"])
    monkeypatch.setattr(split, "usable_cpus", lambda: 1)
    assert not split.worth_splitting(sources[str(plain)])
    monkeypatch.setattr(split, "usable_cpus", lambda: 2)
    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", len(text) + 1)
    assert not split.worth_splitting(sources[str(plain)])


def split_sources(paths: list[str]) -> list:
    from scanner.audit.sources import iter_sources
    return list(iter_sources(paths))


def test_a_child_that_fails_leaves_its_part_to_the_parent(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(False)
    path = auditgen.write_bytes(tmp_path, "export.jsonl", _json_lines(records).encode())
    whole, events_whole = _read(path, monkeypatch, parts=False)

    def failing(*args) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(split, "read_part", failing)       # the forked child runs this
    taken = _spy_absorb(monkeypatch)
    in_parts, events_in_parts = _read(path, monkeypatch, parts=True)

    assert taken == []
    assert in_parts == whole
    assert events_in_parts == events_whole
    assert whole.distinct_records == 8 * COPIES


def test_the_child_ends_when_reading_stops_early(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = auditgen.write_bytes(tmp_path, "export.jsonl",
                                _json_lines(_records(False)).encode())
    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", 0)

    events = iter_events([str(path)], state=IngestState())
    first = next(events)
    assert multiprocessing.active_children()
    events.close()

    assert first.record_id == "00000000-0000-4000-8000-000000000002"
    assert multiprocessing.active_children() == []
