"""The quirks of research §2.1, each in a file written by tests/auditgen.py."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import tracemalloc
from pathlib import Path

import pytest

from scanner import exitcodes
from scanner.audit import containers
from scanner.audit.ingest import exit_code, ingest, iter_events, record_digest
from tests import auditgen
from tests.auditgen import compact, encode, f2_json_lines, f3_purview_classic, sample_records


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom",
                                      "utf-16-le"])
@pytest.mark.parametrize("writer", [f2_json_lines, f3_purview_classic])
def test_encodings(tmp_path: Path, encoding: str, writer) -> None:
    path = auditgen.write_bytes(tmp_path, "export", encode(writer(sample_records()), encoding))

    log = ingest([str(path)])

    assert (log.distinct_records, len(log.sync_events), log.errors) == (8, 4, [])


def test_semicolon_csv_and_pretty_printed_cell(tmp_path: Path) -> None:
    rows = "".join(f'x;"{json.dumps(r, indent=2).replace(chr(34), chr(34) * 2)}"\r\n'
                   for r in sample_records())
    path = auditgen.write_bytes(tmp_path, "e.csv", ("Operations;AuditData\r\n" + rows).encode())

    log = ingest([str(path)])

    assert (log.distinct_records, len(log.sync_events), log.errors) == (8, 4, [])
    assert log.coverage[0].rows == 8


def test_json_lines_with_blank_lines_and_one_object(tmp_path: Path) -> None:
    records = sample_records()
    lines = "\n\n".join(compact(r) for r in records) + "\n\n\n"
    single = json.dumps(records[1], indent=2)
    paths = [auditgen.write_bytes(tmp_path, "a.jsonl", lines.encode()),
             auditgen.write_bytes(tmp_path, "b.json", single.encode())]

    log = ingest([str(p) for p in paths])

    assert log.distinct_records == 8
    assert log.duplicates_dropped == 1
    assert [c.format for c in log.coverage] == ["json-lines", "json"]


def test_sub_objects_as_strings_keys_in_other_case_and_types_as_strings(tmp_path: Path) -> None:
    record = auditgen.sync_item_record(2, "2024-03-01T09:00:05", 0x10C, "Inbox")
    record["Item"] = compact(record["Item"])
    record["OperationProperties"] = compact(record["OperationProperties"])
    record["RecordType"] = "ExchangeItemSomethingNew"
    record["LogonType"] = "0"
    record["ExternalAccess"] = "False"
    lowered = {k[0].lower() + k[1:]: v for k, v in record.items()}
    path = auditgen.write_bytes(tmp_path, "x", compact(lowered).encode())

    events = list(iter_events([str(path)]))

    assert len(events) == 1
    assert events[0].kind == "sync"
    assert events[0].logon_type == 0
    assert events[0].throttled is False
    assert events[0].global_counter == 0x10C
    assert events[0].folder_name == "Inbox"


def test_time_with_zone_and_fraction_is_utc(tmp_path: Path) -> None:
    record = auditgen.sync_item_record(2, "2024-03-01T09:00:05.1234567Z", 0x10C, "Inbox")
    path = auditgen.write_bytes(tmp_path, "x", compact(record).encode())

    event = next(iter_events([str(path)]))

    assert event.time.isoformat() == "2024-03-01T09:00:05.123456+00:00"


@pytest.mark.parametrize(("raw", "expected"), [
    ("[2001:db8::1]:443", "2001:db8::1"), ("192.0.2.4:50123", "192.0.2.4"),
    ("::ffff:192.0.2.9", "192.0.2.9"), ("2001:DB8:0:0::1", "2001:db8::1"),
    ("not-an-ip", "not-an-ip")])
def test_client_ip_forms(tmp_path: Path, raw: str, expected: str) -> None:
    record = auditgen.sync_item_record(2, "2024-03-01T09:00:05", 0x10C, "Inbox")
    record["ClientIPAddress"] = raw
    path = auditgen.write_bytes(tmp_path, "x", compact(record).encode())

    assert next(iter_events([str(path)])).client_ip == expected


def test_truncated_audit_data_is_kept_and_flagged(tmp_path: Path) -> None:
    records = sample_records()
    text = compact(records[5])                       # Bind, two folders
    cut = text[:text.index("m6.268.1")]              # inside the first folder's second item
    lines = [compact(r) for r in records[:5]] + [cut]
    path = auditgen.write_bytes(tmp_path, "x.jsonl", "\n".join(lines).encode())

    log = ingest([str(path)])

    assert len(log.bind_events) == 1
    bind = log.bind_events[0]
    assert bind.damage.startswith("truncated")
    assert [i.internet_message_id for i in bind.items] == ["<m6.268.0@contoso.example>"]
    assert bind.global_counter == 0x10C
    assert [(e.line, e.reason[:9]) for e in log.errors] == [(6, "truncated")]


def test_whole_copy_wins_over_a_damaged_one(tmp_path: Path) -> None:
    record = sample_records()[5]
    whole = compact(record)
    damaged = whole[:len(whole) // 2]
    first = auditgen.write_bytes(tmp_path, "1.jsonl", damaged.encode())
    second = auditgen.write_bytes(tmp_path, "2.jsonl", whole.encode())

    log = ingest([str(first), str(second)])

    assert len(log.bind_events) == 2
    assert all(e.damage is None for e in log.bind_events)
    assert log.duplicates_dropped == 1
    assert log.mail_items_accessed == 1


def test_powershell_flattened_record_is_recovered_and_flagged(tmp_path: Path) -> None:
    record = auditgen.sync_item_record(2, "2024-03-01T09:00:05", 0x10C, "Inbox")
    record["OperationProperties"] = ["@{Name=MailAccessType; Value=Sync}",
                                     "@{Name=IsThrottled; Value=False}"]
    record["Item"] = {"Id": record["Item"]["Id"], "ParentFolder": "System.Object[]"}
    path = auditgen.write_bytes(tmp_path, "x", compact(record).encode())

    log = ingest([str(path)])

    event = log.sync_events[0]
    assert "flattened" in event.damage
    assert event.global_counter == 0x10C           # from Item.Id, ParentFolder was lost
    assert len(log.errors) == 1


def test_flattened_access_type_is_not_guessed(tmp_path: Path) -> None:
    record = auditgen.sync_item_record(2, "2024-03-01T09:00:05", 0x10C, "Inbox")
    record["OperationProperties"] = "System.Object[]"
    path = auditgen.write_bytes(tmp_path, "x", compact(record).encode())

    log = ingest([str(path)])

    assert (len(log.sync_events), len(log.bind_events), len(log.other_events)) == (0, 0, 1)
    assert log.other_events[0].kind == "unknown"


def test_duplicates_across_files_and_containers(tmp_path: Path) -> None:
    data = f2_json_lines(sample_records()).encode()
    plain = auditgen.write_bytes(tmp_path, "a.jsonl", data)
    packed = auditgen.write_bytes(tmp_path, "b.bin", auditgen.gzip_bytes(data))
    archive = auditgen.write_bytes(tmp_path, "c.zip", auditgen.zip_bytes(
        {"day1/ual.csv": f3_purview_classic(sample_records()).encode(),
         "day2/ual.json.gz": auditgen.gzip_bytes(data)}))

    log = ingest([str(plain), str(packed), str(archive)])

    assert log.distinct_records == 8
    assert log.duplicates_dropped == 24
    assert len(log.sync_events) == 4
    assert [c.source_file.split("!", 1)[-1] for c in log.coverage] == [
        str(plain), "gunzip", "day1/ual.csv", "day2/ual.json.gz!gunzip"]


def test_folder_is_walked_and_bad_inputs_are_reported(tmp_path: Path) -> None:
    auditgen.write_format(tmp_path, "f2-json-lines")
    auditgen.write_bytes(tmp_path, "old.7z", b"7z\xbc\xaf\x27\x1c\0\4")
    auditgen.write_bytes(tmp_path, "empty.json", b"")
    auditgen.write_bytes(tmp_path, "notes.txt", b"hello\nworld\n")

    log = ingest([str(tmp_path), str(tmp_path / "missing.csv")])

    assert log.distinct_records == 8
    reasons = sorted(e.reason.split(":")[0] for e in log.errors)
    assert reasons == ["1 rows or values hold no audit record (no Operation/AuditData found)",
                       "empty file", "not found", "unsupported container"]


def test_empty_audit_data_cell_is_reported(tmp_path: Path) -> None:
    text = f3_purview_classic(sample_records()) + '2024-03-04T00:00:00Z,x,Set-User,""\r\n'
    path = auditgen.write_bytes(tmp_path, "x.csv", text.encode())

    log = ingest([str(path)])

    assert log.coverage[0].empty_audit_data == 1
    assert [(e.line, e.reason.split(";")[0]) for e in log.errors] == [(10, "empty AuditData cell")]
    assert log.distinct_records == 8


def test_export_limits_and_result_count(tmp_path: Path) -> None:
    base = auditgen.other_record(1, "2024-03-01T00:00:00", "UserLoggedIn")
    rows = []
    for n in range(5000):
        record = dict(base, Id=f"00000000-0000-4000-9000-{n:012d}")
        rows.append(json.dumps({"AuditData": compact(record), "ResultIndex": n + 1,
                                "ResultCount": 5200, "Identity": record["Id"]}))
    path = auditgen.write_bytes(tmp_path, "x.json", ("[" + ",".join(rows) + "]").encode())

    log = ingest([str(path)])

    assert log.distinct_records == 5000
    warnings = log.coverage[0].warnings
    assert warnings[0].startswith("input stops at exactly 5,000 rows")
    assert log.errors == [] and exit_code(log) == exitcodes.PARTIAL     # probably cut short


def test_result_count_in_csv_columns(tmp_path: Path) -> None:
    text = auditgen.f6_export_csv(sample_records()).replace('"8","0000', '"9","0000')

    log = ingest([str(auditgen.write_bytes(tmp_path, "x.csv", text.encode("utf-8")))])

    assert log.coverage[0].warnings == [
        "ResultCount 9 but 8 rows present (RunspaceId 7e57a11d-0000-4000-8000-000000000000)"]


def test_anonymised_ids_and_duplicate_keys_are_not_fatal(tmp_path: Path) -> None:
    record = copy.deepcopy(sample_records()[6])
    record["Folders"][0]["Id"] = "AAAAA8"
    text = compact(record)[:-1] + ',"ClientInfoString":"Client=REST;;"}'
    path = auditgen.write_bytes(tmp_path, "x", text.encode())

    event = next(iter_events([str(path)]))

    assert event.folder_id_status.startswith("bad-")
    assert event.database_guid is None
    assert event.client_info == "Client=REST;;"


def test_no_mailitemsaccessed_versus_none_for_mailbox(tmp_path: Path) -> None:
    others = [r for r in sample_records() if r["Operation"] != "MailItemsAccessed"]
    without = ingest([str(auditgen.write_bytes(tmp_path, "a", f2_json_lines(others).encode()))])
    full = ingest([str(auditgen.write_format(tmp_path, "f2-json-lines"))])

    assert without.mailbox_coverage(auditgen.MAILBOX).status == "no-mailitemsaccessed-in-input"
    assert full.mailbox_coverage("other@contoso.example").status == "none-for-mailbox"
    covered = full.mailbox_coverage(auditgen.MAILBOX_GUID)
    assert (covered.status, covered.sync_events, covered.bind_events) == ("events", 4, 3)


@pytest.mark.parametrize("record_id", ["0" * 36, "00000000-0000-4000-8000-0000000033-3",
                                       "00000000-0000-4000-8000-000000003303", "x"])
def test_every_record_id_has_a_digest_of_16_bytes(record_id: str) -> None:
    assert len(record_digest(record_id)) == 16


def test_the_garbage_collector_is_paused_while_an_input_is_read(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")
    states = []

    for _ in iter_events([str(path)]):
        states.append(gc.isenabled())

    assert states and not any(states)
    assert gc.isenabled()


@pytest.mark.parametrize(("header", "command"), [
    ('"TimeStamp","User","Action","SessionId","ClientIP","OperationCount"', "Get-Sessions"),
    ('"Timestamp","User","IPaddress","SessionID","InternetMessageId","SizeInBytes"',
     "Get-MessageIDs"),
])
def test_a_summary_table_is_named_and_why_it_cannot_be_read(tmp_path: Path, header: str,
                                                            command: str) -> None:
    row = '"2024-03-01T09:00:05","victim@contoso.example","MailItemsAccessed","s","1","1"'
    path = tmp_path / "summary.csv"
    path.write_bytes(("\ufeff" + header + "\r\n" + row + "\r\n").encode())

    log = ingest([str(path)])

    assert [e.reason.split(":")[0] for e in log.errors] == [
        f"a Microsoft-Extractor-Suite {command} summary, not audit records"]
    assert "MailAccessType" in log.errors[0].reason


def test_other_rows_without_records_keep_the_plain_reason(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Name,Value\nx,1\n")

    log = ingest([str(path)])

    assert [e.reason for e in log.errors] == [
        "1 rows or values hold no audit record (no Operation/AuditData found)"]


def _one_line_array(records: list[dict]) -> bytes:
    return ("[" + ",".join(compact(r) for r in records) + "]").encode()


def test_a_json_array_on_one_line_is_read_in_pieces_to_the_same_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = auditgen.repeated_records(3)
    odd = 'Client={"a":[1]} \\"q\\" [x]'                   # structure inside a string
    for record in records:
        if "Folders" in record:
            record["ClientInfoString"] = odd
    path = auditgen.write_bytes(tmp_path, "array.json", _one_line_array(records))

    whole = ingest([str(path)])
    monkeypatch.setattr(containers, "MAX_PIECE", 37)     # pieces cut inside strings and keys
    in_pieces = ingest([str(path)])

    assert in_pieces == whole
    assert whole.distinct_records == 8 * 3
    assert {e.client_info for e in whole.bind_events} == {odd}


def _peak_reading(path: Path) -> tuple[int, int]:
    """Sync events of an input and the peak of memory allocated while reading it."""
    tracemalloc.start()
    sync = sum(1 for event in iter_events([str(path)]) if event.kind == "sync")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return sync, peak


def test_a_json_array_on_one_line_is_streamed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = auditgen.write_bytes(tmp_path, "array.json",
                                _one_line_array(auditgen.repeated_records(300)))   # 3 MB

    monkeypatch.setattr(containers, "MAX_PIECE", 1 << 40)       # the line held at once
    sync, whole_line = _peak_reading(path)
    monkeypatch.setattr(containers, "MAX_PIECE", 16 << 10)
    sync_in_pieces, in_pieces = _peak_reading(path)

    assert sync == sync_in_pieces == 4 * 300
    assert whole_line > path.stat().st_size
    assert in_pieces < whole_line / 2


def test_bind_events_not_kept_still_count_and_throttle(tmp_path: Path) -> None:
    path = str(auditgen.write_format(tmp_path, "f3-purview-classic-csv"))

    kept = ingest([path])
    counted = ingest([path], keep_events=False)

    assert (counted.bind_events, counted.other_events) == ([], [])
    assert (counted.bind_count, counted.other_count) == (len(kept.bind_events), 0)
    assert counted.bind_count == auditgen.EXPECTED["bind_events"]
    assert counted.throttle_windows == kept.throttle_windows and counted.throttle_windows
    assert counted.mailboxes == kept.mailboxes
    assert counted.mailboxes[0].bind_events == auditgen.EXPECTED["bind_events"]
    assert counted.sessions == kept.sessions
    by_guid = counted.mailbox_coverage(auditgen.MAILBOX_GUID)
    assert dataclasses.replace(by_guid, mailbox=auditgen.MAILBOX) == kept.mailbox_coverage(
        auditgen.MAILBOX)
