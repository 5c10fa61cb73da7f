"""Read every audit export given, once: MailItemsAccessed Sync and Bind events, de-duplicated.

`iter_events` streams; memory grows only with the set of record ids seen (16-byte digests)
and with the rare damaged MailItemsAccessed copies held back until a whole copy turns up.
`ingest` collects the events and builds sessions, throttled windows and coverage.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner import exitcodes
from scanner.audit import auditdata, bulk, containers
from scanner.audit.events import (
    AUDIT_SCHEMA_VERSION,
    KIND_BIND,
    KIND_SYNC,
    AuditEvent,
    InputCoverage,
    SyncSession,
    ThrottleWindow,
)
from scanner.audit.normalize import (
    LOWER,
    MICROSOFT,
    Spelling,
    build_events,
    parse_time,
    spelt_as_microsoft,
)
from scanner.audit.sessions import MailboxCoverage, build_sessions, throttle_windows
from scanner.audit.sources import SourceError, TextSource, iter_sources
from scanner.console import Console

if TYPE_CHECKING:
    from scanner.audit.coverage import MailboxTally

EXPORT_LIMITS = (5_000, 50_000)
LINE_ERRORS_SAID = 20             # row errors said on the console per input
MAX_RESULT_COUNT = 50_000_000      # ResultIndex bitmaps: at most 6 MB each
SCAN_REPORT_REASON = ("an ostscan document (a scan report, or ostscan's own output), not an "
                      "audit export: a scan report goes to `ostscan collect` or "
                      "`ostscan correlate --report`")
MAIL_ITEMS_ACCESSED = "mailitemsaccessed"


@dataclass
class AuditError:
    """Input that could not be read, or was read damaged."""

    source_file: str
    line: int | None
    reason: str


@dataclass
class AuditLog:
    """Everything `ostscan audit` learnt from its inputs."""

    schema_version: str = AUDIT_SCHEMA_VERSION
    sync_events: list[AuditEvent] = field(default_factory=list)
    bind_events: list[AuditEvent] = field(default_factory=list)
    sessions: list[SyncSession] = field(default_factory=list)
    throttle_windows: list[ThrottleWindow] = field(default_factory=list)
    coverage: list[InputCoverage] = field(default_factory=list)
    duplicates_dropped: int = 0
    errors: list[AuditError] = field(default_factory=list)
    other_events: list[AuditEvent] = field(default_factory=list)   # MailAccessType lost
    distinct_records: int = 0
    mail_items_accessed: int = 0
    mailboxes: list[MailboxCoverage] = field(default_factory=list)
    bind_count: int = 0              # Bind events read, also where `bind_events` are not kept
    other_count: int = 0             # events whose MailAccessType was lost, likewise
    tallies: list[MailboxTally] = field(default_factory=list)   # what coverage is built from

    def mailbox_coverage(self, mailbox: str) -> MailboxCoverage:
        """Coverage of one mailbox (UPN or MailboxGuid), also when no event names it."""
        from scanner.audit.coverage import coverage_for
        return coverage_for(self, mailbox)


class _Canonical(dict):
    """A record's canonical form, and what of it PowerShell flattened."""

    lost: str | None = None


@dataclass
class _Pending:
    score: int
    events: list[AuditEvent]


class IngestState:
    """What a run has seen so far: ids, per-file coverage, errors, held-back damaged copies."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self.seen: set[bytes] = set()
        self.pending: dict[bytes, _Pending] = {}
        self.duplicates = 0
        self.mail_items_accessed = 0
        self.errors: list[AuditError] = []
        self.coverage: list[InputCoverage] = []
        self.lines_said: dict[str, int] = {}

    def note(self, source: str, text: str) -> None:
        if self.console is not None:
            self.console.info(f"{source}: {text}")

    def error(self, source: str, line: int | None, reason: str) -> None:
        """Kept whole; said on the console too, a line's errors up to LINE_ERRORS_SAID an
        input (what stops an input, with no line, always): damage makes thousands."""
        self.errors.append(AuditError(source, line, reason))
        if self.console is None:
            return
        if line:
            said = self.lines_said[source] = self.lines_said.get(source, 0) + 1
            if said > LINE_ERRORS_SAID:
                return
            if said == LINE_ERRORS_SAID:
                reason += (f" (the first {LINE_ERRORS_SAID} rows with errors in this input are "
                           "said here; every one is in --format json)")
        self.console.warn(f"{f'{source}:{line}' if line else source}: {reason}")


def iter_events(paths: list[str], console: Console | None = None,
                state: IngestState | None = None) -> Iterator[AuditEvent]:
    """MailItemsAccessed events from all inputs, each record once (first whole copy wins)."""
    state = state or IngestState(console)
    for source in iter_sources(paths):
        if isinstance(source, SourceError):
            if source.skipped:
                state.note(source.name, source.reason)
            else:
                state.error(source.name, None, source.reason)
            continue
        yield from _read_file(state, source)

    for digest, pending in state.pending.items():
        state.seen.add(digest)
        state.mail_items_accessed += 1
        yield from pending.events
    state.pending.clear()


def _read_file(state: IngestState, source: TextSource) -> Iterator[AuditEvent]:
    """One input: in two processes when it is a large plain file, else in this one."""
    from scanner.audit import split
    if split.worth_splitting(source):
        return _without_collections(split.read_split(state, source))
    return _without_collections(_FileReader(state, source).events())


def _without_collections(events: Iterator[AuditEvent]) -> Iterator[AuditEvent]:
    """The events, with the cyclic garbage collector paused until the input is read (also
    while the caller handles them). Reading makes millions of objects and no reference
    cycles: collections would only walk them again and again. Any cycle made meanwhile is
    collected once the collector resumes."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield from events
    finally:
        if paused:
            gc.enable()


def ingest(paths: list[str], console: Console | None = None,
           keep_events: bool = True) -> AuditLog:
    """Read all inputs; sessions, throttled windows and coverage built from their events.

    Without `keep_events`, Bind events and events without an access type are counted and
    tallied per mailbox, not kept (but for throttled ones): memory then grows with the Sync
    events only, which sessions are made of."""
    from scanner.audit.coverage import Tallies
    state = IngestState(console)
    log = AuditLog()
    tallies, throttled = Tallies(), []
    for event in iter_events(paths, console, state):
        tallies.add(event)
        if event.kind == KIND_SYNC:
            log.sync_events.append(event)
            continue
        if event.kind == KIND_BIND:
            log.bind_count += 1
            kept = log.bind_events
        else:
            log.other_count += 1
            kept = log.other_events
        if keep_events:
            kept.append(event)
        elif event.throttled:
            throttled.append(event)

    for events in (log.sync_events, log.bind_events, log.other_events):
        events.sort(key=lambda e: (e.time, e.record_id, e.folder_id or ""))
    log.sessions = build_sessions(log.sync_events)
    log.throttle_windows = throttle_windows(
        log.sync_events + log.bind_events + log.other_events + throttled)
    log.coverage = state.coverage
    log.duplicates_dropped = state.duplicates
    log.errors = state.errors
    log.distinct_records = len(state.seen)
    log.mail_items_accessed = state.mail_items_accessed
    log.tallies = tallies.all()

    from scanner.audit.coverage import mailbox_coverages
    log.mailboxes = mailbox_coverages(log)
    return log


def exit_code(log: AuditLog) -> int:
    """FAILED when nothing could be read, PARTIAL when some input was damaged or unreadable,
    holds no record (an empty export: read, but nothing in it) or looks cut short (an export
    limit reached, ResultCount above the rows present)."""
    if not log.distinct_records and log.errors:
        return exitcodes.FAILED
    incomplete = any(coverage.warnings for coverage in log.coverage)
    return exitcodes.PARTIAL if log.errors or incomplete else exitcodes.OK


def record_digest(record_id: str) -> bytes:
    """16 bytes per record id: the GUID itself, or a hash of any other id."""
    if len(record_id) == 36 and record_id[8::5][:4] == "----":
        try:
            return bytes.fromhex(record_id.replace("-", ""))
        except ValueError:
            pass
    return hashlib.blake2b(record_id.strip().lower().encode(), digest_size=16).digest()


@dataclass
class RangePart:
    """`_FileReader.part`: events, ids, counts and errors of a byte range, lines counted from
    the range's first line."""

    events: list[AuditEvent]
    seen: Collection[bytes]          # a set where read here, a tuple where received
    pending: dict[bytes, _Pending]
    duplicates: int
    mail_items_accessed: int
    errors: list[AuditError]
    counts: tuple[int, int, int, int, int]   # rows, records, MailItemsAccessed, empty, damaged
    first: str | None
    last: str | None
    result_sets: dict[tuple[str, str], bytearray]
    without_record: int
    cut_short_at: int | None         # the line of a last record the input ends inside


def _shift(events: list[AuditEvent], line_offset: int) -> None:
    for event in events:
        if event.source_line is not None:
            event.source_line += line_offset


class _FileReader:
    """Reads one input and keeps its coverage record up to date."""

    def __init__(self, state: IngestState, source: TextSource) -> None:
        self.state = state
        self.source = source.name
        self.text_source = source
        self.first: str | None = None
        self.last: str | None = None
        self.result_sets: dict[tuple[str, str], bytearray] = {}
        self.without_record = 0
        self.cut_short_at: int | None = None
        self.stopped = False
        self.coverage = InputCoverage(source.name, "unknown", 0, 0, 0, None, None)

    def events(self) -> Iterator[AuditEvent]:
        self.announce()
        yield from self.read(self._open)
        self.finish()

    def announce(self) -> None:
        if self.state.console is not None:
            self.state.console.progress(f"reading {self.source}")

    def read(self, opener: Callable[[contextlib.ExitStack], tuple[str, Iterator]],
             ) -> Iterator[AuditEvent]:
        """Events of the records `opener` gives; `stopped` tells whether a read error ended
        them (said as an error of this input)."""
        try:
            with contextlib.ExitStack() as stack:
                fmt, records = opener(stack)
                if self.coverage.format == "unknown":
                    self.coverage.format = fmt
                batch = bulk.RecordBatch
                for raw in records:
                    if raw.__class__ is batch:
                        self._take_batch(raw)
                    else:
                        yield from self._take(raw)
        except (OSError, EOFError, UnicodeError, csv.Error, zlib.error,
                zipfile.BadZipFile) as exc:
            self.stopped = True
            where = f" after row {self.coverage.rows:,}" if self.coverage.rows else ""
            self.state.error(self.source, None, f"read stopped{where}: {exc}")

    def _open(self, stack: contextlib.ExitStack) -> tuple[str, Iterator]:
        """Records of the input: in blocks when it is UTF-8 JSON lines or CSV, else by line."""
        if self.text_source.encoding == "utf-8":
            with contextlib.ExitStack() as attempt:
                raw = attempt.enter_context(self.text_source.open_binary())
                opened = bulk.open_records(raw)
                if opened is not None:
                    stack.push(attempt.pop_all())
                    return opened
        stream = stack.enter_context(self.text_source.open_text())
        return containers.read_records(stream)

    def _take_batch(self, batch: bulk.RecordBatch) -> None:
        """Records that yield no events, counted and de-duplicated together."""
        self.coverage.rows += batch.rows
        self.coverage.records += batch.rows
        seen = self.state.seen
        before = len(seen)
        seen.update(batch.keys)
        self.state.duplicates += batch.rows - (len(seen) - before)
        self._widen(batch.first)
        self._widen(batch.last)
        if batch.result_sets is not None:
            self._mark_results(*batch.result_sets)

    def _mark_results(self, runspaces: list[str], counts: list[str], indexes: list[str]) -> None:
        """_mark_result for many rows; at once when they share RunspaceId and ResultCount."""
        count, joined = counts[0], "".join(indexes)
        if (len(set(runspaces)) == 1 and len(set(counts)) == 1 and count.isdigit()
                and count.isascii() and joined.isdigit() and joined.isascii()
                and "" not in indexes and int(count) <= MAX_RESULT_COUNT):
            positions = [int(index) - 1 for index in indexes]
            if 0 <= min(positions) and max(positions) < int(count):
                self._mark_positions(runspaces[0], count, positions)
                return
        for runspace, count, index in zip(runspaces, counts, indexes, strict=True):
            self._mark_result(runspace, count, index)

    def _mark_positions(self, runspace: str, count: str, positions: list[int]) -> None:
        key = (runspace, count)
        bitmap = self.result_sets.get(key)
        if bitmap is None:
            bitmap = self.result_sets[key] = bytearray((int(count) + 7) // 8)
        for position in positions:
            bitmap[position >> 3] |= 1 << (position & 7)

    def _take(self, raw: containers.RawRecord) -> Iterator[AuditEvent]:
        if raw.cut_short:
            self.cut_short_at = raw.line
            return
        self.coverage.rows += 1
        if raw.envelope:
            self._track_result_set(raw.envelope)
        if raw.damage:
            self._damaged(raw.line, raw.damage)
            return
        if raw.empty:
            self.coverage.empty_audit_data += 1
            self.state.error(self.source, raw.line, "empty AuditData cell; row skipped")
            return
        if raw.record_id is not None:
            if not raw.candidate:
                self._count(raw.record_id, raw.creation_time)
                return
            if self._known_copy(raw):
                return

        value, damage = (raw.row, None) if raw.row is not None else auditdata.parse_json(raw.text)
        if damage is None and _standard(value, raw):
            yield from self._mail_items_accessed(value, raw.record_id, raw.creation_time, None,
                                                 raw, MICROSOFT)
            return
        found = False
        for record in auditdata.find_records(value) if value is not None else ():
            found = True
            yield from self._record(record, damage, raw)
        if value is None:
            self._damaged(raw.line, damage or "unreadable")
        elif not found and damage:
            self._damaged(raw.line, f"{damage}; what is left is no audit record")
        elif not found:
            self.without_record += 1

    def _known_copy(self, raw: containers.RawRecord) -> bool:
        """A MailItemsAccessed row whose whole copy was already read: count it, skip parsing."""
        if record_digest(raw.record_id) not in self.state.seen:
            return False
        self.coverage.records += 1
        self._widen(raw.creation_time)
        self.state.duplicates += 1
        if raw.operation == containers.MAIL_ITEMS_ACCESSED:
            self.coverage.mail_items_accessed += 1
        return True

    def _record(self, record: dict, damage: str | None,
                raw: containers.RawRecord) -> Iterator[AuditEvent]:
        keys = auditdata.key_map(record)
        record_id = auditdata.lookup(record, auditdata.ID_KEYS, keys)
        if record_id is None and raw.envelope:
            record_id = raw.envelope.get("identity") or raw.envelope.get("recordid")
        created = auditdata.lookup(record, auditdata.TIME_KEYS, keys)
        operation = str(auditdata.lookup(record, ("operation",), keys) or "")
        if damage:
            self._damaged(raw.line, damage)
        record_id = str(record_id) if record_id is not None else None
        if operation.lower() != MAIL_ITEMS_ACCESSED:
            self._count(record_id or (raw.text or repr(record)), created)
            return
        yield from self._mail_items_accessed(record, record_id, created, damage, raw)

    def _mail_items_accessed(self, record: dict, record_id: str | None, created: object,
                             damage: str | None, raw: containers.RawRecord,
                             names: Spelling | None = None) -> Iterator[AuditEvent]:
        """Events of a record, read as it is when `names` says how it is spelt or the spelling
        is found to be Microsoft's, else from its canonical form."""
        self.coverage.mail_items_accessed += 1
        digest = self._first_sight(record_id or repr(record), created)
        if digest is None:
            return
        readable = record
        if names is None and not damage and raw.text is not None \
                and spelt_as_microsoft(record, raw.text):
            names = MICROSOFT
        if names is None:
            names, readable = LOWER, self._canonical(record, record_id, raw.line)
            if readable.lost:
                damage = _join(damage, readable.lost)
        time = parse_time(created)
        if time is None:
            self._damaged(raw.line, f"MailItemsAccessed record {record_id} has no readable "
                                    f"CreationTime ({created!r}); its events are left out")
            self.state.seen.add(digest)
            return

        events = build_events(readable, time, record_id or "", damage, self.source, raw.line,
                              names)
        if damage:
            self._hold_back(digest, events)
            return
        if self.state.pending.pop(digest, None) is not None:
            self.state.duplicates += 1
        self.state.seen.add(digest)
        self.state.mail_items_accessed += 1
        yield from events

    def _canonical(self, record: dict, record_id: str | None, line: int) -> _Canonical:
        """`auditdata.canonical` of a record; what PowerShell flattened is said as damage."""
        flattened: list[str] = []
        canonical = _Canonical(auditdata.canonical(record, flattened))
        if flattened:
            canonical.lost = "flattened by PowerShell: " + ", ".join(flattened)
            self._damaged(line, f"record {record_id}: {canonical.lost}")
        return canonical

    def _first_sight(self, record_id: str, created: object) -> bytes | None:
        """The record's digest when no whole copy was seen before; None for a duplicate."""
        self.coverage.records += 1
        self._widen(created)
        digest = record_digest(record_id)
        if digest in self.state.seen:
            self.state.duplicates += 1
            return None
        return digest

    def _count(self, record_id: str, created: object) -> None:
        """Count and de-duplicate a record that yields no events."""
        digest = self._first_sight(record_id, created)
        if digest is not None:
            self.state.seen.add(digest)

    def _hold_back(self, digest: bytes, events: list[AuditEvent]) -> None:
        """A damaged copy waits in case a whole one follows; the better damaged copy is kept."""
        score = sum(len(e.items) + (e.folder_key is not None) for e in events) + len(events)
        held = self.state.pending.get(digest)
        if held is not None:
            self.state.duplicates += 1
            if held.score >= score:
                return
        self.state.pending[digest] = _Pending(score, events)

    def _widen(self, created: object) -> None:
        if not isinstance(created, str) or not created:
            return
        key = created[:19] if created[10:11] == "T" else _iso_key(created)
        if key is None:
            return
        if self.first is None or key < self.first:
            self.first = key
        if self.last is None or key > self.last:
            self.last = key

    def _track_result_set(self, envelope: dict[str, str]) -> None:
        self._mark_result(envelope.get("runspaceid", ""), envelope.get("resultcount"),
                          envelope.get("resultindex"))

    def _mark_result(self, runspace: str, count: str | None, index: str | None) -> None:
        """Mark ResultIndex in a bitmap per (RunspaceId, ResultCount): one bit per row."""
        if not (count and index and count.isdigit() and index.isdigit()):
            return
        total, position = int(count), int(index) - 1
        if total > MAX_RESULT_COUNT or not 0 <= position < total:
            return
        key = (runspace, count)
        bitmap = self.result_sets.get(key)
        if bitmap is None:
            bitmap = self.result_sets[key] = bytearray((total + 7) // 8)
        bitmap[position >> 3] |= 1 << (position & 7)

    def part(self, events: list[AuditEvent]) -> RangePart:
        """What reading a byte range of the input with a state of its own found."""
        state, coverage = self.state, self.coverage
        return RangePart(events, state.seen, state.pending, state.duplicates,
                         state.mail_items_accessed, state.errors,
                         (coverage.rows, coverage.records, coverage.mail_items_accessed,
                          coverage.empty_audit_data, coverage.damaged),
                         self.first, self.last, self.result_sets, self.without_record,
                         self.cut_short_at)

    def absorb(self, part: RangePart, line_offset: int) -> bool:
        """Take the part read after what this reader read, as if read here; False (nothing
        taken) when one of its record ids was seen before, so the part must be read again."""
        state = self.state
        if not (state.seen.isdisjoint(part.seen) and state.seen.isdisjoint(part.pending)
                and state.pending.keys().isdisjoint(part.seen)
                and state.pending.keys().isdisjoint(part.pending)):
            return False
        state.seen.update(part.seen)
        for pending in part.pending.values():
            _shift(pending.events, line_offset)
        state.pending.update(part.pending)
        state.duplicates += part.duplicates
        state.mail_items_accessed += part.mail_items_accessed
        for error in part.errors:
            state.error(error.source_file, error.line and error.line + line_offset, error.reason)
        self._absorb_coverage(part, line_offset)
        _shift(part.events, line_offset)
        return True

    def _absorb_coverage(self, part: RangePart, line_offset: int) -> None:
        coverage = self.coverage
        rows, records, mail_items, empty, damaged = part.counts
        coverage.rows += rows
        coverage.records += records
        coverage.mail_items_accessed += mail_items
        coverage.empty_audit_data += empty
        coverage.damaged += damaged
        self.without_record += part.without_record
        if part.cut_short_at is not None:
            self.cut_short_at = part.cut_short_at + line_offset
        self._widen(part.first)
        self._widen(part.last)
        for key, bits in part.result_sets.items():
            bitmap = self.result_sets.setdefault(key, bytearray(len(bits)))
            both = int.from_bytes(bitmap, "little") | int.from_bytes(bits, "little")
            bitmap[:] = both.to_bytes(len(bits), "little")

    def _damaged(self, line: int | None, reason: str) -> None:
        self.coverage.damaged += 1
        self.state.error(self.source, line, reason)

    def finish(self) -> None:
        coverage = self.coverage
        coverage.first = parse_time(self.first)
        coverage.last = parse_time(self.last)
        if self.cut_short_at is not None:
            coverage.warnings.append(
                f"ends inside a record (line {self.cut_short_at:,}): the input looks cut short, "
                "later records are probably missing")
        if coverage.rows in EXPORT_LIMITS:
            coverage.warnings.append(
                f"input stops at exactly {coverage.rows:,} rows, an export limit: "
                "later records are probably missing")
        for (runspace, count), bitmap in sorted(self.result_sets.items()):
            present = sum(bin(byte).count("1") for byte in bitmap)
            if present < int(count):
                coverage.warnings.append(
                    f"ResultCount {count} but {present} rows present"
                    + (f" (RunspaceId {runspace})" if runspace else ""))
        if self.without_record:
            self.state.error(self.source, None, self._without_record_reason())
        if not coverage.records and not self.without_record and not self.stopped:
            if self._no_audit_header():
                self.state.error(self.source, None, "not an audit export: its first line "
                                 "names no column an audit export has")
            else:
                coverage.warnings.append("holds no audit record (an empty export?)")
        for warning in coverage.warnings[:LINE_ERRORS_SAID]:
            if self.state.console is not None:
                self.state.console.warn(f"{self.source}: {warning}")
        if len(coverage.warnings) > LINE_ERRORS_SAID and self.state.console is not None:
            self.state.console.warn(f"{self.source}: {len(coverage.warnings) - LINE_ERRORS_SAID}"
                                    " more warnings, every one in --format json")
        self.state.coverage.append(coverage)


    def _no_audit_header(self) -> bool:
        """A CSV read whole whose header is no audit export's (a text file given by mistake)."""
        if self.coverage.format != containers.FORMAT_CSV:
            return False
        try:
            with self.text_source.open_text() as stream:
                header = stream.readline()
        except (OSError, UnicodeError, EOFError, zlib.error):
            return False
        if containers.type_information(header):
            return False
        return not containers.names_audit_columns(header)

    def _is_scan_report(self) -> bool:
        try:
            with self.text_source.open_text() as stream:
                return _is_scan_report_head(stream.read(4096))
        except (OSError, UnicodeError, EOFError, zlib.error):
            return False

    def _without_record_reason(self) -> str:
        """Why rows held no record: said plainly for a known summary table."""
        reason = (f"{self.without_record} rows or values hold no audit record "
                  "(no Operation/AuditData found)")
        if self.coverage.records:
            return reason
        if self.coverage.format != containers.FORMAT_CSV:
            return SCAN_REPORT_REASON if self._is_scan_report() else reason
        try:
            with self.text_source.open_text() as stream:
                summary = containers.summary_table(stream.readline())
        except (OSError, UnicodeError, EOFError, zlib.error):
            return reason
        if summary is None:
            return reason
        return (f"a {summary} summary, not audit records: it has no record Id, no "
                "MailAccessType (Sync cannot be told from Bind) and no folder; read the audit "
                "records it was made from instead (a Search-UnifiedAuditLog, Purview or "
                "Get-UAL export)")


def _is_scan_report_head(head: str) -> bool:
    """An ostscan document of any kind (scan report, correlation, audit output)."""
    return '"document": "ostscan.' in head or '"document":"ostscan.' in head


def _iso_key(created: str) -> str | None:
    time = parse_time(created)
    return None if time is None else time.isoformat()[:19]


def _standard(value: object, raw: containers.RawRecord) -> bool:
    """A MailItemsAccessed AuditData object as Microsoft writes it, whose head (time, Id,
    Operation) was read without parsing: what the wrapper search and key lookups would find
    is known, and its keys may be read as they are spelt."""
    return (raw.operation == containers.MAIL_ITEMS_ACCESSED and value.__class__ is dict
            and raw.text is not None and bool(raw.record_id) and bool(raw.creation_time)
            and value.get("Id") == raw.record_id
            and value.get("CreationTime") == raw.creation_time
            and value.get("Operation") == raw.operation
            and spelt_as_microsoft(value, raw.text))


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second

