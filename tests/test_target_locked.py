"""A locked OST on a live host: read through raw NTFS where allowed, else reported as locked.

Windows is simulated: the volume device is an NTFS image built in the test, and the sharing
violation is a PermissionError carrying winerror 32, as Windows raises it.
"""

from __future__ import annotations

import datetime as dt
import errno
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from scanner.target import local, rawntfs
from scanner.target.base import TargetSpec
from tests import hostgen, ntfsimage

pytest.importorskip("dissect.ntfs", reason="raw NTFS reading is part of ostscan[images]")

OST = "Users/bob/AppData/Local/Microsoft/Outlook/bob@contoso.com.ost"
CREATED = dt.datetime(2022, 8, 9, 10, 11, 12, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """(NTFS image, the same files as a folder, the OST's bytes)."""
    root = tmp_path_factory.mktemp("live")
    files = hostgen.profile_files(root / "stubs")
    image = ntfsimage.build_ntfs_image(root / "c.img", files, CREATED)
    drive = hostgen.plain_folder(root / "drive", files)
    return image, drive, files[0].data


def sharing_violation() -> PermissionError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file because it is being "
                                        "used by another process")
    exc.winerror = 32  # type: ignore[attr-defined]
    return exc


def live_target(drive: Path, image: Path, monkeypatch: pytest.MonkeyPatch,
                kind: str = "live") -> local.LocalTarget:
    """A live-host target over `drive` where Outlook holds the OST, and whose raw NTFS reader
    reads the image in place of `\\\\.\\C:`."""
    target = local.LocalTarget(TargetSpec(kind, ""), {"C:": str(drive)}, "simulated host")
    reader = rawntfs.RawNtfsReader(device_for=lambda letter: str(image))

    def as_windows(host: str) -> str:
        return "C:\\" + str(Path(host).relative_to(drive)).replace("/", "\\")

    target.raw_opener = lambda host: reader.open(as_windows(host))  # type: ignore[method-assign]
    real_open = open

    def outlook_holds_the_ost(path: str, mode: str = "r", **options: object) -> BinaryIO:
        if str(path).endswith(".ost"):
            raise sharing_violation()
        return real_open(path, mode, **options)

    monkeypatch.setattr(local, "open", outlook_holds_the_ost, raising=False)
    return target


def test_a_locked_ost_is_read_through_raw_ntfs(host: tuple, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    image, drive, data = host
    target = live_target(drive, image, monkeypatch)

    with target.open("C:/" + OST) as handle:
        assert handle.read() == data
        assert handle.read_through == "raw-ntfs"
    with target.open("C:/Users/bob/NTUSER.DAT") as handle:   # not locked: the ordinary way
        assert not hasattr(handle, "read_through")


def test_without_the_rights_the_ost_stays_locked(host: tuple, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    image, drive, _ = host
    target = live_target(drive, image, monkeypatch)

    def access_denied(host_path: str) -> BinaryIO:
        raise PermissionError(errno.EACCES, "Access is denied", "\\\\.\\C:")

    target.raw_opener = access_denied  # type: ignore[method-assign]

    with pytest.raises(PermissionError) as refused:
        target.open("C:/" + OST)
    assert rawntfs.is_sharing_violation(refused.value)       # the scan reports: locked
    assert "Access is denied" in refused.value.raw_ntfs_failure


def test_only_the_live_host_is_read_raw(host: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    image, drive, _ = host
    target = live_target(drive, image, monkeypatch, kind="folder")

    with pytest.raises(PermissionError) as refused:
        target.open("C:/" + OST)
    assert not hasattr(refused.value, "raw_ntfs_failure")


def test_the_raw_reader_finds_files_by_windows_path(host: tuple) -> None:
    image, _, data = host
    reader = rawntfs.RawNtfsReader(device_for=lambda letter: str(image))

    with reader.open("\\\\?\\C:\\" + OST.replace("/", "\\")) as handle:
        assert handle.read() == data
    with pytest.raises(IsADirectoryError):
        reader.open("C:\\Users\\bob")


def test_the_volume_size_comes_from_the_boot_sector(host: tuple) -> None:
    image = host[0]

    with open(image, "rb") as handle:
        assert rawntfs.ntfs_volume_size(handle.read(512)) == ntfsimage.IMAGE_BYTES
    with pytest.raises(OSError, match="not an NTFS volume"):
        rawntfs.ntfs_volume_size(b"\0" * 512)


def test_paths_and_errors_that_decide_the_raw_path() -> None:
    assert rawntfs.split_volume("c:\\Users\\bob\\x.ost") == ("C:", "Users/bob/x.ost")
    assert rawntfs.split_volume("\\\\?\\D:\\Mail\\x.ost") == ("D:", "Mail/x.ost")
    with pytest.raises(OSError, match="drive letter"):
        rawntfs.split_volume("\\\\server\\share\\x.ost")
    assert rawntfs.is_sharing_violation(sharing_violation())
    assert not rawntfs.is_sharing_violation(PermissionError(errno.EACCES, "denied"))


@pytest.mark.skipif(sys.platform == "win32", reason="checks the refusal off Windows")
def test_volume_devices_are_windows_only() -> None:
    with pytest.raises(OSError, match="only for a live Windows host"):
        rawntfs.volume_device("C:")


def test_the_scan_says_which_copy_was_read_raw(host: tuple, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    from scanner.console import Console
    from scanner.scan import ScanOptions, scan_target

    image, drive, _ = host
    target = live_target(drive, image, monkeypatch)

    report = scan_target(target, ScanOptions(hash=False), Console(quiet=True))

    store = next(f for f in report.files if f.path == "C:/" + OST)
    assert store.read_through == "raw-ntfs"
    assert store.kind in ("ost", "pst") and store.status != "locked"


def test_the_scan_reports_a_locked_ost_it_cannot_read(host: tuple,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.console import Console
    from scanner.scan import ScanOptions, scan_target

    image, drive, _ = host
    target = live_target(drive, image, monkeypatch)

    def access_denied(host_path: str) -> BinaryIO:
        raise PermissionError(errno.EACCES, "Access is denied", "\\\\.\\C:")

    target.raw_opener = access_denied  # type: ignore[method-assign]
    report = scan_target(target, ScanOptions(hash=False), Console(quiet=True))

    store = next(f for f in report.files if f.path == "C:/" + OST)
    assert store.status == "locked"
    assert "locked by another process" in store.reason
