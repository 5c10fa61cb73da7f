"""Made-up inputs for tests and the benchmark: audit records built from given ids, and fleets.

Nothing here reads evidence. Audit records are in the Management Activity API form (one JSON
object per line), with folder ids built byte by byte to the StoreId layout (MS-OXCDATA 2.2.4.1),
so that they go through the real audit reader. Fleets are scan reports and audit events built
directly, for measuring the join at scale.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.audit.events import KIND_SYNC, AuditEvent
from scanner.records import (
    FolderRecord,
    HostContext,
    OwnerClue,
    ScanReport,
    StoreFile,
    StoreIdentity,
    TargetInfo,
)
from scanner.timeutil import UTC

OUTLOOK_APP_ID = "d3590ed6-52b3-4102-aeff-aad2292ab01c"


def folder_store_id(provider_uid: str, database_guid: str, counter: int,
                    object_type: int = 1) -> str:
    """A folder StoreId: length byte, 46-byte long-term folder EntryID, object type byte."""
    entry = (b"\0\0\0\0" + uuid.UUID(provider_uid).bytes_le + (1).to_bytes(2, "little")
             + uuid.UUID(database_guid).bytes_le + counter.to_bytes(6, "big") + b"\0\0")
    return base64.b64encode(bytes([len(entry)]) + entry + bytes([object_type])).decode()


@dataclass
class SyncSpec:
    """One made-up Outlook session of one mailbox."""

    mailbox: str
    provider_uid: str
    database_guid: str
    session_id: str
    client_ip: str
    client_version: str = "16.0.13801.20266"


def sync_record(spec: SyncSpec, time: dt.datetime, counter: int, name: str,
                record_id: str | None = None) -> dict[str, Any]:
    """A classic-Outlook Sync record (RecordType 2, Item.ParentFolder) for one folder."""
    folder_id = folder_store_id(spec.provider_uid, spec.database_guid, counter)
    return {
        **_mailbox_fields(spec, time, "Sync", record_id),
        "RecordType": 2, "ClientIPAddress": spec.client_ip,
        "ClientInfoString": "Client=MSExchangeRPC", "ClientProcessName": "OUTLOOK.EXE",
        "ClientVersion": spec.client_version, "SessionId": spec.session_id,
        "AppId": OUTLOOK_APP_ID,
        "Item": {"ParentFolder": {"Id": folder_id, "Name": name, "Path": f"\\{name}"}},
    }


def bind_record(spec: SyncSpec, time: dt.datetime, counter: int, name: str,
                message_ids: list[str], record_id: str | None = None) -> dict[str, Any]:
    """An aggregated Bind record (RecordType 50) naming messages of one folder."""
    folder = {"Id": folder_store_id(spec.provider_uid, spec.database_guid, counter),
              "Path": f"\\{name}",
              "FolderItems": [{"InternetMessageId": m, "SizeInBytes": 2048} for m in message_ids]}
    return {
        **_mailbox_fields(spec, time, "Bind", record_id),
        "RecordType": 50, "ClientIPAddress": spec.client_ip,
        "ClientInfoString": "Client=MSExchangeRPC", "SessionId": spec.session_id,
        "OperationCount": len(message_ids), "Folders": [folder],
    }


def _mailbox_fields(spec: SyncSpec, time: dt.datetime, access: str,
                    record_id: str | None) -> dict[str, Any]:
    return {
        "CreationTime": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": record_id or str(uuid.uuid4()), "Operation": "MailItemsAccessed",
        "OrganizationId": "00000000-0000-0000-0000-0000000000aa", "ResultStatus": "Succeeded",
        "UserKey": "100300000000AAAA", "UserType": 0, "Version": 1, "Workload": "Exchange",
        "UserId": spec.mailbox, "MailboxOwnerUPN": spec.mailbox, "LogonType": 0,
        "MailboxGuid": "00000000-0000-0000-0000-0000000000bb", "ExternalAccess": False,
        "OperationProperties": [{"Name": "MailAccessType", "Value": access},
                                {"Name": "IsThrottled", "Value": "False"}],
    }


def sync_burst(spec: SyncSpec, start: dt.datetime, folders: Iterable[tuple[int, str]],
               step: dt.timedelta = dt.timedelta(seconds=20)) -> list[dict[str, Any]]:
    """Sync records for each folder, one every `step` from `start` (a first full sync)."""
    return [sync_record(spec, start + n * step, counter, name)
            for n, (counter, name) in enumerate(folders)]


def write_json_lines(records: Iterable[dict[str, Any]], path: str | Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return Path(path)


# ---- fleets for the benchmark -----------------------------------------------------------------

FLEET_FOLDERS = tuple(range(0x109, 0x109 + 20))   # 20 server folders per mailbox
FLEET_START = dt.datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass
class Mailbox:
    upn: str
    provider_uid: str
    database_guid: str


def fleet_mailboxes(count: int, seed: int = 7) -> list[Mailbox]:
    rng = random.Random(seed)
    return [Mailbox(f"user{n:05d}@fleet.example", str(uuid.UUID(int=rng.getrandbits(128))),
                    str(uuid.UUID(int=rng.getrandbits(128)))) for n in range(count)]


def fleet_report(host: int, mailbox: Mailbox | None, created: dt.datetime) -> ScanReport:
    """One host: one OST of `mailbox` (or none), created at `created`."""
    files = [] if mailbox is None else [_fleet_store(host, mailbox, created)]
    return ScanReport(
        started=created + dt.timedelta(days=30), finished=created + dt.timedelta(days=30, hours=1),
        target=TargetInfo("collection", f"/collections/host{host:05d}", f"host{host:05d}"),
        host=HostContext(name=f"HOST{host:05d}", os="Windows 11", boot_time=None,
                         outlook_versions=["16.0.13801.20266"]),
        files=files, scan_id=f"scan-{host:05d}",
    )


def _fleet_store(host: int, mailbox: Mailbox, created: dt.datetime) -> StoreFile:
    folders = [FolderRecord(path=f"/Root - Mailbox/IPM_SUBTREE/F{gc:X}", name=f"F{gc:X}",
                            local_id=0x8000 + i, item_count=10 + i, replica_id=1,
                            global_counter=gc, id_scope="server",
                            database_guid=mailbox.database_guid)
               for i, gc in enumerate(FLEET_FOLDERS)]
    return StoreFile(
        path=f"C:/Users/u{host}/AppData/Local/Microsoft/Outlook/{mailbox.upn}.ost",
        profile_user=f"u{host}", found_by="default-location", size=50_000_000,
        created=created, modified=created + dt.timedelta(days=29), kind="ost",
        store=StoreIdentity(provider_uid=mailbox.provider_uid,
                            database_guid=mailbox.database_guid, root_created=created),
        owner_clues=[OwnerClue(mailbox.upn, "smtp", "inbox_received_by")], folders=folders,
    )


def fleet_events(mailboxes: list[Mailbox], total: int, per_session: int = 20,
                 seed: int = 11) -> Iterator[AuditEvent]:
    """`total` Sync events: sessions of `per_session` folder syncs, spread over the mailboxes."""
    rng = random.Random(seed)
    for n in range(total // per_session):
        mailbox = mailboxes[n % len(mailboxes)]
        start = FLEET_START + dt.timedelta(hours=rng.randrange(0, 24 * 60))
        session = f"s-{n:07d}"
        ip = f"198.51.{(n >> 8) & 255}.{n & 255}"
        for k in range(per_session):
            yield _fleet_event(mailbox, session, ip, start + dt.timedelta(seconds=15 * k),
                               FLEET_FOLDERS[k % len(FLEET_FOLDERS)], n * per_session + k)


def _fleet_event(mailbox: Mailbox, session: str, ip: str, time: dt.datetime, counter: int,
                 number: int) -> AuditEvent:
    return AuditEvent(
        kind=KIND_SYNC, time=time, record_id=f"r-{number:08d}", user=mailbox.upn,
        mailbox_upn=mailbox.upn, mailbox_guid=None, session_id=session, client_ip=ip,
        client_info="Client=MSExchangeRPC", client_process="OUTLOOK.EXE",
        client_version="16.0.13801.20266", app_id=OUTLOOK_APP_ID, logon_type=0,
        throttled=False, folder_id=None, folder_name=None, folder_path=None,
        folder_id_status="ok", provider_uid=mailbox.provider_uid,
        database_guid=mailbox.database_guid, global_counter=counter, object_type=1,
    )
