"""`ostscan collect`, `ostscan correlate`, `ostscan match` and `ostscan rules check`."""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import sqlite3
from collections.abc import Iterator

import typer

from scanner import exitcodes
from scanner.audit.ingest import AuditError, IngestState, ingest, iter_events
from scanner.audit.sources import export_files
from scanner.commands.options import (
    evidence_root,
    ip_address,
    refuse_beside_stores,
    refuse_overwriting,
    writable_output,
)
from scanner.console import Console
from scanner.correlate.auditside import AuditSide, audit_side_from_events, audit_side_from_log
from scanner.correlate.case import (
    DEFAULT_CASE,
    CaseError,
    CaseStore,
    CollectSummary,
    file_digest,
    report_digest,
    report_sources,
)
from scanner.correlate.copies import drop_local, host_name, parse_egress, read_egress_csv
from scanner.correlate.engine import CorrelateOptions, correlate
from scanner.correlate.marking import Marks, build_marks
from scanner.correlate.model import (
    HELD_BY_DEVICES,
    NOT_THIS_FILE,
    UNDETERMINED,
    CorrelationResult,
)
from scanner.correlate.outputs import conclusion_lines, write_result
from scanner.correlate.rules import RuleSet, check_examples, default_rules_dir, load_rules
from scanner.discovery import LINK_STAGE
from scanner.output import open_output, output_problem, reader_gone
from scanner.records import STATUS_OK, STATUS_PARTIAL, ScanReport
from scanner.report import ReportError, looks_like_report, not_json, parse_report
from scanner.timeutil import parse_iso


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    timesketch = "timesketch"
    html = "html"


CASE_HELP = f"The case database (SQLite). Default: ./{DEFAULT_CASE}"


# ---- collect ----------------------------------------------------------------------------------

def collect(
    reports: list[str] = typer.Argument(None, help="Scan reports: files, folders, zips.",
                                        metavar="REPORT"),
    audit: list[str] = typer.Option([], "--audit", help="Audit-log exports to add: a file or "
                                    "folder, --audit again for each one.", metavar="PATH"),
    case: str = typer.Option(DEFAULT_CASE, "--case", help=CASE_HELP, metavar="FILE"),
    forget: list[str] = typer.Option([], "--forget", metavar="PATH",
                                      help="A refused report to stop counting as a host not "
                                      "examined (its path as collect gave it)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress on stderr.", metavar=""),
) -> None:
    """Put scan reports (and audit exports) from many hosts into one case database."""
    console = Console(quiet)
    if not reports and not audit and not forget:
        console.error("nothing to collect: give report paths and/or --audit PATH")
        raise typer.Exit(exitcodes.USAGE)
    problem = output_problem(case)
    if problem:                       # its folder does not exist: a bad command line
        console.error(f"--case: {problem}")
        raise typer.Exit(exitcodes.USAGE)
    new_case = not os.path.exists(case)
    if new_case:                      # a new case is not made beside the evidence
        refuse_overwriting(case, [*(reports or []), *_scanned_folders(reports or [])], console,
                           evidence=audit)
        refuse_beside_stores(case, console)
    try:
        store = CaseStore(case)
    except CaseError as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.FAILED) from exc
    try:
        with store:
            forgot_all = all([_forget(store, source, console) for source in forget])
            summary = store.collect_reports(reports or [])
            files, empty = _audit_files(audit, console)
            audit_failed = empty + sum(_collect_audit(store, p, console) for p in files)
            total = store.report_count()
            held = total + len(store.audit_inputs())
    except sqlite3.Error as exc:   # still locked after the wait, disk full, …
        console.error(f"{case}: the case could not be written: {exc} (what went in is kept)")
        raise typer.Exit(exitcodes.FAILED) from exc
    if reports:
        _report_summary(summary, total, case, console)
    if new_case and not held:
        os.remove(case)
        console.error(f"{case}: nothing could be collected, so no case was made")
        raise typer.Exit(exitcodes.FAILED)
    failed = bool(summary.refused) or audit_failed or not forgot_all
    raise typer.Exit(exitcodes.PARTIAL if failed else exitcodes.OK)


def _forget(store: CaseStore, source: str, console: Console) -> bool:
    if store.forget(source):
        console.info(f"{source}: forgotten; conclusions no longer wait for it")
        return True
    console.warn(f"--forget {source}: no refused report from there in the case")
    return False


def _scanned_folders(paths: list[str]) -> list[str]:
    """The folders the given reports scanned, where they still exist here: evidence."""
    folders = []
    for found in report_sources(paths):
        try:
            target = json.loads(found.data or b"")["target"]
        except (ValueError, KeyError, TypeError):
            continue                      # collecting says why it is refused
        if isinstance(target, dict) and target.get("kind") == "folder" and \
                os.path.isdir(str(target.get("path"))):
            folders.append(str(target["path"]))
    return folders


def _audit_files(paths: list[str], console: Console) -> tuple[list[str], int]:
    """The files of the --audit paths, and how many folders held none (said, as errors)."""
    files, empty = [], 0
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = export_files(path)
        if not found:
            console.warn(f"{path}: no file in this folder or below it")
            empty += 1
        files += found
    return files, empty


def _collect_audit(store: CaseStore, path: str, console: Console) -> int:
    """One audit input in one transaction; 1 when it could not be read whole."""
    try:
        digest = file_digest(path)
    except OSError as exc:
        console.warn(f"{path}: cannot read: {exc.strerror}")
        return 1
    state = IngestState(console)
    outcome, seen, added = store.add_audit_events(
        path, digest, iter_events([path], console, state),
        lambda: {"errors": [_where(e) for e in state.errors][:100],
                 "warnings": [f"{c.source_file}: {w}" for c in state.coverage
                              for w in c.warnings][:100],
                 "duplicates_dropped": state.duplicates,
                 "distinct_records": len(state.seen)})
    if outcome == "refused":
        console.warn(f"{path}: refused: no audit record found in it, nothing added")
        return 1
    if outcome == "unchanged":
        return _said_before(path, store.audit_summary(digest) or {}, console)
    console.info(f"{path}: {outcome}, {seen:,} MailItemsAccessed events, {added:,} new")
    return 1 if state.errors or any(c.warnings for c in state.coverage) else 0


def _said_before(path: str, summary: dict, console: Console) -> int:
    """An input already in the case: what its reading found is said again."""
    said = summary.get("errors", []) + summary.get("warnings", [])
    for text in said:
        console.warn(f"{text} (when collected)")
    console.info(f"{path}: unchanged, already in the case")
    return 1 if said else 0


def _where(error: AuditError) -> str:
    line = f":{error.line}" if error.line else ""
    return f"{error.source_file}{line}: {error.reason}"


def _report_summary(summary: CollectSummary, total: int, case: str, console: Console) -> None:
    for source, reason in summary.refused:
        console.warn(f"refused {reason if reason.startswith(source) else source + ': ' + reason}")
    console.info(f"{case}: {len(summary.added)} report(s) added, {len(summary.unchanged)} "
                 f"already there, {len(summary.refused)} refused; {total} in the case")


# ---- correlate --------------------------------------------------------------------------------

def correlate_command(
    case: str | None = typer.Option(None, "--case", help=CASE_HELP + " (used when no "
                                    "--report/--audit is given).", metavar="FILE"),
    report: list[str] = typer.Option([], "--report", help="Scan reports, without a case.",
                                     metavar="PATH"),
    audit: list[str] = typer.Option([], "--audit", help="Audit exports, without a case.",
                                    metavar="PATH"),
    session: list[str] = typer.Option([], "--session", help="A SessionId known malicious.",
                                      metavar="ID"),
    ip: list[str] = typer.Option([], "--ip", help="A client IP or CIDR known malicious.",
                                 metavar="IP|CIDR"),
    mailbox: list[str] = typer.Option([], "--mailbox", help="The compromised mailbox (UPN).",
                                      metavar="UPN"),
    since: str | None = typer.Option(None, "--since", help="Malicious activity from (UTC).",
                                     metavar="TIME"),
    until: str | None = typer.Option(None, "--until", help="Malicious activity until (UTC).",
                                     metavar="TIME"),
    egress: list[str] = typer.Option([], "--egress", help="HOST=IP: a host's public address.",
                                     metavar="HOST=IP"),
    egress_csv: str | None = typer.Option(None, "--egress-csv",
                                          help="CSV of host and public IP (e.g. Velociraptor "
                                          "clients: Hostname, LastIP).", metavar="FILE"),
    rules: list[str] = typer.Option([], "--rules", help="A folder of extra YAML rules.",
                                    metavar="DIR"),
    fmt: Format = typer.Option(Format.table, "--format", metavar="FORMAT",
                               help="table, json, jsonl (ECS), csv, timesketch or html."),
    output: str | None = typer.Option(None, "-o", "--output", callback=writable_output,
                                         help="Write here, not stdout.", metavar="FILE"),
    unrelated_limit: int = typer.Option(20, "--unrelated-limit", min=0,
                                        help="Unrelated mailboxes listed per OST.", metavar="N"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress on stderr.", metavar=""),
) -> None:
    """Pair every OST with the Sync sessions of its mailbox: verdicts, evidence, exposure."""
    console = Console(quiet)
    refuse_overwriting(output, [*report, case or DEFAULT_CASE], console, evidence=audit)
    if case and (report or audit):
        console.error("--case does not combine with --report/--audit: add them to the case "
                      "with `ostscan collect`, or leave out --case")
        raise typer.Exit(exitcodes.USAGE)
    ruleset = _rules_or_exit(rules, console)
    problems: list[str] = []
    options = _options_or_exit(egress, egress_csv, unrelated_limit, fmt, console, problems)
    marks = _marks_or_exit(session, ip, mailbox, since, until, console)
    nothing_read = False
    refused: list[str] = []            # reports that could not be read: hosts not examined
    if report or audit:
        reports, audit_side, nothing_read = _direct_inputs(report, audit, options, console,
                                                           refused, problems)
    else:
        reports, audit_side = _from_case(case or DEFAULT_CASE, options.timelines, console,
                                         refused)
    problems += refused
    scanned = [r.target.path for _, r in reports if r.target.kind == "folder"]
    refuse_overwriting(output, [path for path in scanned if os.path.isdir(path)], console)
    problems += _missing_side(reports, audit_side, bool(report), bool(audit),
                              not (report or audit))      # no findings: the run answers nothing
    if not nothing_read:              # with nothing read, no mark can name anything
        problems += unmatched_marks(marks, session, mailbox, ip, audit_side)   # a typo?
    problems += unknown_egress_hosts(options.egress, reports)
    result = correlate(reports, audit_side, ruleset, marks, options, unread_reports=refused)
    _finish(result, fmt, output, problems, console, nothing_read)


def _direct_inputs(
    report: list[str], audit: list[str], options: CorrelateOptions, console: Console,
    refused: list[str], problems: list[str],
) -> tuple[list[tuple[str, ScanReport]], AuditSide, bool]:
    """Reports and audit side from --report/--audit, and whether nothing at all was read."""
    reports = list(_direct_reports(report, refused, problems))
    log = ingest(audit, console) if audit else None
    audit_side = audit_side_from_log(log, options.timelines) if log else AuditSide([])
    return reports, audit_side, not reports and not (log and log.distinct_records)


def _missing_side(reports: list[tuple[str, ScanReport]], audit_side: AuditSide,
                  given_reports: bool, given_audit: bool, from_case: bool) -> list[str]:
    """One side of the join is empty: there will be no findings, and that is why."""
    said = []
    if not reports:
        said.append("the case holds no scan report: collect some" if from_case else
                    "no scan report could be read" if given_reports else
                    "no scan report to pair with: give --report")
    if not audit_side.sessions:
        said.append("the case holds no Sync session: collect audit exports" if from_case else
                    "no Sync session in the audit inputs to pair with" if given_audit else
                    "no Sync session to pair with: give --audit")
    return said


def unmatched_marks(marks: Marks, sessions: list[str], mailboxes: list[str], ips: list[str],
                    audit_side: AuditSide) -> list[str]:
    """A mark that names nothing in the audit log is most likely a typo: say so."""
    views = audit_side.sessions
    known_sessions = {v.key.lower() for v in views}
    known_mailboxes = {(v.session.mailbox_upn or "").lower() for v in views}
    said = [f"--session {s}: no Sync session has this id" for s in sessions
            if s.strip().lower() not in known_sessions]
    said += [f"--mailbox {m}: no Sync session of this mailbox" for m in mailboxes
             if m.strip().lower() not in known_mailboxes]
    if ips and not any("ip" in " ".join(marks.reasons(v)).lower() for v in views):
        narrowed = " that also fits --mailbox/--since/--until" if (
            mailboxes or marks.since or marks.until) else ""
        said.append(f"--ip {', '.join(ips)}: no Sync session came from there{narrowed}")
    if (marks.since or marks.until) and not any(marks.reasons(v) for v in views):
        said.append("--since/--until: no Sync session in that window")
    return said


def unknown_egress_hosts(egress: dict[str, str] | None,
                         reports: list[tuple[str, ScanReport]]) -> list[str]:
    known = {host_name(report).lower() for _, report in reports}
    return [f"--egress {host}: no host of that name in the reports "
            f"({', '.join(sorted(known)) or 'none'})" for host in egress or {} if host not in known]


def _rules_or_exit(extra: list[str], console: Console) -> RuleSet:
    ruleset = load_rules([default_rules_dir(), *extra])
    if ruleset.errors:
        for error in ruleset.errors:
            console.error(str(error))
        raise typer.Exit(exitcodes.INVALID)
    return ruleset


def _options_or_exit(
    egress: list[str], egress_csv: str | None, limit: int, fmt: Format, console: Console,
    problems: list[str],
) -> CorrelateOptions:
    try:
        hosts = read_egress_csv(egress_csv, problems) if egress_csv else {}
        hosts = drop_local(hosts, egress_csv or "", problems)
        hosts.update(drop_local(parse_egress(egress), "--egress", problems))
    except OSError as exc:
        console.error(f"{egress_csv}: cannot read: {exc.strerror or exc}")
        raise typer.Exit(exitcodes.FAILED) from exc
    except ValueError as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.USAGE) from exc
    return CorrelateOptions(unrelated_limit=limit, timelines=fmt == Format.html, egress=hosts)


def _marks_or_exit(session: list[str], ip: list[str], mailbox: list[str], since: str | None,
                   until: str | None, console: Console) -> Marks:
    try:
        start, end = _when("--since", since), _when("--until", until, end_of_day=True)
        if start and end and start > end:
            raise ValueError(f"--since {since} is after --until {until}")
        return build_marks(session, ip, mailbox, start, end)
    except ValueError as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.USAGE) from exc


def _when(option: str, text: str | None, end_of_day: bool = False) -> dt.datetime | None:
    """An ISO time; a bare date means its start, or for --until its end (the whole day)."""
    try:
        when = parse_iso(text)
        if when is not None and end_of_day and len(text.strip()) == len("2024-03-14"):
            when += dt.timedelta(days=1, microseconds=-1)
        return when
    except ValueError:
        raise ValueError(f"{option} {text!r}: not an ISO 8601 time "
                         "(e.g. 2024-03-14 or 2024-03-14T02:00:00Z)") from None


def _direct_reports(paths: list[str], refused: list[str],
                    problems: list[str]) -> Iterator[tuple[str, ScanReport]]:
    """Reports read; a report that could not be read goes to `refused` (a host unexamined),
    any other file given by mistake to `problems`."""
    for found in report_sources(paths):
        if found.error:
            problems.append(found.error)
            continue
        try:
            document = json.loads(found.data or b"")
            yield report_digest(document), parse_report(document, found.source)
        except (ReportError, ValueError) as exc:
            said = str(exc) if isinstance(exc, ReportError) \
                else not_json(found.source, exc, found.data or b"")
            (refused if looks_like_report(found.data or b"") else problems).append(said)


def _from_case(
    path: str, timelines: bool, console: Console, refused: list[str]
) -> tuple[list[tuple[str, ScanReport]], AuditSide]:
    if not os.path.exists(path):
        console.error(f"{path}: no such case; run `ostscan collect` first or give --report/--audit")
        raise typer.Exit(exitcodes.FAILED)
    try:
        with CaseStore(path, writable=False) as store:
            reports = list(store.reports())
            refused += store.refused_reports()
            said = [text for found in store.audit_inputs()
                    for text in found["summary"].get("errors", [])
                    + found["summary"].get("warnings", [])]
            side = audit_side_from_events(list(store.audit_events("sync")),
                                          list(store.audit_events("bind")), timelines, said)
        for text in said:     # read when collected: said again, as the conclusions rest on it
            console.warn(text)
    except (CaseError, ReportError) as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.FAILED) from exc
    return reports, side


def _finish(result: CorrelationResult, fmt: Format, output: str | None, problems: list[str],
            console: Console, nothing_read: bool = False) -> None:
    try:
        with open_output(output) as stream:
            write_result(result, fmt.value, stream)
    except BrokenPipeError:
        reader_gone()
    except OSError as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.FAILED) from exc
    for problem in problems + result.warnings:
        console.warn(problem)
    if fmt == Format.csv:             # a findings table: the answers go to the terminal
        for line in conclusion_lines(result):
            console.info(line)
    verdicts: dict[str, int] = {}
    for finding in result.findings:
        verdicts[finding.verdict] = verdicts.get(finding.verdict, 0) + 1
    console.info(f"{result.hosts} host(s), {result.copies} OST(s), {result.sessions} session(s): "
                 + (", ".join(f"{v} {k}" for k, v in sorted(verdicts.items())) or "no findings"))
    if nothing_read:
        raise typer.Exit(exitcodes.FAILED)
    damaged = problems or result.input_warnings or result.unread_copies
    raise typer.Exit(exitcodes.PARTIAL if damaged else exitcodes.OK)


# ---- match ------------------------------------------------------------------------------------

def match(
    ost: str = typer.Argument(..., help="One OST file.", metavar="OST"),
    audit: list[str] = typer.Option(..., "--audit", help="Audit-log exports.", metavar="PATH"),
    session: list[str] = typer.Option([], "--session", help="The session to test (marked).",
                                      metavar="ID"),
    egress_ip: str | None = typer.Option(None, "--egress-ip", callback=ip_address,
                                         help="Public address of the host the OST came from.",
                                         metavar="IP"),
    host_name: str | None = typer.Option(None, "--host-name", help="The host's name.",
                                         metavar="NAME"),
    rules: list[str] = typer.Option([], "--rules", help="A folder of extra YAML rules.",
                                    metavar="DIR"),
    fmt: Format = typer.Option(Format.table, "--format", metavar="FORMAT",
                               help="table, json, jsonl (ECS), csv, timesketch or html."),
    output: str | None = typer.Option(None, "-o", "--output", callback=writable_output,
                                         help="Write here, not stdout.", metavar="FILE"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress on stderr.", metavar=""),
) -> None:
    """Does this OST come from that session? Scan one file in-process and correlate it."""
    from scanner.scan import ScanOptions, scan_path

    console = Console(quiet)
    root = evidence_root(ost)
    refuse_overwriting(output, [root] if root else [], console, evidence=[ost, *audit])
    ruleset = _rules_or_exit(rules, console)
    if os.path.isdir(ost):
        console.error(f"{ost}: a folder; match takes one OST file (for a folder: ostscan scan, "
                      "then ostscan correlate)")
        raise typer.Exit(exitcodes.USAGE)
    if not os.path.isfile(ost):
        console.error(f"{ost}: no such file")
        raise typer.Exit(exitcodes.FAILED)
    options = ScanOptions(host_name=host_name or "unnamed", egress_ip=egress_ip)  # one file
    report = scan_path(ost, options, console)
    log = ingest(audit, console)
    side = audit_side_from_log(log, timelines=fmt == Format.html)
    marks = build_marks(session)
    problems = [f"{e.path}: {e.stage}: {e.reason}" for e in report.errors
                if e.stage != LINK_STAGE]
    if session and log.distinct_records and not any(marks.reasons(v) for v in side.sessions):
        problems.append(f"--session {', '.join(session)}: no Sync session has this id in the "
                        "audit inputs")
    options = CorrelateOptions(timelines=fmt == Format.html, one_file=True)
    result = correlate([(report.scan_id or ost, report)], side, ruleset, marks, options)
    if session:   # the question was about that session: leave the others out
        result.findings = [f for f in result.findings if f.marked]
    about_this_file(result, ost, report, console)
    problems += _unread_file(ost, report, result)
    _finish(result, fmt, output, problems, console, nothing_read=not log.distinct_records)


def _unread_file(ost: str, report: ScanReport, result: CorrelationResult) -> list[str]:
    """The file given to match, when it could not be read whole: listed as unread, and why."""
    unread = [store for store in report.files
              if store.status not in (STATUS_OK, STATUS_PARTIAL) and store.kind != "pst"]
    for store in unread:
        entry = f"{host_name(report)}: {store.path} ({store.status})"
        if entry not in result.unread_copies:
            result.unread_copies.append(entry)
    return [f"{ost}: {store.status}: {store.reason}" for store in unread]


def about_this_file(result: CorrelationResult, ost: str, report: ScanReport,
                    console: Console) -> None:
    """One file answers for itself only: "not this file" when it was read and is not shown to
    be the copy, "undetermined" when it could not be read whole; never "off-fleet"."""
    unread = [f"it could not be read ({store.status}: {(store.reason or '').split(';')[0]})"
              for store in report.files if store.status not in (STATUS_OK, STATUS_PARTIAL)]
    for conclusion in result.conclusions:
        key = conclusion.session_key
        if conclusion.conclusion == HELD_BY_DEVICES:
            conclusion.statement = f"{ost} holds the copy made by session {key}."
            continue
        if unread or conclusion.conclusion == UNDETERMINED:
            why = unread[0] if unread else "; ".join(conclusion.undetermined_copies)
            conclusion.conclusion = UNDETERMINED
            conclusion.statement = (f"Whether {ost} is the copy made by session {key} cannot "
                                    f"be told: {why}.")
            continue
        conclusion.conclusion = NOT_THIS_FILE
        conclusion.statement = (f"{ost} is not shown to be the copy made by session {key}; "
                                "one file says nothing of other devices.")
    for store in report.files:
        if store.kind == "pst":
            console.warn(f"{ost}: a PST, not an OST: Outlook keeps what it syncs in OSTs")


# ---- rules ------------------------------------------------------------------------------------

rules_app = typer.Typer(help="The verdict rules (YAML).", no_args_is_help=True)


@rules_app.command("check")
def rules_check(
    rules: list[str] = typer.Option([], "--rules", help="A folder of extra YAML rules.",
                                    metavar="DIR"),
    only: bool = typer.Option(False, "--only", help="Check only the --rules folders.", metavar=""),
) -> None:
    """Load every rule, report errors with file and line, and run every rule's examples."""
    if only and not rules:
        Console(False).error("--only checks the --rules folders: give at least one --rules DIR")
        raise typer.Exit(exitcodes.USAGE)
    folders = [*([] if only else [default_rules_dir()]), *rules]
    ruleset = load_rules(folders)
    failures = ruleset.errors + check_examples(ruleset)
    for failure in failures:
        typer.echo(str(failure))
    examples = sum(len(r.must_match) + len(r.must_not_match) for r in ruleset.rules)
    typer.echo(f"{len(ruleset.rules)} rule(s), {examples} example(s), {len(failures)} error(s)")
    raise typer.Exit(exitcodes.INVALID if failures else exitcodes.OK)


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
    app.command("correlate")(correlate_command)
    app.command("match")(match)
    app.add_typer(rules_app, name="rules")
