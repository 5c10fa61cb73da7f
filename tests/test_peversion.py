"""Reading an executable's file version from its VS_FIXEDFILEINFO block."""

from __future__ import annotations

import io

from scanner.peversion import CHUNK, file_version


def version_block(major: int, minor: int, build: int, revision: int) -> bytes:
    key = "VS_VERSION_INFO".encode("utf-16-le") + bytes(4)
    fixed = (b"\xbd\x04\xef\xfe" + (0x10000).to_bytes(4, "little")
             + ((major << 16) | minor).to_bytes(4, "little")
             + ((build << 16) | revision).to_bytes(4, "little"))
    return bytes(6) + key + fixed + bytes(40)


def test_version_found_in_resource_block() -> None:
    blob = b"MZ" + bytes(5000) + version_block(16, 0, 17928, 20114) + bytes(300)

    assert file_version(io.BytesIO(blob)) == "16.0.17928.20114"


def test_version_block_across_a_chunk_boundary() -> None:
    block = version_block(16, 0, 13801, 20266)
    blob = bytes(CHUNK - 20) + block + bytes(100)

    assert file_version(io.BytesIO(blob)) == "16.0.13801.20266"


def test_no_version_resource() -> None:
    assert file_version(io.BytesIO(b"MZ" + bytes(10000))) is None
