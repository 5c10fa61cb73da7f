"""Clues to whose mailbox a store caches: the file name, the folders' legacyExchangeDN (0x6614),
and the received-by properties of a bounded sample of Inbox messages.

Real OSTs leave the store display name empty, so the owner has to be inferred; every clue keeps
its source and how often it was seen. Only addressing properties are read from messages, never a
subject or a body.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from scanner.pff import props
from scanner.records import OwnerClue

TAG_LEGACY_DN_BLOB = 0x6614
TAG_RECEIVED_BY_NAME = 0x0040
TAG_RECEIVED_BY_ADDRESS = 0x0076
TAG_RECEIVED_BY_SMTP = 0x5D07

_FILE_SMTP = re.compile(r"^([^@\s/\\]+@[^@\s/\\]+\.[A-Za-z]{2,})\.(ost|pst)$", re.IGNORECASE)
_DN_ASCII = re.compile(rb"/o=[\x20-\x7e]+", re.IGNORECASE)
_DN_UTF16 = re.compile(rb"/\x00o\x00=\x00(?:[\x20-\x7e]\x00)+", re.IGNORECASE)
_SMTP = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def file_name_clue(display_name: str) -> OwnerClue | None:
    """`alice@contoso.com.ost` → the SMTP address Outlook named the file after."""
    name = display_name.replace("\\", "/").rsplit("/", 1)[-1]
    match = _FILE_SMTP.match(name)
    if match is None:
        return None
    return OwnerClue(value=match.group(1), kind="smtp", source="file_name")


def legacy_dns(blob: bytes | None) -> list[str]:
    """legacyExchangeDN strings (`/o=.../cn=...`) embedded in a 0x6614 folder value."""
    if not blob:
        return []
    found = [m.group(0).decode("ascii") for m in _DN_ASCII.finditer(blob)]
    found += [m.group(0).decode("utf-16-le") for m in _DN_UTF16.finditer(blob)]
    return list(dict.fromkeys(found))


class ClueTally:
    """Counts clue values per (kind, source); values that differ only in case count as one."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._spelling: dict[tuple[str, str, str], str] = {}

    def add(self, value: str | None, kind: str, source: str) -> None:
        if not value:
            return
        key = (kind, source, value.casefold())
        self._spelling.setdefault(key, value)
        self._counts[key] += 1

    def clues(self) -> list[OwnerClue]:
        ordered = sorted(self._counts.items(), key=lambda item: (item[0][1], -item[1]))
        return [
            OwnerClue(value=self._spelling[key], kind=key[0], source=key[1], count=count)
            for key, count in ordered
        ]


def add_folder_clues(tally: ClueTally, folder_entries: dict[int, Any]) -> None:
    for dn in legacy_dns(props.raw(folder_entries.get(TAG_LEGACY_DN_BLOB))):
        tally.add(dn, "legacy_dn", "folder_0x6614")


def add_message_clues(tally: ClueTally, message: Any, codepage: str) -> None:
    """Received-by SMTP, address (X500 or SMTP) and display name of one Inbox message."""
    found = props.entries(message)
    source = "inbox_received_by"
    tally.add(props.text(found.get(TAG_RECEIVED_BY_SMTP), codepage), "smtp", source)
    address = props.text(found.get(TAG_RECEIVED_BY_ADDRESS), codepage)
    tally.add(address, _address_kind(address), source)
    tally.add(props.text(found.get(TAG_RECEIVED_BY_NAME), codepage), "display_name", source)


def _address_kind(address: str | None) -> str:
    if address and _SMTP.match(address):
        return "smtp"
    if address and address.casefold().startswith("/o="):
        return "legacy_dn"
    return "address"
