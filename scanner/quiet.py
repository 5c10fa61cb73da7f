"""Reading evidence without updating its access times, where the OS allows it."""

from __future__ import annotations

import os
from typing import BinaryIO


def quiet_descriptor(path: str, flags: int) -> int:
    """`os.open` with Linux O_NOATIME, which needs the file's owner or CAP_FOWNER; otherwise
    (and where the flag does not exist) the ordinary open."""
    quiet = getattr(os, "O_NOATIME", 0)
    if quiet:
        try:
            return os.open(path, flags | quiet)
        except PermissionError:
            pass
    return os.open(path, flags)


def open_quietly(path: str) -> BinaryIO:
    """A file opened to read, without updating its access time where the OS allows it."""
    return open(path, "rb", opener=quiet_descriptor)
