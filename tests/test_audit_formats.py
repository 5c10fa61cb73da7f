"""Each export format of research §2, written by tests/auditgen.py, read to the same events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scanner.audit.ingest import ingest
from scanner.timeutil import UTC
from tests import auditgen


def _counts(log) -> dict[str, int]:
    return {"distinct_records": log.distinct_records,
            "mail_items_accessed": log.mail_items_accessed,
            "sync_events": len(log.sync_events), "bind_events": len(log.bind_events),
            "sessions": len(log.sessions), "throttle_windows": len(log.throttle_windows)}


@pytest.mark.parametrize("name", sorted(auditgen.FORMATS))
def test_every_format_gives_the_same_events(tmp_path: Path, name: str) -> None:
    path = auditgen.write_format(tmp_path, name)

    log = ingest([str(path)])

    assert log.errors == []
    assert _counts(log) == auditgen.EXPECTED
    assert log.duplicates_dropped == 0


@pytest.mark.parametrize("name", sorted(auditgen.FORMATS))
def test_every_format_keeps_the_sync_context(tmp_path: Path, name: str) -> None:
    log = ingest([str(auditgen.write_format(tmp_path, name))])

    session = next(s for s in log.sessions if s.session_key == auditgen.SESSION_A)
    assert session.event_count == 3
    assert session.first == dt.datetime(2024, 3, 1, 9, 0, 5, tzinfo=UTC)
    assert session.last == dt.datetime(2024, 3, 1, 9, 1, 30, tzinfo=UTC)
    assert session.client_ips == [auditgen.ATTACKER_IP]
    assert session.client_versions == [auditgen.CLIENT_VERSION]
    assert session.leaves_ost is True
    guid = str(auditgen.DATABASE_GUID)
    assert session.folder_keys == [f"{guid}:0x10C", f"{guid}:0x109", f"{guid}:0x10F"]
    assert session.provider_uids == [str(auditgen.PROVIDER_UID)]


@pytest.mark.parametrize("name", sorted(auditgen.FORMATS))
def test_every_format_reads_the_folders_shape_and_bind_items(tmp_path: Path, name: str) -> None:
    log = ingest([str(auditgen.write_format(tmp_path, name))])

    derived = next(s for s in log.sessions if s.key_source == "derived")
    assert derived.client_ips == ["2001:db8::5"]
    assert derived.folder_keys == [f"{auditgen.DATABASE_GUID}:0x10D"]
    event = next(e for e in log.sync_events if e.session_id is None)
    assert event.object_type == 2
    assert event.folder_path == "\\Calendar"
    items = [i.internet_message_id for e in log.bind_events for i in e.items]
    assert sorted(items) == ["<m6.265.0@contoso.example>", "<m6.268.0@contoso.example>",
                             "<m6.268.1@contoso.example>", "<m7.268.0@contoso.example>"]
    window = log.throttle_windows[0]
    assert window.start == dt.datetime(2024, 3, 2, 12, 0, tzinfo=UTC)
    assert window.end - window.start == dt.timedelta(hours=24)
