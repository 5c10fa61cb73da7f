"""Writing a correlation: terminal table, JSON lines (ECS names), safe CSV, Timesketch JSONL."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any, TextIO

from scanner import TOOL_NAME, __version__
from scanner.correlate.model import (
    CORRELATION_DOCUMENT,
    CORRELATION_SCHEMA_VERSION,
    CorrelationResult,
    Evidence,
    ExposedFolder,
    Finding,
    SessionConclusion,
    sessions_text,
)
from scanner.output import write_json, write_jsonl
from scanner.records import STATUS_OK, to_jsonable
from scanner.timeutil import iso

FORMATS = ("table", "json", "jsonl", "csv", "timesketch", "html")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_result(result: CorrelationResult, fmt: str, stream: TextIO) -> None:
    if fmt == "table":
        write_table(result, stream)
    elif fmt == "json":
        write_json(result_document(result), stream)
    elif fmt == "jsonl":
        write_jsonl(jsonl_records(result), stream)
    elif fmt == "csv":
        write_csv(result, stream)
    elif fmt == "timesketch":
        write_jsonl(timesketch_records(result), stream)
    elif fmt == "html":
        from scanner.correlate.html import write_html
        write_html(result, stream)
    else:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def result_document(result: CorrelationResult) -> dict[str, Any]:
    return {
        "schema_version": CORRELATION_SCHEMA_VERSION,
        "document": CORRELATION_DOCUMENT,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "summary": summary(result),
        "conclusions": to_jsonable(result.conclusions),
        "findings": to_jsonable(result.findings),
        "warnings": result.warnings,
        "input_warnings": result.input_warnings,
        "unread_copies": result.unread_copies,
    }


def summary(result: CorrelationResult) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for finding in result.findings:
        counts[finding.verdict] = counts.get(finding.verdict, 0) + 1
    return {"hosts": result.hosts, "copies": result.copies, "sessions": result.sessions,
            "mailboxes": result.mailboxes, "findings": len(result.findings), "verdicts": counts,
            "rules": result.rules}


# ---- table ------------------------------------------------------------------------------------

def write_table(result: CorrelationResult, stream: TextIO) -> None:
    rows = [("VERDICT", "CONF", "HOST", "OST", "MAILBOX", "SESSION", "RULE", "WHY")]
    for f in sorted(result.findings, key=_table_order):
        rows.append((f.verdict, f"{f.confidence:.2f}", f.host, short_path(f.ost_path, 40),
                     f.mailbox or "-", _short(f.session_key or sessions_text(f.session_count), 36),
                     f.rule_ids[0] if f.rule_ids else "-", _why(f)))
    rows = [tuple(printable(str(cell)) for cell in row) for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        stream.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    for line in conclusion_lines(result):
        stream.write(("\n" if line.startswith("[") else "") + line + "\n")


def conclusion_lines(result: CorrelationResult) -> list[str]:
    """Each marked session's conclusion, the devices holding its copy and what could not be
    ruled out, as lines of text."""
    lines = []
    for conclusion in result.conclusions:
        lines.append(printable(f"[{conclusion.conclusion}] {conclusion.statement}"))
        lines += [printable(f"  - {device.host}: {device.ost_path} "
                            f"(confidence {device.confidence:.2f})")
                  for device in conclusion.devices]
        lines += [printable(f"  ? not ruled out: {copy}")
                  for copy in conclusion.undetermined_copies]
    return lines


CONTROL = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


def printable(text: str) -> str:
    """Control characters (from evidence: file names, host names) written as \\xNN, so that
    none moves the cursor or clears the line a responder reads."""
    return text.translate(CONTROL)


def _table_order(finding: Finding) -> tuple:
    rank = {"match": 0, "insufficient-evidence": 1, "same-mailbox": 2, "unrelated": 3}
    return (not finding.marked, rank.get(finding.verdict, 9), finding.host, finding.ost_path)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


PROFILE_ROOTS = ("users", "documents and settings")     # not a volume: no need to keep them


def short_path(path: str, width: int) -> str:
    """A path cut in the middle: its first part (a host tree, a drive) and its end stay."""
    head = path.split("/", 1)[0]
    tail = width - len(head) - 2
    if len(path) <= width or tail < 16 or head.lower() in PROFILE_ROOTS:
        return _short(path, width)
    return f"{head}/…{path[-tail:]}"


def _why(finding: Finding) -> str:
    """The deciding evidence in a few words: identity against for `unrelated`, what ties the
    copy to the session for `match`, and what keeps it from the session for `same-mailbox`."""
    if finding.verdict == "unrelated":
        picked = [e for e in finding.evidence if e.outcome == "contradicts"]
    elif finding.verdict == "match":
        picked = [e for e in finding.evidence
                  if e.scope == "attribution" and e.outcome == "supports"]
    else:
        picked = [e for e in finding.evidence
                  if e.scope == "attribution" and e.outcome in ("contradicts", "neutral")]
    picked = sorted(picked, key=lambda e: -e.weight)[:2] or finding.evidence[:1]
    why = "; ".join(e.note for e in picked)
    return why if finding.ost_status == STATUS_OK else f"OST {finding.ost_status}: {why}"


# ---- JSON lines with ECS names ----------------------------------------------------------------

def jsonl_records(result: CorrelationResult) -> Iterator[dict[str, Any]]:
    for finding in result.findings:
        yield finding_record(finding)
    for conclusion in result.conclusions:
        yield conclusion_record(conclusion)


def finding_record(f: Finding) -> dict[str, Any]:
    return {
        "schema_version": CORRELATION_SCHEMA_VERSION,
        "@timestamp": iso(f.session_first),
        "event.kind": "alert" if f.verdict == "match" else "event",
        "event.category": ["file", "email"],
        "event.outcome": "success" if f.verdict == "match" else "unknown",
        "event.start": iso(f.session_first),
        "event.end": iso(f.session_last),
        "host.name": f.host,
        "file.path": f.ost_path,
        "file.hash.sha256": f.ost_sha256,
        "file.created": iso(f.ost_created),
        "file.mtime": iso(f.ost_last_write),
        "user.email": f.mailbox,
        "source.ip": f.client_ips,
        "rule.id": f.rule_ids[0] if f.rule_ids else None,
        "rule.ruleset": "ostscan",
        "ostscan.record": "finding",
        "ostscan.finding_id": f.finding_id,
        "ostscan.verdict": f.verdict,
        "ostscan.confidence": f.confidence,
        "ostscan.confidence_basis": f.confidence_basis,
        "ostscan.rule_ids": f.rule_ids,
        "ostscan.session.id": f.session_key,
        "ostscan.session.count": f.session_count,
        "ostscan.marked": f.marked,
        "ostscan.report_id": f.report_id,
        "ostscan.ost_status": f.ost_status,
        "ostscan.facts": f.facts,
        "ostscan.evidence": [evidence_json(e) for e in f.evidence],
        "ostscan.exposure": to_jsonable(f.exposure),
    }


def evidence_json(item: Evidence) -> dict[str, Any]:
    """One evidence item as JSON (by hand: this runs once per check of every finding)."""
    return {"check": item.check, "ost_value": _value(item.ost_value),
            "audit_value": _value(item.audit_value), "outcome": item.outcome,
            "weight": item.weight, "note": item.note, "scope": item.scope}


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    return value


def conclusion_record(c: SessionConclusion) -> dict[str, Any]:
    return {
        "schema_version": CORRELATION_SCHEMA_VERSION,
        "@timestamp": iso(c.first),
        "event.kind": "alert" if c.conclusion != "held-by-collected-devices" else "event",
        "event.start": iso(c.first),
        "event.end": iso(c.last),
        "user.email": c.mailbox,
        "source.ip": c.client_ips,
        "message": c.statement,
        "ostscan.record": "session",
        "ostscan.session.id": c.session_key,
        "ostscan.conclusion": c.conclusion,
        "ostscan.marked_by": c.marked_by,
        "ostscan.devices": to_jsonable(c.devices),
        "ostscan.hosts_examined": c.hosts_examined,
        "ostscan.copies_of_mailbox": c.copies_of_mailbox,
        "ostscan.scans_from": iso(c.scans_from),
        "ostscan.scans_to": iso(c.scans_to),
        "ostscan.undetermined_copies": c.undetermined_copies,
        "ostscan.synced_folders": c.synced_folders,
    }


# ---- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = ("schema_version", "finding_id", "verdict", "confidence", "rule_ids", "host",
               "ost_path", "ost_sha256", "ost_status", "mailbox", "session", "session_first",
               "session_last", "client_ips", "marked", "evidence", "exposed_folders",
               "exposed_items")


def safe_cell(value: Any) -> str:
    """Text a spreadsheet will not run: a cell starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(result: CorrelationResult, stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in result.findings:
        writer.writerow([safe_cell(v) for v in _csv_row(f)])


def _exposed_text(folder: ExposedFolder) -> str:
    count = folder.item_count if folder.item_count is not None else "?"
    by_name = ", matched by name" if folder.matched_by == "folder name" else ""
    return f"{folder.path} ({count}{by_name})"


def _csv_row(f: Finding) -> list[Any]:
    evidence = "; ".join(f"{e.check}={e.outcome}: {e.note}" for e in f.evidence)
    folders = "; ".join(_exposed_text(x) for x in f.exposure)
    items = sum(x.item_count or 0 for x in f.exposure)
    return [CORRELATION_SCHEMA_VERSION, f.finding_id, f.verdict, f"{f.confidence:.2f}",
            " ".join(f.rule_ids), f.host, f.ost_path, f.ost_sha256, f.ost_status, f.mailbox,
            f.session_key, iso(f.session_first), iso(f.session_last), " ".join(f.client_ips),
            f.marked, evidence, folders, items if f.exposure else None]


# ---- Timesketch -------------------------------------------------------------------------------

def timesketch_records(result: CorrelationResult) -> Iterator[dict[str, Any]]:
    """Timesketch JSONL: `message`, `datetime`, `timestamp_desc`, plus our fields."""
    for f in result.findings:
        if f.session_key is None:
            continue
        base = {"schema_version": CORRELATION_SCHEMA_VERSION, "verdict": f.verdict,
                "confidence": f.confidence, "host": f.host, "ost_path": f.ost_path,
                "mailbox": f.mailbox, "session_id": f.session_key, "finding_id": f.finding_id,
                "data_type": "ostscan:correlation:finding"}
        for time, desc in ((f.ost_created, "OST Created"), (f.ost_last_write, "OST Last Write")):
            if time is not None:
                yield {"message": f"{desc}: {f.host} {f.ost_path} [{f.verdict} for session "
                                  f"{f.session_key}]", "datetime": iso(time),
                       "timestamp_desc": desc, **base}
    yield from _timesketch_sessions(result)


def _timesketch_sessions(result: CorrelationResult) -> Iterator[dict[str, Any]]:
    """First and last Sync of every session paired with a copy; marked ones with the statement."""
    conclusions = {c.session_key: c for c in result.conclusions}
    sessions = {f.session_key: f for f in result.findings if f.session_key is not None}
    for key in sorted(set(sessions) | set(conclusions)):
        conclusion = conclusions.get(key)
        finding = sessions.get(key)
        first = conclusion.first if conclusion else finding.session_first
        last = conclusion.last if conclusion else finding.session_last
        base = {"schema_version": CORRELATION_SCHEMA_VERSION, "session_id": key,
                "mailbox": conclusion.mailbox if conclusion else finding.mailbox,
                "marked": conclusion is not None,
                "conclusion": conclusion.conclusion if conclusion else None,
                "data_type": "ostscan:correlation:session"}
        note = f": {conclusion.statement}" if conclusion else ""
        yield {"message": f"First Sync of session {key}{note}", "datetime": iso(first),
               "timestamp_desc": "First Sync", **base}
        yield {"message": f"Last Sync of session {key}", "datetime": iso(last),
               "timestamp_desc": "Last Sync", **base}
