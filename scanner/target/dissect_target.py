"""Disk images, VM disks and archived collections, read through dissect.target.

dissect.target (AGPL-3.0) is an optional extra, `ostscan[images]`, imported only here and only
when a target needs it. It finds the volume system and file systems of an E01/raw/VMDK/VHD(X)
image, or the layout of a tar/zip collection, and reads NTFS itself: file times are the NTFS
$STANDARD_INFORMATION times, not those of the machine doing the scan.

Drive letters become volume roots (`C:`). A target with no Windows drive letters (an image whose
file system has no Windows folder, a generic archive) is one tree with the volume root ``.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from typing import Any, BinaryIO

from scanner.quiet import open_quietly
from scanner.target.base import Entry, FileStat, Target, TargetError, TargetSpec, join
from scanner.target.local import SEARCH_DEPTH, VOLUME_MARKERS, read_head, volume_name
from scanner.timeutil import from_epoch
from scanner.zipcut import CUT_ZIP, starts_as_zip

INSTALL_HINT = "install ostscan[images] (dissect.target) to read disk images and archives"


def require_dissect() -> Any:
    """The dissect.target module, or a TargetError telling how to install it."""
    try:
        import dissect.target
    except ImportError as exc:
        raise TargetError(f"{INSTALL_HINT}: {exc}") from exc
    return dissect.target


def drive_letter(mount: str) -> str | None:
    """`c:` → `C:`; every other mount name (sysvol, $fs$/fs1, /) → None."""
    if len(mount) == 2 and mount[1] == ":" and mount[0].isalpha():
        return mount.upper()
    return None


class DissectTarget(Target):
    """A target opened by dissect.target: an image, a VM disk, or an archived collection."""

    def __init__(self, spec: TargetSpec, handle: Any, description: str) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.description = description
        self._handle = handle
        self._volumes = self._find_volumes()
        if not self._volumes:
            raise TargetError(f"{spec.path}: no file system found")

    def host_name(self) -> str | None:
        """dissect's hostname plugin (the SYSTEM hive's ComputerName on Windows)."""
        try:
            name = self._handle.hostname
        except Exception:  # no OS plugin, no SYSTEM hive: the name is simply not known
            return None
        return str(name) if name else None

    def _find_volumes(self) -> dict[str, str]:
        """Volume root → its folder in dissect's root file system (`/c:`, `/C`, or ``)."""
        mounts = dict(self._handle.fs.mounts)
        letters = {letter: f"/{m}" for m in mounts if (letter := drive_letter(m))}
        if letters:
            return letters
        if not mounts:
            return {}
        found = self._volumes_in_tree()
        self.loose = not found        # a data volume or an archive of loose files: search all
        return found or {"": ""}

    def _volumes_in_tree(self) -> dict[str, str]:
        """An archive dissect sees no OS in (a zipped KAPE folder, a tar of a drive): find
        folders laid out like a drive, as for a folder on disk."""
        self._volumes = {"": ""}
        if looks_like_volume(self, ""):
            return {"": ""}
        found: dict[str, str] = {}
        stack = [("", 0)]
        while stack:
            folder, depth = stack.pop()
            for entry in self._folders(folder):
                child = join(folder, entry)
                if looks_like_volume(self, child):
                    found.setdefault(volume_name(entry) or entry, f"/{child}")
                elif depth + 1 < SEARCH_DEPTH:
                    stack.append((child, depth + 1))
        return found

    def _folders(self, folder: str) -> list[str]:
        try:
            return sorted(e.name for e in self.list_dir(folder) if e.is_dir and not e.is_symlink)
        except OSError:
            return []

    def volumes(self) -> list[str]:
        return sorted(self._volumes)

    def fs_path(self, path: str) -> str:
        """The path in dissect's root file system for a target path."""
        head, _, rest = path.partition("/")
        if head in self._volumes or head.upper() in self._volumes:
            base = self._volumes.get(head, self._volumes.get(head.upper(), ""))
        else:
            base, rest = self._volumes.get("", ""), path
        return f"{base}/{rest}"

    def _entry(self, path: str) -> Any:
        try:
            return self._handle.fs.get(self.fs_path(path))
        except OSError:
            raise
        except Exception as exc:  # dissect's own errors are not all OSError
            raise OSError(f"{path}: {exc}") from exc

    def list_dir(self, path: str) -> list[Entry]:
        entry = self._entry(path)
        try:
            children = list(entry.scandir())
        except OSError:
            raise
        except Exception as exc:
            raise OSError(f"{path}: cannot list: {exc}") from exc
        return [dir_entry(c) for c in children]

    def stat(self, path: str) -> FileStat:
        entry = self._entry(path)
        try:
            st = entry.lstat()
        except OSError:
            raise
        except Exception as exc:
            raise OSError(f"{path}: cannot stat: {exc}") from exc
        return FileStat(
            size=st.st_size,
            created=_known(getattr(st, "st_birthtime", None)),
            modified=_known(st.st_mtime),
            accessed=_known(st.st_atime),
            changed=ntfs_change_time(entry),
            identity=(st.st_dev, st.st_ino),
        )

    def open(self, path: str) -> BinaryIO:
        entry = self._entry(path)
        if not entry.is_file(follow_symlinks=False):
            raise OSError(f"not a regular file: {path}")
        try:
            return entry.open()
        except OSError:
            raise
        except Exception as exc:
            raise OSError(f"{path}: cannot open: {exc}") from exc

    def close(self) -> None:
        """dissect keeps the image open until the target is garbage collected."""
        self._handle = None


def _known(seconds: float | None) -> dt.datetime | None:
    """A time the source keeps; a zero (zip entries have no access time) is no time at all."""
    return from_epoch(seconds) if seconds else None


def looks_like_volume(target: Target, folder: str) -> bool:
    try:
        names = {e.name.lower() for e in target.list_dir(folder)}
    except OSError:
        return False
    return bool(names & VOLUME_MARKERS)


def dir_entry(child: Any) -> Entry:
    """One folder entry; an entry dissect cannot stat (NTFS metadata files such as $BadClus
    with a missing stream) is listed as neither file nor folder, so a walk passes it by."""
    try:
        return Entry(child.name, child.is_dir(follow_symlinks=False),
                     child.is_file(follow_symlinks=False), child.is_symlink())
    except Exception:  # dissect raises its own FileNotFoundError subclasses and others
        return Entry(child.name, False, False, False)


def ntfs_change_time(entry: Any) -> dt.datetime | None:
    """The MFT record change time of an NTFS file; None on other file systems.

    dissect's stat gives NTFS creation time as both st_ctime and st_birthtime, so the fourth
    NTFS time is taken from $STANDARD_INFORMATION itself.
    """
    for candidate in getattr(entry, "entries", [entry]):
        record = getattr(candidate, "entry", None)
        info = getattr(getattr(record, "attributes", None), "STANDARD_INFORMATION", None)
        if info is not None:
            return info.last_change_time
    return None


def sniff_image(path: str) -> str | None:
    """What kind of container a file is, from its leading bytes and name; None: not one we know.

    Used to route a file before dissect is imported, so that an image given without the
    `images` extra gets a clear message instead of being scanned as a single broken OST.
    """
    try:
        head = read_head(path, 4096)
    except OSError as exc:
        raise TargetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    for kind, test in IMAGE_SIGNATURES:
        if test(head):
            return kind
    return image_suffix(path)


def _at(offset: int, magic: bytes) -> Any:
    return lambda head: head[offset:offset + len(magic)] == magic


IMAGE_SIGNATURES = (
    ("e01", _at(0, b"EVF\x09\x0d\x0a\xff\x00")),
    ("ex01", _at(0, b"EVF2\x0d\x0a\x81\x00")),
    ("vmdk", _at(0, b"KDMV")),
    ("vmdk", _at(0, b"# Disk DescriptorFile")),
    ("vhdx", _at(0, b"vhdxfile")),
    ("vhd", _at(0, b"conectix")),
    ("zip", _at(0, b"PK\x03\x04")),
    ("tar", _at(257, b"ustar")),
    ("gzip", _at(0, b"\x1f\x8b")),
    ("ntfs", _at(3, b"NTFS    ")),
    ("gpt", _at(512, b"EFI PART")),
    ("mbr", lambda head: len(head) >= 512 and head[510:512] == b"\x55\xaa"),
)
IMAGE_SUFFIXES = (".e01", ".ex01", ".vmdk", ".vhd", ".vhdx", ".vdi", ".qcow2", ".dd", ".raw",
                  ".img", ".001", ".zip", ".tar", ".tgz", ".tar.gz", ".asdf")


def image_suffix(path: str) -> str | None:
    name = os.path.basename(path).lower()
    for suffix in IMAGE_SUFFIXES:
        if name.endswith(suffix):
            return suffix.lstrip(".")
    return None


def _cut_zip(path: str) -> str:
    """A file that starts as a zip but is no readable zip was most likely cut short; an empty
    one is said to be empty."""
    try:
        if os.path.getsize(path) == 0:
            return " (an empty file)"
        with open_quietly(path) as handle:
            head = handle.read(4)
    except OSError:
        return ""
    return f" ({CUT_ZIP})" if starts_as_zip(head) and not zipfile.is_zipfile(path) else ""


def open_dissect(path: str) -> DissectTarget:
    """Open an image or archive through dissect.target; TargetError when it cannot."""
    module = require_dissect()
    try:
        handle = module.Target.open(path)
    except Exception as exc:  # dissect raises its own error classes, not OSError
        raise TargetError(f"{path}: dissect.target cannot open it: {exc}{_cut_zip(path)}") \
            from exc
    target = DissectTarget(TargetSpec("dissect", path), handle, "")
    target.description = describe(path, handle, target.volumes())
    return target


def describe(path: str, handle: Any, volumes: list[str]) -> str:
    loader = type(vars(handle).get("_loader")).__name__.removesuffix("Loader").lower()
    names = ", ".join(v or "(root)" for v in volumes)
    try:
        os_text = f", {handle.os}"
    except Exception:  # no OS plugin matched: dissect raises its plugin error
        os_text = ""
    return f"{loader} {path} (dissect{os_text}; volumes: {names})"
