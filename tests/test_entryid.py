"""The id decoder on ids built from known parts, and on the real ids in ../shared."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from scanner.entryid import decode_entryid, decode_folder_id, split_fid

PROVIDER = uuid.UUID("0b3c5f2e-1d4a-4c8b-9e7f-112233445566")
DATABASE = uuid.UUID("6a7b8c9d-aaaa-4bbb-8ccc-0123456789ab")


def folder_entryid(counter: int) -> bytes:
    return (bytes(4) + PROVIDER.bytes_le + (1).to_bytes(2, "little") + DATABASE.bytes_le
            + counter.to_bytes(6, "big") + bytes(2))


def store_id(counter: int, object_type: int = 1) -> str:
    raw = bytes([46]) + folder_entryid(counter) + bytes([object_type])
    return base64.b64encode(raw).decode()


def test_store_id_gives_provider_database_and_counter() -> None:
    decoded = decode_folder_id(store_id(0x10C))

    assert decoded.ok and decoded.encoding == "storeid"
    assert decoded.provider_uid == str(PROVIDER)
    assert decoded.database_guid == str(DATABASE)
    assert decoded.global_counter == 0x10C
    assert decoded.object_type == 1


def test_url_safe_and_hex_forms_decode_alike() -> None:
    text = store_id(0x10D, 2)
    url_safe = text.replace("+", "-").replace("/", "_").rstrip("=")
    hex_form = folder_entryid(0x10D).hex().upper()

    assert decode_folder_id(url_safe).global_counter == 0x10D
    assert decode_folder_id(hex_form).encoding == "hexentryid"
    assert decode_folder_id(hex_form).database_guid == str(DATABASE)


def test_ews_id_wraps_the_entryid() -> None:
    mailbox = b"6a7b8c9d-aaaa-4bbb-8ccc-0123456789ab"
    entry = folder_entryid(0x109)
    raw = (b"\x00\x03" + len(mailbox).to_bytes(2, "little") + mailbox + b"\x00"
           + len(entry).to_bytes(2, "little") + entry + b"\x01")

    decoded = decode_folder_id(base64.b64encode(raw).decode())

    assert decoded.encoding == "ewsid" and decoded.global_counter == 0x109


def test_damaged_ids_are_flagged_not_raised() -> None:
    assert decode_folder_id(store_id(0x10C)[:-2]).status.startswith("bad-length")
    assert decode_folder_id("AAAAA8").status.startswith(("bad-length", "bad-base64"))
    assert decode_folder_id("not base64 !!").status.startswith("bad-base64")
    assert decode_folder_id(None).status == "missing"
    assert decode_entryid(bytes(10)).status.startswith("bad-length")


def test_folder_id_property_splits_replica_and_counter() -> None:
    assert split_fid(bytes.fromhex("010000000000010d")) == (1, 0x10D)
    assert split_fid(bytes.fromhex("000000000000000c")) == (0, 0x0C)


def test_real_elastic_item_and_parent_folder_ids(shared_dir: Path) -> None:
    line = (shared_dir / "auditlogs-public/elastic-o365-mgmtapi-exchangeitem-storeids.jsonl") \
        .read_text().splitlines()[0]
    record = json.loads(line)

    item = decode_folder_id(record["Item"]["Id"])
    parent = decode_folder_id(record["Item"]["ParentFolder"]["Id"])

    assert item.ok and item.object_type == 9
    assert parent.ok and parent.object_type == 1 and parent.global_counter == 0x10C
    assert item.database_guid == parent.database_guid
    assert item.global_counter == parent.global_counter
