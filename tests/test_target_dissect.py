"""Disk images through dissect.target: an NTFS image built in the test, read via `Target`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scanner import registry
from scanner.target.base import TargetError
from scanner.target.open import open_target, reopen
from tests import hostgen, ntfsimage
from tests.hostgen import BOB_SID, MOVED_OST, STORE_SECTION_WRITTEN

pytest.importorskip("dissect.target", reason="images are read by the ostscan[images] extra")

UTC = dt.timezone.utc
CREATED = dt.datetime(2023, 2, 3, 4, 5, 6, tzinfo=UTC)
DEFAULT_OST = "C:/Users/bob/AppData/Local/Microsoft/Outlook/bob@contoso.com.ost"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[hostgen.HostFile]]:
    root = tmp_path_factory.mktemp("image")
    files = [f for f in hostgen.profile_files(root) if not f.path.endswith("NTUSER.DAT")]
    hostgen.write_hives(root / "hives")
    files += [hostgen.HostFile(p.relative_to(root / "hives").as_posix(), p.read_bytes(),
                               dt.datetime(2024, 5, 1, tzinfo=UTC))
              for p in (root / "hives").rglob("*") if p.is_file()]
    return ntfsimage.build_ntfs_image(root / "disk.img", files, CREATED), files


def test_an_ntfs_image_lists_and_reads_files_with_ntfs_times(image: tuple) -> None:
    path, files = image
    target = open_target(str(path))

    assert target.kind == "dissect"
    assert target.volumes() == ["C:"]
    names = [e.name for e in target.list_dir("C:/Users/bob/AppData/Local/Microsoft/Outlook")]
    assert names == ["bob@contoso.com.ost"]
    stat = target.stat(DEFAULT_OST)
    assert (stat.size, stat.created, stat.modified) == (
        len(files[0].data), CREATED, files[0].modified)
    with target.open(DEFAULT_OST) as handle:
        assert handle.read() == files[0].data


def test_names_are_matched_like_windows_does(image: tuple) -> None:
    path, files = image
    target = open_target(str(path))

    assert target.stat("c:/users/BOB/ost/BOB@CONTOSO.COM - OLD.OST").size == len(files[1].data)
    with pytest.raises(FileNotFoundError):
        target.stat("C:/Users/bob/nothing.ost")
    with pytest.raises(OSError, match="not a regular file"):
        target.open("C:/Users/bob")


def test_the_registry_is_read_from_inside_the_image(image: tuple) -> None:
    target = open_target(str(image[0]))

    profiles = registry.profile_folders(target)
    events, errors = registry.outlook_stores(target, profiles)

    assert [(p.user, p.sid, p.path) for p in profiles if p.user == "bob"] == [
        ("bob", BOB_SID, "C:/Users/bob")]
    [moved] = [e for e in events if e.configured_path == MOVED_OST]
    assert moved.store_path == "C:/Users/bob/OST/bob@contoso.com - old.ost"
    assert moved.hive == "C:/Users/bob/NTUSER.DAT"
    assert moved.last_written == STORE_SECTION_WRITTEN
    assert target.stat(moved.store_path).created == CREATED
    assert errors == []


def test_reopen_gives_the_same_image(image: tuple) -> None:
    target = open_target(str(image[0]))

    again = reopen(target.spec)

    assert again.spec == target.spec
    assert replace(again.stat(DEFAULT_OST), identity=None) == replace(
        target.stat(DEFAULT_OST), identity=None)


def test_pypff_reads_an_ost_inside_an_image_through_a_file_object(
        fe01_ost: Path, tmp_path: Path) -> None:
    pypff = pytest.importorskip("pypff")
    ost = hostgen.HostFile("Users/steven/AppData/Local/Microsoft/Outlook/fe01.ost",
                           fe01_ost.read_bytes(), dt.datetime(2021, 3, 8, tzinfo=UTC))
    path = ntfsimage.build_ntfs_image(tmp_path / "fe01.img", [ost], CREATED)
    target = open_target(str(path))

    store = pypff.file()
    with target.open("C:/" + ost.path) as handle:
        store.open_file_object(handle)
        folders = count_folders(store.get_root_folder())
        store.close()

    assert folders == 61          # research/ost-fixtures.md: fe01 has 61 folders


def count_folders(folder: object) -> int:
    return 1 + sum(count_folders(sub) for sub in folder.sub_folders)  # type: ignore[attr-defined]


def test_a_single_outlook_file_is_not_sent_to_dissect(tmp_path: Path) -> None:
    stub = tmp_path / "renamed.bin"
    hostgen.ost_stub(stub)
    damaged = tmp_path / "bob.ost"
    damaged.write_bytes(b"<html>not a store</html>")

    assert open_target(str(stub)).kind == "file"
    assert open_target(str(damaged)).kind == "file"


def test_an_image_without_the_images_extra_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "disk.E01"
    disk.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + b"\0" * 100)
    monkeypatch.setitem(sys.modules, "dissect.target", None)

    with pytest.raises(TargetError, match=r"install ostscan\[images\]"):
        open_target(str(disk))


def test_a_file_dissect_cannot_open_is_a_target_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.vmdk"
    broken.write_bytes(b"KDMV" + b"\xff" * 2000)

    with pytest.raises(TargetError, match="broken.vmdk"):
        open_target(str(broken))


def test_a_zip_cut_short_says_so(tmp_path: Path) -> None:
    import io
    import zipfile

    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as archive:
        archive.writestr("C/Users/a/NTUSER.DAT", bytes(5000))
    cut = tmp_path / "collection.zip"
    cut.write_bytes(whole.getvalue()[:3000])

    with pytest.raises(TargetError, match="cut short, its index at the end is missing"):
        open_target(str(cut))
    cut.write_bytes(b"")
    with pytest.raises(TargetError, match="an empty file"):
        open_target(str(cut))


@pytest.mark.parametrize("from_end", [False, True])
def test_a_damaged_zip_member_is_a_damaged_store_not_a_crash(tmp_path: Path,
                                                             from_end: bool) -> None:
    """Zeros in the member's compressed data: a deflate error at its start, a bad CRC at its
    end. Either way the store is `damaged` with the reason and the scan goes on."""
    import zipfile

    from typer.testing import CliRunner

    from scanner.cli import app

    laptop = Path(__file__).resolve().parent.parent / "fixtures/example-case/hosts/LAPTOP-CFO"
    ost = laptop / "Users/jdoe/AppData/Local/Microsoft/Outlook/jdoe@contoso.example.ost"
    archive = tmp_path / "evidence" / "laptop.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as writer:
        writer.write(ost, "Users/jdoe/AppData/Local/Microsoft/Outlook/jdoe.ost")
    [member] = zipfile.ZipFile(archive).infolist()
    data = bytearray(archive.read_bytes())
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    start += member.compress_size - 300 if from_end else 100
    data[start:start + 200] = bytes(200)
    archive.write_bytes(bytes(data))
    report = tmp_path / "report.json"

    result = CliRunner().invoke(app, ["scan", str(archive), "--host-name", "PC", "-o",
                                      str(report)])

    assert result.exit_code == 1, result.output
    [store] = json.loads(report.read_text())["files"]
    assert store["status"] == "damaged"


def test_plain_folders_work_without_dissect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = hostgen.profile_files(tmp_path / "stubs")
    hostgen.plain_folder(tmp_path, files)
    shutil.rmtree(tmp_path / "stubs")
    monkeypatch.setitem(sys.modules, "dissect.target", None)

    target = open_target(str(tmp_path))

    assert target.kind == "folder"
    assert target.stat(DEFAULT_OST.removeprefix("C:/")).size == len(files[0].data)


def test_the_host_name_comes_from_the_images_system_hive(image: tuple) -> None:
    from scanner.scan import ScanOptions, scan_path

    target = open_target(str(image[0]))
    report = scan_path(str(image[0]), ScanOptions(hash=False))

    assert target.host_name() == hostgen.COMPUTER_NAME
    assert report.host.name == hostgen.COMPUTER_NAME
    assert DEFAULT_OST in {f.path for f in report.files}
