"""One MailItemsAccessed AuditData object to normalised Sync or Bind events (one per folder).

Input is the `canonical` form (keys lower-cased, string sub-objects parsed) or, faster, the
parsed object itself when it is spelt as Microsoft writes it (`spelt_as_microsoft`). Both Sync
shapes are read: `Item.ParentFolder` (RecordType 2, classic Outlook) and `Folders[]`
(RecordType 50).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from dataclasses import astuple, dataclass
from typing import Any

from scanner import entryid
from scanner.audit.auditdata import WRAPPER_KEYS
from scanner.audit.events import KIND_BIND, KIND_SYNC, AuditEvent, BoundItem
from scanner.timeutil import UTC, parse_iso

KIND_UNKNOWN = "unknown"     # MailItemsAccessed whose MailAccessType was lost (flattened)
LOGON_TYPES = {"owner": 0, "admin": 1, "delegated": 2, "transport": 3, "systemservice": 4,
               "bestaccess": 5, "delegatedadmin": 6}
IPV4_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$")
BRACKETED = re.compile(r"^\[([^\]]+)\](?::\d+)?$")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AP]M))?$", re.I)


@dataclass(frozen=True, slots=True)
class Spelling:
    """The keys `build_events` reads, as one spelling writes them."""

    operation_properties: str
    name: str
    value: str
    user_id: str
    mailbox_upn: str
    mailbox_guid: str
    session_id: str
    client_ip_address: str
    client_ip_underscore: str          # Sentinel's Client_IPAddress
    client_ip: str
    client_info: str
    client_process: str
    client_version: str
    app_id: str
    logon_type: str
    logon_type_underscore: str         # Sentinel's Logon_Type
    operation_count: str
    folders: str
    item: str
    parent_folder: str
    id: str
    path: str
    folder_items: str
    message_id: str
    size: str


MICROSOFT = Spelling(
    "OperationProperties", "Name", "Value", "UserId", "MailboxOwnerUPN", "MailboxGuid",
    "SessionId", "ClientIPAddress", "Client_IPAddress", "ClientIP", "ClientInfoString",
    "ClientProcessName", "ClientVersion", "AppId", "LogonType", "Logon_Type", "OperationCount",
    "Folders", "Item", "ParentFolder", "Id", "Path", "FolderItems", "InternetMessageId",
    "SizeInBytes")
LOWER = Spelling(*(name.lower() for name in astuple(MICROSOFT)))
MICROSOFT_NAMES = frozenset(astuple(MICROSOFT))
READ_NAMES = frozenset(astuple(LOWER))
CHANGED_TEXT_START = ("{", "[", "@")     # what `canonical` may parse: JSON, a PowerShell hashtable
CHANGED_TEXT_END = ("}", "]")            # ("[2001:db8::5]:443" is left as it is)
# in a JSON text: a string value `canonical` may change (one starting as CHANGED_TEXT_START
# does, or one PowerShell flattened); the second pattern only the flattened ones
CHANGED_TEXT = re.compile(r'"(?:[{\[@]|System\.Object)')
FLATTENED_TEXT = re.compile(r'"(?:@\{|System\.Object)')
# AuditData keys (Microsoft's spelling) that `build_events` does not read, nor any spelling of
# them: left out before looking for other spellings of the keys it reads, to save time
OTHER_KEYS = frozenset((
    "CreationTime", "Operation", "OrganizationId", "RecordType", "ResultStatus", "UserKey",
    "UserType", "Version", "Workload", "ClientAppId", "ExternalAccess", "InternalLogonType",
    "LogonUserSid", "MailboxOwnerSid", "OrganizationName", "OriginatingServer",
    "ClientRequestId", "ObjectId", "ImmutableId"))
REFUSED_NAMES = READ_NAMES | frozenset(WRAPPER_KEYS)


def spelt_as_microsoft(record: dict, text: str) -> bool:
    """Whether `build_events` may read a parsed AuditData object as it is, with the MICROSOFT
    spelling, and give what it gives for its `canonical` form: every key it reads is spelt so,
    no other key differs from one of those only in case (nor names a wrapper of AuditData), no
    value it reads is a text that `canonical` would parse, and the JSON text shows nothing
    PowerShell flattened. (Not looked at, for speed: an object or array where a text is read,
    such as `"SessionId": {"A": 1}`; read as it is, its text keeps the keys' spelling.)"""
    entries = _read_dicts(record)
    others = set().union(*entries) - MICROSOFT_NAMES - OTHER_KEYS
    if any(key.lower() in REFUSED_NAMES for key in others):
        return False
    if CHANGED_TEXT.search(text) is None:
        return True
    if FLATTENED_TEXT.search(text) is not None or _texts_in_read_lists(record):
        return False
    return all(_plain_values(entry) for entry in entries)


def _read_dicts(record: dict) -> list[dict]:
    """The record and every object in it that `build_events` reads keys of."""
    entries = [record]
    properties = record.get(MICROSOFT.operation_properties)
    if properties.__class__ is list:
        entries += [entry for entry in properties if entry.__class__ is dict]
    elif properties.__class__ is dict:
        entries.append(properties)
    folders = record.get(MICROSOFT.folders)
    for folder in folders if folders.__class__ is list else ():
        if folder.__class__ is dict:
            entries.append(folder)
            items = folder.get(MICROSOFT.folder_items)
            if items.__class__ is list:
                entries += [item for item in items if item.__class__ is dict]
    item = record.get(MICROSOFT.item)
    if item.__class__ is dict:
        entries.append(item)
        parent = item.get(MICROSOFT.parent_folder)
        if parent.__class__ is dict:
            entries.append(parent)
    return entries


def _texts_in_read_lists(record: dict) -> bool:
    """Whether a list `build_events` reads objects from holds a text (`canonical` would parse
    one holding JSON into an object)."""
    folders = record.get(MICROSOFT.folders)
    lists = [record.get(MICROSOFT.operation_properties), folders]
    if folders.__class__ is list:
        lists += [f.get(MICROSOFT.folder_items) for f in folders if f.__class__ is dict]
    return any(v.__class__ is str
               for values in lists if values.__class__ is list for v in values)


def _plain_values(entry: dict) -> bool:
    """No value `build_events` reads is a text `canonical` would parse."""
    for key in entry.keys() & MICROSOFT_NAMES:
        value = entry[key]
        if value.__class__ is str and value[:1] in CHANGED_TEXT_START \
                and value.rstrip()[-1:] in CHANGED_TEXT_END:
            return False
    return True


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


def access_type(record: dict, names: Spelling = LOWER) -> tuple[str, bool | None]:
    """MailAccessType (sync | bind | unknown) and IsThrottled (None when absent)."""
    properties = _name_values(record.get(names.operation_properties), names)
    kind = str(properties.get("mailaccesstype") or "").lower()
    if kind not in (KIND_SYNC, KIND_BIND):
        kind = KIND_UNKNOWN
    return kind, as_bool(properties.get("isthrottled"))


def _name_values(value: Any, names: Spelling) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k).lower(): v for k, v in value.items()}
    result: dict[str, Any] = {}
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict) and names.name in entry:
            result[str(entry[names.name]).lower()] = entry.get(names.value)
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


def folder_entries(record: dict, names: Spelling = LOWER) -> list[dict]:
    """The folders a record names: `Folders[]`, else `Item.ParentFolder`, else `Item` itself."""
    folders = record.get(names.folders)
    if isinstance(folders, list) and folders:
        return [f for f in folders if isinstance(f, dict)]
    item = record.get(names.item)
    if isinstance(item, dict):
        parent = item.get(names.parent_folder)
        if isinstance(parent, dict):
            return [{**parent, "_item": item}]
        return [{"_item": item}]
    return [{}]


def build_events(record: dict, time: dt.datetime, record_id: str, damage: str | None,
                 source: str, line: int, names: Spelling = LOWER) -> list[AuditEvent]:
    """One event per folder of a MailItemsAccessed record whose keys are spelt as `names`
    says: lower-cased by `canonical`, or as Microsoft writes them (see `spelt_as_microsoft`)."""
    kind, throttled = access_type(record, names)
    common = _common_fields(record, names)
    events = []
    for folder in folder_entries(record, names):
        event = AuditEvent(kind, time, record_id, *common, throttled,
                           *_folder_fields(folder, names), [], *_record_tail(record, names),
                           source, line, damage)
        if kind != KIND_SYNC:
            event.items = _items(folder, names)
        events.append(event)
    return events


def _common_fields(record: dict, names: Spelling) -> tuple:
    """user, mailbox UPN and GUID, session, client IP, info, process and version, app id and
    logon type: the AuditEvent fields from `user` to `logon_type`, in their order."""
    get = record.get
    logon = get(names.logon_type)
    return (text_of(get(names.user_id)), text_of(get(names.mailbox_upn)),
            text_of(get(names.mailbox_guid)), text_of(get(names.session_id)),
            normalise_ip(get(names.client_ip_address) or get(names.client_ip_underscore)
                         or get(names.client_ip)),
            text_of(get(names.client_info)), text_of(get(names.client_process)),
            text_of(get(names.client_version)), text_of(get(names.app_id)),
            as_int(logon if logon is not None else get(names.logon_type_underscore)))


def _record_tail(record: dict, names: Spelling) -> tuple:
    return (as_int(record.get(names.operation_count)),)


def _folder_fields(folder: dict, names: Spelling) -> tuple:
    """The AuditEvent fields from `folder_id` to `object_type`, in their order."""
    item = folder.get("_item") or {}
    raw_id = text_of(folder.get(names.id))
    if raw_id is None and names.id not in folder:
        raw_id = text_of(item.get(names.id))
    decoded = _decode_folder_id(raw_id)
    return (raw_id, text_of(folder.get(names.name)), text_of(folder.get(names.path)),
            decoded.status, decoded.provider_uid, decoded.database_guid,
            decoded.global_counter, decoded.object_type)


def _items(folder: dict, names: Spelling) -> list[BoundItem]:
    entries = folder.get(names.folder_items)
    if not isinstance(entries, list):
        item = folder.get("_item")
        entries = [item] if isinstance(item, dict) and item.get(names.message_id) else []
    return [BoundItem(message_id(e.get(names.message_id)), as_int(e.get(names.size)),
                      text_of(e.get(names.id)))
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
