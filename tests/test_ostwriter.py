"""The self-made OST writer: libpff (pypff, pffinfo, pffexport) reads back what it wrote."""

from __future__ import annotations

import dataclasses
import shutil
import struct
import subprocess
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pypff
import pytest

from fixtures.ostwriter import (
    FolderSpec,
    Mailbox,
    MessageSpec,
    Prop,
    StoreSpec,
    exchange_ost,
    write_ost,
)
from fixtures.ostwriter.damaged import write_all

LEGACY_DN = (
    "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients"
    "/cn=7c1f0e2d3b4a59687766554433221100-jdoe"
)
PROVIDER_UID = uuid.UUID("6f1d2c3b-4a59-4e68-8f7a-0b1c2d3e4f50")
DATABASE_GUID = uuid.UUID("0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9")
OST_CREATED = datetime(2024, 4, 2, 7, 41, 13, tzinfo=timezone.utc)
MAILBOX = Mailbox(
    smtp="jdoe@contoso.example",
    display_name="Jane Doe",
    legacy_dn=LEGACY_DN,
    provider_uid=PROVIDER_UID,
    database_guid=DATABASE_GUID,
    created=datetime(2023, 11, 20, 10, 0, tzinfo=timezone.utc),
    seed=11,
)
COUNTS = {"Inbox": 30, "Sent Items": 6, "Deleted Items": 2, "Inbox/Projects": 4, "Calendar": 3}
INBOX = "/Root - Mailbox/IPM_SUBTREE/Inbox"
VERSIONS = (23, 36)


def entries(item: object) -> dict[int, tuple[int, bytes | None]]:
    """Property id -> (type, raw data) of record set 0, as libpff reads it."""
    record_set = item.get_record_set(0)
    return {e.entry_type: (e.value_type, e.data) for e in record_set.entries}


def pypff_folders(path: Path) -> dict[str, object]:
    handle = pypff.file()
    handle.open(str(path))
    found: dict[str, object] = {}

    def walk(folder: object, at: str) -> None:
        found[at] = folder
        for index in range(folder.number_of_sub_folders):
            sub = folder.get_sub_folder(index)
            walk(sub, f"{at}/{sub.name}")

    walk(handle.root_folder, "")
    found["@file"] = handle
    return found


def filetime(raw: bytes) -> datetime:
    ticks = struct.unpack("<Q", raw)[0]
    return datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)


def pst_crc(data: bytes) -> int:
    """MS-PST's CRC-32: the zlib table, started at 0, not inverted."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def utf16(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-16-le")


@pytest.fixture(scope="module", params=VERSIONS, ids=lambda v: f"wVer{v}")
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    spec = exchange_ost(MAILBOX, OST_CREATED, COUNTS, version=request.param)
    path = tmp_path_factory.mktemp("ost") / "jdoe@contoso.example.ost"
    result = write_ost(spec, path)
    return spec, path, result


def test_header_is_an_ost_of_the_requested_format(written: tuple) -> None:
    spec, path, result = written
    data = path.read_bytes()

    assert data[:4] == b"!BDN" and data[8:10] == b"SO"
    assert struct.unpack_from("<H", data, 10)[0] == spec.version
    assert len(data) == result.size == struct.unpack_from("<Q", data, 184)[0]
    assert struct.unpack_from("<I", data, 4)[0] == pst_crc(data[8:479])
    assert struct.unpack_from("<I", data, 524)[0] == pst_crc(data[8:524])


def test_first_allocation_map_page_is_sealed(written: tuple) -> None:
    spec, path, _ = written
    data = path.read_bytes()
    start, size, trailer = (0x4400, 512, 496) if spec.version == 23 else (0x22000, 4096, 4072)
    page = data[start:start + size]

    assert page[trailer] == page[trailer + 1] == 0x84
    crc = pst_crc(page[:trailer])
    assert struct.unpack_from("<IQ", page, trailer + 4) == (crc, start)
    assert page[0] == 0xFF


def test_store_properties_read_back(written: tuple) -> None:
    _, path, _ = written
    store = entries(pypff_folders(path)["@file"].message_store)

    assert store[0x6615] == (0x0048, PROVIDER_UID.bytes_le)
    entryid = store[0x3416][1]
    assert len(entryid) == 46 and entryid[:4] == bytes(4)
    assert entryid[4:20] == PROVIDER_UID.bytes_le and entryid[20:22] == b"\x01\x00"
    assert entryid[22:38] == DATABASE_GUID.bytes_le
    assert len(store[0x0FF9][1]) == 16
    assert store[0x3001] == (0x001F, None)


def test_root_folder_is_created_with_the_ost(written: tuple) -> None:
    _, path, _ = written
    root = entries(pypff_folders(path)[""])

    assert filetime(root[0x3007][1]) == OST_CREATED
    assert LEGACY_DN.encode("ascii") + b"\x00" in root[0x6614][1]


def test_default_folders_carry_server_ids(written: tuple) -> None:
    _, path, _ = written
    folders = pypff_folders(path)
    expected = {"Calendar": 0x10D, "Contacts": 0x10E, "Drafts": 0x10F, "Junk Email": 0x115,
                "Tasks": 0x112}

    for name, counter in expected.items():
        value = entries(folders[f"/Root - Mailbox/IPM_SUBTREE/{name}"])[0x67F4]
        assert value == (0x0014, b"\x01\x00" + counter.to_bytes(6, "big")), name


def test_inbox_sent_and_deleted_are_numbered_locally_as_in_real_osts(written: tuple) -> None:
    _, path, _ = written
    folders = pypff_folders(path)
    expected = {"Deleted Items": 0x0B, "Inbox": 0x0C, "Outbox": 0x0D, "Sent Items": 0x0E}

    for name, counter in expected.items():
        value = entries(folders[f"/Root - Mailbox/IPM_SUBTREE/{name}"])[0x67F4]
        assert value == (0x0014, b"\x00\x00" + counter.to_bytes(6, "big")), name


def test_inbox_holds_special_folder_entryids(written: tuple) -> None:
    _, path, _ = written
    inbox = entries(pypff_folders(path)[INBOX])
    calendar = bytes(4) + PROVIDER_UID.bytes_le + b"\x01\x00" + DATABASE_GUID.bytes_le
    calendar += bytes.fromhex("00000000010d") + bytes(2)

    assert inbox[0x36D0] == (0x0102, calendar)
    assert inbox[0x36D7][1][38:44] == bytes.fromhex("00000000010f")
    assert inbox[0x3602] == (0x0003, struct.pack("<i", 30))


def test_every_folder_reads_back_as_written(written: tuple) -> None:
    spec, path, result = written
    folders = pypff_folders(path)
    specs = dict(spec.root.walk())

    assert set(specs) == set(folders) - {"@file"}
    assert result.folders == len(specs) == 25
    for at, folder in specs.items():
        values = entries(folders[at])
        assert folders[at].number_of_sub_messages == len(folder.messages), at
        assert utf16(values[0x3001][1]) == folder.name, at
        assert values[0x3602][1] == struct.pack("<i", len(folder.messages)), at
        assert filetime(values[0x3007][1]) == folder.created, at
        assert filetime(values[0x3008][1]) == folder.modified, at
        if folder.container_class:
            assert utf16(values[0x3613][1]) == folder.container_class, at
        if folder.folder_id:
            assert values[0x67F4][1] == folder.folder_id, at


def test_messages_read_back_as_written(written: tuple) -> None:
    spec, path, result = written
    folders = pypff_folders(path)

    assert result.messages == sum(COUNTS.values()) == 45
    for at, folder in spec.root.walk():
        got = {message_key(folders[at].get_sub_message(i))
               for i in range(folders[at].number_of_sub_messages)}
        want = {(m.internet_message_id, m.delivery_time.replace(tzinfo=None), m.subject,
                 m.message_class, m.received_by_smtp) for m in folder.messages}
        assert got == want, at


def message_key(message: object) -> tuple:
    values = entries(message)
    smtp = values.get(0x5D07, (0, None))[1]
    return (utf16(values[0x1035][1]), message.delivery_time, message.subject,
            utf16(values[0x001A][1]), utf16(smtp) if smtp else None)


def test_inbox_messages_name_the_owner(written: tuple) -> None:
    _, path, _ = written
    inbox = pypff_folders(path)[INBOX]
    values = entries(inbox.get_sub_message(0))

    assert utf16(values[0x0040][1]) == "Jane Doe"
    assert utf16(values[0x0076][1]) == LEGACY_DN
    assert utf16(values[0x5D07][1]) == "jdoe@contoso.example"


@pytest.mark.parametrize("version", VERSIONS)
def test_large_folder_and_large_values(version: int, tmp_path: Path) -> None:
    """3,000 rows and big values force multi-block heaps, row matrices and B-tree levels."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    big = bytes(range(256)) * 40
    messages = [MessageSpec(subject=f"n{i}", delivery_time=start + timedelta(minutes=i),
                            internet_message_id=f"<{i}@big.example>") for i in range(3000)]
    messages[7].extra = [Prop(0x1000, 0x001F, "body " * 2000), Prop(0x0FFF, 0x0102, big)]
    root = FolderSpec("", None, subfolders=[FolderSpec("Bulk", messages=messages)])
    path = tmp_path / "big.ost"
    write_ost(StoreSpec(root=root, record_key=bytes(16), version=version), path)
    bulk = pypff_folders(path)["/Bulk"]

    assert bulk.number_of_sub_messages == 3000
    ids = {utf16(entries(bulk.get_sub_message(i))[0x1035][1]) for i in range(3000)}
    assert ids == {f"<{i}@big.example>" for i in range(3000)}
    seventh = next(m for m in bulk.sub_messages if m.subject == "n7")
    assert entries(seventh)[0x0FFF][1] == big
    assert utf16(entries(seventh)[0x1000][1]) == "body " * 2000


def test_same_spec_gives_the_same_bytes(tmp_path: Path) -> None:
    first = exchange_ost(MAILBOX, OST_CREATED, COUNTS, version=23)
    second = exchange_ost(MAILBOX, OST_CREATED, COUNTS, version=23)

    write_ost(first, tmp_path / "a.ost")
    write_ost(second, tmp_path / "b.ost")
    assert (tmp_path / "a.ost").read_bytes() == (tmp_path / "b.ost").read_bytes()


def test_trimmed_file_still_opens(tmp_path: Path) -> None:
    spec = exchange_ost(MAILBOX, OST_CREATED, COUNTS, version=36, trim_tail=True)
    result = write_ost(spec, tmp_path / "small.ost")

    assert result.size < 1_000_000
    assert pypff_folders(result.path)[INBOX].number_of_sub_messages == 30


@pytest.mark.parametrize("version", VERSIONS)
def test_pffinfo_and_pffexport_read_the_file(version: int, tmp_path: Path) -> None:
    if not shutil.which("pffinfo") or not shutil.which("pffexport"):
        pytest.skip("pffinfo/pffexport (Debian pff-tools) are not installed")
    spec = exchange_ost(MAILBOX, OST_CREATED, COUNTS, version=version)
    path = write_ost(spec, tmp_path / "jdoe.ost").path

    info = subprocess.run(["pffinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Offline Storage Tables (OST)" in info.stdout
    assert ("64-bit with 4k page" in info.stdout) == (version == 36)
    subprocess.run(["pffexport", "-q", "-t", str(tmp_path / "out"), str(path)],
                   capture_output=True, check=True)
    exported = tmp_path / "out.export"
    inbox = exported / "Root - Mailbox" / "IPM_SUBTREE" / "Inbox"
    assert len([p for p in inbox.iterdir() if p.name.startswith("Message")]) == 30
    items = [p for p in exported.rglob("*") if p.is_dir() and p.name[:7] in ("Message", "Appoint")]
    assert len(items) == 45


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    spec = exchange_ost(MAILBOX, OST_CREATED, {"Inbox": 3}, version=36, trim_tail=True)
    return write_all(spec, tmp_path_factory.mktemp("damaged"))


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("truncated", "unable to read index node"),
        ("bad_header_crc", "mismatch in file header checksum"),
        ("wrong_magic", "invalid file signature"),
        ("html_page", "unable to read file header data"),
        ("empty", "unable to read file header data"),
    ],
)
def test_damaged_variants_are_refused(damaged: dict[str, Path], variant: str, reason: str) -> None:
    handle = pypff.file()

    with pytest.raises(OSError, match=reason):
        handle.open(str(damaged[variant]))


def test_pst_named_ost_is_a_pst(damaged: dict[str, Path]) -> None:
    path = damaged["pst_named_ost"]
    handle = pypff.file()
    handle.open(str(path))

    assert path.suffix == ".ost" and path.read_bytes()[8:10] == b"SM"
    assert handle.content_type == ord("p")
    assert utf16(entries(handle.message_store)[0x3001][1]) == "Outlook Data File"


def test_healthy_variant_opens(damaged: dict[str, Path]) -> None:
    handle = pypff.file()
    handle.open(str(damaged["healthy"]))

    assert handle.content_type == ord("o")
    assert damaged["empty"].stat().st_size == 0


def test_spec_rejects_naive_times(tmp_path: Path) -> None:
    folder = FolderSpec("Inbox", created=datetime(2024, 1, 1))
    spec = StoreSpec(root=FolderSpec("", None, subfolders=[folder]), record_key=bytes(16))

    with pytest.raises(ValueError, match="no time zone"):
        write_ost(spec, tmp_path / "naive.ost")


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    spec = dataclasses.replace(exchange_ost(MAILBOX, OST_CREATED, {}), version=14)

    with pytest.raises(ValueError, match="unsupported format version 14"):
        write_ost(spec, tmp_path / "ansi.ost")


CASE = Path(__file__).resolve().parent.parent / "fixtures" / "example-case"
SERVER_OST = "hosts/SRV-FILE01/Users/Administrator/AppData/Local/Microsoft/Outlook/"


def test_example_case_regenerates_byte_for_byte(tmp_path: Path) -> None:
    from fixtures.make_example_case import build

    build(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CASE) for p in CASE.rglob("*") if p.is_file())

    assert made == committed
    for relative in made:
        assert (tmp_path / relative).read_bytes() == (CASE / relative).read_bytes(), relative


def test_example_case_server_ost_was_made_by_the_malicious_session() -> None:
    import csv
    import json

    from scanner.entryid import decode_store_id

    with (CASE / "audit" / "purview-export.csv").open(encoding="utf-8-sig", newline="") as f:
        audit = [json.loads(row["AuditData"]) for row in csv.DictReader(f)]
    malicious = sorted((a for a in audit if a["ClientIPAddress"] == "198.51.100.77"),
                       key=lambda a: a["CreationTime"])
    folders = pypff_folders(CASE / SERVER_OST / "jdoe@contoso.example.ost")
    first = decode_store_id(malicious[0]["Item"]["ParentFolder"]["Id"])

    assert len(malicious) == 14 and malicious[0]["CreationTime"] == "2024-03-14T02:37:51"
    assert filetime(entries(folders[""])[0x3007][1]) == datetime(2024, 3, 14, 2, 37, 51,
                                                                 tzinfo=timezone.utc)
    assert (first.database_guid, first.global_counter) == (
        "41f7c2d8-0e6b-4a39-b5d1-8c2e7f0a6b43", 0x10C)
    assert entries(folders[INBOX])[0x67F4][1] == bytes.fromhex("000000000000000c")
