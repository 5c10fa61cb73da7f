"""Per-mailbox coverage: what the inputs cover, and what the absence of events means."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from scanner.audit.events import KIND_BIND, KIND_SYNC, AuditEvent
from scanner.audit.sessions import (
    COVERAGE_EVENTS,
    COVERAGE_NO_MAILITEMSACCESSED,
    COVERAGE_NONE_FOR_MAILBOX,
    MailboxCoverage,
)
from scanner.timeutil import iso

if TYPE_CHECKING:
    from scanner.audit.ingest import AuditLog


def input_period(log: AuditLog) -> tuple[dt.datetime | None, dt.datetime | None]:
    """First and last record time over all inputs (any operation)."""
    firsts = [c.first for c in log.coverage if c.first is not None]
    lasts = [c.last for c in log.coverage if c.last is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def mailbox_coverages(log: AuditLog) -> list[MailboxCoverage]:
    """One coverage record per mailbox named by a MailItemsAccessed event."""
    by_mailbox: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in log.sync_events + log.bind_events + log.other_events:
        by_mailbox[event.mailbox_upn or event.mailbox_guid or "(unknown mailbox)"].append(event)
    return [_coverage(log, name, events) for name, events in sorted(by_mailbox.items())]


def coverage_for(log: AuditLog, mailbox: str) -> MailboxCoverage:
    """Coverage of one mailbox given by UPN or MailboxGuid, also when no event names it."""
    wanted = mailbox.strip().lower()
    events = [e for e in log.sync_events + log.bind_events + log.other_events
              if wanted in ((e.mailbox_upn or "").lower(), (e.mailbox_guid or "").lower())]
    return _coverage(log, mailbox, events)


def _coverage(log: AuditLog, mailbox: str, events: list[AuditEvent]) -> MailboxCoverage:
    start, end = input_period(log)
    coverage = MailboxCoverage(mailbox=mailbox, status=COVERAGE_EVENTS, first=None, last=None,
                               input_first=start, input_last=end)
    coverage.warnings = [f"{c.source_file}: {w}" for c in log.coverage for w in c.warnings]
    if not log.mail_items_accessed:
        coverage.status = COVERAGE_NO_MAILITEMSACCESSED
        coverage.note = ("no MailItemsAccessed record in any input: auditing may be off or the "
                         "export left it out; the absence of Sync events proves nothing")
        return coverage
    if not events:
        coverage.status = COVERAGE_NONE_FOR_MAILBOX
        coverage.note = (f"the inputs hold MailItemsAccessed records, none for this mailbox "
                         f"between {iso(start)} and {iso(end)}")
        return coverage

    _fill(log, coverage, events)
    return coverage


def _fill(log: AuditLog, coverage: MailboxCoverage, events: list[AuditEvent]) -> None:
    times = [e.time for e in events]
    coverage.first, coverage.last = min(times), max(times)
    coverage.sync_events = sum(e.kind == KIND_SYNC for e in events)
    coverage.bind_events = sum(e.kind == KIND_BIND for e in events)
    names = {e.mailbox_upn for e in events} | {e.user for e in events}
    coverage.sessions = sum(s.mailbox_upn in names for s in log.sessions)
    coverage.throttle_windows = sum(w.mailbox_upn in names for w in log.throttle_windows)
    coverage.note = (f"MailItemsAccessed from {iso(coverage.first)} to {iso(coverage.last)}; "
                     f"inputs cover {iso(coverage.input_first)} to {iso(coverage.input_last)}")
