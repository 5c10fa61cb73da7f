"""Audit results as documents: flat dicts named like the Elastic o365 integration where it can.

Audit fields keep their AuditData names under `o365.audit.*`; common ideas use ECS names
(`@timestamp`, `event.action`, `source.ip`, `user.id`, `user_agent.original`). What ostscan adds
(the decoded folder id, the damage note, the source file) lives under `ostscan.*`. Every
document carries `schema_version`.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from typing import Any, TextIO

from scanner.audit.events import AUDIT_SCHEMA_VERSION, AuditEvent, SyncSession
from scanner.audit.sessions import folder_key_text
from scanner.entryid import counter_text
from scanner.timeutil import iso

DOCUMENT_EVENT = "ostscan.audit.event"
DOCUMENT_SESSION = "ostscan.audit.session"
DOCUMENT_AUDIT = "ostscan.audit"
CSV_RISKY_START = ("=", "+", "-", "@", "\t", "\r")


def event_document(event: AuditEvent) -> dict[str, Any]:
    """One normalised event, flat."""
    return {
        "schema_version": AUDIT_SCHEMA_VERSION,
        "document": DOCUMENT_EVENT,
        "@timestamp": iso(event.time),
        "event.action": "MailItemsAccessed",
        "event.id": event.record_id,
        "o365.audit.Id": event.record_id,
        "o365.audit.OperationProperties.MailAccessType": event.kind.capitalize(),
        "o365.audit.OperationProperties.IsThrottled": event.throttled,
        "user.id": event.user,
        "o365.audit.UserId": event.user,
        "o365.audit.MailboxOwnerUPN": event.mailbox_upn,
        "o365.audit.MailboxGuid": event.mailbox_guid,
        "o365.audit.SessionId": event.session_id,
        "source.ip": event.client_ip,
        "o365.audit.ClientIPAddress": event.client_ip,
        "user_agent.original": event.client_info,
        "o365.audit.ClientInfoString": event.client_info,
        "o365.audit.ClientProcessName": event.client_process,
        "o365.audit.ClientVersion": event.client_version,
        "o365.audit.AppId": event.app_id,
        "o365.audit.LogonType": event.logon_type,
        "o365.audit.OperationCount": event.operation_count,
        **_folder_fields(event),
        "ostscan.items": [dataclasses.asdict(item) for item in event.items],
        "ostscan.damage": event.damage,
        "ostscan.source.file": event.source_file,
        "ostscan.source.line": event.source_line,
    }


def _folder_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "o365.audit.Folder.Id": event.folder_id,
        "o365.audit.Folder.Name": event.folder_name,
        "o365.audit.Folder.Path": event.folder_path,
        "ostscan.folder.id_status": event.folder_id_status,
        "ostscan.folder.provider_uid": event.provider_uid,
        "ostscan.folder.database_guid": event.database_guid,
        "ostscan.folder.global_counter": counter_text(event.global_counter),
        "ostscan.folder.object_type": event.object_type,
        "ostscan.folder.key": folder_key_text(event),
    }


def session_document(session: SyncSession) -> dict[str, Any]:
    """One Sync session, flat; list fields stay lists (joined with `;` in CSV)."""
    return {
        "schema_version": AUDIT_SCHEMA_VERSION,
        "document": DOCUMENT_SESSION,
        "event.start": iso(session.first),
        "event.end": iso(session.last),
        "o365.audit.SessionId": session.session_key if session.key_source == "session_id"
        else None,
        "ostscan.session.key": session.session_key,
        "ostscan.session.key_source": session.key_source,
        "user.id": session.user,
        "o365.audit.MailboxOwnerUPN": session.mailbox_upn,
        "ostscan.session.event_count": session.event_count,
        "ostscan.session.folder_count": len(session.folder_keys),
        "ostscan.session.leaves_ost": session.leaves_ost,
        "source.ip": session.client_ips,
        "o365.audit.ClientVersion": session.client_versions,
        "o365.audit.ClientInfoString": session.client_infos,
        "ostscan.folder.keys": session.folder_keys,
        "ostscan.folder.paths": session.folder_paths,
        "ostscan.folder.provider_uids": session.provider_uids,
        "ostscan.folder.database_guids": session.database_guids,
        "ostscan.record_ids": session.record_ids,
    }


def plain(value: Any) -> Any:
    """Dataclasses and datetimes as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return iso(value)
    return value


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula; true/false as in JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) if not isinstance(v, dict) else _item_text(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(CSV_RISKY_START) else text


def _item_text(item: dict) -> str:
    """A bound message: its Message-ID, and its size in bytes where the record gives one."""
    size = item.get("size")
    return (item.get("internet_message_id") or "") + (f" ({size} bytes)" if size is not None
                                                      else "")


def write_csv(documents: Iterable[dict[str, Any]], stream: TextIO) -> int:
    """Documents as CSV rows, columns from the first one; returns the number of rows."""
    writer = None
    count = 0
    for document in documents:
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(document), lineterminator="\n")
            writer.writeheader()
        writer.writerow({key: safe_cell(value) for key, value in document.items()})
        count += 1
    return count
