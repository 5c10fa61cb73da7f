"""Read one Outlook data file (OST or PST) through libpff: store identity, owner clues, folders.

The default read touches folders only, plus a bounded sample of Inbox messages for the owner
clues, so its cost does not grow with the number of messages. `items=True` also visits every
message for its delivery time (0x0E06) and Internet Message-ID (0x1035). Subjects and bodies are
never read.

Folder ids. Every OST folder carries 0x67F4 (replica id, global counter). The replica GUID a
replica id stands for is recovered from evidence (see `scanner.pff.special.replica_guids`): the
46-byte server EntryIDs on the Inbox and the store EntryID (0x3416) name (GUID, counter) pairs,
and a folder whose counter matches ties its replica id to that GUID. In fe01 replica 1 maps to the
store's DatabaseGuid; in the Exchange 2010 Aspose OST replica 1 maps to the mailbox GUID of the
special folders and replica 2 to the store EntryID's GUID. `id_scope` is "server" for a folder
whose replica id is so mapped, "local" for one whose replica id is not (replica 0 holds
Outlook's local ids: Inbox, Sent Items, Deleted Items, Outbox and the roots in both real OSTs),
and "none" for a folder without 0x67F4 (every PST).

Damage is data: a folder that fails becomes `FolderRecord.error` and the reading "partial"; a file
libpff refuses is "damaged" with libpff's message; nothing here raises for bad data.
"""

from __future__ import annotations

import codecs
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pypff

from scanner import records
from scanner.entryid import FOLDER_ENTRYID_SIZE, decode_entryid, guid_text, split_fid
from scanner.pff import owner, props, special
from scanner.pff.header import HEADER_BYTES, PffHeader, read_header
from scanner.records import FolderRecord, OwnerClue, SpecialFolderId, StoreIdentity

TAG_MESSAGE_DELIVERY_TIME = 0x0E06
TAG_RECORD_KEY = 0x0FF9
TAG_INTERNET_MESSAGE_ID = 0x1035
TAG_DISPLAY_NAME = 0x3001
TAG_CREATION_TIME = 0x3007
TAG_LAST_MODIFICATION_TIME = 0x3008
TAG_STORE_ENTRYID = 0x3416
TAG_CONTENT_COUNT = 0x3602
TAG_CONTENT_UNREAD = 0x3603
TAG_CONTAINER_CLASS = 0x3613
TAG_PROVIDER_UID = 0x6615
TAG_FOLDER_ID = 0x67F4

CARRIER_TAGS = frozenset(special.SINGLE_TAGS) | {special.REN_TAG, special.REN_EX_TAG}


@dataclass
class StoreReading:
    """What `read_store` could read of one file. `status` is one of records.STATUS_*."""

    status: str
    reason: str | None
    store: StoreIdentity | None = None
    owner_clues: list[OwnerClue] = field(default_factory=list)
    folders: list[FolderRecord] = field(default_factory=list)
    header: PffHeader | None = None
    content_type: str | None = None   # what libpff says: ost | pst


@dataclass
class _Walk:
    """State gathered while visiting folders once."""

    codepage: str
    items: bool
    folders: list[FolderRecord] = field(default_factory=list)
    folder_ids: list[tuple[int, int]] = field(default_factory=list)
    carriers: list[tuple[str, dict[int, Any], Any]] = field(default_factory=list)
    inbox_by_name: Any = None
    tally: owner.ClueTally = field(default_factory=owner.ClueTally)


def read_store(
    file_object: BinaryIO, display_name: str, items: bool = False, owner_sample: int = 50
) -> StoreReading:
    """Read one PST/OST from an open, seekable, read-only binary file object."""
    try:
        header = _sniff(file_object)
    except OSError as exc:
        return StoreReading(records.STATUS_UNREADABLE, f"cannot read header: {exc}")
    early = _refuse_early(header)
    if early is not None:
        return early

    pff = pypff.file()
    try:
        file_object.seek(0)
        pff.open_file_object(file_object)
    except Exception as exc:  # libpff reports every refusal as a generic IOError/OSError
        reason = "; ".join(filter(None, [header.problem, f"libpff: {_one_line(exc)}"]))
        return StoreReading(records.STATUS_DAMAGED, reason, header=header)
    try:
        reading = _read_open_file(pff, display_name, items, owner_sample)
    finally:
        pff.close()

    reading.header = header
    return _with_status(reading, header)


def _sniff(file_object: BinaryIO) -> PffHeader:
    file_object.seek(0, 2)
    size = file_object.tell()
    file_object.seek(0)
    return read_header(file_object.read(HEADER_BYTES), size)


def _refuse_early(header: PffHeader) -> StoreReading | None:
    """Files libpff need not see: empty, no signature."""
    if header.problem == "empty file":
        return StoreReading(records.STATUS_EMPTY, header.problem, header=header)
    if not header.signature_ok:
        return StoreReading(records.STATUS_NOT_PFF, header.problem, header=header)
    return None


def _read_open_file(pff: Any, display_name: str, items: bool, owner_sample: int) -> StoreReading:
    walk = _Walk(codepage=_codepage(pff), items=items)
    problems: list[str] = []

    store_entries = _store_entries(pff, problems)
    _walk_folders(pff, walk, problems)

    specials = _special_folders(store_entries, walk)
    store = _store_identity(store_entries, walk, specials)
    _assign_server_ids(walk, store_entries, specials)

    clue = owner.file_name_clue(display_name)
    _sample_inbox(_inbox(walk), walk, owner_sample, problems)
    clues = ([clue] if clue else []) + walk.tally.clues()

    status = records.STATUS_PARTIAL if problems else records.STATUS_OK
    reason = "; ".join(problems) or None
    return StoreReading(status, reason, store, clues, walk.folders, None, _content_type(pff))


def _with_status(reading: StoreReading, header: PffHeader) -> StoreReading:
    """A header problem libpff read past (truncation) still makes the reading partial."""
    if header.problem is None:
        return reading
    reading.status = records.STATUS_PARTIAL
    reading.reason = "; ".join(filter(None, [header.problem, reading.reason]))
    return reading


def _codepage(pff: Any) -> str:
    try:
        name = pff.ascii_codepage
        name = name.decode("ascii") if isinstance(name, bytes) else str(name)
        codecs.lookup(name)
        return name
    except Exception:  # an unknown or unreadable codepage falls back to Outlook's default
        return "cp1252"


def _content_type(pff: Any) -> str | None:
    try:
        return {111: "ost", 112: "pst"}.get(pff.content_type)
    except Exception:  # content type is informative only
        return None


def _store_entries(pff: Any, problems: list[str]) -> dict[int, Any]:
    try:
        store = pff.message_store
        return props.entries(store) if store is not None else {}
    except Exception as exc:  # libpff: damaged message store node
        problems.append(f"message store unreadable: {_one_line(exc)}")
        return {}


def _walk_folders(pff: Any, walk: _Walk, problems: list[str]) -> None:
    """Visit every folder once, depth first, parents before children."""
    try:
        root = pff.root_folder
    except Exception as exc:  # libpff: missing root folder node
        problems.append(f"root folder unreadable: {_one_line(exc)}")
        return
    pending = [(root, "/", 0)]
    while pending:
        folder, path, depth = pending.pop()
        children = _visit(folder, path, depth, walk)
        pending.extend(reversed(children))

    failed = sum(1 for record in walk.folders if record.error)
    if failed:
        problems.append(f"{failed} of {len(walk.folders)} folders partly unreadable")


def _visit(folder: Any, path: str, depth: int, walk: _Walk) -> list[tuple[Any, str, int]]:
    record = FolderRecord(path=path, name="", local_id=-1)
    walk.folders.append(record)
    errors: list[str] = []

    try:
        record.local_id = folder.identifier
        record.name = folder.name or ""
        found = props.entries(folder)
        _fill_folder(record, found, walk)
        _note_folder(folder, record, found, walk, depth)
    except Exception as exc:  # damage as data: keep what was read
        errors.append(f"properties: {_one_line(exc)}")
    if walk.items:
        # libpff reads the whole contents table to count messages: only when asked for items
        record.message_count = _message_total(folder, errors)
        _read_items(folder, record, walk.codepage, errors)

    children = _children(folder, path, depth, errors)
    record.error = "; ".join(errors) or None
    return children


def _fill_folder(record: FolderRecord, found: dict[int, Any], walk: _Walk) -> None:
    record.container_class = props.text(found.get(TAG_CONTAINER_CLASS), walk.codepage)
    record.item_count = props.integer(found.get(TAG_CONTENT_COUNT))
    record.unread_count = props.integer(found.get(TAG_CONTENT_UNREAD))
    record.created = props.time(found.get(TAG_CREATION_TIME))
    record.modified = props.time(found.get(TAG_LAST_MODIFICATION_TIME))

    fid = props.raw(found.get(TAG_FOLDER_ID))
    if fid is not None and len(fid) == 8:
        record.replica_id, record.global_counter = split_fid(fid)
        record.id_scope = "local"
    else:
        record.id_scope = "none"


def _note_folder(
    folder: Any, record: FolderRecord, found: dict[int, Any], walk: _Walk, depth: int
) -> None:
    """What the store-wide steps need from this folder: ids, clues, special-id carriers."""
    if record.global_counter is not None:
        walk.folder_ids.append((record.replica_id, record.global_counter))
    owner.add_folder_clues(walk.tally, found)
    if CARRIER_TAGS & found.keys() or depth == 0:
        walk.carriers.append((record.path, found, folder))
    if walk.inbox_by_name is None and record.name.casefold() == "inbox" and depth >= 1:
        walk.inbox_by_name = folder


def _children(folder: Any, path: str, depth: int, errors: list[str]) -> list[tuple]:
    children = []
    try:
        for index in range(folder.number_of_sub_folders):
            child = folder.get_sub_folder(index)
            name = child.name or f"(nid {child.identifier})"
            children.append((child, f"{path.rstrip('/')}/{name}", depth + 1))
    except Exception as exc:  # a damaged hierarchy table: keep the children found so far
        errors.append(f"sub-folders: {_one_line(exc)}")
    return children


def _read_items(folder: Any, record: FolderRecord, codepage: str, errors: list[str]) -> None:
    """--items: delivery-time range and Internet Message-IDs of the folder's messages."""
    times: list[dt.datetime] = []
    message_ids: list[str] = []
    failed = 0
    total = record.message_count or 0
    for index in range(total):
        try:
            found = props.entries(folder.get_sub_message(index))
        except Exception:  # counted and reported on the folder
            failed += 1
            continue
        delivered = props.time(found.get(TAG_MESSAGE_DELIVERY_TIME))
        message_id = props.text(found.get(TAG_INTERNET_MESSAGE_ID), codepage)
        times += [delivered] if delivered else []
        message_ids += [message_id] if message_id else []

    record.first_delivery = min(times, default=None)
    record.last_delivery = max(times, default=None)
    record.message_ids = message_ids
    if failed:
        errors.append(f"{failed} of {total} messages unreadable")


def _message_total(folder: Any, errors: list[str]) -> int | None:
    try:
        return folder.number_of_sub_messages
    except Exception as exc:  # libpff issue #70: huge contents tables
        errors.append(f"messages: {_one_line(exc)}")
        return None


def _special_folders(store_entries: dict[int, Any], walk: _Walk) -> list[SpecialFolderId]:
    """The server folder EntryIDs kept on the store, the root and the Inbox."""
    provider = props.raw(store_entries.get(TAG_PROVIDER_UID))
    sources = [store_entries] + [found for _, found, _ in walk.carriers]
    found: list[SpecialFolderId] = []
    for entries in sources:
        found += _specials_in(entries, provider)

    unique: dict[tuple, SpecialFolderId] = {}
    for item in found:
        unique.setdefault((item.tag, item.database_guid, item.global_counter), item)
    return list(unique.values())


def _specials_in(entries: dict[int, Any], provider: bytes | None) -> list[SpecialFolderId]:
    found = []
    for tag, entry in sorted(entries.items()):
        if tag == TAG_STORE_ENTRYID:
            continue
        if tag == special.REN_TAG:
            found += special.from_ren(props.multi_binary(entry))
        elif tag == special.REN_EX_TAG:
            found += special.from_ren_ex(props.raw(entry))
        elif tag in special.SINGLE_TAGS or _is_mailbox_entryid(props.raw(entry), provider):
            item = special.from_single(tag, props.raw(entry))
            found += [item] if item else []
    return found


def _is_mailbox_entryid(raw: bytes | None, provider: bytes | None) -> bool:
    """A 46-byte value that names a folder of this mailbox (same ProviderUID as the store)."""
    return (
        raw is not None and provider is not None and len(raw) == FOLDER_ENTRYID_SIZE
        and raw[:4] == b"\x00\x00\x00\x00" and raw[4:20] == provider
    )


def _store_identity(
    store_entries: dict[int, Any], walk: _Walk, specials: list[SpecialFolderId]
) -> StoreIdentity:
    identity = StoreIdentity(special_folders=specials)
    provider = props.raw(store_entries.get(TAG_PROVIDER_UID))
    if provider is not None and len(provider) == 16:
        identity.provider_uid = guid_text(provider)

    store_entryid = props.raw(store_entries.get(TAG_STORE_ENTRYID))
    if store_entryid is not None:
        identity.store_entryid = store_entryid.hex()
        decoded = decode_entryid(store_entryid)
        identity.database_guid = decoded.database_guid if decoded.ok else None

    record_key = props.raw(store_entries.get(TAG_RECORD_KEY))
    identity.record_key = record_key.hex() if record_key else None
    identity.display_name = props.text(store_entries.get(TAG_DISPLAY_NAME), walk.codepage)
    identity.root_created = _root_created(walk.folders)
    return identity


def _root_created(folders: list[FolderRecord]) -> dt.datetime | None:
    """The root folder's 0x3007; where the root has none, the earliest of its direct children."""
    if not folders:
        return None
    if folders[0].created is not None:
        return folders[0].created
    top = [f.created for f in folders[1:] if f.created and f.path.count("/") == 1]
    return min(top, default=None)


def _assign_server_ids(
    walk: _Walk, store_entries: dict[int, Any], specials: list[SpecialFolderId]
) -> None:
    evidence = [(s.database_guid, s.global_counter) for s in specials if s.database_guid]
    store_entryid = props.raw(store_entries.get(TAG_STORE_ENTRYID))
    decoded = decode_entryid(store_entryid) if store_entryid else None
    if decoded is not None and decoded.ok:
        evidence.append((decoded.database_guid, decoded.global_counter))

    guids = special.replica_guids(walk.folder_ids, evidence)
    for record in walk.folders:
        if record.replica_id in guids and record.global_counter is not None:
            record.database_guid = guids[record.replica_id]
            record.id_scope = "server"


def _inbox(walk: _Walk) -> Any:
    """The Inbox: per MS-OXOSFLD the owner's Inbox (not the root) carries the special-folder
    EntryIDs, whatever its display language; else the first folder named Inbox (PSTs)."""
    for path, found, folder in walk.carriers:
        if special.SINGLE_TAGS.keys() & found.keys() and path != "/":
            return folder
    return walk.inbox_by_name


def _sample_inbox(inbox: Any, walk: _Walk, owner_sample: int, problems: list[str]) -> None:
    if inbox is None or owner_sample <= 0:
        return
    try:
        count = min(owner_sample, inbox.number_of_sub_messages)
    except Exception as exc:  # libpff: unreadable contents table
        problems.append(f"Inbox messages unreadable: {_one_line(exc)}")
        return
    unreadable = 0
    for index in range(count):
        try:
            owner.add_message_clues(walk.tally, inbox.get_sub_message(index), walk.codepage)
        except Exception:  # one unreadable message does not spoil the sample, but is said
            unreadable += 1
    if unreadable:
        problems.append(f"{unreadable} of {count} Inbox messages read for owner clues "
                        "unreadable")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
