"""Server folder EntryIDs an OST keeps for well-known folders, and what they say about replica ids.

MS-OXOSFLD 2.2.3-2.2.5: the owner's Inbox (else the root folder) carries one 46-byte folder EntryID
per special folder (0x36D0 Calendar ... 0x36D7 Drafts), PidTagAdditionalRenEntryIds (0x36D8, an
indexed list) and PidTagAdditionalRenEntryIdsEx (0x36D9, PersistData blocks). Real OSTs carry more
46-byte EntryIDs on the Inbox whose tags no public document names (fe01: 0x35EB, 0x35EE, 0x35EF,
0x35FD, 0x120D, 0x1216, 0x39FE, 0x7A15); they are kept with the name "unknown".

Folders in an OST carry 0x67F4: a 2-byte replica id and a 6-byte global counter, but not the
replica GUID. `replica_guids` recovers replica id → GUID only from evidence: an EntryID (GUID, GC)
whose GC belongs to exactly one folder ties that folder's replica id to the GUID, and a replica id
is mapped when at least two such folders agree and none disagree. The OST's own table of replica
GUIDs (node 2049 per the libpff format notes) is not exposed by pypff, so it is not used.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from scanner.entryid import FOLDER_ENTRYID_SIZE, decode_entryid
from scanner.records import SpecialFolderId

SINGLE_TAGS = {
    0x36D0: "Calendar",
    0x36D1: "Contacts",
    0x36D2: "Journal",
    0x36D3: "Notes",
    0x36D4: "Tasks",
    0x36D5: "Reminders",
    0x36D6: "Reminders (offline)",
    0x36D7: "Drafts",
    0x35FF: "Archive",
    0x35E9: "Conversation History",
}
REN_TAG = 0x36D8
REN_NAMES = ["Conflicts", "Sync Issues", "Local Failures", "Server Failures", "Junk Email"]
REN_EX_TAG = 0x36D9
REN_EX_NAMES = {
    0x8001: "RSS Feeds",
    0x8002: "Tracked Mail Processing",
    0x8004: "To-Do Search",
    0x8006: "Conversation Action Settings",
    0x8007: "Combined Actions",
    0x8008: "Suggested Contacts",
    0x8009: "Contact Search",
    0x800A: "IM Contact Lists",
    0x800B: "IM Contacts",
}
_ELEMENT_ENTRYID = 0x0001
MIN_AGREEING_FOLDERS = 2


def special_folder_id(name: str, tag: str, raw: bytes) -> SpecialFolderId | None:
    """One 46-byte folder EntryID as a SpecialFolderId; other shapes give None."""
    if len(raw) != FOLDER_ENTRYID_SIZE or raw[:4] != b"\x00\x00\x00\x00":
        return None
    decoded = decode_entryid(raw)
    if not decoded.ok:
        return None
    return SpecialFolderId(
        name=name,
        tag=tag,
        provider_uid=decoded.provider_uid,
        database_guid=decoded.database_guid,
        global_counter=decoded.global_counter,
    )


def from_single(tag: int, raw: bytes | None) -> SpecialFolderId | None:
    if raw is None:
        return None
    return special_folder_id(SINGLE_TAGS.get(tag, "unknown"), f"0x{tag:04X}", raw)


def from_ren(values: list[bytes]) -> list[SpecialFolderId]:
    """PidTagAdditionalRenEntryIds: index 0-4 are Conflicts ... Junk Email."""
    found = []
    for index, value in enumerate(values):
        name = REN_NAMES[index] if index < len(REN_NAMES) else "unknown"
        special = special_folder_id(name, f"0x{REN_TAG:04X}[{index}]", value)
        if special is not None:
            found.append(special)
    return found


def from_ren_ex(raw: bytes | None) -> list[SpecialFolderId]:
    """PidTagAdditionalRenEntryIdsEx: PersistData blocks up to the sentinel (PersistID 0)."""
    found: list[SpecialFolderId] = []
    at = 0
    while raw is not None and at + 4 <= len(raw):
        persist_id = int.from_bytes(raw[at:at + 2], "little")
        size = int.from_bytes(raw[at + 2:at + 4], "little")
        if persist_id == 0:
            break
        name = REN_EX_NAMES.get(persist_id, "unknown")
        tag = f"0x{REN_EX_TAG:04X}/0x{persist_id:04X}"
        found.extend(_persist_elements(name, tag, raw[at + 4:at + 4 + size]))
        at += 4 + size
    return found


def _persist_elements(name: str, tag: str, block: bytes) -> list[SpecialFolderId]:
    found = []
    at = 0
    while at + 4 <= len(block):
        element_id = int.from_bytes(block[at:at + 2], "little")
        size = int.from_bytes(block[at + 2:at + 4], "little")
        if element_id == _ELEMENT_ENTRYID:
            special = special_folder_id(name, tag, block[at + 4:at + 4 + size])
            if special is not None:
                found.append(special)
        at += 4 + size
    return found


def replica_guids(
    folder_ids: Iterable[tuple[int, int]], evidence: Iterable[tuple[str, int]]
) -> dict[int, str]:
    """Replica id → GUID, from folder (replica id, GC) pairs and EntryID (GUID, GC) pairs."""
    replicas_by_counter: dict[int, list[int]] = defaultdict(list)
    for replica_id, counter in folder_ids:
        replicas_by_counter[counter].append(replica_id)

    votes: dict[int, Counter[str]] = defaultdict(Counter)
    for guid, counter in set(evidence):
        replicas = replicas_by_counter.get(counter, [])
        if len(replicas) == 1:
            votes[replicas[0]][guid] += 1

    return {
        replica_id: next(iter(guids))
        for replica_id, guids in votes.items()
        if len(guids) == 1 and sum(guids.values()) >= MIN_AGREEING_FOLDERS
    }
