"""The scan report: typed, flat records that `ostscan scan` writes and `ostscan correlate` reads.

Times are aware UTC datetimes in memory and ISO 8601 with `Z` on disk. GUIDs are text in the
Windows form (see `entryid.guid_text`); global counters are integers. Field names are shared with
the audit side wherever the idea is the same (`database_guid`, `global_counter`, `provider_uid`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from scanner.timeutil import iso, parse_iso

SCAN_SCHEMA_VERSION = "1.0"
SCAN_DOCUMENT = "ostscan.scan_report"

# File status: why a file's store details are (partly) missing. "ok" means fully read.
STATUS_OK = "ok"
STATUS_NOT_PFF = "not-pff"          # no !BDN signature: an HTML page named .ost, random bytes
STATUS_EMPTY = "empty"              # zero bytes
STATUS_DAMAGED = "damaged"          # header CRC mismatch, truncated, libpff refused it
STATUS_LOCKED = "locked"            # the OS refused to share it (Outlook holds it)
STATUS_UNREADABLE = "unreadable"    # permission denied or I/O error
STATUS_TIMEOUT = "timeout"          # the parser worker ran out of time or crashed
STATUS_PARTIAL = "partial"          # opened, but some folders or properties failed
STATUS_MISSING = "missing"          # configured (registry) but not present on disk
STATUSES = (STATUS_OK, STATUS_NOT_PFF, STATUS_EMPTY, STATUS_DAMAGED, STATUS_LOCKED,
            STATUS_UNREADABLE, STATUS_TIMEOUT, STATUS_PARTIAL, STATUS_MISSING)


@dataclass
class OwnerClue:
    """A hint of whose mailbox a store holds, with where it came from."""

    value: str
    kind: str          # smtp | legacy_dn | display_name
    source: str        # file_name | folder_0x6614 | inbox_received_by | registry_account | ...
    count: int = 1


@dataclass
class SpecialFolderId:
    """A server folder EntryID the store keeps for a well-known folder (e.g. 0x36D0 Calendar)."""

    name: str
    tag: str
    provider_uid: str | None
    database_guid: str | None
    global_counter: int | None


@dataclass
class StoreIdentity:
    """What the message store says about the mailbox it caches."""

    provider_uid: str | None = None          # 0x6615
    database_guid: str | None = None          # from the 0x3416 store EntryID
    store_entryid: str | None = None          # 0x3416, hex
    record_key: str | None = None             # 0x0FF9, hex
    display_name: str | None = None           # 0x3001 (empty in real OSTs)
    root_created: dt.datetime | None = None   # root folder 0x3007 = OST creation
    special_folders: list[SpecialFolderId] = field(default_factory=list)


@dataclass
class FolderRecord:
    """One folder of a store. `global_counter` + `database_guid` join audit-log folder ids."""

    path: str
    name: str
    local_id: int                              # the NID inside the file
    container_class: str | None = None         # 0x3613
    item_count: int | None = None              # 0x3602
    unread_count: int | None = None            # 0x3603
    message_count: int | None = None           # --items only: sub-messages libpff sees
    created: dt.datetime | None = None         # 0x3007
    modified: dt.datetime | None = None        # 0x3008
    replica_id: int | None = None              # 0x67F4 low 16 bits
    global_counter: int | None = None          # 0x67F4 upper 48 bits
    id_scope: str | None = None                # server | local | none
    database_guid: str | None = None           # of the server folder, where known
    first_delivery: dt.datetime | None = None  # --items only
    last_delivery: dt.datetime | None = None   # --items only
    message_ids: list[str] | None = None       # --items only: Internet Message-IDs
    error: str | None = None


@dataclass
class StoreFile:
    """One Outlook data file found in the target, with what could be read of it."""

    path: str                        # inside the target, e.g. C:/Users/alice/AppData/...
    profile_user: str | None
    found_by: str                    # default-location | deep | registry: <key\\value> | argument
    status: str = STATUS_OK
    reason: str | None = None
    size: int | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    accessed: dt.datetime | None = None
    changed: dt.datetime | None = None
    sha256: str | None = None
    hash_note: str | None = None     # skipped (--no-hash) | over --hash-max-bytes | error
    kind: str | None = None          # ost | pst | unknown (from the header, never the extension)
    format_version: int | None = None  # wVer: 14/15 ANSI, 21/23 Unicode, 36 Unicode 4 KiB pages
    variant: str | None = None       # ansi | unicode | unicode-4k
    encryption: str | None = None    # none | permute | cyclic
    header_crc_ok: bool | None = None
    store: StoreIdentity | None = None
    owner_clues: list[OwnerClue] = field(default_factory=list)
    folders: list[FolderRecord] = field(default_factory=list)
    open_by_pids: list[int] = field(default_factory=list)
    registry_value: str | None = None  # the registry value that pointed here, if any
    read_through: str | None = None    # raw-ntfs: the OS refused (Outlook held it), read raw


@dataclass
class OutlookProcess:
    pid: int
    user: str | None
    started: dt.datetime | None
    executable: str | None
    version: str | None              # file version of OUTLOOK.EXE = audit ClientVersion
    open_stores: list[str] = field(default_factory=list)
    remote_endpoints: list[str] = field(default_factory=list)


@dataclass
class HostContext:
    name: str | None
    os: str | None
    boot_time: dt.datetime | None
    addresses: list[str] = field(default_factory=list)
    outlook_processes: list[OutlookProcess] = field(default_factory=list)
    outlook_versions: list[str] = field(default_factory=list)  # installed builds, where known
    egress_ip: str | None = None     # given by the responder (--egress-ip); hosts rarely know it


@dataclass
class RegistryEvent:
    """An Outlook profile or account key: where a store was configured, and when."""

    hive: str
    key: str
    last_written: dt.datetime | None
    profile_user: str | None
    account: str | None = None       # SMTP address of the account
    display_name: str | None = None
    store_path: str | None = None    # configured OST path
    value_name: str | None = None
    configured_path: str | None = None  # the value as written, before %VAR% expansion


@dataclass
class ScanError:
    """Damage as data: what could not be done, where, and why. The scan went on."""

    path: str
    stage: str                       # discover | stat | hash | parse | registry | host; and
                                     # link, not-searched: said, but no damage
    reason: str


@dataclass
class TargetInfo:
    kind: str                        # live | folder | file | image | collection
    path: str
    description: str


@dataclass
class ScanReport:
    started: dt.datetime
    finished: dt.datetime | None
    target: TargetInfo
    host: HostContext | None
    files: list[StoreFile] = field(default_factory=list)
    registry: list[RegistryEvent] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    tool: dict[str, str] = field(default_factory=dict)
    scan_id: str = ""


def to_jsonable(value: Any) -> Any:
    """Dataclasses to plain JSON values; datetimes to ISO 8601 UTC."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(cls: type, data: Any, where: str = "") -> Any:
    """Rebuild a dataclass from `to_jsonable` output, checking every value's type; unknown keys
    are ignored. A wrong type raises TypeError naming the field (`files[2].folders[0].name`)."""
    if not isinstance(data, dict):
        raise TypeError(f"{where or 'document'}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(hints[f.name], data[f.name], _at(where, f.name))
    return cls(**kwargs)


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


SCALARS = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _coerce(args[0], value, where) if len(args) == 1 else value
    if origin in (list, dict):
        return _container(origin, args, value, where)
    if hint is dt.datetime:
        return _time(value, where)
    if dataclasses.is_dataclass(hint):
        return from_jsonable(hint, value, where)
    accepted = SCALARS.get(hint)
    wrong_bool = hint is not bool and isinstance(value, bool)
    if accepted and (not isinstance(value, accepted) or wrong_bool):
        raise TypeError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _container(origin: type, args: list, value: Any, where: str) -> Any:
    if not isinstance(value, origin):
        raise TypeError(f"{where}: expected a {origin.__name__}, got {type(value).__name__}")
    if origin is dict:
        return value
    return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]


ZONED = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def _time(value: Any, where: str) -> dt.datetime | None:
    if not isinstance(value, str):
        raise TypeError(f"{where}: expected an ISO 8601 time, got {value!r}")
    if not ZONED.search(value.strip()):
        raise TypeError(f"{where}: a time without its zone: {value!r}")
    try:
        return parse_iso(value)
    except ValueError:
        raise TypeError(f"{where}: not an ISO 8601 time: {value!r}") from None
