"""Self-made audit records and the export formats responders hand over, written into a folder.

Every record here is invented for the tests (documentation IP ranges, made-up GUIDs); the
folder ids are built byte by byte to the StoreId layout, so their decoded values are known.

The sample set (`sample_records`) holds 8 distinct records:
  * 3 Sync records, shape Item.ParentFolder (RecordType 2), session SESSION_A, from
    203.0.113.7, folders at counters 0x10C (Inbox), 0x109 (Sent Items), 0x10F (Drafts);
  * 1 Sync record, shape Folders[] (RecordType 50), no SessionId, from 2001:db8::5 given as
    "[2001:db8::5]:443", folder 0x10D (Calendar, object type 2);
  * 2 Bind records: one with two folders (2 + 1 items), one throttled with one item;
  * 2 records of other operations.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROVIDER_UID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
DATABASE_GUID = uuid.UUID("11223344-5566-7788-99aa-bbccddeeff00")
MAILBOX_GUID = "aaaaaaaa-1111-2222-3333-444444444444"
MAILBOX = "victim@contoso.example"
ATTACKER_IP = "203.0.113.7"
SESSION_A = "5e55104a-0000-4000-8000-00000000000a"
CLIENT_VERSION = "16.0.17928.20114"

EXPECTED = {"distinct_records": 8, "mail_items_accessed": 6, "sync_events": 4,
            "bind_events": 3, "sessions": 2, "throttle_windows": 1}


def store_id(counter: int, object_type: int = 1) -> str:
    """A folder StoreId: length byte, 46-byte long-term folder EntryID, object type byte."""
    entry = (b"\0\0\0\0" + PROVIDER_UID.bytes_le + (1).to_bytes(2, "little")
             + DATABASE_GUID.bytes_le + counter.to_bytes(6, "big") + b"\0\0")
    return base64.b64encode(bytes([len(entry)]) + entry + bytes([object_type])).decode()


def _record_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _mailbox_fields(n: int, time: str, access: str, throttled: str = "False") -> dict[str, Any]:
    return {
        "CreationTime": time, "Id": _record_id(n), "Operation": "MailItemsAccessed",
        "OrganizationId": "99999999-0000-0000-0000-000000000001", "ResultStatus": "Succeeded",
        "UserKey": "1003000000000001", "UserType": 0, "Version": 1, "Workload": "Exchange",
        "UserId": MAILBOX, "ExternalAccess": False, "InternalLogonType": 0, "LogonType": 0,
        "MailboxGuid": MAILBOX_GUID, "MailboxOwnerUPN": MAILBOX,
        "OperationProperties": [{"Name": "MailAccessType", "Value": access},
                                {"Name": "IsThrottled", "Value": throttled}],
        "OrganizationName": "contoso.example",
        "OriginatingServer": "XX0PR00MB0000 (15.20.0000.000)\r\n",
    }


def sync_item_record(n: int, time: str, counter: int, name: str) -> dict[str, Any]:
    record = _mailbox_fields(n, time, "Sync")
    record.update(RecordType=2, ClientIPAddress=ATTACKER_IP,
                  ClientInfoString="Client=MSExchangeRPC", ClientProcessName="OUTLOOK.EXE",
                  ClientVersion=CLIENT_VERSION, SessionId=SESSION_A,
                  AppId="d3590ed6-52b3-4102-aeff-aad2292ab01c")
    folder = {"Id": store_id(counter), "Name": name, "Path": "Not Available"}
    record["Item"] = {"Id": store_id(counter), "ParentFolder": folder}
    return record


def sync_folders_record(n: int, time: str) -> dict[str, Any]:
    record = _mailbox_fields(n, time, "Sync")
    record.update(RecordType=50, ClientIPAddress="[2001:db8::5]:443",
                  ClientInfoString="Client=MSExchangeRPC", ClientVersion=CLIENT_VERSION,
                  Folders=[{"Id": store_id(0x10D, 2), "Path": "\\Calendar"}], OperationCount=1)
    return record


def bind_record(n: int, time: str, folders: list[tuple[int, str, int]],
                throttled: str = "False") -> dict[str, Any]:
    record = _mailbox_fields(n, time, "Bind", throttled)
    record.update(RecordType=50, ClientIPAddress="198.51.100.20",
                  ClientInfoString="Client=OWA;Action=ViaProxy", SessionId=f"b1d0{n:04d}-0000"
                  "-4000-8000-000000000000", OperationCount=sum(f[2] for f in folders))
    record["Folders"] = [
        {"Id": store_id(counter), "Path": path,
         "FolderItems": [{"InternetMessageId": f"<m{n}.{counter}.{i}@contoso.example>",
                          "SizeInBytes": 1000 + i} for i in range(count)]}
        for counter, path, count in folders]
    return record


def other_record(n: int, time: str, operation: str) -> dict[str, Any]:
    return {"CreationTime": time, "Id": _record_id(n), "Operation": operation,
            "OrganizationId": "99999999-0000-0000-0000-000000000001", "RecordType": 15,
            "ResultStatus": "Success", "UserKey": "1003000000000001", "UserType": 0,
            "Version": 1, "Workload": "AzureActiveDirectory", "UserId": MAILBOX,
            "ClientIP": ATTACKER_IP}


def sample_records() -> list[dict[str, Any]]:
    return [
        other_record(1, "2024-03-01T08:59:00", "UserLoggedIn"),
        sync_item_record(2, "2024-03-01T09:00:05", 0x10C, "Inbox"),
        sync_item_record(3, "2024-03-01T09:00:07", 0x109, "Sent Items"),
        sync_item_record(4, "2024-03-01T09:01:30", 0x10F, "Drafts"),
        sync_folders_record(5, "2024-03-02T10:00:00"),
        bind_record(6, "2024-03-02T11:00:00", [(0x10C, "\\Inbox", 2), (0x109, "\\Sent Items", 1)]),
        bind_record(7, "2024-03-02T12:00:00", [(0x10C, "\\Inbox", 1)], throttled="True"),
        other_record(8, "2024-03-03T07:00:00", "Set-Mailbox"),
    ]


def compact(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _csv_text(header: list[str], rows: list[list[Any]], delimiter: str = ",",
              quote_all: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# The container formats of research §2 (F1-F15), each from the same records.

def f1_management_api_blob(records: list[dict]) -> str:
    return json.dumps(records)


def f2_json_lines(records: list[dict]) -> str:
    return "\n".join(compact(r) for r in records) + "\n"


def f3_purview_classic(records: list[dict]) -> str:
    rows = [[r["CreationTime"] + ".0000000Z", r["UserId"], r["Operation"], compact(r)]
            for r in records]
    return _csv_text(["CreationDate", "UserIds", "Operations", "AuditData"], rows)


def f4_purview_new(records: list[dict]) -> str:
    rows = [[r["Id"], r["CreationTime"] + ".0000000Z ", r["RecordType"], r["Operation"],
             r["UserId"], compact(r), "", ""] for r in records]
    return _csv_text(["RecordId", "CreationDate", "RecordType", "Operation", "UserId",
                      "AuditData", "AssociatedAdminUnits", "AssociatedAdminUnitsNames"], rows)


def f5_search_unifiedauditlog(records: list[dict]) -> str:
    """Search-UnifiedAuditLog objects through ConvertTo-Json: AuditData stays a string."""
    return json.dumps([_cmdlet_object(r, i, len(records)) for i, r in enumerate(records, 1)],
                      indent=4)


def _cmdlet_object(record: dict, index: int, count: int) -> dict[str, Any]:
    return {"RunspaceId": "7e57a11d-0000-4000-8000-000000000000", "RecordType": "ExchangeItem",
            "CreationDate": "3/1/2024 9:00:05 AM", "UserIds": record["UserId"],
            "Operations": record["Operation"], "AuditData": compact(record),
            "ResultIndex": index, "ResultCount": count, "Identity": record["Id"],
            "IsValid": True, "ObjectState": "Unchanged"}


def f6_export_csv(records: list[dict]) -> str:
    objects = [_cmdlet_object(r, i, len(records)) for i, r in enumerate(records, 1)]
    header = list(objects[0])
    return "\ufeff" + _csv_text(header, [[o[h] for h in header] for o in objects],
                                quote_all=True)


def f7_graph_audit_log_records(records: list[dict]) -> str:
    return json.dumps({"value": [_graph(r) for r in records]}, indent=2)


def _graph(record: dict) -> dict[str, Any]:
    return {"id": record["Id"], "createdDateTime": record["CreationTime"] + "Z",
            "auditLogRecordType": "exchangeItem", "operation": record["Operation"].lower(),
            "userPrincipalName": record["UserId"], "service": record["Workload"],
            "auditData": {"@odata.type": "#microsoft.graph.security.defaultAuditData",
                          **record}}


def f8_sentinel_office_activity(records: list[dict]) -> str:
    return "\r\n".join(compact(_sentinel(r)) for r in records) + "\r\n"


def _sentinel(record: dict) -> dict[str, Any]:
    row = copy.deepcopy(record)
    row["TimeGenerated"] = row.pop("CreationTime") + "Z"
    row["OfficeId"] = row["SourceRecordId"] = row.pop("Id")
    row["RecordType"] = str(row["RecordType"])
    row["OfficeWorkload"] = row.pop("Workload")
    row["Type"] = "OfficeActivity"
    if "ClientIPAddress" in row:
        row["Client_IPAddress"] = row.pop("ClientIPAddress")
    if "LogonType" in row:
        row["Logon_Type"] = "Owner" if row.pop("LogonType") == 0 else "Other"
    for key in ("Folders", "OperationProperties", "Item"):
        if key in row:
            row[key] = compact(row[key])
    return row


def f9_defender_cloud_app_events(records: list[dict]) -> str:
    return json.dumps([_cloud_app_event(r) for r in records], indent=2)


def _cloud_app_event(record: dict) -> dict[str, Any]:
    return {"Timestamp": record["CreationTime"] + ".0000000Z", "ActionType": record["Operation"],
            "Application": "Microsoft Exchange Online", "ApplicationId": 20893,
            "IPAddress": record.get("ClientIPAddress"), "ReportId": f"{record['Id']}-x",
            "RawEventData": {**record, "CreationTime": record["CreationTime"] + "Z"}}


def f10_defender_streaming(records: list[dict]) -> str:
    return "\n".join(compact({"time": r["CreationTime"] + ".1234567Z", "tenantId": "t",
                              "operationName": "Publish",
                              "category": "AdvancedHunting-CloudAppEvents",
                              "properties": _cloud_app_event(r)}) for r in records) + "\n"


def f11_extractor_suite_json(records: list[dict]) -> str:
    """Pretty JSON arrays, one per time window, appended to one file (UTF-16 in 2023)."""
    half = len(records) // 2
    return json.dumps(records[:half], indent=2) + "\n" + json.dumps(records[half:], indent=2)


def f12_hawk_json(records: list[dict]) -> str:
    return json.dumps(records, indent=4)


SPARROW_COLUMNS = ["CreationTime", "Id", "Operation", "RecordType", "UserId", "MailboxOwnerUPN",
                   "MailboxGuid", "SessionId", "ClientIPAddress", "ClientInfoString",
                   "ClientProcessName", "ClientVersion", "LogonType", "OperationProperties",
                   "Folders", "Item", "Workload"]


def f13_sparrow_csv(records: list[dict]) -> str:
    rows = []
    for record in records:
        row = []
        for column in SPARROW_COLUMNS:
            value = record.get(column, "")
            if isinstance(value, (list, dict)):
                value = compact(value)
            if column == "Folders":
                value = value.replace("<", "").replace(">", "")
            row.append(value)
        rows.append(row)
    return _csv_text(SPARROW_COLUMNS, rows, delimiter=";")


def f14_goose_json_lines(records: list[dict]) -> str:
    return "".join(compact(r) + "\n" for r in records)


def f15_dfir_o365rc_purview(records: list[dict]) -> str:
    """Graph records appended page by page: several JSON arrays back to back."""
    pages = [records[:3], records[3:6], records[6:]]
    return "".join(json.dumps([_graph(r) for r in page], indent=1) for page in pages)


FORMATS: dict[str, tuple[Callable[[list[dict]], str], str]] = {
    "f1-management-api-blob": (f1_management_api_blob, "utf-8"),
    "f2-json-lines": (f2_json_lines, "utf-8"),
    "f3-purview-classic-csv": (f3_purview_classic, "utf-8"),
    "f4-purview-new-csv": (f4_purview_new, "utf-8"),
    "f5-search-unifiedauditlog-json": (f5_search_unifiedauditlog, "utf-16-le-bom"),
    "f6-export-csv": (f6_export_csv, "utf-8"),
    "f7-graph-auditlogrecord": (f7_graph_audit_log_records, "utf-8"),
    "f8-sentinel-officeactivity": (f8_sentinel_office_activity, "utf-8"),
    "f9-defender-cloudappevents": (f9_defender_cloud_app_events, "utf-8"),
    "f10-defender-streaming": (f10_defender_streaming, "utf-8"),
    "f11-extractor-suite-json": (f11_extractor_suite_json, "utf-16-le-bom"),
    "f12-hawk-json": (f12_hawk_json, "utf-8"),
    "f13-sparrow-csv-semicolon": (f13_sparrow_csv, "utf-8"),
    "f14-goose-json-lines": (f14_goose_json_lines, "utf-8"),
    "f15-dfir-o365rc-purview": (f15_dfir_o365rc_purview, "utf-8"),
}


def encode(text: str, encoding: str) -> bytes:
    """Text as an exporter would write it; `-bom` adds the byte-order mark."""
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if encoding == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


def write_format(folder: Path, name: str, records: list[dict] | None = None) -> Path:
    """One of FORMATS written with the sample records; returns the file."""
    writer, encoding = FORMATS[name]
    path = folder / f"{name}.export"
    path.write_bytes(encode(writer(records or sample_records()), encoding))
    return path


def write_bytes(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def repeated_records(copies: int) -> list[dict[str, Any]]:
    """The sample records `copies` times over, each with a new Id; every third one written
    twice (a copy of the record before it), as exports that repeat records do."""
    records = []
    for copy_number in range(copies):
        for record in sample_records():
            record = copy.deepcopy(record)
            number = int(record["Id"][-12:]) + 100 * copy_number
            record["Id"] = f"00000000-0000-4000-8000-{number:012d}"
            records.append(record)
            if len(records) % 3 == 0:
                records.append(record)
    return records
