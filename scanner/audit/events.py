"""Normalised MailItemsAccessed events and the Sync sessions built from them.

These are the records the audit reader yields and the correlation reads. Field names match the
scan report where the idea is the same (`provider_uid`, `database_guid`, `global_counter`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from operator import attrgetter

AUDIT_SCHEMA_VERSION = "1.0"

KIND_SYNC = "sync"
KIND_BIND = "bind"


@dataclass
class BoundItem:
    """One message a Bind record names."""

    internet_message_id: str | None
    size: int | None
    item_id: str | None = None

    def __reduce__(self) -> tuple:
        return BoundItem, (self.internet_message_id, self.size, self.item_id)


@dataclass
class AuditEvent:
    """One folder of one MailItemsAccessed record (a Sync record names one folder; a Bind record
    may name several, and yields one event per folder)."""

    kind: str                              # sync | bind
    time: dt.datetime                      # AuditData CreationTime, UTC
    record_id: str                         # AuditData Id
    user: str | None                       # UserId: who accessed
    mailbox_upn: str | None                # MailboxOwnerUPN
    mailbox_guid: str | None               # MailboxGuid (not in folder ids)
    session_id: str | None
    client_ip: str | None                  # normalised: no port, no brackets, no ::ffff:
    client_info: str | None                # ClientInfoString
    client_process: str | None             # ClientProcessName
    client_version: str | None             # ClientVersion
    app_id: str | None
    logon_type: int | None
    throttled: bool | None                 # IsThrottled; None when absent
    folder_id: str | None                  # raw id string as in the record
    folder_name: str | None
    folder_path: str | None
    folder_id_status: str                  # ok | missing | bad-base64: … | bad-length: …
    provider_uid: str | None
    database_guid: str | None
    global_counter: int | None
    object_type: int | None
    items: list[BoundItem] = field(default_factory=list)   # bind only
    operation_count: int | None = None
    source_file: str = ""
    source_line: int | None = None
    damage: str | None = None              # truncated | flattened: … ; None when whole

    @property
    def folder_key(self) -> tuple[str, int] | None:
        if self.database_guid is None or self.global_counter is None:
            return None
        return (self.database_guid, self.global_counter)

    def __reduce__(self) -> tuple:
        """Pickled as its field values (the reading of a large export sends events between
        processes): unpickling then calls the constructor, far faster than restoring state."""
        return AuditEvent, _event_values(self)


_event_values = attrgetter(*(f.name for f in fields(AuditEvent)))


@dataclass
class SyncSession:
    """Sync events of one client session: the unit an OST copy is attributed to."""

    session_key: str                       # SessionId, or a derived key when it is missing
    key_source: str                        # session_id | derived
    user: str | None
    mailbox_upn: str | None
    first: dt.datetime
    last: dt.datetime
    event_count: int
    folder_keys: list[str]                 # "database_guid:0xGC"
    folder_paths: list[str]
    client_ips: list[str]
    client_versions: list[str]
    client_infos: list[str]
    provider_uids: list[str]
    database_guids: list[str]
    leaves_ost: bool                       # Client=MSExchangeRPC / OUTLOOK.EXE
    record_ids: list[str] = field(default_factory=list)
    folder_names: dict[str, str] = field(default_factory=dict)  # folder key -> name, where known


@dataclass
class ThrottleWindow:
    """24 hours after an IsThrottled record: Bind auditing paused, assume all mail accessed."""

    mailbox_upn: str | None
    start: dt.datetime
    end: dt.datetime
    record_id: str


@dataclass
class InputCoverage:
    """What one input file covered, and why it may be incomplete."""

    source_file: str
    format: str
    rows: int
    records: int
    mail_items_accessed: int
    first: dt.datetime | None
    last: dt.datetime | None
    empty_audit_data: int = 0
    damaged: int = 0
    warnings: list[str] = field(default_factory=list)
