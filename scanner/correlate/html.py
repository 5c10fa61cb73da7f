"""A self-contained HTML report: no scripts, no network resources, every text escaped.

Per session an inline SVG timeline puts its Sync events against each paired host's OST creation
and last write; tables list the conclusions, the findings with their evidence, and the exposure.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TextIO

from scanner import TOOL_NAME, __version__
from scanner.correlate.model import (
    CORRELATION_SCHEMA_VERSION,
    CorrelationResult,
    Finding,
    Timeline,
    TimelineMark,
    sessions_text,
)
from scanner.correlate.outputs import summary
from scanner.timeutil import iso, now_utc

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px;text-align:left}
th{background:#f0f0f0}
.match{background:#fdd}.same-mailbox{background:#ffe9c7}.unrelated{background:#eef}
.insufficient-evidence{background:#eee}
.supports{color:#070}.contradicts{color:#a00}.neutral{color:#555}.unknown{color:#888}
code{font-size:12px}
"""
_COLOURS = {"sync": "#1f5fbf", "ost-created": "#0a8a2a", "ost-last-write": "#d46a00"}
WIDTH, LEFT, ROW = 900, 260, 26


def _e(value: object) -> str:
    if isinstance(value, dt.datetime):
        value = iso(value)
    return escape("" if value is None else str(value), quote=True)


def write_html(result: CorrelationResult, stream: TextIO) -> None:
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<meta name=\"ostscan-schema-version\" content=\"{CORRELATION_SCHEMA_VERSION}\">",
        f"<title>{_e(TOOL_NAME)} correlation</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(TOOL_NAME)} correlation</h1>",
        f"<p>schema_version {_e(CORRELATION_SCHEMA_VERSION)} · {_e(TOOL_NAME)} "
        f"{_e(__version__)} · written {_e(iso(now_utc()))}</p>",
        _summary(result), _conclusions(result), _timelines(result.timelines),
        _exposure(result.findings), _findings(result.findings),
        _warnings(result.warnings + result.input_warnings),
        "</body></html>\n",
    ]
    stream.write("\n".join(parts))


def _summary(result: CorrelationResult) -> str:
    s = summary(result)
    verdicts = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(s["verdicts"].items()))
    return (f"<p>{s['hosts']} host report(s), {s['copies']} OST copies, {s['sessions']} Sync "
            f"session(s) of {s['mailboxes']} mailbox(es); {s['findings']} finding(s) "
            f"({verdicts or 'none'}).</p>")


def _conclusions(result: CorrelationResult) -> str:
    if not result.conclusions:
        return "<h2>Marked sessions</h2><p>No session was marked malicious.</p>"
    rows = ["<tr><th>Session</th><th>Mailbox</th><th>Conclusion</th><th>Devices</th>"
            "<th>Not ruled out</th><th>Statement</th></tr>"]
    for c in result.conclusions:
        devices = "<br>".join(f"{_e(d.host)}: <code>{_e(d.ost_path)}</code> "
                              f"({d.confidence:.2f})" for d in c.devices) or "none"
        open_copies = "<br>".join(_e(copy) for copy in c.undetermined_copies) or "none"
        rows.append(f"<tr><td><code>{_e(c.session_key)}</code></td><td>{_e(c.mailbox)}</td>"
                    f"<td>{_e(c.conclusion)}</td><td>{devices}</td><td>{open_copies}</td>"
                    f"<td>{_e(c.statement)}</td></tr>")
    return "<h2>Marked sessions</h2><table>" + "".join(rows) + "</table>"


def _timelines(timelines: list[Timeline]) -> str:
    if not timelines:
        return ""
    legend = " ".join(f"<span style=\"color:{c}\">&#9632; {_e(k)}</span>"
                      for k, c in _COLOURS.items())
    body = [f"<h2>Timelines</h2><p>{legend}</p>"]
    for timeline in timelines:
        body.append(f"<h3>Session <code>{_e(timeline.session_key)}</code> "
                    f"({_e(timeline.mailbox)})</h3>")
        body.append(timeline_svg(timeline))
    return "\n".join(body)


NEAR = dt.timedelta(days=30)   # OST times further from the session are drawn at the edge


def _window(timeline: Timeline) -> tuple[dt.datetime, dt.datetime]:
    """The session, widened to the OST times within a month of it: a copy last written two
    years later must not squeeze the session into a dot."""
    syncs = [m.time for m in timeline.sync_marks]
    first, last = min(syncs), max(syncs)
    near = [m.time for marks in timeline.host_marks.values() for m in marks
            if first - NEAR <= m.time <= last + NEAR]
    return min([first, *near]), max([last, *near])


def timeline_svg(timeline: Timeline) -> str:
    rows = [("Sync events", timeline.sync_marks)] + list(timeline.host_marks.items())
    start, end = _window(timeline) if timeline.sync_marks else _extent(rows)
    span = max((end - start).total_seconds(), 60.0)
    height = ROW * (len(rows) + 1) + 10
    out = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH + LEFT + 140}\" "
           f"height=\"{height}\" role=\"img\">"]
    for index, (label, marks) in enumerate(rows):
        y = ROW * (index + 1)
        out.append(f"<text x=\"4\" y=\"{y + 4}\" font-size=\"11\">{_e(_clip(label))}</text>")
        out.append(f"<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{LEFT + WIDTH}\" y2=\"{y}\" "
                   "stroke=\"#ddd\"/>")
        inside = [m for m in marks if start <= m.time <= end]
        out.extend(_mark(m, LEFT + WIDTH * (m.time - start).total_seconds() / span, y)
                   for m in inside)
        out.append(_edge([m for m in marks if m.time < start], True, y))
        out.append(_edge([m for m in marks if m.time > end], False, y))
    axis = ROW * (len(rows) + 1)
    out.append(f"<text x=\"{LEFT}\" y=\"{axis}\" font-size=\"10\">{_e(iso(start))}</text>")
    out.append(f"<text x=\"{LEFT + WIDTH}\" y=\"{axis}\" font-size=\"10\" "
               f"text-anchor=\"end\">{_e(iso(end))}</text>")
    out.append("</svg>")
    return "".join(out)


def _extent(rows: list) -> tuple[dt.datetime, dt.datetime]:
    times = [m.time for _, marks in rows for m in marks]
    return min(times), max(times)


def _edge(marks: list[TimelineMark], before: bool, y: int) -> str:
    """Marks outside the window: one arrow at that edge, and their dates in their colours."""
    if not marks:
        return ""
    x = LEFT - 6 if before else LEFT + WIDTH + 6
    points = f"{x + 5},{y - 5} {x - 3},{y} {x + 5},{y + 5}" if before else \
        f"{x - 5},{y - 5} {x + 3},{y} {x - 5},{y + 5}"
    marks = sorted(marks, key=lambda m: m.time)
    titles = "; ".join(f"{m.label} {iso(m.time)}" for m in marks)
    dates = " ".join(f"<tspan fill=\"{_COLOURS.get(m.kind, '#444')}\">{_e(iso(m.time)[:10])}"
                     "</tspan>" for m in marks)
    colour = _COLOURS.get(marks[0].kind, "#444")
    return (f"<polygon points=\"{points}\" fill=\"{colour}\"><title>{_e(titles)}</title>"
            f"</polygon><text x=\"{x + 8}\" y=\"{y + 4}\" font-size=\"9\">{dates}</text>")


def _clip(text: str, width: int = 42) -> str:
    """Row labels are `HOST: path`: keep the host and the file name, which tell rows apart."""
    host, sep, path = text.partition(": ")
    if sep:
        text = f"{host}: {path.replace(chr(92), '/').rsplit('/', 1)[-1]}"
    return text if len(text) <= width else text[:width - 1] + "…"


def _mark(mark: TimelineMark, x: float, y: int) -> str:
    colour = _COLOURS.get(mark.kind, "#444")
    title = f"<title>{_e(mark.label)} {_e(iso(mark.time))}</title>"
    if mark.kind == "sync":
        return (f"<circle cx=\"{x:.1f}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\" "
                f"fill-opacity=\"0.6\">{title}</circle>")
    return (f"<rect x=\"{x - 4:.1f}\" y=\"{y - 7}\" width=\"8\" height=\"14\" "
            f"fill=\"{colour}\">{title}</rect>")


def _exposure(findings: list[Finding]) -> str:
    rows = ["<tr><th>Host</th><th>OST</th><th>Session</th><th>Folder</th><th>Folder id</th>"
            "<th>Matched by</th><th>Items</th><th>Message-IDs also bound</th></tr>"]
    for f in findings:
        for folder in f.exposure:
            bound = "<br>".join(_e(i) for i in folder.bound_message_ids)
            rows.append(f"<tr><td>{_e(f.host)}</td><td><code>{_e(f.ost_path)}</code></td>"
                        f"<td><code>{_e(f.session_key)}</code></td><td>{_e(folder.path)}</td>"
                        f"<td><code>{_e(folder.folder_key)}</code></td>"
                        f"<td>{_e(folder.matched_by)}</td>"
                        f"<td>{_e(folder.item_count)}</td><td>{bound}</td></tr>")
    if len(rows) == 1:
        return "<h2>Exposure</h2><p>No copy matched a session.</p>"
    note = "<p>Every item in a synced folder counts as accessed (Microsoft's guidance).</p>"
    return "<h2>Exposure</h2>" + note + "<table>" + "".join(rows) + "</table>"


def _findings(findings: list[Finding]) -> str:
    rows = ["<tr><th>Verdict</th><th>Conf.</th><th>Host</th><th>OST</th><th>Mailbox</th>"
            "<th>Session</th><th>Rules</th><th>Evidence</th></tr>"]
    for f in findings:
        session = f.session_key or sessions_text(f.session_count)
        rows.append(f"<tr class=\"{_e(f.verdict)}\"><td>{_e(f.verdict)}</td>"
                    f"<td>{f.confidence:.2f}</td><td>{_e(f.host)}</td>"
                    f"<td><code>{_e(f.ost_path)}</code></td><td>{_e(f.mailbox)}</td>"
                    f"<td><code>{_e(session)}</code></td><td>{_e(' '.join(f.rule_ids))}</td>"
                    f"<td>{_evidence(f)}</td></tr>")
    return "<h2>Findings</h2><table>" + "".join(rows) + "</table>"


def _evidence(finding: Finding) -> str:
    items = [f"<li class=\"{_e(e.outcome)}\"><b>{_e(e.check)}</b> {_e(e.outcome)} "
             f"(weight {e.weight:g}): {_e(e.note)}<br><small>OST: {_e(e.ost_value)} · audit: "
             f"{_e(e.audit_value)}</small></li>" for e in finding.evidence]
    return "<ul>" + "".join(items) + "</ul>"


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return ""
    return "<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"
