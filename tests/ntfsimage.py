"""Build a small NTFS image in a test: mkntfs, then files written through an ntfs-3g mount.

Needs root, mkntfs, ntfs-3g and /dev/fuse; `need_ntfs_tools` skips the test with the reason
otherwise. NTFS creation times are set through ntfs-3g's `system.ntfs_crtime` attribute.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.hostgen import HostFile, filetime, write_files

IMAGE_BYTES = 24 * 1024 * 1024


def need_ntfs_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("building an NTFS image needs root (ntfs-3g mount)")
    for tool in ("mkntfs", "ntfs-3g"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing (Debian: ntfs-3g): cannot build an NTFS image")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is missing: ntfs-3g cannot mount the image")


def build_ntfs_image(image: Path, files: list[HostFile], created: dt.datetime,
                     folders: tuple[str, ...] = ("Windows/System32/config",)) -> Path:
    """An NTFS file system (no partition table) holding `files`, each created at `created`.
    The Windows folder makes dissect take it for a Windows system drive (C:)."""
    need_ntfs_tools()
    with open(image, "wb") as handle:
        handle.truncate(IMAGE_BYTES)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", "-L", "OS", str(image)], check=True,
                   capture_output=True)
    mount = image.parent / f"{image.name}.mnt"
    mount.mkdir()
    subprocess.run(["ntfs-3g", str(image), str(mount)], check=True, capture_output=True)
    try:
        for folder in folders:
            (mount / folder).mkdir(parents=True, exist_ok=True)
        write_files(mount, files)
        for item in files:
            set_times(mount / item.path, created, item.modified)
    finally:
        subprocess.run(["umount", str(mount)], check=True, capture_output=True)
        mount.rmdir()
    return image


def set_times(host: Path, created: dt.datetime, modified: dt.datetime) -> None:
    os.setxattr(host, "system.ntfs_crtime", struct.pack("<Q", filetime(created)))
    stamp = modified.timestamp()
    os.utime(host, (stamp, stamp))
