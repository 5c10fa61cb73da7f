"""The join: every OST copy against the sessions of its own mailbox, found through indexes.

Sessions are indexed by DatabaseGuid (and by owner address for copies without ids), so a copy
meets only its mailbox's sessions: the work grows with copies + sessions, not their product.
Sessions of other mailboxes collapse to one `unrelated` finding per copy per mailbox.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.correlate.auditside import AuditSide, SessionView
from scanner.correlate.conclusions import conclude, timelines
from scanner.correlate.copies import (
    OstCopy,
    copies_from_report,
    folder_key_text,
    host_name,
    unreadable_osts,
)
from scanner.correlate.evidence import (
    AuditParty,
    attribution_evidence,
    identity_evidence,
    party_of,
    party_of_mailbox,
)
from scanner.correlate.marking import Marks
from scanner.correlate.model import (
    CONTRADICTS,
    SUPPORTS,
    UNKNOWN,
    VERDICT_INSUFFICIENT,
    VERDICT_MATCH,
    VERDICT_SAME_MAILBOX,
    VERDICT_UNRELATED,
    CorrelationResult,
    Evidence,
    ExposedFolder,
    Finding,
)
from scanner.correlate.rules import Rule, RuleSet
from scanner.records import STATUS_OK, STATUS_PARTIAL, ScanReport
from scanner.report import nothing_in_outlook_folders, searched_whole
from scanner.timeutil import iso

DRIVE_PREFIX = re.compile(r"[a-z]:/")
UNREAD_LISTED = 10          # OSTs not read whole named in the warning; the rest counted


@dataclass
class CorrelateOptions:
    unrelated_limit: int = 20      # collapsed `unrelated` findings per copy
    timelines: bool = False        # keep Sync times and OST times for the HTML report
    egress: dict[str, str] | None = None
    one_file: bool = False         # match: the question is about one file, not hosts


@dataclass
class Fleet:
    copies: list[OstCopy]
    hosts: int
    scans_from: Any
    scans_to: Any
    repeated: int = 0     # copies seen again in another report of the same host
    unreadable: list[str] = field(default_factory=list)   # OSTs that are no store: unread
    outlook_folders_only: int = 0    # hosts whose scans searched Outlook's folders, not all
    unread_reports: list[str] = field(default_factory=list)   # given, but not read
    unsearched: list[str] = field(default_factory=list)   # hosts with no OST, not --deep
    shared_names: list[str] = field(default_factory=list)  # one name, several targets


def collect_copies(
    reports: Iterable[tuple[str, ScanReport]], egress: dict[str, str] | None,
    one_file: bool = False,
) -> Fleet:
    """Every copy once: a host scanned twice, or its folder and its zip both collected, must not
    count as two devices. Hosts are counted by name; a repeated copy (same host, path and
    content) is taken from the latest scan. `one_file`: the question is about one file (match),
    not about hosts."""
    latest: dict[tuple, OstCopy] = {}
    unreadable: list[str] = []
    seen = 0
    by_host: dict[str, list[ScanReport]] = defaultdict(list)
    for report_id, report in reports:
        for copy in copies_from_report(report, report_id, egress):
            seen += 1
            key = _same_copy(copy)
            if key not in latest or _newer(copy, latest[key]):
                latest[key] = copy
        unreadable += unreadable_osts(report)
        by_host[host_name(report).lower()].append(report)
    copies = list(latest.values())
    scans = [r for host in by_host.values() for r in host]
    return Fleet(copies, len(by_host), min((r.started for r in scans), default=None),
                 max((r.finished or r.started for r in scans), default=None),
                 repeated=seen - len(copies), unreadable=sorted(set(unreadable)),
                 outlook_folders_only=sum(not any(map(searched_whole, host))
                                          for host in by_host.values()),
                 unsearched=[] if one_file else _unsearched(by_host),
                 shared_names=_shared_names(by_host))


def _unsearched(by_host: dict[str, list[ScanReport]]) -> list[str]:
    """Hosts whose reports could have missed an OST: only single files scanned, or nothing in
    Outlook's folders and not searched whole."""
    said = []
    for reports in by_host.values():
        name = host_name(reports[0])
        if all(r.target.kind == "file" for r in reports):
            said.append(f"{name}: only single files were scanned, not the host")
        elif not any(map(searched_whole, reports)) and all(
                map(nothing_in_outlook_folders, [r for r in reports if r.target.kind != "file"])):
            said.append(f"{name}: no Outlook data file in Outlook's folders, and not searched "
                        "whole (scan --deep)")
    return sorted(said)


def _shared_names(by_host: dict[str, list[ScanReport]]) -> list[str]:
    """Host names given to reports of different targets: a --host-name copied and not changed
    merges two machines into one."""
    said = []
    for reports in by_host.values():
        targets = sorted({r.target.path for r in reports if r.target.path})
        if len(targets) > 1:
            said.append(f"host {host_name(reports[0])} names reports of {len(targets)} different "
                        f"targets ({', '.join(targets)}): one machine, or a --host-name left "
                        "unchanged? They are counted as one host")
    return said


def _same_copy(copy: OstCopy) -> tuple:
    """Host, path without its drive (a folder of the drive and an image of it name the same
    file `Users/...` and `C:/Users/...`) and content."""
    content = copy.sha256 or (copy.root_created, copy.last_write)
    path = copy.path.lower()
    path = path[3:] if DRIVE_PREFIX.match(path) else path
    return (copy.host.lower(), path, content)


def _newer(copy: OstCopy, kept: OstCopy) -> bool:
    return (copy.scan_finished or copy.scan_started) > (kept.scan_finished or kept.scan_started)


def correlate(
    reports: Iterable[tuple[str, ScanReport]],
    audit: AuditSide,
    rules: RuleSet,
    marks: Marks | None = None,
    options: CorrelateOptions | None = None,
    unread_reports: Iterable[str] = (),
) -> CorrelationResult:
    """Findings for every copy, then a conclusion for every marked session; `unread_reports`
    are host reports given that could not be read, so that no conclusion overlooks them."""
    marks = marks or Marks()
    options = options or CorrelateOptions()
    fleet = collect_copies(reports, options.egress, options.one_file)
    fleet.unread_reports = list(unread_reports)
    marked = {}
    for view in audit.sessions:
        reasons = marks.reasons(view)
        if reasons:
            marked[view.key] = reasons
    scope = _scope(audit, marked)
    findings: list[Finding] = []
    trimmed = 0
    for copy in fleet.copies:
        found, skipped = findings_for_copy(copy, audit, rules, scope, options)
        findings.extend(found)
        trimmed += bool(skipped)
    warnings = [f"{trimmed} OST(s) met none of their own sessions and more than "
                f"{options.unrelated_limit} other mailboxes; the rest are not listed "
                "(--unrelated-limit)"] if trimmed else []
    warnings += _throttled(audit, scope) + fleet.shared_names
    if fleet.repeated:
        warnings.append(f"{fleet.repeated} cop(ies) found again in other reports of the same "
                        "host (same path and content): each counted once, from the latest scan")
    unread = [f"{c.host}: {c.path} ({c.status})" for c in fleet.copies if c.status != STATUS_OK]
    unread += fleet.unreadable
    warnings += _unread_warning(unread)
    result = CorrelationResult(
        findings=findings,
        conclusions=conclude(fleet, audit, findings, marked),
        hosts=fleet.hosts, copies=len(fleet.copies), sessions=len(audit.sessions),
        mailboxes=len(audit.by_mailbox), rules=[r.id for r in rules.rules], warnings=warnings,
        input_warnings=list(audit.warnings), unread_copies=unread,
    )
    if options.timelines:
        result.timelines = timelines(fleet, audit, findings, marked)
    return result


def _unread_warning(unread: list[str]) -> list[str]:
    if not unread:
        return []
    more = len(unread) - UNREAD_LISTED
    return [f"{len(unread)} OST(s) not read whole, their verdicts rest on what could be read: "
            + ", ".join(unread[:UNREAD_LISTED]) + (f" and {more} more" if more > 0 else "")]


def _throttled(audit: AuditSide, scope: _Scope) -> list[str]:
    """Microsoft: after IsThrottled, treat 24 h as unaudited and all mail as accessed."""
    marked = set(scope.marked_mailboxes)
    return [f"{w.mailbox_upn}: Bind auditing throttled from {iso(w.start)} to {iso(w.end)}; "
            "assume every item of the mailbox was accessed in that window"
            for w in audit.throttle_windows if (w.mailbox_upn or "").lower() in marked]


def candidate_sessions(copy: OstCopy, audit: AuditSide) -> dict[str, SessionView]:
    """Sessions that share a DatabaseGuid or an owner address with the copy."""
    found: dict[str, SessionView] = {}
    for guid in copy.database_guids:
        for view in audit.by_guid.get(guid, ()):
            found[view.key] = view
    for owner in copy.owners:
        for view in audit.by_owner.get(owner, ()):
            found[view.key] = view
    return found


@dataclass
class _Scope:
    """Computed once per run: which sessions and mailboxes are marked, mailboxes in order."""

    marked: dict[str, list[str]]
    marked_mailboxes: list[str]
    all_mailboxes: list[str]


def _scope(audit: AuditSide, marked: dict[str, list[str]]) -> _Scope:
    marked_mailboxes = sorted({v.mailbox for v in audit.sessions if v.key in marked})
    return _Scope(marked, marked_mailboxes, sorted(audit.by_mailbox))


def findings_for_copy(
    copy: OstCopy, audit: AuditSide, rules: RuleSet, scope: _Scope, options: CorrelateOptions,
) -> tuple[list[Finding], int]:
    """Findings of one copy, and how many other mailboxes were left out by the limit."""
    candidates = candidate_sessions(copy, audit)
    findings = [pair_finding(copy, view, rules, view.key in scope.marked)
                for view in sorted(candidates.values(), key=lambda v: (v.session.first, v.key))]
    own = {view.mailbox for view in candidates.values()}
    others, skipped = _other_mailboxes(own, bool(candidates), scope, options.unrelated_limit)
    marked = set(scope.marked_mailboxes)
    if not copy.has_identity and not copy.owners and others:
        views = [v for m in others for v in audit.by_mailbox[m]]
        label = f"{len(others) + skipped} mailbox(es)"
        blind = mailbox_finding(copy, label, views, rules, bool(marked & set(others)))
        if len(others) + skipped > 1:
            blind.mailbox = label          # sessions of several mailboxes: none is named
        return findings + [blind], skipped
    findings += [mailbox_finding(copy, m, audit.by_mailbox[m], rules, m in marked)
                 for m in others]
    return findings, skipped


def _other_mailboxes(
    own: set[str], has_candidates: bool, scope: _Scope, limit: int
) -> tuple[list[str], int]:
    """Marked mailboxes first; all others only for a copy that met none of its own sessions."""
    chosen = [m for m in scope.marked_mailboxes if m not in own]
    total = len(chosen)
    if not has_candidates:
        total = len(scope.all_mailboxes) - len(own & set(scope.all_mailboxes))
        seen = set(chosen)
        for mailbox in scope.all_mailboxes:
            if len(chosen) >= limit:
                break
            if mailbox not in own and mailbox not in seen:
                chosen.append(mailbox)
    kept = chosen[:limit]
    return kept, total - len(kept)


def pair_finding(copy: OstCopy, view: SessionView, rules: RuleSet, marked: bool) -> Finding:
    party = party_of(view)
    identity, facts = identity_evidence(copy, party)
    attribution, more = attribution_evidence(copy, party)
    facts.update(more)
    finding = _finding(copy, party, identity + attribution, facts, rules, marked)
    finding.session_key = view.key
    finding.session_count = 1
    if finding.verdict == VERDICT_MATCH:
        finding.exposure = exposure(copy, view)
    return finding


def mailbox_finding(
    copy: OstCopy, mailbox: str, views: list[SessionView], rules: RuleSet, marked: bool
) -> Finding:
    """All sessions of another mailbox against this copy: identity only, one finding."""
    party = party_of_mailbox(mailbox, views)
    evidence, facts = identity_evidence(copy, party)
    finding = _finding(copy, party, evidence, facts, rules, marked)
    finding.mailbox = party.mailbox_upn or mailbox
    finding.session_count = len(views)
    return finding


def _finding(
    copy: OstCopy, party: AuditParty, evidence: list[Evidence], facts: dict[str, Any],
    rules: RuleSet, marked: bool,
) -> Finding:
    facts.update(ost_readable=copy.status in (STATUS_OK, STATUS_PARTIAL),
                 collapsed=party.collapsed, marked=marked)
    rule, matched = rules.decide(facts)
    verdict = rule.verdict if rule else VERDICT_INSUFFICIENT
    confidence, basis = confidence_of(rule, verdict, evidence)
    return Finding(
        finding_id=_finding_id(copy.copy_id, party.label), verdict=verdict,
        confidence=confidence, rule_ids=matched, confidence_basis=basis,
        host=copy.host, report_id=copy.report_id, ost_path=copy.path,
        ost_sha256=copy.sha256, ost_status=copy.status, mailbox=party.mailbox_upn,
        session_key=None, session_count=0, session_first=party.first, session_last=party.last,
        client_ips=sorted(party.client_ips), marked=marked, facts=facts, evidence=evidence,
        ost_created=copy.root_created or copy.file_birth, ost_last_write=copy.last_write,
    )


def _finding_id(copy_id: str, label: str) -> str:
    return hashlib.sha1(f"{copy_id}|{label}".encode()).hexdigest()[:16]


def confidence_of(rule: Rule | None, verdict: str, evidence: list[Evidence]) -> tuple[float, str]:
    """The deciding rule's confidence, scaled by how much evidence weight agrees with the verdict.

    Full agreement keeps the rule's value; none halves it.
    """
    if rule is None:
        return 0.0, "no rule matched"
    agree = disagree = 0.0
    for item in evidence:
        side = _leaning(verdict, item)
        agree += item.weight if side > 0 else 0.0
        disagree += item.weight if side < 0 else 0.0
    share = agree / (agree + disagree) if agree + disagree else 0.5
    confidence = round(rule.confidence * (0.5 + 0.5 * share), 2)
    basis = (f"{rule.id}: {rule.confidence:.2f} x (0.5 + 0.5 x {agree:g}/{agree + disagree:g} "
             f"weight agreeing)")
    return confidence, basis


def _leaning(verdict: str, item: Evidence) -> int:
    """+1 when the item agrees with the verdict, -1 when it disagrees, 0 otherwise."""
    if verdict == VERDICT_INSUFFICIENT:
        return 1 if item.outcome == UNKNOWN else (-1 if item.outcome in (SUPPORTS, CONTRADICTS)
                                                  else 0)
    sign = {SUPPORTS: 1, CONTRADICTS: -1}.get(item.outcome, 0)
    if verdict == VERDICT_MATCH:
        return sign
    if verdict == VERDICT_UNRELATED:
        return -sign if item.scope == "identity" else 0
    if verdict == VERDICT_SAME_MAILBOX:
        return sign if item.scope == "identity" else -sign
    return 0


def exposure(copy: OstCopy, view: SessionView) -> list[ExposedFolder]:
    """Synced folders this copy holds, with item counts; Bind message ids where known."""
    exposed = {}
    for key in sorted(view.folder_keys & copy.folders.keys()):
        folder = copy.folders[key]
        exposed[key] = ExposedFolder(folder_key_text(key), folder.path, folder.item_count)
    for key in sorted(view.folder_keys - copy.folders.keys()):
        local = copy.local_folders.get(view.folder_names.get(key, "").lower())
        if local is not None:
            exposed[key] = ExposedFolder(folder_key_text(key), local.path, local.item_count,
                                         matched_by="folder name")
    if view.bound_ids:
        for key, message_ids in copy.message_ids.items():
            bound = sorted(set(message_ids) & view.bound_ids)
            if not bound:
                continue
            folder = copy.folders[key]
            entry = exposed.setdefault(
                key, ExposedFolder(folder_key_text(key), folder.path, folder.item_count))
            entry.bound_message_ids = bound
    return list(exposed.values())
