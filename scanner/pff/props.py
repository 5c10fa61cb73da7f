"""Property values from a pypff item (store, folder, message), read from its record sets.

pypff hands back raw entries; these helpers turn one into a Python value and never raise for
bad bytes. Strings are decoded here rather than by pypff: OSTs keep some PT_UNICODE (0x001F)
values as single-byte text (e.g. a container class `IPF.Contact\\0`), which a UTF-16 decode turns
into CJK noise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from scanner.timeutil import as_utc, from_filetime

PT_LONG = 0x0003
PT_BOOLEAN = 0x000B
PT_I8 = 0x0014
PT_STRING8 = 0x001E
PT_UNICODE = 0x001F
PT_SYSTIME = 0x0040
PT_CLSID = 0x0048
PT_BINARY = 0x0102
PT_MV_BINARY = 0x1102


def entries(item: Any) -> dict[int, Any]:
    """Tag (property id) → pypff record entry, first record set wins."""
    found: dict[int, Any] = {}
    for index in range(item.number_of_record_sets):
        for entry in item.get_record_set(index).entries:
            found.setdefault(entry.entry_type, entry)
    return found


def raw(entry: Any | None) -> bytes | None:
    if entry is None:
        return None
    data = entry.data
    return bytes(data) if data else None


def text(entry: Any | None, codepage: str = "cp1252") -> str | None:
    """A string property; empty and missing values give None."""
    data = raw(entry)
    if data is None:
        return None
    if entry.value_type == PT_UNICODE and not _single_byte(data):
        value = data.decode("utf-16-le", errors="replace")
    else:
        value = data.decode(codepage, errors="replace")
    value = value.rstrip("\x00")
    return value or None


def integer(entry: Any | None) -> int | None:
    data = raw(entry)
    if data is None or entry.value_type not in (PT_LONG, PT_I8, 0x0002):
        return None
    return int.from_bytes(data, "little", signed=True)


def time(entry: Any | None) -> dt.datetime | None:
    """A PT_SYSTIME as an aware UTC datetime; 0 and absurd FILETIMEs give None."""
    data = raw(entry)
    if data is None or entry.value_type != PT_SYSTIME or len(data) != 8:
        return None
    return as_utc(from_filetime(int.from_bytes(data, "little")))


def multi_binary(entry: Any | None) -> list[bytes]:
    """A PT_MV_BINARY: a count, that many 4-byte offsets, then the values back to back."""
    data = raw(entry)
    if data is None or entry.value_type != PT_MV_BINARY or len(data) < 4:
        return []
    count = int.from_bytes(data[:4], "little")
    if 4 + 4 * count > len(data):
        return []
    offsets = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "little") for i in range(count)]
    ends = offsets[1:] + [len(data)]
    spans = zip(offsets, ends, strict=True)
    return [data[start:end] for start, end in spans if start <= end <= len(data)]


def _single_byte(data: bytes) -> bool:
    """True when the bytes are plainly 8-bit text: printable ASCII, NULs only at the end."""
    body = data.rstrip(b"\x00")
    return bool(body) and all(0x20 <= byte < 0x7F for byte in body)
