"""`ostscan audit PATH...`: which sessions synced which folders of which mailbox, from where."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import typer

from scanner import exitcodes
from scanner.audit import export
from scanner.audit.events import AUDIT_SCHEMA_VERSION, AuditEvent, SyncSession
from scanner.audit.ingest import AuditLog, IngestState, exit_code, ingest, iter_events
from scanner.audit.sessions import COVERAGE_NONE_FOR_MAILBOX, MailboxCoverage
from scanner.commands.options import refuse_overwriting, writable_output
from scanner.console import Console
from scanner.output import open_output, write_json, write_jsonl
from scanner.timeutil import iso


class AuditFormat(str, enum.Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class AuditRecords(str, enum.Enum):
    all = "all"
    sessions = "sessions"
    events = "events"


class EventKind(str, enum.Enum):
    all = "all"
    sync = "sync"
    bind = "bind"


def audit(
    paths: list[str] = typer.Argument(..., help="Audit exports: files, folders, .gz, .zip "
                                      "(CSV, JSON, JSON lines; format found from the content).",
                                      metavar="EXPORT"),
    fmt: AuditFormat = typer.Option(AuditFormat.table, "--format",
                                    help="table: sessions on the terminal; json: one document; "
                                    "jsonl/csv: flat records with Elastic o365 field names."),
    records: AuditRecords = typer.Option(AuditRecords.all, "--records",
                                         help="What json/jsonl/csv hold. json: all is "
                                         "events and sessions; jsonl and csv hold one kind, "
                                         "so all is events there."),
    kind: EventKind = typer.Option(EventKind.all, "--kind", help="Events of this access type."),
    mailbox: str | None = typer.Option(None, "--mailbox",
                                       help="Only this mailbox (UPN or MailboxGuid); says "
                                       "whether the inputs cover it at all.", metavar="UPN"),
    output: str | None = typer.Option(None, "-o", "--output", callback=writable_output,
                                         help="Write here, not stdout.", metavar="FILE"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress on stderr.", metavar=""),
) -> None:
    """Read audit-log exports: MailItemsAccessed Sync sessions, folders, client IPs and versions."""
    console = Console(quiet)
    refuse_overwriting(output, [], console, evidence=paths)
    if fmt in (AuditFormat.jsonl, AuditFormat.csv) and records != AuditRecords.sessions \
            and mailbox is None:
        raise typer.Exit(_stream_events(paths, fmt, kind, output, console))

    if fmt == AuditFormat.table and (kind != EventKind.all or records != AuditRecords.all):
        console.warn("--kind and --records choose what json, jsonl and csv hold; the table "
                     "lists Sync sessions")
    events_written = fmt == AuditFormat.json or (fmt != AuditFormat.table
                                                  and records != AuditRecords.sessions)
    log = ingest(paths, console, keep_events=events_written or mailbox is not None)
    if mailbox is not None:
        _keep_mailbox(log, mailbox)
    with open_output(output) as stream:
        _write(log, fmt, records, kind, mailbox, stream)
    _summary(log, mailbox, fmt, console)
    raise typer.Exit(_exit_code(log, mailbox))


def _exit_code(log: AuditLog, mailbox: str | None) -> int:
    """That of the inputs; PARTIAL also when --mailbox names no mailbox they hold
    MailItemsAccessed records of (a typo, most likely), as with `correlate`."""
    code = exit_code(log)
    unnamed = mailbox is not None and any(
        coverage.status == COVERAGE_NONE_FOR_MAILBOX for coverage in log.mailboxes)
    return exitcodes.PARTIAL if unnamed and code == exitcodes.OK else code


def _stream_events(paths: list[str], fmt: AuditFormat, kind: EventKind, output: str | None,
                   console: Console) -> int:
    """Events written as they are read: memory stays flat for any input size."""
    state = IngestState(console)
    events = (export.event_document(e)
              for e in iter_events(paths, console, state) if _wanted(e, kind))
    with open_output(output) as stream:
        if fmt == AuditFormat.csv:
            export.write_csv(events, stream)
        else:
            write_jsonl(events, stream)
    if not state.seen and state.errors:
        return exitcodes.FAILED
    incomplete = any(coverage.warnings for coverage in state.coverage)
    return exitcodes.PARTIAL if state.errors or incomplete else exitcodes.OK


def _wanted(event: AuditEvent, kind: EventKind) -> bool:
    return kind == EventKind.all or event.kind == kind.value


def _keep_mailbox(log: AuditLog, mailbox: str) -> None:
    wanted = mailbox.strip().lower()

    def keep(event: AuditEvent) -> bool:
        return wanted in ((event.mailbox_upn or "").lower(), (event.mailbox_guid or "").lower())

    coverage = log.mailbox_coverage(mailbox)
    log.sync_events = [e for e in log.sync_events if keep(e)]
    log.bind_events = [e for e in log.bind_events if keep(e)]
    log.other_events = [e for e in log.other_events if keep(e)]
    log.bind_count, log.other_count = len(log.bind_events), len(log.other_events)
    names = {e.mailbox_upn for e in log.sync_events}
    log.sessions = [s for s in log.sessions if s.mailbox_upn in names]
    log.throttle_windows = [w for w in log.throttle_windows if (w.mailbox_upn or "").lower()
                            == wanted]
    log.mailboxes = [coverage]


def _write(log: AuditLog, fmt: AuditFormat, records: AuditRecords, kind: EventKind,
           mailbox: str | None, stream: TextIO) -> None:
    events = [export.event_document(e) for e in _events(log, kind)]
    sessions = [export.session_document(s) for s in log.sessions]
    if fmt == AuditFormat.table:
        if not log.distinct_records:      # nothing read: no result; stderr says why
            return
        if log.sessions or mailbox is None:
            stream.write(sessions_table(log.sessions))
        stream.writelines(mailbox_line(c) + "\n" for c in log.mailboxes if mailbox is not None)
    elif fmt == AuditFormat.json:
        write_json(_document(log, records, events, sessions), stream)
    elif fmt == AuditFormat.jsonl:
        chosen = {AuditRecords.events: events, AuditRecords.sessions: sessions}
        write_jsonl(chosen.get(records, sessions + events), stream)
    else:
        export.write_csv(sessions if records == AuditRecords.sessions else events, stream)


def _events(log: AuditLog, kind: EventKind) -> Iterator[AuditEvent]:
    for event in log.sync_events + log.bind_events + log.other_events:
        if _wanted(event, kind):
            yield event


def _document(log: AuditLog, records: AuditRecords, events: list[dict[str, Any]],
              sessions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema_version": AUDIT_SCHEMA_VERSION,
        "document": export.DOCUMENT_AUDIT,
        "summary": {
            "distinct_records": log.distinct_records,
            "mail_items_accessed": log.mail_items_accessed,
            "sync_events": len(log.sync_events),
            "bind_events": log.bind_count,
            "events_without_access_type": log.other_count,
            "sessions": len(log.sessions),
            "duplicates_dropped": log.duplicates_dropped,
            "errors": len(log.errors),
        },
        "coverage": export.plain(log.coverage),
        "mailboxes": export.plain(log.mailboxes),
        "throttle_windows": export.plain(log.throttle_windows),
        "sessions": sessions if records != AuditRecords.events else [],
        "events": events if records != AuditRecords.sessions else [],
        "errors": export.plain(log.errors),
    }


def mailbox_line(coverage: MailboxCoverage) -> str:
    """What the inputs say of one mailbox (`--mailbox`), in a line."""
    return f"mailbox {coverage.mailbox}: {coverage.status}: {coverage.note}"


def sessions_table(sessions: Iterable[SyncSession]) -> str:
    """Sync sessions as a fixed-width table."""
    header = ("SESSION", "MAILBOX", "FIRST (UTC)", "LAST (UTC)", "EVENTS", "FOLDERS",
              "CLIENT IPS", "CLIENT", "OST")
    rows = [header]
    for session in sessions:
        rows.append((session.session_key, session.mailbox_upn or session.user or "-",
                     iso(session.first), iso(session.last), str(session.event_count),
                     str(len(session.folder_keys) or len(session.folder_paths)),
                     ", ".join(session.client_ips) or "-",
                     _client(session), "yes" if session.leaves_ost else "no"))
    if len(rows) == 1:
        return "no MailItemsAccessed Sync session in the inputs\n"
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                   + "\n" for row in rows)


def _client(session: SyncSession) -> str:
    infos = "/".join(session.client_infos) or "-"
    versions = "/".join(session.client_versions)
    return f"{infos} {versions}".strip()


def _summary(log: AuditLog, mailbox: str | None, fmt: AuditFormat, console: Console) -> None:
    lost = (f", {log.other_count:,} events whose access type was lost"
            if log.other_count else "")
    console.info(f"{log.distinct_records:,} distinct records ({log.duplicates_dropped:,} "
                 f"duplicates dropped), {log.mail_items_accessed:,} MailItemsAccessed records "
                 f"giving {len(log.sync_events):,} Sync events in {len(log.sessions):,} "
                 f"sessions and {log.bind_count:,} Bind events (a record gives one event per "
                 f"folder it names){lost}; "
                 f"{len(log.errors):,} errors")
    for window in log.throttle_windows:
        console.warn(f"{window.mailbox_upn}: throttled from {iso(window.start)} to "
                     f"{iso(window.end)}: Bind not audited, assume all mail accessed")
    for coverage in log.mailboxes if mailbox is not None and fmt != AuditFormat.table else []:
        console.warn(mailbox_line(coverage))       # a result: not silenced by -q
    if not log.mail_items_accessed and log.distinct_records:
        console.warn("no MailItemsAccessed record in any input: auditing may be off or the "
                     "export left it out; no Sync event here proves nothing")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
