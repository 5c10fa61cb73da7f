"""Discovery on made-up host trees: which files are found, and by what."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from hosttree import build_host, expected_deep, expected_default

from scanner import discovery
from scanner.records import ScanError
from scanner.target.open import open_target


def found(root: Path, deep: bool = False) -> dict[str, discovery.Candidate]:
    target = open_target(str(root))
    errors: list[ScanError] = []
    profiles = discovery.profiles_in_users_folders(target, errors)
    candidates = list(discovery.default_candidates(target, profiles))
    if deep:
        candidates += discovery.deep_candidates(target, profiles)
    return {c.path: c for c in discovery.unique(iter(candidates))}


def test_default_locations_every_profile_any_case(tmp_path: Path) -> None:
    host = build_host(tmp_path / "host")

    result = found(host)

    assert set(result) == expected_default()
    assert result["users/BOB/appdata/LOCAL/microsoft/OUTLOOK/bob@contoso.example.OST"] \
        .profile_user == "BOB"
    assert all(c.found_by == "default-location" for c in result.values())


def test_deep_adds_stores_outside_outlook_folders(tmp_path: Path) -> None:
    host = build_host(tmp_path / "host")

    result = found(host, deep=True)

    assert set(result) == expected_deep()
    assert result["Users/Alice/Desktop/copy.ost"].found_by == "deep"
    assert result["Users/Alice/Desktop/copy.ost"].profile_user == "Alice"
    assert result["ProgramData/Backup/foo.pst"].profile_user is None


def test_symlinked_profiles_are_not_followed(tmp_path: Path) -> None:
    host = build_host(tmp_path / "host")
    target = open_target(str(host))

    profiles = discovery.profiles_in_users_folders(target, [])

    assert sorted(p.user for p in profiles) == ["Alice", "BOB", "Carol", "Dave", "olduser"]


def test_velociraptor_collection_decodes_volume_and_names(tmp_path: Path) -> None:
    upload = tmp_path / "collection" / "uploads" / "auto" / quote("C:", safe="")
    build_host(upload)
    encoded = upload / "Users/Alice/AppData/Local/Microsoft/Outlook"
    (encoded / "alice@contoso.example.ost").rename(encoded / quote("alice@contoso.example.ost"))

    result = found(tmp_path / "collection")

    assert set(result) == expected_default("C:/")
    target = open_target(str(tmp_path / "collection"))
    with target.open("C:/Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost") \
            as handle:
        assert handle.read(4) == b"!BDN"


def test_kape_collection_names_the_drive(tmp_path: Path) -> None:
    build_host(tmp_path / "kape" / "2026-11-30T101500_triage" / "C")

    result = found(tmp_path / "kape")

    assert set(result) == expected_default("C:/")


def test_loose_folder_is_searched_whole(tmp_path: Path) -> None:
    loose = tmp_path / "evidence"
    (loose / "case-17").mkdir(parents=True)
    (loose / "case-17" / "suspect.ost").write_bytes(b"!BDN" + bytes(508))
    (loose / "readme.txt").write_text("x")
    target = open_target(str(loose))

    assert target.loose
    assert [p for p in target.walk_files("") if discovery.is_store_name(p)] == \
        ["case-17/suspect.ost"]


def test_a_folder_of_several_hosts_names_each_as_a_volume(tmp_path: Path) -> None:
    build_host(tmp_path / "hosts" / "PC-1")
    build_host(tmp_path / "hosts" / "PC-2")

    result = found(tmp_path / "hosts")

    assert set(result) == expected_default("PC-1/") | expected_default("PC-2/")


def test_deep_also_walks_what_lies_beside_the_drives(tmp_path: Path) -> None:
    build_host(tmp_path / "kape" / "C")
    (tmp_path / "kape" / "loose").mkdir()
    (tmp_path / "kape" / "loose" / "b.ost").write_bytes(b"!BDN" + bytes(508))

    default = found(tmp_path / "kape")
    deep = found(tmp_path / "kape", deep=True)

    assert set(default) == expected_default("C:/")
    assert set(deep) - set(default) == {"./loose/b.ost", "C:/Users/Alice/Desktop/copy.ost",
                                        "C:/ProgramData/Backup/foo.pst"}
