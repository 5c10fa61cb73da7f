"""Exchange folder and message ids, as the audit log writes them and as an OST stores them.

One decoder serves both sides of the join, so the two can only agree or disagree on the bytes.
Layouts: MS-OXCDATA 2.2.4.1 (folder EntryID, 46 bytes) and 2.2.4.2 (message EntryID, 70 bytes).
A StoreId is one length byte, the EntryID and one StoreObjectType byte, in base64. An EwsId wraps
the EntryID behind a small header that names the mailbox. See ../shared/research notes.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

FOLDER_ENTRYID_SIZE = 46
MESSAGE_ENTRYID_SIZE = 70

STORE_OBJECT_TYPES = {
    1: "Folder",
    2: "CalendarFolder",
    3: "ContactsFolder",
    4: "TasksFolder",
    5: "NotesFolder",
    6: "JournalFolder",
    7: "SearchFolder",
    8: "OutlookSearchFolder",
    9: "Message",
    15: "CalendarItem",
}

_HEX = re.compile(r"^[0-9A-Fa-f]+$")


@dataclass(frozen=True)
class DecodedId:
    """What a folder or message id string holds. `status` is "ok" or the reason it is not."""

    encoding: str
    status: str
    provider_uid: str | None = None
    folder_type: int | None = None
    database_guid: str | None = None
    global_counter: int | None = None
    object_type: int | None = None
    message_database_guid: str | None = None
    message_global_counter: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def guid_text(raw: bytes) -> str:
    """A 16-byte GUID as stored by Windows (first three fields little-endian), in text form."""
    return str(uuid.UUID(bytes_le=bytes(raw)))


def counter_text(counter: int | None) -> str | None:
    return None if counter is None else f"0x{counter:X}"


def split_fid(raw: bytes) -> tuple[int, int]:
    """An 8-byte folder id (property 0x67F4): replica id (LE u16) and 48-bit global counter (BE)."""
    if len(raw) != 8:
        raise ValueError(f"folder id is {len(raw)} bytes, expected 8")
    return int.from_bytes(raw[:2], "little"), int.from_bytes(raw[2:], "big")


def decode_entryid(raw: bytes, encoding: str = "entryid") -> DecodedId:
    """Decode a bare 46-byte folder or 70-byte message EntryID."""
    if len(raw) not in (FOLDER_ENTRYID_SIZE, MESSAGE_ENTRYID_SIZE):
        return DecodedId(encoding, f"bad-length: {len(raw)} bytes is no folder or message EntryID")
    fields = dict(
        provider_uid=guid_text(raw[4:20]),
        folder_type=int.from_bytes(raw[20:22], "little"),
        database_guid=guid_text(raw[22:38]),
        global_counter=int.from_bytes(raw[38:44], "big"),
    )
    if len(raw) == MESSAGE_ENTRYID_SIZE:
        fields["message_database_guid"] = guid_text(raw[46:62])
        fields["message_global_counter"] = int.from_bytes(raw[62:68], "big")
    return DecodedId(encoding, "ok", **fields)


def _b64(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=True)


def decode_store_id(text: str) -> DecodedId:
    """A StoreId (`LgAAAA…` folder, `RgAAAA…` message)."""
    try:
        raw = _b64(text)
    except (binascii.Error, ValueError) as exc:
        return DecodedId("storeid", f"bad-base64: {exc}")
    if not raw or raw[0] + 2 != len(raw):
        said = raw[:1].hex()
        return DecodedId("storeid", f"bad-length: {len(raw)} bytes, length byte says {said}")
    inner = decode_entryid(raw[1:-1], "storeid")
    return _with_object_type(inner, raw[-1])


def decode_ews_id(text: str) -> DecodedId:
    """An EwsId (`AAMk…`): flag, kind, mailbox GUID in ASCII, then a length-prefixed EntryID."""
    try:
        raw = _b64(text)
    except (binascii.Error, ValueError) as exc:
        return DecodedId("ewsid", f"bad-base64: {exc}")
    if len(raw) < 4:
        return DecodedId("ewsid", "bad-length: too short for an EwsId header")
    if raw[0] != 0:
        return DecodedId("ewsid", f"unsupported: compressed EwsId (flag {raw[0]})")
    mailbox_len = int.from_bytes(raw[2:4], "little")
    at = 4 + mailbox_len + 1
    if len(raw) < at + 2:
        return DecodedId("ewsid", "bad-length: EwsId ends inside its header")
    entry_len = int.from_bytes(raw[at:at + 2], "little")
    entry = raw[at + 2:at + 2 + entry_len]
    if len(entry) != entry_len:
        return DecodedId("ewsid", "bad-length: EwsId ends inside its EntryID")
    inner = decode_entryid(entry, "ewsid")
    tail = raw[at + 2 + entry_len:]
    return _with_object_type(inner, tail[0]) if tail else inner


def decode_folder_id(text: str | None) -> DecodedId:
    """Decode any id string the audit log or an export may hold, by its shape."""
    if not text:
        return DecodedId("none", "missing")
    text = text.strip()
    if _HEX.match(text) and len(text) in (2 * FOLDER_ENTRYID_SIZE, 2 * MESSAGE_ENTRYID_SIZE):
        return decode_entryid(bytes.fromhex(text), "hexentryid")
    if text.startswith("AAMk") or text.startswith("AQMk"):
        return decode_ews_id(text)
    return decode_store_id(text)


def _with_object_type(inner: DecodedId, object_type: int) -> DecodedId:
    if not inner.ok:
        return inner
    fields = {**inner.__dict__, "object_type": object_type}
    return DecodedId(**fields)
