"""The PST/OST header sniffer, on the public fixtures and on headers changed byte by byte."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scanner.pff.header import HEADER_BYTES, ms_pst_crc, read_header

PUBLIC = "fixtures-public"

# file → (kind, wVer, variant, encryption), as the fixture catalogue records them
GENUINE = {
    "aspose-email-net/SampleOstFile.ost": ("ost", 23, "unicode", "permute"),
    "aspose-email-net/PersonalStorageFile.ost": ("pst", 23, "unicode", "permute"),
    "aspose-email-net/Outlook.pst": ("pst", 23, "unicode", "permute"),
    "pstsdk/test_ansi.pst": ("pst", 14, "ansi", "permute"),
    "pstsdk/sample2.pst": ("pst", 14, "ansi", "permute"),
    "go-pst/32-bit.pst": ("pst", 14, "ansi", "permute"),
    "go-pst/support.pst": ("pst", 23, "unicode", "permute"),
    "pst2john/2003_high-encryption_quickquick.pst": ("pst", 23, "unicode", "cyclic"),
    "pst2john/2003_no-encryption_quickquick.pst": ("pst", 23, "unicode", "none"),
    "pst2john/97_outlook_pass12345.pst": ("pst", 14, "ansi", "permute"),
    "hughbe-pstreader/Outlook98Backup.pst": ("pst", 14, "ansi", "permute"),
    "tghanem-pst/user1@test.lab.pst": ("pst", 23, "unicode", "permute"),
}


def head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEADER_BYTES)


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(GENUINE))
def test_genuine_files_verify(shared_dir: Path, name: str) -> None:
    path = shared_dir / PUBLIC / name

    header = read_header(head(path), path.stat().st_size)

    assert (header.kind, header.format_version, header.variant, header.encryption) == \
        GENUINE[name]
    assert header.signature_ok and header.header_crc_ok
    assert header.file_eof == path.stat().st_size
    assert header.problem is None


@pytest.mark.shared
def test_every_genuine_public_file_passes_the_crc(shared_dir: Path, fe01_ost: Path) -> None:
    negatives = {"AddingBulkMessagesWithImprovedPerformance.pst", "albert_meyers_000.pst"}
    paths = [p for p in (shared_dir / PUBLIC).glob("*/*.?st") if p.name not in negatives]
    paths.append(fe01_ost)

    failing = [p.name for p in paths if not read_header(head(p)).header_crc_ok]

    assert len(paths) == 21
    assert failing == []


@pytest.mark.shared
def test_fe01_is_a_4k_ost(fe01_ost: Path) -> None:
    header = read_header(head(fe01_ost), fe01_ost.stat().st_size)

    assert (header.kind, header.format_version, header.variant) == ("ost", 36, "unicode-4k")
    assert (header.encryption, header.client_version) == ("none", 12)
    assert header.file_eof == 16_818_176
    assert header.problem is None


@pytest.mark.shared
def test_fe01_partial_crc_matches_the_stored_value(fe01_ost: Path) -> None:
    data = head(fe01_ost)

    assert ms_pst_crc(data[8:8 + 471]) == 0x67B83805
    assert struct.unpack_from("<I", data, 4)[0] == 0x67B83805


@pytest.mark.shared
def test_header_crc_mismatch_is_reported(shared_dir: Path) -> None:
    header = read_header(head(shared_dir / PUBLIC /
                              "aspose-email-net/AddingBulkMessagesWithImprovedPerformance.pst"))

    assert header.signature_ok and header.kind == "pst"
    assert header.header_crc_ok is False
    assert header.problem == "header CRC mismatch"


@pytest.mark.shared
def test_html_named_pst_is_not_pff(shared_dir: Path) -> None:
    header = read_header(head(shared_dir / PUBLIC / "hughbe-pstreader/albert_meyers_000.pst"))

    assert header.signature_ok is False
    assert header.kind == "unknown"
    assert header.problem == "not a PFF file: no !BDN signature"


@pytest.mark.shared
def test_truncated_file_is_reported(fe01_ost: Path) -> None:
    header = read_header(head(fe01_ost), 8_000_000)

    assert header.header_crc_ok
    assert header.problem == "truncated: 8000000 bytes of 16818176"


@pytest.mark.shared
def test_a_changed_byte_inside_the_checksummed_range_fails(fe01_ost: Path) -> None:
    data = bytearray(head(fe01_ost))
    data[0x40] ^= 0x01       # inside both dwCRCPartial and dwCRCFull

    assert read_header(bytes(data)).header_crc_ok is False


@pytest.mark.shared
def test_dwcrcfull_alone_catches_a_change_past_the_partial_range(fe01_ost: Path) -> None:
    data = bytearray(head(fe01_ost))
    data[0x1F0] ^= 0x01      # past 8 + 471, before 8 + 516

    assert read_header(bytes(data)).header_crc_ok is False


@pytest.mark.shared
def test_bytes_after_the_header_do_not_matter(fe01_ost: Path) -> None:
    data = bytearray(head(fe01_ost))
    data[0x300] ^= 0xFF

    assert read_header(bytes(data)).header_crc_ok is True


def test_empty_input() -> None:
    header = read_header(b"")

    assert (header.signature_ok, header.kind, header.problem) == (False, "unknown", "empty file")


def test_signature_without_a_header() -> None:
    header = read_header(b"!BDN\x00\x00")

    assert header.signature_ok
    assert header.problem == "truncated: 6 bytes of header"


def test_unknown_format_version_is_named() -> None:
    data = b"!BDN" + b"\x00" * 4 + b"SO" + struct.pack("<HH", 99, 19) + b"\x00" * 600

    header = read_header(data)

    assert (header.kind, header.format_version, header.variant) == ("ost", 99, "unknown")
    assert header.problem == "unsupported format version 99"


def test_header_cut_inside_the_fixed_fields() -> None:
    data = b"!BDN" + b"\x00" * 4 + b"SM" + struct.pack("<HH", 23, 19) + b"\x00" * 100

    header = read_header(data)

    assert header.kind == "pst"
    assert header.problem == "truncated: 114 bytes of a 528-byte header"


def test_checksum_of_nothing_is_zero() -> None:
    assert ms_pst_crc(b"") == 0
