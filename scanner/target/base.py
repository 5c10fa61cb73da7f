"""The one interface through which the scan reads a target.

Paths inside a target are text with `/` separators, starting at a volume root such as `C:` (a
collection or image) or `` (a folder laid out like a system drive). Every implementation opens
files read-only and never writes into the target.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO


class TargetError(Exception):
    """The target cannot be opened or read at all (not: one file in it is unreadable)."""


@dataclass(frozen=True)
class TargetSpec:
    """Enough to open the same target again in a worker process."""

    kind: str            # live | folder | file | dissect
    path: str


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    is_file: bool
    is_symlink: bool


@dataclass(frozen=True)
class FileStat:
    size: int
    created: dt.datetime | None
    modified: dt.datetime | None
    accessed: dt.datetime | None
    changed: dt.datetime | None
    identity: tuple[int, int] | None = None   # (device, inode) for loop detection


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class Target(abc.ABC):
    """A read-only view of a host's files."""

    spec: TargetSpec
    kind: str
    description: str
    loose: bool = False   # a plain folder of evidence files, with no system-drive layout

    @abc.abstractmethod
    def volumes(self) -> list[str]:
        """Volume roots to search, e.g. ["C:", "D:"] or [""] for a single tree."""

    @abc.abstractmethod
    def list_dir(self, path: str) -> list[Entry]:
        """Entries of a folder; raises OSError when it cannot be listed."""

    @abc.abstractmethod
    def stat(self, path: str) -> FileStat:
        """Size and times of a file, without following a final symlink."""

    @abc.abstractmethod
    def open(self, path: str) -> BinaryIO:
        """A read-only binary file object."""

    def link_target(self, path: str) -> str | None:
        """Where a symbolic link or junction points, where the target can tell."""
        return None

    def deep_roots(self) -> list[str]:
        """Where --deep walks: every volume, and for a collection folder what lies beside."""
        return self.volumes()

    def local_path(self, path: str) -> str | None:
        """The path on this machine's file system, where the file is directly reachable."""
        return None

    def is_live(self) -> bool:
        return self.kind == "live"

    def host_name(self) -> str | None:
        """The computer name the target's own records give (registry), where known."""
        return None

    def walk_files(
        self, root: str, max_depth: int = 64,
        on_error: Callable[[str, OSError], None] | None = None,
        on_link: Callable[[str], None] | None = None,
    ) -> Iterator[str]:
        """Every file below `root`, never following links. A folder that cannot be listed is
        passed to `on_error` and skipped; a link is passed to `on_link` and not followed."""
        stack = [(root, 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                entries = self.list_dir(folder)
            except OSError as exc:
                if on_error is not None:
                    on_error(folder, exc)
                continue
            for entry in entries:
                child = join(folder, entry.name)
                if entry.is_symlink:
                    if on_link is not None:
                        on_link(child)
                    continue
                if entry.is_dir and depth < max_depth:
                    stack.append((child, depth + 1))
                elif entry.is_file:
                    yield child

    def close(self) -> None:  # noqa: B027 - most targets hold nothing open
        """Release what the target holds open."""
