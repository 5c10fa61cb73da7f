"""Read a file another process holds locked (Outlook's OST) by parsing NTFS from the volume.

Windows refuses to share an OST that Outlook has open (a sharing violation, winerror 32). An
administrator can still open the volume device `\\\\.\\C:` for reading; dissect.ntfs (AGPL-3.0,
the `images` extra) then finds the file through the MFT and reads its clusters. What is read is
what is on disk: changes Outlook still holds in memory or in the OS cache are not in it, so the
copy may be a little older than the live file, or caught mid-write.

The only Windows-specific code is `volume_device`, the name of the device to open; everything
else works on any file holding an NTFS volume, which is how it is tested on Linux.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

SHARING_VIOLATIONS = (32, 33)     # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
ALIGNMENT = 64 * 1024             # a multiple of every sector size; one read per 64 KiB
BOOT_SECTOR = 512
WINDOWS_PATH = re.compile(r"^(?:\\\\[?.]\\)?([A-Za-z]:)[\\/]*(.*)$")


def is_sharing_violation(exc: OSError) -> bool:
    """The OS refused to share the file with us (another process holds it open)."""
    return getattr(exc, "winerror", None) in SHARING_VIOLATIONS


def volume_device(letter: str) -> str:
    """The device name of a drive letter's volume (Windows only)."""
    if sys.platform != "win32":
        raise OSError(f"raw volume access is only for a live Windows host, not {sys.platform}")
    return f"\\\\.\\{letter.upper()}"


def split_volume(host_path: str) -> tuple[str, str]:
    """`C:\\Users\\bob\\x.ost` (or `\\\\?\\C:\\…`) → (`C:`, `Users/bob/x.ost`)."""
    match = WINDOWS_PATH.match(host_path)
    if match is None:
        raise OSError(f"{host_path}: not on a drive letter, raw NTFS reading needs one")
    return match.group(1).upper(), match.group(2).replace("\\", "/")


def open_device(device: str) -> BinaryIO:
    """A read-only stream over a volume device (or any file holding a volume) whose reads are
    aligned to whole sectors, as Windows requires of volume handles."""
    from dissect.util.stream import AlignedStream

    class VolumeStream(AlignedStream):
        def __init__(self, fd: int, size: int) -> None:
            super().__init__(size, align=ALIGNMENT)
            self._fd = fd

        def _read(self, offset: int, length: int) -> bytes:
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, length)

        def close(self) -> None:
            if not self.closed:
                os.close(self._fd)
            super().close()

    fd = os.open(device, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = ntfs_volume_size(os.read(fd, BOOT_SECTOR))
    except Exception:
        os.close(fd)
        raise
    return VolumeStream(fd, size)  # type: ignore[return-value]


def ntfs_volume_size(boot: bytes) -> int:
    """Bytes in the volume, from its NTFS boot sector."""
    if boot[3:11] != b"NTFS    ":
        raise OSError("not an NTFS volume: raw reading supports NTFS only")
    sector = int.from_bytes(boot[0x0B:0x0D], "little")
    sectors = int.from_bytes(boot[0x28:0x30], "little")
    return (sectors + 1) * sector


class RawNtfsReader:
    """Opens files by path on NTFS volumes read raw; one parsed volume per drive letter."""

    def __init__(self, device_for: Callable[[str], str] = volume_device) -> None:
        self._device_for = device_for
        self._volumes: dict[str, Any] = {}

    def open(self, host_path: str) -> BinaryIO:
        letter, inner = split_volume(host_path)
        record = self._volume(letter).mft.get(inner)
        if record.is_dir():
            raise IsADirectoryError(host_path)
        stream = record.open()
        stream.read_through = "raw-ntfs"     # tells the scan how this copy was read
        return stream

    def _volume(self, letter: str) -> Any:
        if letter not in self._volumes:
            from dissect.ntfs import NTFS

            self._volumes[letter] = NTFS(open_device(self._device_for(letter)))
        return self._volumes[letter]


_READER: RawNtfsReader | None = None


def open_locked(host_path: str) -> BinaryIO:
    """Read a locked file on the live Windows host through raw NTFS (administrator only)."""
    global _READER
    if _READER is None:
        _READER = RawNtfsReader()
    return _READER.open(host_path)
