"""ProfileList profiles and NTUSER.DAT Outlook stores, on hives written by hivexregedit."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scanner import registry
from scanner.target.open import open_target
from tests import hostgen
from tests.hostgen import (
    ACCOUNT_ADDED,
    BOB_SID,
    BOB_STORE,
    CAROL_SID,
    MOVED_OST,
    PROFILE_CREATED,
    PROFILES,
    STORE_SECTION_WRITTEN,
    write_hives,
)

pytest.importorskip("dissect.regf", reason="the registry reader is part of ostscan[images]")

@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("host")
    files = [f for f in hostgen.profile_files(root) if not f.path.endswith("NTUSER.DAT")]
    hostgen.plain_folder(root / "drive", files)
    (root / "drive" / "Profiles" / "carol").mkdir(parents=True)
    (root / "drive" / "Profiles" / "carol" / "NTUSER.DAT").write_bytes(b"not a hive" * 100)
    write_hives(root / "drive")
    return root / "drive"


def by_value(events: list, value_name: str | None) -> list:
    return [e for e in events if e.value_name == value_name]


def test_profile_list_gives_relocated_profiles_and_skips_service_accounts(drive: Path) -> None:
    folders = registry.profile_folders(open_target(str(drive)))

    found = {(f.user, f.sid, f.path, f.source) for f in folders}
    assert found == {
        ("bob", BOB_SID, "Users/bob", "ProfileList"),
        ("carol", CAROL_SID, "Profiles/carol", "ProfileList"),   # case matched on disk
    }
    assert {f.configured_path for f in folders} == {"%SystemDrive%\\Users\\bob",
                                                    "C:\\PROFILES\\carol"}


def test_outlook_profile_points_to_an_ost_outside_the_default_folder(drive: Path) -> None:
    target = open_target(str(drive))
    events, _ = registry.outlook_stores(target, registry.profile_folders(target))

    [moved] = [e for e in by_value(events, "001f6610") if e.account == "bob@contoso.com"]
    assert moved.store_path == "Users/bob/OST/bob@contoso.com - old.ost"
    assert moved.configured_path == MOVED_OST
    assert moved.hive == "Users/bob/NTUSER.DAT"
    assert moved.key == PROFILES.removeprefix("HKEY_CURRENT_USER\\") + "\\" + BOB_STORE.hex()
    assert moved.display_name == "Bob Example"
    assert moved.profile_user == "bob"
    assert moved.last_written == STORE_SECTION_WRITTEN
    on_disk = drive / "Users" / "bob" / "OST" / "bob@contoso.com - old.ost"
    assert target.stat(moved.store_path).size == on_disk.stat().st_size


def test_a_configured_ost_that_is_gone_is_still_reported(drive: Path) -> None:
    target = open_target(str(drive))
    events, _ = registry.outlook_stores(target, registry.profile_folders(target))

    [shared] = [e for e in by_value(events, "001f6610") if e.account == "shared@contoso.com"]
    assert shared.store_path == "Users/bob/AppData/Local/Microsoft/Outlook/shared@contoso.com.ost"
    assert shared.display_name == "Shared Mailbox"
    with pytest.raises(FileNotFoundError):
        target.stat(shared.store_path)


def test_force_ost_path_policy_and_preference(drive: Path) -> None:
    target = open_target(str(drive))
    events, _ = registry.outlook_stores(target, registry.profile_folders(target))

    forced = {(e.key, e.store_path, e.configured_path) for e in by_value(events, "ForceOSTPath")}
    assert forced == {
        ("Software\\Policies\\Microsoft\\Office\\16.0\\Outlook", "Users/bob/OST",
         "%USERPROFILE%\\OST"),
        ("Software\\Microsoft\\Office\\15.0\\Outlook", "D:/Mail", "D:\\Mail"),
    }


def test_profile_and_account_keys_join_the_timeline(drive: Path) -> None:
    target = open_target(str(drive))
    events, _ = registry.outlook_stores(target, registry.profile_folders(target))

    timeline = {(e.key.rsplit("\\", 1)[-1], e.last_written, e.account)
                for e in by_value(events, None)}
    assert ("Bob Work", PROFILE_CREATED, None) in timeline
    assert ("00000002", ACCOUNT_ADDED, "bob@contoso.com") in timeline
    assert ("00000003", None, "shared@contoso.com") in timeline   # hivex wrote no time


def test_a_damaged_hive_is_reported_and_the_rest_goes_on(drive: Path) -> None:
    target = open_target(str(drive))
    events, errors = registry.outlook_stores(target, registry.profile_folders(target))

    assert [(e.path, e.stage) for e in errors] == [("Profiles/carol/NTUSER.DAT", "registry")]
    assert "not a readable registry hive" in errors[0].reason
    assert len(by_value(events, "001f6610")) == 2


def test_a_hive_with_pending_log_entries_is_flagged(drive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "drive"
    (copy / "Users" / "bob").mkdir(parents=True)
    data = bytearray((drive / "Users" / "bob" / "NTUSER.DAT").read_bytes())
    struct.pack_into("<I", data, 4, 7)            # primary sequence ahead of secondary
    (copy / "Users" / "bob" / "NTUSER.DAT").write_bytes(bytes(data))
    (copy / "Windows").mkdir()
    target = open_target(str(copy))

    events, errors = registry.outlook_stores(target, [registry.ProfileFolder(
        "bob", BOB_SID, "Users/bob", "ProfileList", "C:\\Users\\bob", None)])

    assert len(by_value(events, "001f6610")) == 2
    assert [e.path for e in errors] == ["Users/bob/NTUSER.DAT"]
    assert "transaction-log" in errors[0].reason


def test_windows_paths_map_onto_drive_letter_targets(tmp_path: Path) -> None:
    (tmp_path / "uploads" / "auto" / "C%3A" / "Users" / "Bob").mkdir(parents=True)
    target = open_target(str(tmp_path))

    assert target.volumes() == ["C:"]
    assert registry.to_target_path(target, "c:\\users\\bob\\x.ost") == "C:/Users/Bob/x.ost"
    assert registry.to_target_path(target, "E:\\x.ost") == "E:/x.ost"
    assert registry.to_target_path(target, "\\\\srv\\share\\x.pst") == "//srv/share/x.pst"


def test_outlook_2010_profiles_ansi_values_and_the_search_catalog(tmp_path: Path) -> None:
    messaging = (r"HKEY_CURRENT_USER\Software\Microsoft\Windows NT\CurrentVersion"
                 r"\Windows Messaging Subsystem\Profiles\Outlook")
    ansi_path = "C:\\Users\\dave\\Mail\\dave.ost\0".encode("cp1252")
    catalog = r"HKEY_CURRENT_USER\Software\Microsoft\Office\14.0\Outlook\Search\Catalog"
    indexed = "C:\\\\Users\\\\dave\\\\Old\\\\dave@fabrikam.com.ost"
    reg = "\n".join([
        "Windows Registry Editor Version 5.00", "",
        rf"[{messaging}\13dbb0c8aa05101a9bb000aa002fc45a]",
        f'"001e6610"={hostgen.reg_hex(ansi_path)}', "",
        f"[{catalog}]", f'"{indexed}"=dword:00000001', "",
    ])
    (tmp_path / "Users" / "dave" / "Mail").mkdir(parents=True)
    (tmp_path / "Users" / "dave" / "Mail" / "dave.ost").write_bytes(b"!BDN")
    hostgen.build_hive(tmp_path / "Users" / "dave" / "NTUSER.DAT", reg, "HKEY_CURRENT_USER")
    target = open_target(str(tmp_path))

    events, errors = registry.outlook_stores(target, [registry.ProfileFolder(
        "dave", "S-1-5-21-1-2-3-1005", "Users/dave", "ProfileList", "C:\\Users\\dave", None)])

    stores = {(e.value_name, e.store_path) for e in events if e.store_path}
    assert stores == {
        ("001e6610", "Users/dave/Mail/dave.ost"),
        ("C:\\Users\\dave\\Old\\dave@fabrikam.com.ost",
         "Users/dave/Old/dave@fabrikam.com.ost"),
    }
    assert errors == []


def test_computer_name_from_a_drive_folders_system_hive(tmp_path: Path) -> None:
    from scanner.scan import ScanOptions, scan_path

    drive = tmp_path / "drive"
    hostgen.write_hives(drive)

    report = scan_path(str(drive), ScanOptions(hash=False))

    assert registry.computer_name(open_target(str(drive))) == hostgen.COMPUTER_NAME
    assert report.host.name == hostgen.COMPUTER_NAME
