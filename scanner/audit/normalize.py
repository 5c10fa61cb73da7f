"""One MailItemsAccessed AuditData object to normalised Sync or Bind events (one per folder).

Input is the `canonical` form (keys lower-cased, string sub-objects parsed). Both Sync shapes
are read: `Item.ParentFolder` (RecordType 2, classic Outlook) and `Folders[]` (RecordType 50).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from typing import Any

from scanner import entryid
from scanner.audit.events import KIND_BIND, KIND_SYNC, AuditEvent, BoundItem
from scanner.timeutil import UTC, parse_iso

KIND_UNKNOWN = "unknown"     # MailItemsAccessed whose MailAccessType was lost (flattened)
LOGON_TYPES = {"owner": 0, "admin": 1, "delegated": 2, "transport": 3, "systemservice": 4,
               "bestaccess": 5, "delegatedadmin": 6}
IPV4_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$")
BRACKETED = re.compile(r"^\[([^\]]+)\](?::\d+)?$")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AP]M))?$", re.I)


def parse_time(text: Any) -> dt.datetime | None:
    """AuditData CreationTime (UTC, usually without zone); also the US export form."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 19 and text[10] == "T":
            return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
        return parse_iso(text)
    except ValueError:
        return _us_time(text)


def _us_time(text: str) -> dt.datetime | None:
    match = US_DATE.match(text)
    if not match:
        return None
    month, day, year, hour, minute, second, half = match.groups()
    hour_24 = int(hour) % 12 + (12 if half and half.upper() == "PM" else 0) if half else int(hour)
    return dt.datetime(int(year), int(month), int(day), hour_24, int(minute), int(second),
                       tzinfo=UTC)


def normalise_ip(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    return _normalise_ip(text)


@functools.lru_cache(maxsize=4096)
def _normalise_ip(text: str) -> str | None:
    """`1.2.3.4:5`, `[2001:db8::1]:443`, `::ffff:1.2.3.4` → the bare address, IPv6 compressed."""
    if not text.strip():
        return None
    text = text.strip()
    for pattern in (BRACKETED, IPV4_PORT):
        match = pattern.match(text)
        if match:
            text = match.group(1)
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def access_type(record: dict) -> tuple[str, bool | None]:
    """MailAccessType (sync | bind | unknown) and IsThrottled (None when absent)."""
    properties = _name_values(record.get("operationproperties"))
    kind = str(properties.get("mailaccesstype") or "").lower()
    if kind not in (KIND_SYNC, KIND_BIND):
        kind = KIND_UNKNOWN
    return kind, as_bool(properties.get("isthrottled"))


def _name_values(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k).lower(): v for k, v in value.items()}
    result: dict[str, Any] = {}
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict) and "name" in entry:
            result[str(entry["name"]).lower()] = entry.get("value")
    return result


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        return LOGON_TYPES.get(text.lower())


def text_of(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def folder_entries(record: dict) -> list[dict]:
    """The folders a record names: `Folders[]`, else `Item.ParentFolder`, else `Item` itself."""
    folders = record.get("folders")
    if isinstance(folders, list) and folders:
        return [f for f in folders if isinstance(f, dict)]
    item = record.get("item")
    if isinstance(item, dict):
        parent = item.get("parentfolder")
        if isinstance(parent, dict):
            return [{**parent, "_item": item}]
        return [{"_item": item}]
    return [{}]


def build_events(record: dict, time: dt.datetime, record_id: str, damage: str | None,
                 source: str, line: int) -> list[AuditEvent]:
    """One event per folder of a canonical MailItemsAccessed record."""
    kind, throttled = access_type(record)
    common = _common_fields(record)
    events = []
    for folder in folder_entries(record):
        event = AuditEvent(kind=kind, time=time, record_id=record_id, throttled=throttled,
                           **common, **_folder_fields(folder),
                           source_file=source, source_line=line, damage=damage)
        event.items = _items(folder) if kind != KIND_SYNC else []
        events.append(event)
    return events


def _common_fields(record: dict) -> dict[str, Any]:
    get = record.get
    return dict(
        user=text_of(get("userid")),
        mailbox_upn=text_of(get("mailboxownerupn")),
        mailbox_guid=text_of(get("mailboxguid")),
        session_id=text_of(get("sessionid")),
        client_ip=normalise_ip(get("clientipaddress") or get("client_ipaddress")
                               or get("clientip")),
        client_info=text_of(get("clientinfostring")),
        client_process=text_of(get("clientprocessname")),
        client_version=text_of(get("clientversion")),
        app_id=text_of(get("appid")),
        logon_type=as_int(get("logontype") if get("logontype") is not None
                          else get("logon_type")),
        operation_count=as_int(get("operationcount")),
    )


def _folder_fields(folder: dict) -> dict[str, Any]:
    item = folder.get("_item") or {}
    raw_id = text_of(folder.get("id")) or (text_of(item.get("id")) if "id" not in folder else None)
    decoded = _decode_folder_id(raw_id)
    return dict(
        folder_id=raw_id,
        folder_name=text_of(folder.get("name")),
        folder_path=text_of(folder.get("path")),
        folder_id_status=decoded.status,
        provider_uid=decoded.provider_uid,
        database_guid=decoded.database_guid,
        global_counter=decoded.global_counter,
        object_type=decoded.object_type,
    )


def _items(folder: dict) -> list[BoundItem]:
    entries = folder.get("folderitems")
    if not isinstance(entries, list):
        item = folder.get("_item")
        entries = [item] if isinstance(item, dict) and item.get("internetmessageid") else []
    return [BoundItem(internet_message_id=message_id(e.get("internetmessageid")),
                      size=as_int(e.get("sizeinbytes")), item_id=text_of(e.get("id")))
            for e in entries if isinstance(e, dict)]


def message_id(value: Any) -> str | None:
    """Internet Message-ID with its angle brackets (Sparrow and some samples drop them)."""
    text = text_of(value)
    if text is None:
        return None
    text = text.strip()
    return text if text.startswith("<") else f"<{text}>"


@functools.lru_cache(maxsize=8192)
def _decode_folder_id(raw_id: str | None) -> entryid.DecodedId:
    """Folder ids repeat across records; DecodedId is frozen, so one decoding serves all."""
    return entryid.decode_folder_id(raw_id)
