"""Per-mailbox coverage: what the inputs cover, and what the absence of events means."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
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


@dataclass
class MailboxTally:
    """What the events naming one mailbox (and one user) add up to."""

    mailbox_upn: str | None
    mailbox_guid: str | None
    user: str | None
    first: dt.datetime
    last: dt.datetime
    sync_events: int = 0
    bind_events: int = 0


class Tallies:
    """MailboxTally records, added to one event at a time."""

    def __init__(self) -> None:
        self.by_key: dict[tuple, MailboxTally] = {}

    def add(self, event: AuditEvent) -> None:
        key = (event.mailbox_upn, event.mailbox_guid, event.user)
        tally = self.by_key.get(key)
        if tally is None:
            tally = self.by_key[key] = MailboxTally(*key, event.time, event.time)
        elif event.time < tally.first:
            tally.first = event.time
        elif event.time > tally.last:
            tally.last = event.time
        if event.kind == KIND_SYNC:
            tally.sync_events += 1
        elif event.kind == KIND_BIND:
            tally.bind_events += 1

    def all(self) -> list[MailboxTally]:
        return list(self.by_key.values())


def mailbox_coverages(log: AuditLog) -> list[MailboxCoverage]:
    """One coverage record per mailbox named by a MailItemsAccessed event."""
    by_mailbox: dict[str, list[MailboxTally]] = defaultdict(list)
    for tally in log.tallies:
        by_mailbox[tally.mailbox_upn or tally.mailbox_guid or "(unknown mailbox)"].append(tally)
    return [_coverage(log, name, tallies) for name, tallies in sorted(by_mailbox.items())]


def coverage_for(log: AuditLog, mailbox: str) -> MailboxCoverage:
    """Coverage of one mailbox given by UPN or MailboxGuid, also when no event names it."""
    wanted = mailbox.strip().lower()
    tallies = [t for t in log.tallies
               if wanted in ((t.mailbox_upn or "").lower(), (t.mailbox_guid or "").lower())]
    return _coverage(log, mailbox, tallies)


def _coverage(log: AuditLog, mailbox: str, tallies: list[MailboxTally]) -> MailboxCoverage:
    start, end = input_period(log)
    coverage = MailboxCoverage(mailbox=mailbox, status=COVERAGE_EVENTS, first=None, last=None,
                               input_first=start, input_last=end)
    coverage.warnings = [f"{c.source_file}: {w}" for c in log.coverage for w in c.warnings]
    if not log.mail_items_accessed:
        coverage.status = COVERAGE_NO_MAILITEMSACCESSED
        coverage.note = ("no MailItemsAccessed record in any input: auditing may be off or the "
                         "export left it out; the absence of Sync events proves nothing")
        return coverage
    if not tallies:
        coverage.status = COVERAGE_NONE_FOR_MAILBOX
        coverage.note = (f"the inputs hold MailItemsAccessed records, none for this mailbox "
                         f"between {iso(start)} and {iso(end)}")
        return coverage

    _fill(log, coverage, tallies)
    return coverage


def _fill(log: AuditLog, coverage: MailboxCoverage, tallies: list[MailboxTally]) -> None:
    coverage.first = min(t.first for t in tallies)
    coverage.last = max(t.last for t in tallies)
    coverage.sync_events = sum(t.sync_events for t in tallies)
    coverage.bind_events = sum(t.bind_events for t in tallies)
    names = {t.mailbox_upn for t in tallies} | {t.user for t in tallies}
    coverage.sessions = sum(s.mailbox_upn in names for s in log.sessions)
    coverage.throttle_windows = sum(w.mailbox_upn in names for w in log.throttle_windows)
    coverage.note = (f"MailItemsAccessed from {iso(coverage.first)} to {iso(coverage.last)}; "
                     f"inputs cover {iso(coverage.input_first)} to {iso(coverage.input_last)}")
