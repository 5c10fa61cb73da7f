"""Targets on this machine's own file system: the live host, a folder, or a single file.

A folder may be the root of a mounted image, or an extracted collection: Velociraptor keeps each
volume under `uploads/<accessor>/C%3A/…` with URL-encoded names, KAPE under `…/C/…`. Both are
presented with volume roots such as `C:` and decoded names, so discovery sees one layout.
"""

from __future__ import annotations

import contextlib
import os
import stat as statmod
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from scanner.quiet import quiet_descriptor
from scanner.report import WHOLE_FOLDER
from scanner.target.base import Entry, FileStat, Target, TargetError, TargetSpec
from scanner.target.rawntfs import is_sharing_violation
from scanner.timeutil import from_epoch

REST = "."   # the pseudo-volume of a collection folder: everything that is not one of its drives
VOLUME_MARKERS = {"users", "documents and settings", "windows", "program files"}
SEARCH_DEPTH = 5


def file_stat(host_path: str) -> FileStat:
    st = os.lstat(host_path)
    birth = getattr(st, "st_birthtime", None)
    if birth is None and sys.platform == "win32":
        birth = st.st_ctime
    changed = None if sys.platform == "win32" else st.st_ctime
    return FileStat(
        size=st.st_size,
        created=from_epoch(birth),
        modified=from_epoch(st.st_mtime),
        accessed=from_epoch(st.st_atime),
        changed=from_epoch(changed),
        identity=(st.st_dev, st.st_ino),
    )


@contextlib.contextmanager
def _listing(folder: str) -> Iterator[os.DirEntry]:
    """A folder's entries, read without updating its access time where the OS allows it."""
    quiet = getattr(os, "O_NOATIME", 0)
    if not quiet or not hasattr(os, "O_DIRECTORY"):
        with os.scandir(folder) as entries:
            yield entries
        return
    fd = quiet_descriptor(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as entries:
            yield entries
    finally:
        os.close(fd)


def read_head(path: str, size: int) -> bytes:
    """The first `size` bytes of a file, read without updating its access time where allowed."""
    with open(path, "rb", opener=quiet_descriptor) as handle:
        return handle.read(size)


def _sub_folders(folder: str) -> list[str]:
    """Names of the folders in `folder` (links not followed), listed like any other folder."""
    with _listing(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))


def _names(folder: str) -> list[str]:
    with _listing(folder) as entries:
        return [e.name for e in entries]


class _QuietPath(type(Path())):  # type: ignore[misc]
    """A path whose listing leaves access times alone, for dissect's loaders to probe."""

    def iterdir(self) -> Iterator[Path]:
        for name in _names(str(self)):
            yield self / name


def quiet_path(path: str) -> Path:
    return _QuietPath(path)


def _looks_like_volume(host_dir: str) -> bool:
    try:
        names = {n.lower() for n in _names(host_dir)}
    except OSError:
        return False
    return bool(names & VOLUME_MARKERS)


def volume_name(folder_name: str) -> str:
    decoded = unquote(folder_name).rstrip("\\/")
    if len(decoded) >= 2 and decoded[-1] == ":" and decoded[-2].isalpha():
        return decoded[-2:].upper()
    if len(decoded) == 1 and decoded.isalpha():
        return decoded.upper() + ":"
    return decoded


def find_volumes(root: str) -> tuple[dict[str, str], bool]:
    """Volume name → host folder below `root`, and whether names are URL-encoded (Velociraptor)."""
    if _looks_like_volume(root):
        return {"": root}, False
    found: dict[str, str] = {}
    encoded = False
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            children = _sub_folders(folder)
        except OSError:
            continue
        for child in children:
            path = os.path.join(folder, child)
            if _looks_like_volume(path):
                found.setdefault(volume_name(child) or child, path)
                encoded = encoded or "%" in child
            elif depth + 1 < SEARCH_DEPTH:
                stack.append((path, depth + 1))
    return found, encoded


class LocalTarget(Target):
    """Files reachable through the OS: one or more volume roots on this machine."""

    def __init__(self, spec: TargetSpec, volumes: dict[str, str], description: str,
                 encoded_names: bool = False) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.description = description
        self._volumes = volumes
        self._encoded = encoded_names

    def volumes(self) -> list[str]:
        """Drive roots to look for profiles on; the rest of a collection folder is only walked
        by --deep (see `deep_roots`)."""
        return sorted(v for v in self._volumes if v != REST)

    def deep_roots(self) -> list[str]:
        return sorted(self._volumes)

    def host_path(self, path: str) -> str:
        volume, _, rest = path.partition("/")
        if volume not in self._volumes or volume == "":
            volume, rest = "", path
        base = self._volumes.get(volume)
        if base is None:
            raise FileNotFoundError(path)
        parts = [p for p in rest.split("/") if p]
        if self._encoded:
            parts = [self._real_name(base, parts[:i], p) for i, p in enumerate(parts)]
        return os.path.join(base, *parts)

    def _real_name(self, base: str, parents: list[str], name: str) -> str:
        folder = os.path.join(base, *parents)
        try:
            for real in _names(folder):
                if unquote(real) == name:
                    return real
        except OSError:
            pass
        return name

    def list_dir(self, path: str) -> list[Entry]:
        host = self.host_path(path)
        entries = []
        drives = self._drive_folders() if path.split("/", 1)[0] == REST else set()
        with _listing(host) as it:
            for e in it:
                if drives and os.path.normpath(os.path.join(host, e.name)) in drives:
                    continue      # listed as a volume of its own
                name = unquote(e.name) if self._encoded else e.name
                link = e.is_symlink()
                entries.append(Entry(name, e.is_dir(follow_symlinks=False),
                                     e.is_file(follow_symlinks=False), link))
        return entries

    def link_target(self, path: str) -> str | None:
        try:
            return os.readlink(self.host_path(path))
        except (OSError, ValueError):
            return None

    def _drive_folders(self) -> set[str]:
        return {os.path.normpath(base) for name, base in self._volumes.items() if name != REST}

    def stat(self, path: str) -> FileStat:
        return file_stat(self.host_path(path))

    def open(self, path: str) -> BinaryIO:
        host = self.host_path(path)
        mode = os.lstat(host).st_mode
        if not statmod.S_ISREG(mode):
            raise OSError(f"not a regular file: {host}")
        try:
            return open(host, "rb", opener=quiet_descriptor)  # noqa: SIM115 - the caller closes it
        except PermissionError as exc:
            if not (self.is_live() and is_sharing_violation(exc)):
                raise
            return self._open_locked(host, exc)

    def _open_locked(self, host: str, refused: PermissionError) -> BinaryIO:
        """A file another process holds (Outlook's OST): read it through raw NTFS where this
        process has the rights; otherwise the sharing violation stands (the scan reports the
        file as locked, with the processes holding it)."""
        try:
            return self.raw_opener(host)
        except Exception as exc:  # no rights, not NTFS, dissect missing: the file stays locked
            refused.raw_ntfs_failure = f"raw NTFS read failed: {exc}"  # type: ignore[attr-defined]
            raise refused from exc

    @staticmethod
    def raw_opener(host: str) -> BinaryIO:
        from scanner.target.rawntfs import open_locked

        return open_locked(host)

    def local_path(self, path: str) -> str | None:
        return self.host_path(path)


def volume_label(name: str, folder: str, root: str) -> str:
    """A volume as the description names it, with its folder when that lies deeper than `root`'s
    own sub-folders: report paths start at the volume name (`HOST-1/Users/…`), not the folder."""
    where = os.path.relpath(folder, root)
    if name == "":
        return "(root)"
    return f"{name} = {where}" if os.sep in where else name


def open_folder(path: str) -> LocalTarget:
    if not os.path.isdir(path):
        raise TargetError(f"{path}: not a folder")
    try:
        _names(path)
    except OSError as exc:
        raise TargetError(f"{path}: cannot open: {exc.strerror or exc}") from None
    volumes, encoded = find_volumes(path)
    layout = "Velociraptor collection" if encoded else "folder"
    if not volumes:
        target = LocalTarget(TargetSpec("folder", path), {"": path},
                             f"folder {path} (no system-drive layout: {WHOLE_FOLDER})")
        target.loose = True
        return target
    names = ", ".join(volume_label(v, volumes[v], path) for v in sorted(volumes))
    description = f"{layout} {path} (volumes: {names})"
    if "" not in volumes:
        volumes[REST] = path     # what lies beside the drives, for --deep
    return LocalTarget(TargetSpec("folder", path), volumes, description, encoded)


def open_file(path: str) -> LocalTarget:
    folder, name = os.path.split(os.path.abspath(path))
    target = LocalTarget(TargetSpec("file", path), {"": folder}, f"file {path}")
    target.single_file = name  # type: ignore[attr-defined]
    return target


def live_volumes() -> dict[str, str]:
    if sys.platform != "win32":
        return {"": "/"}
    import psutil

    found = {}
    for part in psutil.disk_partitions(all=False):
        if "fixed" in part.opts.split(","):     # not removable, CD-ROM or network drives
            letter = part.mountpoint.rstrip("\\")
            if len(letter) == 2 and letter.endswith(":"):
                found[letter.upper()] = part.mountpoint
    return found or {"C:": "C:\\"}


def open_live() -> LocalTarget:
    volumes = live_volumes()
    names = ", ".join(v or "/" for v in sorted(volumes))
    return LocalTarget(TargetSpec("live", ""), volumes, f"live host (volumes: {names})")
