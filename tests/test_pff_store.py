"""The libpff store reader on the real public OSTs/PSTs and on copies broken in tmp_path."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from scanner import records
from scanner.entryid import guid_text
from scanner.pff.store import StoreReading, read_store
from scanner.records import FolderRecord, to_jsonable

ASPOSE = "fixtures-public/aspose-email-net"
UTC = dt.timezone.utc
FE01_PROVIDER = guid_text(bytes.fromhex("8da5fade8443dc44a3db178a4796b03c"))
FE01_DATABASE = guid_text(bytes.fromhex("68e805a98195124f961de50f1230034d"))
FE01_SIZE = 16_818_176

pytestmark = pytest.mark.shared


def read_path(path: Path, name: str | None = None, **options: object) -> StoreReading:
    with path.open("rb") as handle:
        return read_store(handle, name or path.name, **options)


def folder(reading: StoreReading, suffix: str) -> FolderRecord:
    return next(f for f in reading.folders if f.path.endswith(suffix))


def clue_counts(reading: StoreReading) -> dict[tuple[str, str, str], int]:
    return {(c.value, c.kind, c.source): c.count for c in reading.owner_clues}


@pytest.fixture(scope="module")
def fe01(fe01_ost: Path) -> StoreReading:
    return read_path(fe01_ost)


@pytest.fixture(scope="module")
def fe01_items(fe01_ost: Path) -> StoreReading:
    return read_path(fe01_ost, items=True)


def test_fe01_reads_cleanly(fe01: StoreReading) -> None:
    assert (fe01.status, fe01.reason) == (records.STATUS_OK, None)
    assert fe01.content_type == "ost"
    assert (fe01.header.kind, fe01.header.format_version) == ("ost", 36)
    assert len(fe01.folders) == 61


def test_fe01_store_identity(fe01: StoreReading) -> None:
    store = fe01.store

    assert store.provider_uid == FE01_PROVIDER
    assert store.database_guid == FE01_DATABASE
    assert store.store_entryid.startswith("000000008da5fade")
    assert store.record_key == "12cb35af7ba1fe4596611f1252bc5ddb"
    assert store.display_name is None
    assert store.root_created.replace(microsecond=0) == dt.datetime(2021, 3, 3, 14, 32, 37,
                                                                    tzinfo=UTC)


def test_fe01_owner_clues(fe01: StoreReading) -> None:
    clues = clue_counts(fe01)
    legacy = [c for c in fe01.owner_clues if c.source == "folder_0x6614"]

    assert clues[("steven.hark@testymctestfaces.com", "smtp", "inbox_received_by")] == 30
    assert clues[("Steven Hark", "display_name", "inbox_received_by")] == 30
    assert len(legacy) == 1 and legacy[0].kind == "legacy_dn"
    assert legacy[0].value.startswith("/o=ExchangeLabs/")
    assert legacy[0].value.endswith("-steven.hark")
    assert legacy[0].count == 36


def test_owner_sample_is_bounded(fe01_ost: Path) -> None:
    five = clue_counts(read_path(fe01_ost, owner_sample=5))
    none = read_path(fe01_ost, owner_sample=0)

    assert five[("steven.hark@testymctestfaces.com", "smtp", "inbox_received_by")] == 5
    assert {c.source for c in none.owner_clues} == {"folder_0x6614"}


def test_file_name_clue(fe01_ost: Path) -> None:
    reading = read_path(fe01_ost, "C:/Users/x/AppData/Local/Microsoft/Outlook/"
                                  "steven.hark@testymctestfaces.com.ost", owner_sample=0)

    clues = clue_counts(reading)

    assert clues[("steven.hark@testymctestfaces.com", "smtp", "file_name")] == 1


def test_fe01_inbox_counts_and_local_id(fe01: StoreReading) -> None:
    inbox = folder(fe01, "/Root - Mailbox/IPM_SUBTREE/Inbox")

    assert (inbox.item_count, inbox.unread_count, inbox.message_count) == (31, 5, None)
    assert inbox.container_class == "IPF.Note"
    assert (inbox.replica_id, inbox.global_counter) == (0, 0xC)
    assert (inbox.id_scope, inbox.database_guid) == ("local", None)
    assert inbox.local_id == 8578


def test_fe01_calendar_has_its_server_id(fe01: StoreReading) -> None:
    calendar = folder(fe01, "/Root - Mailbox/IPM_SUBTREE/Calendar")

    assert (calendar.replica_id, calendar.global_counter) == (1, 0x10D)
    assert (calendar.id_scope, calendar.database_guid) == ("server", FE01_DATABASE)
    assert calendar.created == dt.datetime(2021, 1, 25, 11, 50, 3, 846485, tzinfo=UTC)


def test_fe01_root_and_pst_style_fields(fe01: StoreReading) -> None:
    root = fe01.folders[0]

    assert (root.path, root.local_id, root.id_scope) == ("/", 290, "none")
    assert folder(fe01, "Finder/Contact Search").container_class == "IPF.Contact"


def test_fe01_special_folders(fe01: StoreReading) -> None:
    by_tag = {s.tag: s for s in fe01.store.special_folders}

    assert (by_tag["0x36D0"].name, by_tag["0x36D0"].global_counter) == ("Calendar", 0x10D)
    assert by_tag["0x36D0"].provider_uid == FE01_PROVIDER
    assert by_tag["0x36D0"].database_guid == FE01_DATABASE
    assert (by_tag["0x36D7"].name, by_tag["0x36D7"].global_counter) == ("Drafts", 0x10F)
    assert (by_tag["0x36D8[4]"].name, by_tag["0x36D8[4]"].global_counter) == \
        ("Junk Email", 0x113)
    assert by_tag["0x36D9/0x8001"].name == "RSS Feeds"
    for tag in ("0x35E9", "0x35EB", "0x35EE", "0x35EF", "0x35FD", "0x35FF", "0x36D5", "0x36D6",
                "0x120D", "0x1216", "0x39FE", "0x7A15"):
        assert tag in by_tag


def test_default_read_touches_no_message(fe01: StoreReading) -> None:
    assert all(f.message_ids is None and f.first_delivery is None for f in fe01.folders)


def test_no_subject_in_a_default_reading(fe01: StoreReading) -> None:
    text = json.dumps(to_jsonable(fe01))

    assert "United States holidays" in text                   # a folder name
    assert "Message Center Major Change Update" not in text  # Inbox message subjects
    assert "Welcome to MyAnalytics" not in text


def test_items_give_delivery_range_and_message_ids(fe01_items: StoreReading) -> None:
    inbox = folder(fe01_items, "/Root - Mailbox/IPM_SUBTREE/Inbox")
    all_ids = [i for f in fe01_items.folders for i in (f.message_ids or [])]

    assert inbox.first_delivery == dt.datetime(2021, 2, 8, 11, 14, 25, 129884, tzinfo=UTC)
    assert inbox.last_delivery == dt.datetime(2021, 3, 8, 16, 12, 18, 744658, tzinfo=UTC)
    assert len(inbox.message_ids) == 31 and inbox.message_count == 31
    assert len(all_ids) == 215
    assert all(i.startswith("<") and i.endswith(">") for i in all_ids)
    assert "Welcome to MyAnalytics" not in json.dumps(to_jsonable(fe01_items))


def test_aspose_exchange_2010_ost(shared_dir: Path) -> None:
    reading = read_path(shared_dir / ASPOSE / "SampleOstFile.ost")
    legacy = [c for c in reading.owner_clues if c.source == "folder_0x6614"]

    assert (reading.status, reading.content_type, len(reading.folders)) == ("ok", "ost", 45)
    assert (reading.header.format_version, reading.header.encryption) == (23, "permute")
    assert legacy[0].value.endswith("/cn=Recipients/cn=Saqib Razzaq2ee05199")
    assert legacy[0].count == 22
    assert ("Saqib Razzaq", "display_name", "inbox_received_by") in clue_counts(reading)


def test_aspose_replicas_map_to_two_guids(shared_dir: Path) -> None:
    reading = read_path(shared_dir / ASPOSE / "SampleOstFile.ost", owner_sample=0)
    mailbox = guid_text(bytes.fromhex("6aa62d7a1b3ac5449d53431fbea29402"))
    store_guid = guid_text(bytes.fromhex("f6969b54aab8b442a46d2551f038a243"))

    calendar = folder(reading, "IPM_SUBTREE/Calendar")
    rss = folder(reading, "IPM_SUBTREE/RSS Feeds")

    assert (calendar.replica_id, calendar.global_counter, calendar.database_guid) == \
        (1, 0x1D, mailbox)
    assert (rss.replica_id, rss.database_guid) == (2, store_guid)
    assert reading.store.database_guid == store_guid


def test_pst_named_ost(shared_dir: Path) -> None:
    reading = read_path(shared_dir / ASPOSE / "PersonalStorageFile.ost")

    assert (reading.header.kind, reading.content_type) == ("pst", "pst")
    assert reading.store.display_name == "Personal folders"
    assert len(reading.folders) == 6
    assert {f.id_scope for f in reading.folders} == {"none"}


def test_header_crc_mismatch_is_damaged(shared_dir: Path) -> None:
    reading = read_path(shared_dir / ASPOSE / "AddingBulkMessagesWithImprovedPerformance.pst")

    assert reading.status == records.STATUS_DAMAGED
    assert reading.reason.startswith("header CRC mismatch; libpff: ")
    assert "checksum" in reading.reason
    assert reading.folders == []


def test_html_page_is_not_pff(shared_dir: Path) -> None:
    reading = read_path(shared_dir / "fixtures-public/hughbe-pstreader/albert_meyers_000.pst")

    assert (reading.status, reading.reason) == (records.STATUS_NOT_PFF,
                                                "not a PFF file: no !BDN signature")


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ost"
    empty.write_bytes(b"")

    reading = read_path(empty)

    assert (reading.status, reading.reason) == (records.STATUS_EMPTY, "empty file")


def test_truncated_copy_is_partial_with_what_was_read(fe01_ost: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.ost"
    cut.write_bytes(fe01_ost.read_bytes()[:8_000_000])

    reading = read_path(cut)

    assert reading.status == records.STATUS_PARTIAL
    assert reading.reason.startswith(f"truncated: 8000000 bytes of {FE01_SIZE}")


def test_badly_truncated_copy_is_damaged(fe01_ost: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.ost"
    cut.write_bytes(fe01_ost.read_bytes()[:1_000_000])

    reading = read_path(cut)

    assert reading.status == records.STATUS_DAMAGED
    assert reading.reason.startswith(f"truncated: 1000000 bytes of {FE01_SIZE}; libpff: ")


class FailingReader(io.RawIOBase):
    """A read-only file whose reads fail past `limit`, like a disk with bad sectors."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self._at = data, limit, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._at = {0: offset, 1: self._at + offset, 2: len(self._data) + offset}[whence]
        return self._at

    def tell(self) -> int:
        return self._at

    def read(self, size: int = -1) -> bytes:
        if self._at >= self._limit:
            raise OSError(5, "Input/output error")
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at:end]
        self._at += len(chunk)
        return chunk


def test_read_errors_become_data(fe01_ost: Path) -> None:
    reading = read_store(FailingReader(fe01_ost.read_bytes(), 2_000_000), "fe01.ost")
    failed = {f.path: f.error for f in reading.folders if f.error}

    assert reading.status == records.STATUS_PARTIAL
    assert reading.reason.startswith("3 of 53 folders partly unreadable; ")
    assert "Input/output error" in failed["/Root - Mailbox/IPM_SUBTREE/Calendar"]
    assert folder(reading, "IPM_SUBTREE/Inbox").item_count == 31


def test_data_past_the_last_used_block_is_not_needed(fe01_ost: Path) -> None:
    reading = read_store(FailingReader(fe01_ost.read_bytes(), 12_000_000), "fe01.ost")

    assert (reading.status, len(reading.folders)) == (records.STATUS_OK, 61)


def test_inbox_messages_the_owner_sample_cannot_read_make_the_store_partial() -> None:
    """Zeros over some of the example server OST's messages: the default read (no --items)
    must not call the store ok when part of its owner sample could not be read."""
    example = Path(__file__).resolve().parent.parent / "fixtures/example-case/hosts/SRV-FILE01"
    data = bytearray((example / "Users/Administrator/AppData/Local/Microsoft/Outlook"
                      / "jdoe@contoso.example.ost").read_bytes())
    data[200000:200000 + 4096] = bytes(4096)

    reading = read_store(io.BytesIO(bytes(data)), "srv.ost")

    assert reading.status == records.STATUS_PARTIAL
    assert reading.reason == "5 of 40 Inbox messages read for owner clues unreadable"
