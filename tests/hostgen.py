"""Build a small Windows host for tests: files of one profile, registry hives, collection layouts.

Hives are written by hivexregedit (an independent registry writer) from .reg text merged into an
empty hive that `empty_hive` makes (hivex ships none). Key last-write times are then set to
known values, so tests can assert them. Collections lay the same files out the way Velociraptor
(folder and zip, `%`-encoded names) and KAPE (`<stamp>/C/...`) do.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

UTC = dt.timezone.utc
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=UTC)
HBIN_SIZE = 4096
NK_FIXED = 0x4C


def filetime(when: dt.datetime) -> int:
    return (when - FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10


# ---------------------------------------------------------------- registry hives


def _cell(payload: bytes) -> bytes:
    size = (len(payload) + 4 + 7) // 8 * 8
    return struct.pack("<i", -size) + payload.ljust(size - 4, b"\0")


def _security_cell(offset: int) -> bytes:
    descriptor = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 0)   # self-relative, NULL DACL
    return _cell(b"sk" + b"\0\0" + struct.pack("<IIII", offset, offset, 1, len(descriptor))
                 + descriptor)


def _root_cell(security: int, name: bytes) -> bytes:
    none = 0xFFFFFFFF
    fields = struct.pack("<2sHQIIIIIIIIIIIIIIIHH", b"nk", 0x2C, 0, 0, none, 0, 0, none, none,
                         0, none, security, none, 0, 0, 0, 0, 0, len(name), 0)
    return _cell(fields + name)


def empty_hive(path: Path, name: str = "ROOT") -> None:
    """A valid hive holding one empty root key: the base hivexregedit merges into."""
    root_at = 0x20
    root = _root_cell(0, name.encode("ascii"))
    security_at = root_at + len(root)
    root = _root_cell(security_at, name.encode("ascii"))
    cells = root + _security_cell(security_at)
    free = HBIN_SIZE - 0x20 - len(cells)
    hbin = (b"hbin" + struct.pack("<IIQQI", 0, HBIN_SIZE, 0, 0, 0) + cells
            + struct.pack("<i", free) + b"\0" * (free - 4))
    base = bytearray(b"regf" + struct.pack("<IIQIIIIIII", 1, 1, 0, 1, 3, 0, 1, root_at,
                                          HBIN_SIZE, 1))
    base += name.encode("utf-16-le").ljust(64, b"\0")
    base = base.ljust(508, b"\0")
    checksum = 0
    for (word,) in struct.iter_unpack("<I", bytes(base)):
        checksum ^= word
    base += struct.pack("<I", checksum)
    path.write_bytes(bytes(base.ljust(HBIN_SIZE, b"\0")) + hbin)


def need_hivex() -> str:
    tool = shutil.which("hivexregedit")
    if tool is None:
        pytest.skip("hivexregedit is missing (Debian: libwin-hivex-perl): cannot write hives")
    return tool


def build_hive(path: Path, reg_text: str, prefix: str) -> Path:
    """A hive at `path` holding the keys and values of `reg_text` (regedit 5 syntax)."""
    tool = need_hivex()
    empty_hive(path)
    reg_file = path.with_suffix(".reg")
    reg_file.write_text(with_parent_keys(reg_text, prefix), encoding="utf-8")
    subprocess.run([tool, "--merge", "--prefix", prefix, str(path), str(reg_file)],
                   check=True, capture_output=True)
    reg_file.unlink()
    return path


def with_parent_keys(reg_text: str, prefix: str) -> str:
    """hivexregedit creates a key only under an existing parent: add an empty section for each
    missing ancestor, before the first section that needs it."""
    lines, known = [], {prefix}
    for line in reg_text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            parts = key.split("\\")
            for depth in range(2, len(parts)):
                parent = "\\".join(parts[:depth])
                if parent not in known and parent != prefix:
                    lines += [f"[{parent}]", ""]
                    known.add(parent)
            known.add(key)
        lines.append(line)
    return "\n".join(lines) + "\n"


def set_key_times(path: Path, times: dict[str, dt.datetime]) -> None:
    """Set the last-write time of every key whose name is in `times` (names unique in the test)."""
    data = bytearray(path.read_bytes())
    found = set()
    for offset in _cells(data):
        if data[offset + 4:offset + 6] != b"nk":
            continue
        length = struct.unpack_from("<H", data, offset + 4 + 0x48)[0]
        name = bytes(data[offset + 4 + NK_FIXED:offset + 4 + NK_FIXED + length]).decode("latin-1")
        if name in times:
            struct.pack_into("<Q", data, offset + 4 + 4, filetime(times[name]))
            found.add(name)
    assert found == set(times), f"keys not in hive: {set(times) - found}"
    path.write_bytes(bytes(data))


def _cells(data: bytearray) -> list[int]:
    offsets = []
    hbin = HBIN_SIZE
    while hbin + 32 <= len(data) and data[hbin:hbin + 4] == b"hbin":
        size = struct.unpack_from("<I", data, hbin + 8)[0]
        cell = hbin + 32
        while cell < hbin + size:
            cell_size = struct.unpack_from("<i", data, cell)[0]
            if cell_size < 0:
                offsets.append(cell)
            cell += abs(cell_size) or size
        hbin += size
    return offsets


def reg_binary_text(text: str) -> str:
    """A .reg `hex:` value holding `text` as null-terminated UTF-16, as Outlook writes it."""
    return reg_hex((text + "\0").encode("utf-16-le"))


def reg_hex(data: bytes, kind: str = "") -> str:
    return f"hex{kind}:" + ",".join(f"{b:02x}" for b in data)


# ---------------------------------------------------------------- Outlook data files


def ost_stub(path: Path, size: int = 8192) -> bytes:
    """An OST-like file: a Unicode PFF header with valid CRCs, the rest zero."""
    header = bytearray(564)
    header[0:4] = b"!BDN"
    header[8:10] = b"SO"                      # wMagicClient: OST
    struct.pack_into("<HHBB", header, 10, 23, 19, 1, 1)
    header[513] = 1                           # bCryptMethod: permute
    struct.pack_into("<I", header, 4, ms_pst_crc(bytes(header[8:8 + 471])))
    struct.pack_into("<I", header, 524, ms_pst_crc(bytes(header[8:8 + 516])))
    data = bytes(header).ljust(size, b"\0")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def ost_file(path: Path, seed: int) -> bytes:
    """A real, tiny OST written by fixtures.ostwriter where that is present; otherwise a
    header-valid stub. `seed` makes each file's record key, so each file's bytes, differ."""
    if importlib.util.find_spec("fixtures.ostwriter") is None:
        return ost_stub(path, size=8192 + 4096 * seed)
    from fixtures.ostwriter import FolderSpec, StoreSpec, write_ost

    tree = FolderSpec("", container_class=None, subfolders=[
        FolderSpec("Top of Information Store", subfolders=[FolderSpec("Inbox")])])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_ost(StoreSpec(root=tree, record_key=bytes([seed + 1]) * 16, trim_tail=True), path)
    return path.read_bytes()


def ms_pst_crc(data: bytes) -> int:
    """[MS-PST] CRC: the CRC-32 table with a zero start value and no final inversion."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


# ---------------------------------------------------------------- one profile, several layouts


@dataclass(frozen=True)
class HostFile:
    path: str                  # inside the system drive, `/`-separated: Users/bob/...
    data: bytes
    modified: dt.datetime


def profile_files(tmp: Path) -> list[HostFile]:
    """Bob's profile: an OST in the default folder, one moved by the user, and a hive."""
    modified = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    default = ost_file(tmp / "stub-default.ost", 0)
    moved = ost_file(tmp / "stub-moved.ost", 1)
    return [
        HostFile("Users/bob/AppData/Local/Microsoft/Outlook/bob@contoso.com.ost", default,
                 modified),
        HostFile("Users/bob/OST/bob@contoso.com - old.ost", moved,
                 modified - dt.timedelta(days=30)),
        HostFile("Users/bob/NTUSER.DAT", b"regf" + b"\0" * 4092, modified),
    ]


def write_files(root: Path, files: list[HostFile], encode: bool = False) -> None:
    for item in files:
        parts = [quote(p, safe=" -") if encode else p for p in item.path.split("/")]
        host = root.joinpath(*parts)
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_bytes(item.data)
        stamp = item.modified.timestamp()
        os.utime(host, (stamp, stamp))


def plain_folder(root: Path, files: list[HostFile]) -> Path:
    """A folder laid out like a system drive (a mounted image)."""
    write_files(root, files)
    return root


def velociraptor_folder(root: Path, files: list[HostFile]) -> Path:
    """An extracted Velociraptor offline collection: `uploads/auto/C%3A/...`, names encoded."""
    write_files(root / "uploads" / "auto" / "C%3A", files, encode=True)
    uploads = [{"Type": "file", "_Components": ["C:", *f.path.split("/")]} for f in files]
    (root / "uploads.json").write_text("\n".join(json.dumps(u) for u in uploads))
    (root / "results").mkdir(exist_ok=True)
    return root


def velociraptor_zip(zip_path: Path, files: list[HostFile], scratch: Path) -> Path:
    folder = velociraptor_folder(scratch, files)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        for host in sorted(folder.rglob("*")):
            archive.write(host, host.relative_to(folder).as_posix())
    return zip_path


def kape_folder(root: Path, files: list[HostFile]) -> Path:
    """KAPE target output: `<timestamp>_<host>/C/...` below the destination folder."""
    write_files(root / "2024-05-07T101112_HOST01" / "C", files)
    return root


# ---------------------------------------------------------------- bob's registry

BOB_SID = "S-1-5-21-1111111111-2222222222-3333333333-1001"
CAROL_SID = "S-1-5-21-1111111111-2222222222-3333333333-1002"
PROFILE_CREATED = dt.datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
ACCOUNT_ADDED = dt.datetime(2024, 3, 1, 9, 0, 5, tzinfo=UTC)
STORE_SECTION_WRITTEN = dt.datetime(2024, 3, 1, 9, 0, 7, tzinfo=UTC)
BOB_SERVICE = bytes.fromhex("a1" * 16)
BOB_STORE = bytes.fromhex("b2" * 16)
SHARED_SERVICE = bytes.fromhex("c3" * 16)
SHARED_STORE = bytes.fromhex("d4" * 16)
PROFILES = r"HKEY_CURRENT_USER\Software\Microsoft\Office\16.0\Outlook\Profiles\Bob Work"
MOVED_OST = r"C:\Users\bob\OST\bob@contoso.com - old.ost"
SHARED_OST = r"%LOCALAPPDATA%\Microsoft\Outlook\shared@contoso.com.ost"
SYSTEM_PROFILE = r"%systemroot%\system32\config\systemprofile"
BOB_PROFILE = r"%SystemDrive%\Users\bob"
FORCED_FOLDER = r"%USERPROFILE%\OST"


def software_reg() -> str:
    ntcv = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
    return "\n".join([
        "Windows Registry Editor Version 5.00", "",
        rf"[{ntcv}\S-1-5-18]", f'"ProfileImagePath"={expand_sz(SYSTEM_PROFILE)}', "",
        rf"[{ntcv}\{BOB_SID}]", f'"ProfileImagePath"={expand_sz(BOB_PROFILE)}', "",
        rf"[{ntcv}\{CAROL_SID}]", '"ProfileImagePath"="C:\\\\PROFILES\\\\carol"', "",
    ])


def expand_sz(text: str) -> str:
    return reg_hex((text + "\0").encode("utf-16-le"), "(2)")


def ntuser_reg() -> str:
    text = reg_binary_text
    manager = rf"{PROFILES}\9375CFF0413111d3B88A00104B2A6676"
    return "\n".join([
        "Windows Registry Editor Version 5.00", "",
        rf"[{manager}\00000002]",
        f'"Account Name"={text("bob@contoso.com")}',
        f'"Service UID"={reg_hex(BOB_SERVICE)}', "",
        rf"[{manager}\00000003]",
        f'"Account Name"={text("Shared Mailbox")}',
        f'"Service UID"={reg_hex(SHARED_SERVICE)}', "",
        rf"[{PROFILES}\{BOB_SERVICE.hex()}]",
        f'"001f6641"={text("bob@contoso.com")}',
        f'"001f3001"={text("Bob Example")}',
        f'"01023d00"={reg_hex(BOB_STORE)}', "",
        rf"[{PROFILES}\{BOB_STORE.hex()}]",
        f'"001f6610"={text(MOVED_OST)}', "",
        rf"[{PROFILES}\{SHARED_SERVICE.hex()}]",
        f'"001f6641"={text("shared@contoso.com")}', "",
        rf"[{PROFILES}\{SHARED_STORE.hex()}]",
        f'"01023d0c"={reg_hex(SHARED_SERVICE)}',
        f'"001f6610"={text(SHARED_OST)}', "",
        r"[HKEY_CURRENT_USER\Software\Policies\Microsoft\Office\16.0\Outlook]",
        f'"ForceOSTPath"={expand_sz(FORCED_FOLDER)}', "",
        r"[HKEY_CURRENT_USER\Software\Microsoft\Office\15.0\Outlook]",
        '"ForceOSTPath"="D:\\\\Mail"', "",
    ])


COMPUTER_NAME = "WS-BOB"


def system_reg() -> str:
    control = r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\ComputerName\ComputerName"
    return "\n".join([
        "Windows Registry Editor Version 5.00", "",
        r"[HKEY_LOCAL_MACHINE\SYSTEM\Select]", '"Current"=dword:00000001', "",
        f"[{control}]", f'"ComputerName"="{COMPUTER_NAME}"', "",
    ])


def write_hives(drive: Path) -> None:
    """SYSTEM, SOFTWARE and bob's NTUSER.DAT into a folder laid out like a system drive."""
    config = drive / "Windows" / "System32" / "config"
    config.mkdir(parents=True, exist_ok=True)
    build_hive(config / "SYSTEM", system_reg(), "HKEY_LOCAL_MACHINE\\SYSTEM")
    build_hive(config / "SOFTWARE", software_reg(), "HKEY_LOCAL_MACHINE\\SOFTWARE")
    ntuser = drive / "Users" / "bob" / "NTUSER.DAT"
    ntuser.parent.mkdir(parents=True, exist_ok=True)
    build_hive(ntuser, ntuser_reg(), "HKEY_CURRENT_USER")
    set_key_times(ntuser, {
        "Bob Work": PROFILE_CREATED, "00000002": ACCOUNT_ADDED,
        BOB_STORE.hex(): STORE_SECTION_WRITTEN,
    })
