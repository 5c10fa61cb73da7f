"""Sync sessions, throttled windows and per-mailbox coverage, built from normalised events."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from scanner.audit.events import AuditEvent, SyncSession, ThrottleWindow
from scanner.entryid import counter_text

SESSION_GAP = dt.timedelta(hours=1)        # derived sessions: a new one after this silence
THROTTLE_SPAN = dt.timedelta(hours=24)     # Microsoft: treat 24 h after IsThrottled as unaudited
OST_CLIENT_INFO = "client=msexchangerpc"
OST_PROCESS = "outlook.exe"

COVERAGE_EVENTS = "events"
COVERAGE_NONE_FOR_MAILBOX = "none-for-mailbox"
COVERAGE_NO_MAILITEMSACCESSED = "no-mailitemsaccessed-in-input"


@dataclass
class MailboxCoverage:
    """What the inputs say about one mailbox, and what their silence means."""

    mailbox: str
    status: str                       # events | none-for-mailbox | no-mailitemsaccessed-in-input
    first: dt.datetime | None         # first and last MailItemsAccessed for this mailbox
    last: dt.datetime | None
    input_first: dt.datetime | None   # the period all inputs cover
    input_last: dt.datetime | None
    sync_events: int = 0
    bind_events: int = 0
    sessions: int = 0
    throttle_windows: int = 0
    note: str = ""
    warnings: list[str] = field(default_factory=list)


def build_sessions(events: Iterable[AuditEvent]) -> list[SyncSession]:
    """Sync events grouped by SessionId; without one, by user, mailbox, IP, client and time gap."""
    groups: dict[str, list[AuditEvent]] = defaultdict(list)
    loose: dict[tuple, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.session_id:
            groups[event.session_id].append(event)
        else:
            loose[_context(event)].append(event)

    sessions = [_session(key, "session_id", members) for key, members in groups.items()]
    for context, members in loose.items():
        for run in _split_on_gaps(members):
            sessions.append(_session(_derived_key(context, run[0]), "derived", run))
    return sorted(sessions, key=lambda s: (s.first, s.session_key))


def _context(event: AuditEvent) -> tuple:
    return (event.user, event.mailbox_upn, event.client_ip, event.client_info)


def _split_on_gaps(events: list[AuditEvent]) -> list[list[AuditEvent]]:
    ordered = sorted(events, key=lambda e: e.time)
    runs = [[ordered[0]]]
    for event in ordered[1:]:
        if event.time - runs[-1][-1].time > SESSION_GAP:
            runs.append([])
        runs[-1].append(event)
    return runs


def _derived_key(context: tuple, first: AuditEvent) -> str:
    digest = hashlib.sha256(repr(context).encode()).hexdigest()[:12]
    return f"derived-{digest}-{first.time.strftime('%Y%m%dT%H%M%SZ')}"


def _session(key: str, source: str, events: list[AuditEvent]) -> SyncSession:
    events = sorted(events, key=lambda e: (e.time, e.record_id))
    return SyncSession(
        session_key=key,
        key_source=source,
        user=_first(e.user for e in events),
        mailbox_upn=_first(e.mailbox_upn for e in events),
        first=events[0].time,
        last=events[-1].time,
        event_count=len(events),
        folder_keys=_distinct(folder_key_text(e) for e in events),
        folder_paths=_distinct(e.folder_path or e.folder_name for e in events),
        client_ips=_distinct(e.client_ip for e in events),
        client_versions=_distinct(e.client_version for e in events),
        client_infos=_distinct(e.client_info for e in events),
        provider_uids=_distinct(e.provider_uid for e in events),
        database_guids=_distinct(e.database_guid for e in events),
        leaves_ost=any(leaves_ost(e) for e in events),
        record_ids=_distinct(e.record_id for e in events),
        folder_names=folder_names(events),
    )


def folder_names(events: list[AuditEvent]) -> dict[str, str]:
    """Each synced folder's name: `Name`, or the last part of a real `Path`."""
    names = {}
    for event in events:
        key = folder_key_text(event)
        path = event.folder_path if event.folder_path != UNKNOWN_PATH else None
        name = event.folder_name or _last_part(path)
        if key and name:
            names.setdefault(key, name)
    return names


UNKNOWN_PATH = "Not Available"


def _last_part(path: str | None) -> str | None:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if path else None


def folder_key_text(event: AuditEvent) -> str | None:
    """"database_guid:0xGC", the folder's long-term id as the scan report writes it."""
    if event.database_guid is None or event.global_counter is None:
        return None
    return f"{event.database_guid}:{counter_text(event.global_counter)}"


def leaves_ost(event: AuditEvent) -> bool:
    """Classic Outlook (MAPI) keeps what it syncs in an OST; other clients do not."""
    info = (event.client_info or "").lower()
    return OST_CLIENT_INFO in info or (event.client_process or "").lower() == OST_PROCESS


def throttle_windows(events: Iterable[AuditEvent]) -> list[ThrottleWindow]:
    """One 24-hour window per record marked IsThrottled, per mailbox."""
    windows: dict[str, ThrottleWindow] = {}
    for event in events:
        if event.throttled and event.record_id not in windows:
            windows[event.record_id] = ThrottleWindow(
                mailbox_upn=event.mailbox_upn, start=event.time,
                end=event.time + THROTTLE_SPAN, record_id=event.record_id)
    return sorted(windows.values(), key=lambda w: (w.mailbox_upn or "", w.start))


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _distinct(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
