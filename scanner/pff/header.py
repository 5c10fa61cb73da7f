"""The header of an Outlook data file (PST or OST), read from its first bytes without libpff.

Layout per MS-PST 2.2.2.6: `!BDN` at 0, dwCRCPartial at 4, wMagicClient at 8 (`SM` PST, `SO` OST),
wVer at 10, wVerClient at 12. ANSI files (wVer 14/15) keep ibFileEof at 0xA8 (4 bytes) and
bCryptMethod at 0x1CD; Unicode files (wVer 21/23, and 36 with 4 KiB pages) keep ibFileEof at 0xB8
(8 bytes), bCryptMethod at 0x201 and a second checksum, dwCRCFull, at 0x20C.

dwCRCPartial covers the 471 bytes from offset 8 and dwCRCFull the 516 bytes from offset 8. The
MS-PST checksum is the reflected CRC-32 table walk (polynomial 0xEDB88320) started at 0 with no
final inversion; zlib computes the same walk with inversion on both ends, so it is undone here.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"!BDN"
HEADER_BYTES = 4096          # more than any variant's header; callers read this much
KINDS = {b"SO": "ost", b"SM": "pst"}
VARIANTS = {14: "ansi", 15: "ansi", 21: "unicode", 23: "unicode", 36: "unicode-4k"}
ENCRYPTIONS = {0: "none", 1: "permute", 2: "cyclic"}

_PARTIAL_SPAN = (8, 471)
_FULL_SPAN = (8, 516)
_ANSI = {"eof": (0xA8, "<I"), "crypt": 0x1CD, "end": 0x1CE}
_UNICODE = {"eof": (0xB8, "<Q"), "crypt": 0x201, "full_crc": 0x20C, "end": 0x210}


@dataclass
class PffHeader:
    """What the first bytes say. `problem` is None when the header is sound."""

    signature_ok: bool
    kind: str                          # ost | pst | unknown
    format_version: int | None = None  # wVer
    client_version: int | None = None  # wVerClient
    variant: str | None = None         # ansi | unicode | unicode-4k | unknown
    encryption: str | None = None      # none | permute | cyclic | unknown (n)
    header_crc_ok: bool | None = None
    file_eof: int | None = None        # ibFileEof: the size the file says it has
    problem: str | None = None


def ms_pst_crc(data: bytes) -> int:
    """The MS-PST 5.3 checksum of `data`."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def read_header(data: bytes, file_size: int | None = None) -> PffHeader:
    """Sniff a PST/OST header from the file's first bytes (4096 are enough).

    Give `file_size` to have a file shorter than its ibFileEof reported as truncated.
    """
    if not data:
        return PffHeader(False, "unknown", problem="empty file")
    if not data.startswith(SIGNATURE):
        return PffHeader(False, "unknown", problem="not a PFF file: no !BDN signature")
    if len(data) < 14:
        return PffHeader(True, "unknown", problem=f"truncated: {len(data)} bytes of header")

    header = _fixed_fields(data)
    layout = _layout(header.variant)
    if layout is None:
        header.problem = f"unsupported format version {header.format_version}"
        return header
    if len(data) < layout["end"]:
        header.problem = f"truncated: {len(data)} bytes of a {layout['end']}-byte header"
        return header

    header.encryption = _encryption(data[layout["crypt"]])
    header.file_eof = struct.unpack_from(layout["eof"][1], data, layout["eof"][0])[0]
    header.header_crc_ok = _crc_ok(data, layout)
    header.problem = _problem(header, file_size)
    return header


def _fixed_fields(data: bytes) -> PffHeader:
    version, client = struct.unpack_from("<HH", data, 10)
    return PffHeader(
        signature_ok=True,
        kind=KINDS.get(data[8:10], "unknown"),
        format_version=version,
        client_version=client,
        variant=VARIANTS.get(version, "unknown"),
    )


def _layout(variant: str | None) -> dict | None:
    if variant == "ansi":
        return _ANSI
    if variant in ("unicode", "unicode-4k"):
        return _UNICODE
    return None


def _encryption(code: int) -> str:
    return ENCRYPTIONS.get(code, f"unknown ({code})")


def _crc_ok(data: bytes, layout: dict) -> bool:
    """dwCRCPartial always; dwCRCFull as well where the variant has one (Unicode, 4k)."""
    start, length = _PARTIAL_SPAN
    partial = struct.unpack_from("<I", data, 4)[0] == ms_pst_crc(data[start:start + length])
    if "full_crc" not in layout:
        return partial

    start, length = _FULL_SPAN
    stored_full = struct.unpack_from("<I", data, layout["full_crc"])[0]
    return partial and stored_full == ms_pst_crc(data[start:start + length])


def _problem(header: PffHeader, file_size: int | None) -> str | None:
    if not header.header_crc_ok:
        return "header CRC mismatch"
    if file_size is not None and header.file_eof is not None and file_size < header.file_eof:
        return f"truncated: {file_size} bytes of {header.file_eof}"
    if header.kind == "unknown":
        return "unknown client magic: neither PST (SM) nor OST (SO)"
    return None
