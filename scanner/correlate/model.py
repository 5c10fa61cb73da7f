"""Findings, their evidence, and the per-session conclusions that `ostscan correlate` writes.

A finding pairs one OST copy with one Sync session of the same mailbox (or, collapsed, with all
sessions of another mailbox). Its verdict comes from the first matching rule; every evidence item
says what was compared, the two values, which way it points and how much it weighs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

CORRELATION_SCHEMA_VERSION = "1.0"
CORRELATION_DOCUMENT = "ostscan.correlation"

VERDICT_MATCH = "match"
VERDICT_SAME_MAILBOX = "same-mailbox"
VERDICT_UNRELATED = "unrelated"
VERDICT_INSUFFICIENT = "insufficient-evidence"
VERDICTS = (VERDICT_MATCH, VERDICT_SAME_MAILBOX, VERDICT_UNRELATED, VERDICT_INSUFFICIENT)

SUPPORTS = "supports"          # points to "this copy came from this session"
CONTRADICTS = "contradicts"    # points away from it
NEUTRAL = "neutral"            # both values known, neither way
UNKNOWN = "unknown"            # one side is missing
OUTCOMES = (SUPPORTS, CONTRADICTS, NEUTRAL, UNKNOWN)

# Session conclusions: where the copy a (malicious) session made lives.
HELD_BY_DEVICES = "held-by-collected-devices"
OFF_FLEET = "not-on-collected-devices"
UNDETERMINED = "undetermined"
NOT_THIS_FILE = "not-this-file"     # `match`: one file is not the fleet


@dataclass
class Evidence:
    """One comparison between the OST side and the audit side of a pair."""

    check: str
    ost_value: Any
    audit_value: Any
    outcome: str
    weight: float
    note: str
    scope: str = "attribution"     # identity (whose mailbox) | attribution (which session)


@dataclass
class ExposedFolder:
    """A folder the session synced that this copy holds: every item in it counts as taken."""

    folder_key: str                # "database_guid:0xGC"
    path: str
    item_count: int | None
    bound_message_ids: list[str] = field(default_factory=list)   # --items reports only
    matched_by: str = "folder id"  # or "folder name": the OST numbers this folder locally


@dataclass
class Finding:
    finding_id: str
    verdict: str
    confidence: float
    rule_ids: list[str]
    confidence_basis: str
    host: str
    report_id: str
    ost_path: str
    ost_sha256: str | None
    ost_status: str
    mailbox: str | None            # MailboxOwnerUPN of the session(s), or a DatabaseGuid
    session_key: str | None        # None when sessions of another mailbox are collapsed
    session_count: int
    session_first: dt.datetime | None
    session_last: dt.datetime | None
    client_ips: list[str]
    marked: bool
    facts: dict[str, Any]
    evidence: list[Evidence]
    exposure: list[ExposedFolder] = field(default_factory=list)
    ost_created: dt.datetime | None = None
    ost_last_write: dt.datetime | None = None


@dataclass
class DeviceCopy:
    host: str
    ost_path: str
    report_id: str
    confidence: float
    finding_id: str


@dataclass
class SessionConclusion:
    """Where the copy of one marked session is, or the statement that no collected device has it."""

    session_key: str
    mailbox: str | None
    first: dt.datetime
    last: dt.datetime
    client_ips: list[str]
    marked_by: list[str]
    conclusion: str
    devices: list[DeviceCopy]
    hosts_examined: int
    copies_of_mailbox: int
    scans_from: dt.datetime | None
    scans_to: dt.datetime | None
    undetermined_copies: list[str]
    statement: str
    synced_folders: int
    hosts_searched_in_outlook_folders_only: int = 0   # scanned without --deep


@dataclass
class CorrelationResult:
    findings: list[Finding]
    conclusions: list[SessionConclusion]
    hosts: int
    copies: int
    sessions: int
    mailboxes: int
    rules: list[str]
    warnings: list[str] = field(default_factory=list)          # from the join
    input_warnings: list[str] = field(default_factory=list)    # from reading the audit inputs
    unread_copies: list[str] = field(default_factory=list)     # OSTs not read whole
    timelines: list[Timeline] = field(default_factory=list)


@dataclass
class TimelineMark:
    time: dt.datetime
    label: str
    kind: str                      # sync | ost-created | ost-last-write | file-birth


@dataclass
class Timeline:
    """One session's Sync events against the OST times of the hosts paired with it."""

    session_key: str
    mailbox: str | None
    sync_marks: list[TimelineMark]
    host_marks: dict[str, list[TimelineMark]]


def sessions_text(count: int) -> str:
    """`1 session`, `4 sessions`: what a collapsed finding stands for."""
    return f"{count} session{'' if count == 1 else 's'}"
