"""ProfileList profiles and NTUSER.DAT Outlook stores, on hives written by hivexregedit."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import pytest

from scanner import registry
from scanner.target.open import open_target
from tests import hostgen

pytest.importorskip("dissect.regf", reason="the registry reader is part of ostscan[images]")

UTC = dt.timezone.utc
BOB_SID = "S-1-5-21-1111111111-2222222222-3333333333-1001"
CAROL_SID = "S-1-5-21-1111111111-2222222222-3333333333-1002"
PROFILE_CREATED = dt.datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
ACCOUNT_ADDED = dt.datetime(2024, 3, 1, 9, 0, 5, tzinfo=UTC)
STORE_SECTION_WRITTEN = dt.datetime(2024, 3, 1, 9, 0, 7, tzinfo=UTC)
BOB_SERVICE = bytes.fromhex("a1" * 16)
BOB_STORE = bytes.fromhex("b2" * 16)
SHARED_SERVICE = bytes.fromhex("c3" * 16)
SHARED_STORE = bytes.fromhex("d4" * 16)
PROFILES = r"HKEY_CURRENT_USER\Software\Microsoft\Office\16.0\Outlook\Profiles\Bob Work"
MOVED_OST = r"C:\Users\bob\OST\bob@contoso.com - old.ost"
SHARED_OST = r"%LOCALAPPDATA%\Microsoft\Outlook\shared@contoso.com.ost"
SYSTEM_PROFILE = r"%systemroot%\system32\config\systemprofile"
BOB_PROFILE = r"%SystemDrive%\Users\bob"
FORCED_FOLDER = r"%USERPROFILE%\OST"


def software_reg() -> str:
    ntcv = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
    return "\n".join([
        "Windows Registry Editor Version 5.00", "",
        rf"[{ntcv}\S-1-5-18]", f'"ProfileImagePath"={expand_sz(SYSTEM_PROFILE)}', "",
        rf"[{ntcv}\{BOB_SID}]", f'"ProfileImagePath"={expand_sz(BOB_PROFILE)}', "",
        rf"[{ntcv}\{CAROL_SID}]", '"ProfileImagePath"="C:\\\\PROFILES\\\\carol"', "",
    ])


def expand_sz(text: str) -> str:
    return hostgen.reg_hex((text + "\0").encode("utf-16-le"), "(2)")


def ntuser_reg() -> str:
    text = hostgen.reg_binary_text
    manager = rf"{PROFILES}\9375CFF0413111d3B88A00104B2A6676"
    return "\n".join([
        "Windows Registry Editor Version 5.00", "",
        rf"[{manager}\00000002]",
        f'"Account Name"={text("bob@contoso.com")}',
        f'"Service UID"={hostgen.reg_hex(BOB_SERVICE)}', "",
        rf"[{manager}\00000003]",
        f'"Account Name"={text("Shared Mailbox")}',
        f'"Service UID"={hostgen.reg_hex(SHARED_SERVICE)}', "",
        rf"[{PROFILES}\{BOB_SERVICE.hex()}]",
        f'"001f6641"={text("bob@contoso.com")}',
        f'"001f3001"={text("Bob Example")}',
        f'"01023d00"={hostgen.reg_hex(BOB_STORE)}', "",
        rf"[{PROFILES}\{BOB_STORE.hex()}]",
        f'"001f6610"={text(MOVED_OST)}', "",
        rf"[{PROFILES}\{SHARED_SERVICE.hex()}]",
        f'"001f6641"={text("shared@contoso.com")}', "",
        rf"[{PROFILES}\{SHARED_STORE.hex()}]",
        f'"01023d0c"={hostgen.reg_hex(SHARED_SERVICE)}',
        f'"001f6610"={text(SHARED_OST)}', "",
        r"[HKEY_CURRENT_USER\Software\Policies\Microsoft\Office\16.0\Outlook]",
        f'"ForceOSTPath"={expand_sz(FORCED_FOLDER)}', "",
        r"[HKEY_CURRENT_USER\Software\Microsoft\Office\15.0\Outlook]",
        '"ForceOSTPath"="D:\\\\Mail"', "",
    ])


def write_hives(drive: Path) -> None:
    """SOFTWARE and bob's NTUSER.DAT into a folder laid out like a system drive."""
    config = drive / "Windows" / "System32" / "config"
    config.mkdir(parents=True, exist_ok=True)
    hostgen.build_hive(config / "SOFTWARE", software_reg(), "HKEY_LOCAL_MACHINE\\SOFTWARE")
    ntuser = drive / "Users" / "bob" / "NTUSER.DAT"
    hostgen.build_hive(ntuser, ntuser_reg(), "HKEY_CURRENT_USER")
    hostgen.set_key_times(ntuser, {
        "Bob Work": PROFILE_CREATED, "00000002": ACCOUNT_ADDED,
        BOB_STORE.hex(): STORE_SECTION_WRITTEN,
    })


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
    assert target.stat(moved.store_path).size == 12288


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
