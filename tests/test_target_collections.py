"""Velociraptor (folder and zip) and KAPE collections of one profile read as the same files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scanner.target.base import Target
from scanner.target.open import open_target
from tests import hostgen

OST_WITH_AT = "C:/Users/bob/AppData/Local/Microsoft/Outlook/bob@contoso.com.ost"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[hostgen.HostFile]:
    return hostgen.profile_files(tmp_path_factory.mktemp("stubs"))


def contents(target: Target, volume: str) -> dict[str, bytes]:
    """Target path (below the volume) → bytes, of every file on the volume."""
    found = {}
    for path in target.walk_files(volume):
        with target.open(path) as handle:
            found[path.removeprefix(volume).lstrip("/")] = handle.read()
    return found


def expected(files: list[hostgen.HostFile]) -> dict[str, bytes]:
    return {f.path: f.data for f in files}


def test_an_extracted_velociraptor_folder_decodes_names(
        files: list[hostgen.HostFile], tmp_path: Path) -> None:
    root = hostgen.velociraptor_folder(tmp_path / "Collection-HOST01", files)
    assert (root / "uploads/auto/C%3A/Users/bob/AppData/Local/Microsoft/Outlook"
            / "bob%40contoso.com.ost").is_file()

    target = open_target(str(root))

    assert target.kind == "folder"          # dissect cannot open the %40 names here
    assert target.volumes() == ["C:"]
    assert contents(target, "C:") == expected(files)
    assert target.stat(OST_WITH_AT).modified == files[0].modified


def test_a_velociraptor_zip_is_read_by_dissect(
        files: list[hostgen.HostFile], tmp_path: Path) -> None:
    pytest.importorskip("dissect.target", reason="archives are read by the ostscan[images] extra")
    archive = hostgen.velociraptor_zip(tmp_path / "Collection-HOST01.zip", files,
                                       tmp_path / "scratch")

    target = open_target(str(archive))

    assert target.kind == "dissect"
    assert target.volumes() == ["C:"]
    assert contents(target, "C:") == expected(files)
    assert target.stat(OST_WITH_AT).size == len(files[0].data)


def test_a_kape_folder_gives_drive_c(files: list[hostgen.HostFile], tmp_path: Path) -> None:
    root = hostgen.kape_folder(tmp_path / "kape-out", files)

    target = open_target(str(root))

    assert target.kind == "folder"          # dissect does not recognise a KAPE folder
    assert target.volumes() == ["C:"]
    assert contents(target, "C:") == expected(files)
    assert target.stat(OST_WITH_AT).modified == files[0].modified


def test_a_plain_folder_is_the_system_drive(
        files: list[hostgen.HostFile], tmp_path: Path) -> None:
    root = hostgen.plain_folder(tmp_path / "mounted", files)

    target = open_target(str(root))

    assert target.volumes() == [""]
    assert contents(target, "") == expected(files)


def test_all_layouts_agree_on_paths_and_bytes(
        files: list[hostgen.HostFile], tmp_path: Path) -> None:
    pytest.importorskip("dissect.target", reason="archives are read by the ostscan[images] extra")
    velociraptor = open_target(str(hostgen.velociraptor_folder(tmp_path / "v", files)))
    archive = open_target(str(hostgen.velociraptor_zip(tmp_path / "v.zip", files,
                                                       tmp_path / "vz")))
    kape = open_target(str(hostgen.kape_folder(tmp_path / "k", files)))

    seen = [contents(t, "C:") for t in (velociraptor, archive, kape)]

    assert seen[0] == seen[1] == seen[2]
    assert sorted(seen[0]) == sorted(f.path for f in files)


def test_a_tar_of_a_drive_is_read_by_dissect(
        files: list[hostgen.HostFile], tmp_path: Path) -> None:
    pytest.importorskip("dissect.target", reason="archives are read by the ostscan[images] extra")
    import tarfile

    drive = hostgen.plain_folder(tmp_path / "drive", files)
    (drive / "Windows" / "System32" / "config").mkdir(parents=True)
    with tarfile.open(tmp_path / "host.tar", "w") as archive:
        archive.add(drive, arcname="C")

    target = open_target(str(tmp_path / "host.tar"))

    assert target.kind == "dissect"
    [volume] = target.volumes()
    with target.open(f"{volume}/{OST_WITH_AT.removeprefix('C:/')}".lstrip("/")) as handle:
        assert handle.read() == files[0].data
    assert target.stat(f"{volume}/Users/bob/NTUSER.DAT".lstrip("/")).modified == \
        dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


def test_an_archive_of_loose_files_is_searched_whole(tmp_path: Path) -> None:
    pytest.importorskip("dissect.target", reason="archives are read by the ostscan[images] extra")
    import zipfile

    with zipfile.ZipFile(tmp_path / "handed-over.zip", "w") as archive:
        archive.writestr("mail/bob.ost", b"!BDN" + b"\0" * 508)

    target = open_target(str(tmp_path / "handed-over.zip"))

    assert (target.volumes(), target.loose) == ([""], True)
    assert list(target.walk_files("")) == ["mail/bob.ost"]
