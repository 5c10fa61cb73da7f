"""Per marked session: which collected devices hold its copy, or that none does."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from scanner.correlate.auditside import AuditSide, SessionView
from scanner.correlate.evidence import SLACK_HOURS
from scanner.correlate.model import (
    HELD_BY_DEVICES,
    OFF_FLEET,
    UNDETERMINED,
    VERDICT_INSUFFICIENT,
    VERDICT_MATCH,
    VERDICT_SAME_MAILBOX,
    DeviceCopy,
    Finding,
    SessionConclusion,
    Timeline,
    TimelineMark,
)
from scanner.timeutil import iso

if TYPE_CHECKING:
    from scanner.correlate.engine import Fleet

TIMELINE_LIMIT = 50


def conclude(
    fleet: Fleet, audit: AuditSide, findings: list[Finding], marked: dict[str, list[str]]
) -> list[SessionConclusion]:
    grouped = findings_by_session(findings)
    blind = [f"{c.host}: {c.path} ({c.status}, no mailbox ids or owner)"
             for c in fleet.copies if not c.has_identity and not c.owners]
    blind += [f"{unread}, not read" for unread in fleet.unreadable]
    blind += [f"a host report not read ({unread})" for unread in fleet.unread_reports]
    blind += fleet.unsearched
    unsure = _insufficient_by_mailbox(findings)
    return [
        _conclusion(view, marked[view.key], grouped.get(view.key, [])
                    + unsure.get((view.session.mailbox_upn or "").lower(), []), blind, fleet)
        for view in sorted(audit.sessions, key=lambda v: (v.session.first, v.key))
        if view.key in marked
    ]


def _insufficient_by_mailbox(findings: list[Finding]) -> dict[str, list[Finding]]:
    """Collapsed findings (all sessions of a mailbox against one copy) that could not decide:
    they stand for each of that mailbox's sessions."""
    unsure: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.session_key is None and finding.verdict == VERDICT_INSUFFICIENT:
            unsure[(finding.mailbox or "").lower()].append(finding)
    return unsure


def _conclusion(
    view: SessionView, reasons: list[str], findings: list[Finding], blind: list[str],
    fleet: Fleet,
) -> SessionConclusion:
    devices = [DeviceCopy(f.host, f.ost_path, f.report_id, f.confidence, f.finding_id)
               for f in findings if f.verdict == VERDICT_MATCH]
    copies = [f for f in findings if f.verdict in (VERDICT_MATCH, VERDICT_SAME_MAILBOX,
                                                   VERDICT_INSUFFICIENT)]
    undetermined = [f"{f.host}: {f.ost_path} ({_why_open(f)})"
                    for f in copies if f.verdict != VERDICT_MATCH and _why_open(f)] + blind
    if not fleet.hosts:
        undetermined.append("no host report was given or readable: nothing to look for the "
                            "copy on")
    if devices:
        kind = HELD_BY_DEVICES
    elif undetermined:
        kind = UNDETERMINED
    else:
        kind = OFF_FLEET
    conclusion = SessionConclusion(
        session_key=view.key, mailbox=view.session.mailbox_upn, first=view.session.first,
        last=view.session.last, client_ips=sorted(view.client_ips), marked_by=reasons,
        conclusion=kind, devices=devices, hosts_examined=fleet.hosts,
        copies_of_mailbox=len(copies), scans_from=fleet.scans_from, scans_to=fleet.scans_to,
        undetermined_copies=undetermined, statement="", synced_folders=len(view.folder_keys),
        hosts_searched_in_outlook_folders_only=fleet.outlook_folders_only,
    )
    conclusion.statement = statement(conclusion)
    return conclusion


def _why_open(finding: Finding) -> str | None:
    """Why a non-matching copy might still be the session's: its times could not be read, or
    it was in use while the session ran and nothing tells whether the session fed it (its
    host's egress address unknown, its Outlook build not against the session's)."""
    if finding.verdict == VERDICT_INSUFFICIENT:
        return f"{finding.ost_status}: mailbox ids not readable"
    facts = finding.facts
    if facts.get("creation_delta_hours") is None and facts.get("birth_delta_hours") is None:
        return "same mailbox, creation time unknown"
    if (facts.get("session_overlaps_ost") is True and facts.get("egress_ip_match") is None
            and facts.get("client_version_match") is not False):
        return f"same mailbox, {_made(facts)}; its host's egress address is not known"
    return None


def _made(facts: dict) -> str:
    """When the copy was made against the session, in words (hours: OST minus first Sync)."""
    created = facts.get("creation_delta_hours")
    created = facts.get("birth_delta_hours") if created is None else created
    if created is not None and created >= -SLACK_HOURS:
        return ("made as the session ran and written after it: it may be the session's own "
                "copy")
    return "made before the session and written after it: the session may have fed it"


def statement(c: SessionConclusion) -> str:
    window = (f"scans from {iso(c.scans_from)} to {iso(c.scans_to)}" if c.scans_from
              else "no scans")
    basis = f"{c.hosts_examined} host(s) examined ({window}); {c.copies_of_mailbox} cop" \
            f"{'y' if c.copies_of_mailbox == 1 else 'ies'} of the mailbox found"
    if c.conclusion == HELD_BY_DEVICES:
        hosts = ", ".join(sorted({d.host for d in c.devices}))
        return f"The copy made or fed by session {c.session_key} is on: {hosts}. {basis}."
    if c.conclusion == UNDETERMINED and not c.hosts_examined:
        return (f"Where the copy of session {c.session_key} is cannot be said: no host "
                f"report was given or readable. {basis}.")
    if c.conclusion == UNDETERMINED:
        return (f"No collected device is shown to hold the copy of session {c.session_key}, "
                f"but {len(c.undetermined_copies)} thing(s) could not be ruled out (copies, "
                f"hosts or reports, listed). {basis}.")
    scope = ""
    if c.hosts_searched_in_outlook_folders_only:
        scope = (f" {c.hosts_searched_in_outlook_folders_only} of the hosts were searched in "
                 "Outlook's own folders only; an OST moved elsewhere is found by scan --deep.")
    return (f"No collected device holds the copy made by session {c.session_key}: it is "
            f"off-fleet (for example on the attacker's machine). {basis}; the session ran "
            f"{iso(c.first)} to {iso(c.last)} from {', '.join(c.client_ips) or 'unknown IPs'}."
            + scope)


def timelines(
    fleet: Fleet, audit: AuditSide, findings: list[Finding], marked: dict[str, list[str]]
) -> list[Timeline]:
    """Marked sessions and sessions with a copy: Sync events against paired OST times."""
    grouped = findings_by_session(findings)
    chosen = [v for v in audit.sessions if v.key in marked or any(
        f.verdict in (VERDICT_MATCH, VERDICT_SAME_MAILBOX) for f in grouped.get(v.key, []))]
    chosen.sort(key=lambda v: (v.key not in marked, v.session.first))
    return [_timeline(view, grouped.get(view.key, [])) for view in chosen[:TIMELINE_LIMIT]]


def _timeline(view: SessionView, findings: list[Finding]) -> Timeline:
    syncs = [TimelineMark(time, label, "sync") for time, label in view.sync_times]
    if not syncs:
        syncs = [TimelineMark(view.session.first, "first Sync", "sync"),
                 TimelineMark(view.session.last, "last Sync", "sync")]
    hosts: dict[str, list[TimelineMark]] = {}
    for finding in findings:
        marks = hosts.setdefault(f"{finding.host}: {finding.ost_path}", [])
        if finding.ost_created:
            marks.append(TimelineMark(finding.ost_created, "OST created", "ost-created"))
        if finding.ost_last_write:
            marks.append(TimelineMark(finding.ost_last_write, "OST last write", "ost-last-write"))
    return Timeline(view.key, view.session.mailbox_upn, syncs, hosts)


def findings_by_session(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.session_key is not None:
            grouped[finding.session_key].append(finding)
    return grouped
