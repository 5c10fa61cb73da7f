"""Choose the target implementation for what the user pointed at."""

from __future__ import annotations

import os

from scanner.target.base import Target, TargetError, TargetSpec
from scanner.target.local import open_file, open_folder, open_live


def open_target(path: str | None) -> Target:
    """None: the live host. A folder: a mounted image root or an extracted collection.
    A file: a single Outlook data file."""
    if path is None or path == "":
        return open_live()
    if not os.path.exists(path):
        raise TargetError(f"{path}: no such file or folder")
    if os.path.isdir(path):
        return open_folder(path)
    return open_file(path)


def reopen(spec: TargetSpec) -> Target:
    """Open the same target again, e.g. in a worker process."""
    if spec.kind == "live":
        return open_live()
    if spec.kind == "folder":
        return open_folder(spec.path)
    if spec.kind == "file":
        return open_file(spec.path)
    raise TargetError(f"unknown target kind {spec.kind!r}")
