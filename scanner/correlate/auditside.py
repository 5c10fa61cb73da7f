"""The audit side of the join: Sync sessions, with their folder keys parsed once, and indexes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from scanner.audit.events import AuditEvent, SyncSession, ThrottleWindow
from scanner.audit.ingest import AuditLog
from scanner.audit.sessions import build_sessions, throttle_windows
from scanner.correlate.copies import (
    FolderKey,
    folder_key_text,
    normal_ip,
    parse_folder_key,
    version_build,
)


@dataclass
class SessionView:
    """A SyncSession as correlation uses it: sets instead of lists, one mailbox key."""

    session: SyncSession
    mailbox: str
    folder_keys: set[FolderKey]
    folder_paths: dict[FolderKey, str]
    folder_names: dict[FolderKey, str]
    database_guids: set[str]
    provider_uids: set[str]
    client_ips: set[str]
    client_versions: set[str]
    sync_times: list[tuple[dt.datetime, str]] = field(default_factory=list)
    bound_ids: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return self.session.session_key


@dataclass
class AuditSide:
    sessions: list[SessionView]
    throttle_windows: list[ThrottleWindow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_guid: dict[str, list[SessionView]] = field(default_factory=dict)
    by_owner: dict[str, list[SessionView]] = field(default_factory=dict)
    by_mailbox: dict[str, list[SessionView]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Sessions by DatabaseGuid, by owner address and by mailbox: the join never scans all."""
        by_guid, by_owner, by_mailbox = defaultdict(list), defaultdict(list), defaultdict(list)
        for view in self.sessions:
            for guid in view.database_guids:
                by_guid[guid].append(view)
            if view.session.mailbox_upn:
                by_owner[view.session.mailbox_upn.lower()].append(view)
            by_mailbox[view.mailbox].append(view)
        self.by_guid, self.by_owner = dict(by_guid), dict(by_owner)
        self.by_mailbox = dict(by_mailbox)


def _keyed(names: dict[str, str]) -> dict[FolderKey, str]:
    parsed = {parse_folder_key(text): name for text, name in names.items()}
    return {key: name for key, name in parsed.items() if key is not None}


def session_view(session: SyncSession) -> SessionView:
    keys = [parse_folder_key(text) for text in session.folder_keys]
    folder_keys = {key for key in keys if key is not None}
    paths = {}
    if len(session.folder_paths) == len(session.folder_keys):
        pairs = zip(keys, session.folder_paths, strict=True)
        paths = {k: p for k, p in pairs if k is not None and p}
    guids = {g.lower() for g in session.database_guids} | {guid for guid, _ in folder_keys}
    return SessionView(
        session=session,
        mailbox=mailbox_key(session),
        folder_keys=folder_keys,
        folder_paths=paths,
        folder_names=_keyed(session.folder_names),
        database_guids=guids,
        provider_uids={u.lower() for u in session.provider_uids},
        client_ips={normal_ip(ip) for ip in session.client_ips if ip},
        client_versions={version_build(v) for v in session.client_versions if v},
    )


def mailbox_key(session: SyncSession) -> str:
    """The mailbox a session belongs to: its owner address, else its DatabaseGuid."""
    if session.mailbox_upn:
        return session.mailbox_upn.lower()
    if session.database_guids:
        return f"database:{sorted(session.database_guids)[0].lower()}"
    return f"session:{session.session_key}"


def build_audit_side(
    sessions: Iterable[SyncSession],
    sync_events: Iterable[AuditEvent] = (),
    bind_events: Iterable[AuditEvent] = (),
    throttle_windows: Iterable[ThrottleWindow] = (),
    warnings: Iterable[str] = (),
) -> AuditSide:
    """Sessions, plus (optionally) their Sync times for timelines and Bind message ids."""
    views = [session_view(s) for s in sessions]
    _attach_sync_times(views, sync_events)
    _attach_bound_ids(views, bind_events)
    return AuditSide(views, list(throttle_windows), list(warnings))


def _attach_sync_times(views: list[SessionView], events: Iterable[AuditEvent]) -> None:
    by_record: dict[str, SessionView] = {}
    for view in views:
        for record_id in view.session.record_ids:
            by_record[record_id] = view
    for event in events:
        view = by_record.get(event.record_id)
        if view is None:
            continue
        key = event.folder_key
        label = folder_key_text(key) if key else (event.folder_path or event.folder_name or "?")
        view.sync_times.append((event.time, label))
    for view in views:
        view.sync_times.sort()


def _attach_bound_ids(views: list[SessionView], events: Iterable[AuditEvent]) -> None:
    """Bind records of the same SessionId: the messages the session opened one by one."""
    by_session = {v.key: v for v in views if v.session.key_source == "session_id"}
    if not by_session:
        return
    for event in events:
        view = by_session.get(event.session_id or "")
        if view is None:
            continue
        view.bound_ids.update(i.internet_message_id for i in event.items if i.internet_message_id)


def audit_side_from_log(log: AuditLog, timelines: bool = False) -> AuditSide:
    """From the audit reader's result (`scanner.audit.ingest.ingest`); Sync times per session
    are kept only for `timelines` (the HTML report)."""
    warnings = [f"{e.source_file}{f':{e.line}' if e.line else ''}: {e.reason}"
                for e in log.errors]
    warnings += [f"{c.source_file}: {w}" for c in log.coverage for w in c.warnings]
    return build_audit_side(log.sessions, log.sync_events if timelines else (),
                            log.bind_events, log.throttle_windows, warnings)


def audit_side_from_events(
    sync_events: list[AuditEvent], bind_events: list[AuditEvent], timelines: bool = False,
    warnings: list[str] | None = None,
) -> AuditSide:
    """From stored events (the case store): sessions rebuilt by the audit reader's own rules;
    `warnings` are what the reader said of the inputs when they were collected."""
    windows = throttle_windows(sync_events + bind_events)
    return build_audit_side(build_sessions(sync_events), sync_events if timelines else (),
                            bind_events, windows, warnings or [])
