"""Evidence for one pair: each check compares an OST value with an audit value.

Every check yields an `Evidence` item (what, both values, outcome, weight, note) and named facts
that the YAML rules read. Identity checks say whose mailbox the copy is; attribution checks say
whether this session produced or fed it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.correlate.auditside import SessionView
from scanner.correlate.copies import FolderKey, OstCopy
from scanner.correlate.model import CONTRADICTS, NEUTRAL, SUPPORTS, UNKNOWN, Evidence

WEIGHTS = {
    "database_guid": 3.0,
    "provider_uid": 1.0,
    "owner_address": 1.0,
    "folder_overlap": 2.0,
    "creation_time": 3.0,
    "file_birth": 1.0,
    "last_write": 1.5,
    "client_version": 1.0,
    "egress_ip": 2.0,
    "outlook_open": 0.5,
}
NEAR_HOURS = 24.0        # a time this close to the session counts as "at the session"
CREATED_HOURS = 1.0      # a new OST's root folder is created as its first Sync starts
SLACK_HOURS = 1.0        # clock skew and audit latency allowed when ordering times

# The facts rules may name, and the Python types their values have (None = unknown).
FACT_TYPES: dict[str, tuple[type, ...]] = {
    "database_guid_match": (bool,),
    "provider_uid_match": (bool,),
    "owner_match": (bool,),
    "owner_by_name_only": (bool,),
    "folder_overlap_count": (int,),
    "folder_overlap_by_name": (int,),
    "folder_overlap_ratio": (int, float),
    "session_folder_count": (int,),
    "creation_delta_hours": (int, float),
    "birth_delta_hours": (int, float),
    "last_write_delta_hours": (int, float),
    "session_before_ost": (bool,),
    "written_before_session": (bool,),
    "session_overlaps_ost": (bool,),
    "client_version_match": (bool,),
    "egress_ip_match": (bool,),
    "outlook_holds_ost": (bool,),
    "session_leaves_ost": (bool,),
    "ost_readable": (bool,),
    "collapsed": (bool,),
    "marked": (bool,),
}


@dataclass
class AuditParty:
    """The audit side of a pair: one session, or all sessions of another mailbox collapsed."""

    label: str
    mailbox_upn: str | None
    first: dt.datetime
    last: dt.datetime
    folder_keys: set[FolderKey]
    folder_paths: dict[FolderKey, str]
    database_guids: set[str]
    provider_uids: set[str]
    client_ips: set[str]
    client_versions: set[str]
    leaves_ost: bool
    collapsed: bool = False
    folder_names: dict[FolderKey, str] = field(default_factory=dict)


def party_of(view: SessionView) -> AuditParty:
    s = view.session
    return AuditParty(
        s.session_key, s.mailbox_upn, s.first, s.last, view.folder_keys, view.folder_paths,
        view.database_guids, view.provider_uids, view.client_ips, view.client_versions,
        s.leaves_ost, folder_names=view.folder_names,
    )


def party_of_mailbox(mailbox: str, views: list[SessionView]) -> AuditParty:
    """All sessions of one mailbox as one party, for the collapsed `unrelated` finding."""
    merged = AuditParty(
        f"{len(views)} session(s) of {mailbox}", views[0].session.mailbox_upn,
        min(v.session.first for v in views), max(v.session.last for v in views),
        set(), {}, set(), set(), set(), set(), any(v.session.leaves_ost for v in views), True,
    )
    for view in views:
        merged.folder_keys |= view.folder_keys
        merged.folder_paths.update(view.folder_paths)
        merged.folder_names.update(view.folder_names)
        merged.database_guids |= view.database_guids
        merged.provider_uids |= view.provider_uids
        merged.client_ips |= view.client_ips
        merged.client_versions |= view.client_versions
    return merged


Check = Callable[[OstCopy, AuditParty], tuple[Evidence, dict[str, Any]]]


def identity_evidence(copy: OstCopy, party: AuditParty) -> tuple[list[Evidence], dict[str, Any]]:
    return _run(IDENTITY_CHECKS, copy, party)


def attribution_evidence(
    copy: OstCopy, party: AuditParty
) -> tuple[list[Evidence], dict[str, Any]]:
    return _run(ATTRIBUTION_CHECKS, copy, party)


def _run(
    checks: list[Check], copy: OstCopy, party: AuditParty
) -> tuple[list[Evidence], dict[str, Any]]:
    items: list[Evidence] = []
    facts: dict[str, Any] = {}
    for check in checks:
        item, found = check(copy, party)
        items.append(item)
        facts.update(found)
    return items, facts


def _item(check: str, ost: Any, audit: Any, outcome: str, note: str, scope: str) -> Evidence:
    return Evidence(check, ost, audit, outcome, WEIGHTS[check], note, scope)


def _sorted(values: set[str]) -> list[str] | None:
    return sorted(values) or None


def check_database_guid(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    ost, audit = _sorted(copy.database_guids), _sorted(party.database_guids)
    if not ost or not audit:
        side = "the OST" if not ost else "the Sync records"
        return _item("database_guid", ost, audit, UNKNOWN,
                     f"no DatabaseGuid from {side}", "identity"), {"database_guid_match": None}
    shared = copy.database_guids & party.database_guids
    if shared:
        note = f"folder ids of both sides name mailbox database {sorted(shared)[0]}"
        return _item("database_guid", ost, audit, SUPPORTS, note, "identity"), {
            "database_guid_match": True}
    note = "different DatabaseGuid: the OST caches another mailbox"
    return _item("database_guid", ost, audit, CONTRADICTS, note, "identity"), {
        "database_guid_match": False}


def check_provider_uid(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    ost, audit = copy.provider_uid, _sorted(party.provider_uids)
    if ost is None or not audit:
        return _item("provider_uid", ost, audit, UNKNOWN, "ProviderUID missing on one side",
                     "identity"), {"provider_uid_match": None}
    if ost in party.provider_uids:
        return _item("provider_uid", ost, audit, SUPPORTS,
                     "store 0x6615 equals the ProviderUID in the Sync folder ids",
                     "identity"), {"provider_uid_match": True}
    return _item("provider_uid", ost, audit, CONTRADICTS,
                 "store ProviderUID differs from the Sync folder ids", "identity"), {
        "provider_uid_match": False}


def check_owner(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    ost, audit = _sorted(copy.owners), party.mailbox_upn
    if not ost or not audit:
        return _item("owner_address", ost, audit, UNKNOWN,
                     "no owner address on one side", "identity"), {"owner_match": None}
    if audit.lower() in copy.owners:
        return _item("owner_address", ost, audit, SUPPORTS,
                     "an owner clue of the OST equals MailboxOwnerUPN", "identity"), {
            "owner_match": True}
    by_name = copy.owners_by_name_only
    return _item("owner_address", ost, audit, CONTRADICTS,
                 "owner clues of the OST differ from MailboxOwnerUPN (aliases are possible"
                 + ("; only the file name gives one" if by_name else "") + ")",
                 "identity"), {"owner_match": False, "owner_by_name_only": by_name}


def check_folder_overlap(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    """Synced folders the OST holds: by server folder id; and, for the same mailbox, by name
    for the folders real OSTs number locally (Inbox, Sent Items, …), whose ids they lack."""
    synced = party.folder_keys
    by_id = sorted(synced & copy.folders.keys())
    by_name = _found_by_name(copy, party, synced - copy.folders.keys())
    shared = len(by_id) + len(by_name)
    ratio = round(shared / len(synced), 3) if synced else None
    facts = {"folder_overlap_count": shared, "folder_overlap_ratio": ratio,
             "folder_overlap_by_name": len(by_name), "session_folder_count": len(synced)}
    names = [copy.folder_label(k) for k in by_id] + by_name
    audit = f"{len(synced)} synced folder id(s)"
    if not synced or not (copy.folders or by_name):
        side = "the Sync records" if not synced else "the OST"
        return _item("folder_overlap", names, audit, UNKNOWN,
                     f"no server folder ids from {side}", "identity"), facts
    ost = {"count": shared, "folders": names}
    named = f" ({len(by_name)} by name)" if by_name else ""
    if ratio is not None and ratio >= 0.5:
        outcome = SUPPORTS
        note = f"{shared} of {len(synced)} synced folders are in the OST{named}"
    elif shared:
        outcome = NEUTRAL
        note = f"only {shared} of {len(synced)} synced folders in the OST{named}"
    else:
        outcome, note = CONTRADICTS, "none of the synced folders is in the OST"
    return _item("folder_overlap", ost, audit, outcome, note, "identity"), facts


def _found_by_name(copy: OstCopy, party: AuditParty, missing: set[FolderKey]) -> list[str]:
    if not party.database_guids & copy.database_guids:
        return []      # another mailbox's "Inbox" says nothing about this one
    found = []
    for key in sorted(missing):
        local = copy.local_folders.get(party.folder_names.get(key, "").lower())
        if local is not None:
            found.append(f"{local.path} (by name; {key[0]}:0x{key[1]:X})")
    return found


def _hours(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return None if a is None or b is None else round((a - b).total_seconds() / 3600, 3)


def check_creation(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    """Root folder creation (survives a copy) against the session's first Sync."""
    delta = _hours(copy.root_created, party.first)
    facts = {"creation_delta_hours": delta, "session_before_ost": _ended_before(copy, party)}
    ost, audit = copy.root_created, party.first
    if delta is None:
        return _item("creation_time", ost, audit, UNKNOWN, "no root folder creation time",
                     "attribution"), facts
    if facts["session_before_ost"]:
        note = (f"OST created {_span(delta)} the first Sync, after the session's last Sync: "
                "it cannot have produced this copy")
        return _item("creation_time", ost, audit, CONTRADICTS, note, "attribution"), facts
    if abs(delta) <= CREATED_HOURS:
        note = f"OST created {_span(delta)} the session's first Sync"
        return _item("creation_time", ost, audit, SUPPORTS, note, "attribution"), facts
    note = f"OST created {_span(delta)} the first Sync: older copy, not made by this session"
    return _item("creation_time", ost, audit, NEUTRAL, note, "attribution"), facts


def _ended_before(copy: OstCopy, party: AuditParty) -> bool | None:
    created = copy.root_created or copy.file_birth
    if created is None:
        return None
    return (created - party.last).total_seconds() > SLACK_HOURS * 3600


def _span(delta_hours: float) -> str:
    word = "after" if delta_hours >= 0 else "before"
    minutes = abs(delta_hours) * 60
    amount = f"{minutes:.0f} min" if minutes < 120 else f"{abs(delta_hours):.1f} h"
    return f"{amount} {word}"


def check_birth(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    """The file system birth time: reset when the file is copied, so only supports."""
    delta = _hours(copy.file_birth, party.first)
    facts = {"birth_delta_hours": delta}
    ost, audit = copy.file_birth, party.first
    if delta is None:
        return _item("file_birth", ost, audit, UNKNOWN, "no file birth time", "attribution"), facts
    if abs(delta) <= NEAR_HOURS:
        return _item("file_birth", ost, audit, SUPPORTS,
                     f"file born {_span(delta)} the first Sync", "attribution"), facts
    return _item("file_birth", ost, audit, NEUTRAL,
                 f"file born {_span(delta)} the first Sync (copies reset it)",
                 "attribution"), facts


def check_last_write(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    delta = _hours(copy.last_write, party.last)
    before = _hours(copy.last_write, party.first)
    facts = {
        "last_write_delta_hours": delta,
        "written_before_session": None if before is None else before < -SLACK_HOURS,
        "session_overlaps_ost": _overlaps(copy, party),
    }
    ost, audit = copy.last_write, party.last
    if delta is None:
        return _item("last_write", ost, audit, UNKNOWN, "no last write time", "attribution"), facts
    if facts["written_before_session"]:
        return _item("last_write", ost, audit, CONTRADICTS,
                     "last written before the session began: never fed by it",
                     "attribution"), facts
    if abs(delta) <= NEAR_HOURS:
        return _item("last_write", ost, audit, SUPPORTS,
                     f"last written {_span(delta)} the session's last Sync", "attribution"), facts
    return _item("last_write", ost, audit, NEUTRAL,
                 f"last written {_span(delta)} the session's last Sync", "attribution"), facts


def _overlaps(copy: OstCopy, party: AuditParty) -> bool | None:
    """The OST existed and was written while the session ran (within the slack)."""
    created = copy.root_created or copy.file_birth
    if created is None or copy.last_write is None:
        return None
    slack = dt.timedelta(hours=SLACK_HOURS)
    return created <= party.last + slack and copy.last_write >= party.first - slack


def check_client_version(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    ost, audit = _sorted(copy.outlook_versions), _sorted(party.client_versions)
    if not ost or not audit:
        return _item("client_version", ost, audit, UNKNOWN,
                     "Outlook build or ClientVersion unknown", "attribution"), {
            "client_version_match": None}
    if copy.outlook_versions & party.client_versions:
        return _item("client_version", ost, audit, SUPPORTS,
                     "the host's Outlook build equals ClientVersion", "attribution"), {
            "client_version_match": True}
    return _item("client_version", ost, audit, CONTRADICTS,
                 "the host's Outlook build differs from ClientVersion (or was updated since)",
                 "attribution"), {"client_version_match": False}


def check_egress_ip(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    ost, audit = _sorted(copy.egress_ips), _sorted(party.client_ips)
    if not ost or not audit:
        note = "host egress IP not given (--egress)" if not ost else "no ClientIPAddress"
        return _item("egress_ip", ost, audit, UNKNOWN, note, "attribution"), {
            "egress_ip_match": None}
    if copy.egress_ips & party.client_ips:
        return _item("egress_ip", ost, audit, SUPPORTS,
                     "the host's egress IP is the session's ClientIPAddress", "attribution"), {
            "egress_ip_match": True}
    return _item("egress_ip", ost, audit, CONTRADICTS,
                 "the session came from another address", "attribution"), {
        "egress_ip_match": False}


def check_outlook_open(copy: OstCopy, party: AuditParty) -> tuple[Evidence, dict[str, Any]]:
    audit = "OUTLOOK.EXE / MSExchangeRPC" if party.leaves_ost else "not an OST-leaving client"
    facts = {"outlook_holds_ost": copy.outlook_open, "session_leaves_ost": party.leaves_ost}
    if copy.outlook_open is None:
        return _item("outlook_open", None, audit, UNKNOWN,
                     "the scan saw no processes (not a live scan)", "attribution"), facts
    if copy.outlook_open:
        return _item("outlook_open", True, audit, SUPPORTS,
                     "OUTLOOK.EXE held this OST open during the scan", "attribution"), facts
    return _item("outlook_open", False, audit, NEUTRAL,
                 "no Outlook process held this OST during the scan", "attribution"), facts


IDENTITY_CHECKS: list[Check] = [
    check_database_guid, check_provider_uid, check_owner, check_folder_overlap,
]
ATTRIBUTION_CHECKS: list[Check] = [
    check_creation, check_birth, check_last_write, check_client_version, check_egress_ip,
    check_outlook_open,
]
