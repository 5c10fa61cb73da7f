"""The public audit samples in ../shared/auditlogs-public (see its SOURCES.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scanner import exitcodes
from scanner.audit.ingest import exit_code, ingest
from scanner.timeutil import UTC

pytestmark = pytest.mark.shared

INVICTUS = "auditlogs-public/invictus-o365-dataset-auditrecords.csv.gz"


@pytest.fixture(scope="module")
def invictus(shared_dir: Path):
    return ingest([str(shared_dir / INVICTUS)])


def test_invictus_counts(invictus) -> None:
    coverage = invictus.coverage[0]
    assert (coverage.format, coverage.rows, coverage.empty_audit_data) == ("csv", 9611, 3)
    assert invictus.distinct_records == 5373
    assert invictus.duplicates_dropped == 9608 - 5373
    assert invictus.mail_items_accessed == 318
    assert len(invictus.sync_events) == 30
    assert len(invictus.errors) == 3
    assert all("empty AuditData" in e.reason for e in invictus.errors)
    assert exit_code(invictus) == exitcodes.PARTIAL


def test_invictus_sessions(invictus) -> None:
    by_key = {s.session_key[:8]: s for s in invictus.sessions}
    assert sorted(by_key) == ["22af9fa5", "72316b99"]

    long = by_key["22af9fa5"]
    assert (long.event_count, len(long.folder_keys), len(long.client_ips)) == (21, 19, 2)
    assert long.first.date() == dt.date(2021, 5, 16)
    assert long.last.date() == dt.date(2021, 6, 14)
    assert long.first == dt.datetime(2021, 5, 16, 18, 0, 30, tzinfo=UTC)
    assert long.mailbox_upn == "joey@dutchmasterz.onmicrosoft.com"
    assert long.leaves_ost

    short = by_key["72316b99"]
    assert (short.event_count, len(short.folder_keys), short.client_ips) == (
        9, 9, ["178.85.138.132"])


def test_invictus_sync_folder_ids_decode_to_one_mailbox(invictus) -> None:
    statuses = {e.folder_id_status for e in invictus.sync_events}
    assert statuses == {"ok"}
    assert {e.provider_uid for e in invictus.sync_events} == {
        "ce22c0c1-474e-4e12-93ef-3ea02ee383f8"}
    assert {e.database_guid for e in invictus.sync_events} == {
        "4c1af358-c3f0-44e7-9148-d4b677a40309"}
    assert {e.client_process for e in invictus.sync_events} == {"OUTLOOK.EXE"}


@pytest.mark.parametrize(("name", "fmt", "kind", "path"), [
    ("elastic-o365-mgmtapi-exchangeitem-storeids.jsonl", "json-lines", None, None),
    ("otrf-sentinel-officeactivity-mailitemsaccessed-bind.json", "json-lines", "bind", "\\Inbox"),
    ("sekoia-m365d-streaming-cloudappevents-mailitemsaccessed-bind.json", "json", "bind",
     "\\Boîte de réception"),
    ("sekoia-o365-mgmtapi-mailitemsaccessed-bind-localized-path.json", "json", "bind",
     "\\Brouillons"),
    ("sekoia-o365-mgmtapi-mailitemsaccessed-bind-string-bool.json", "json", "bind",
     "Boite de reception"),
])
def test_other_samples_read_without_error(shared_dir: Path, name: str, fmt: str,
                                          kind: str | None, path: str | None) -> None:
    log = ingest([str(shared_dir / "auditlogs-public" / name)])

    assert log.errors == []
    assert log.distinct_records == 1
    assert log.coverage[0].format == fmt
    assert [e.folder_path for e in log.bind_events] == ([path] if path else [])


def test_sentinel_row_reads_renamed_columns(shared_dir: Path) -> None:
    log = ingest([str(shared_dir / "auditlogs-public/otrf-sentinel-officeactivity-"
                                   "mailitemsaccessed-bind.json")])

    event = log.bind_events[0]
    assert (event.client_ip, event.logon_type, len(event.items)) == ("1.2.3.4", 0, 7)
    assert event.database_guid == "be721811-bc82-4ecb-9449-ada0b5411ea4"
    assert event.global_counter == 0x10C
