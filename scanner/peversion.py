"""The file version of a Windows executable, read from its VS_FIXEDFILEINFO resource.

OUTLOOK.EXE's file version is what the audit log records as `ClientVersion` (e.g. 16.0.13801.20266).
Reading the fixed-size block by its signature works on any platform and through any file object,
so the host's Outlook build can be read from a live host, an image or a collection alike.
"""

from __future__ import annotations

from typing import BinaryIO

SIGNATURE = b"\xbd\x04\xef\xfe"
KEY = "VS_VERSION_INFO".encode("utf-16-le")
CHUNK = 1 << 20
MAX_BYTES = 256 << 20


def _parse_fixed(block: bytes) -> str | None:
    if len(block) < 16:
        return None
    ms = int.from_bytes(block[8:12], "little")
    ls = int.from_bytes(block[12:16], "little")
    if ms == 0 and ls == 0:
        return None
    return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"


def file_version(handle: BinaryIO) -> str | None:
    """Scan for the version key followed by the fixed-info signature; None when absent."""
    tail = b""
    read = 0
    while read < MAX_BYTES:
        chunk = handle.read(CHUNK)
        if not chunk:
            return None
        read += len(chunk)
        data = tail + chunk
        at = data.find(KEY)
        while at >= 0:
            sig = data.find(SIGNATURE, at, at + 96)
            if sig >= 0 and sig + 16 <= len(data):
                return _parse_fixed(data[sig:sig + 16])
            if sig >= 0:
                break
            at = data.find(KEY, at + 1)
        tail = data[-256:]
    return None
