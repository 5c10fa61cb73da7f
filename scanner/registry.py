"""Where the registry says profiles and Outlook stores are.

Two hives are read, always through the `Target` (file objects, never host paths):

* SOFTWARE `Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\<SID>\\ProfileImagePath`: every
  profile folder, including relocated ones and those of deleted accounts whose folder remains.
* each profile's NTUSER.DAT:
  - the MAPI profiles of Outlook 2013-365 (`Software\\Microsoft\\Office\\<ver>\\Outlook\\
    Profiles\\<profile>`) and 2010 and older (`Software\\Microsoft\\Windows NT\\CurrentVersion\\
    Windows Messaging Subsystem\\Profiles\\<profile>`). A profile is a set of section keys named
    by a 16-byte UID. The accounts sit under `9375CFF0413111d3B88A00104B2A6676\\<0000000N>`
    ("Account Name", "Service UID" naming the account's service section). A store's path is a
    MAPI property stored as a value named by its property tag: 001f6610
    PR_PROFILE_OFFLINE_STORE_PATH (the OST) and 001f6700 PR_PST_PATH (a PST, or the OST of an
    IMAP account), as UTF-16 REG_BINARY (001e…: the ANSI form). The account's address is 001f6641
    PR_PROFILE_USER_SMTP_EMAIL_ADDRESS and its name 001f3001 PR_DISPLAY_NAME, in its service
    section; 01023d00 PR_STORE_PROVIDERS lists a service's store sections, 01023d0c
    PR_SERVICE_UID points a section back to its service.
  - ForceOSTPath / ForcePSTPath, as policy (`Software\\Policies\\Microsoft\\Office\\<ver>\\
    Outlook`) and preference (`Software\\Microsoft\\Office\\<ver>\\Outlook`): the folder new
    stores go to.
  - `Software\\Microsoft\\Office\\<ver>\\Outlook\\Search\\Catalog` and `…\\Outlook\\Search`: value
    names are the paths of stores Windows Search indexed, which outlive a removed profile.

Hives are parsed by dissect.regf (AGPL-3.0, part of the `images` extra): it reads lazily from a
file object, so a 100 MB SOFTWARE hive is neither copied nor loaded whole. Transaction logs
(.LOG1/.LOG2) are not replayed; a hive with pending log entries is reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from scanner.records import RegistryEvent, ScanError
from scanner.target.base import Target, join
from scanner.timeutil import FILETIME_EPOCH, as_utc

SOFTWARE_HIVE = ("windows", "system32", "config", "software")
USER_HIVE = "ntuser.dat"
PROFILE_LIST = "Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
SERVICE_SIDS = {"S-1-5-18", "S-1-5-19", "S-1-5-20"}
OFFICE = "Software\\Microsoft\\Office"
POLICIES = "Software\\Policies\\Microsoft\\Office"
MESSAGING_PROFILES = ("Software\\Microsoft\\Windows NT\\CurrentVersion\\"
                      "Windows Messaging Subsystem\\Profiles")
ACCOUNT_MANAGER = "9375cff0413111d3b88a00104b2a6676"
STORE_PATH_VALUES = ("001f6610", "001e6610", "001f6700", "001e6700")
FORCE_PATH_VALUES = ("ForceOSTPath", "ForcePSTPath")
SEARCH_KEYS = ("Search\\Catalog", "Search")
SMTP_VALUE, DISPLAY_NAME_VALUE = "001f6641", "001f3001"
STORE_PROVIDERS, SERVICE_UID = "01023d00", "01023d0c"
OFFICE_VERSION = re.compile(r"^\d+\.\d+$")
STORE_SUFFIXES = (".ost", ".pst")
SECTION_DEPTH = 2
SYSTEM_DRIVE = "C:"
INSTALL_HINT = "registry hives not read: install ostscan[images] (dissect.regf)"


class HasProfile(Protocol):
    user: str
    path: str


@dataclass(frozen=True)
class ProfileFolder:
    """A profile folder the SOFTWARE hive's ProfileList names."""

    user: str
    sid: str
    path: str                        # target path, e.g. C:/Users/bob
    source: str                      # ProfileList
    configured_path: str             # ProfileImagePath as written, e.g. %SystemDrive%\Users\bob
    last_written: dt.datetime | None  # of the <SID> key


class HiveError(OSError):
    """A hive that cannot be read; the message names the file and the reason."""


# ---------------------------------------------------------------- the public contract


def profile_folders(target: Target) -> list[ProfileFolder]:
    """Every user profile in ProfileList (service accounts left out). Unreadable or absent
    SOFTWARE hives give none: discovery still has the `Users` folders."""
    found: list[ProfileFolder] = []
    for volume in system_volumes(target):
        hive_path = resolve(target, volume, SOFTWARE_HIVE)
        if hive_path is None:
            continue
        try:
            with open_hive(target, hive_path) as hive:
                found += profiles_in_hive(target, hive)
        except (HiveError, ImportError):
            continue
    return found


def outlook_stores(
    target: Target, profiles: list[HasProfile]
) -> tuple[list[RegistryEvent], list[ScanError]]:
    """Outlook profiles, accounts, configured stores and forced store folders of every profile's
    NTUSER.DAT, as events with their key's last-write time. Paths are target paths."""
    events: list[RegistryEvent] = []
    errors: list[ScanError] = []
    hives = [(p, h) for p in profiles if (h := resolve(target, p.path, (USER_HIVE,)))]
    if hives and not regf_available():
        return events, [ScanError(h, "registry", INSTALL_HINT) for _, h in hives]
    for profile, hive_path in hives:
        try:
            with open_hive(target, hive_path) as hive:
                events += user_hive_events(target, hive, hive_path, profile)
                errors += hive.problems
        except HiveError as exc:
            errors.append(ScanError(hive_path, "registry", str(exc)))
    return events, errors


def computer_name(target: Target) -> str | None:
    """The ComputerName of the control set the SYSTEM hive's `Select\\Current` names."""
    if not regf_available():
        return None
    for volume in system_volumes(target):
        path = resolve(target, volume, ("windows", "system32", "config", "system"))
        if path is None:
            continue
        try:
            with open_hive(target, path) as hive:
                return _computer_name(hive)
        except HiveError:
            continue
    return None


def _computer_name(hive: OpenHive) -> str | None:
    select = hive.key("Select")
    current = values(select).get("current") if select is not None else None
    number = current[2] if current and isinstance(current[2], int) else 1
    key = hive.key(f"ControlSet{number:03d}\\Control\\ComputerName\\ComputerName")
    return text_value(values(key).get("computername")) if key is not None else None


# ---------------------------------------------------------------- reading hives via the target


def regf_available() -> bool:
    try:
        import dissect.regf  # noqa: F401
    except ImportError:
        return False
    return True


class OpenHive:
    """A parsed hive and the file object it reads from; a context manager."""

    def __init__(self, path: str, handle: BinaryIO, hive: Any) -> None:
        self.path = path
        self.handle = handle
        self.hive = hive
        self.problems: list[ScanError] = []
        if hive.header.Sequence1 != hive.header.Sequence2:
            self.problems.append(ScanError(path, "registry", (
                "hive has pending transaction-log entries (.LOG1/.LOG2 not replayed): "
                "the newest changes may be missing")))

    def __enter__(self) -> OpenHive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def key(self, path: str) -> Any | None:
        try:
            return self.hive.open(path)
        except Exception:  # dissect.regf: key not found, or a damaged cell on the way
            return None


def open_hive(target: Target, path: str) -> OpenHive:
    from dissect.regf import RegistryHive

    try:
        handle = target.open(path)
    except OSError as exc:
        raise HiveError(f"cannot open hive: {exc.strerror or exc}") from exc
    try:
        return OpenHive(path, handle, RegistryHive(handle))
    except Exception as exc:  # not a hive, truncated, damaged base block
        handle.close()
        raise HiveError(f"not a readable registry hive: {exc}") from exc


def subkeys(key: Any) -> list[Any]:
    try:
        return list(key.subkeys())
    except Exception:  # a damaged subkey list: what was read so far is lost, the rest goes on
        return []


def values(key: Any) -> dict[str, Any]:
    """Value name (lower case) → value; a damaged value is left out."""
    found = {}
    try:
        for value in key.values():
            try:
                found[value.name.lower()] = (value.name, value.type, value.value)
            except Exception:  # noqa: PERF203 - one bad value cell
                continue
    except Exception:
        pass
    return found


def key_time(key: Any) -> dt.datetime | None:
    try:
        when = as_utc(key.timestamp)
    except Exception:
        return None
    return None if when is None or when <= FILETIME_EPOCH else when


def text_value(raw: tuple[str, int, Any] | None) -> str | None:
    """A MAPI string property or a registry string: UTF-16 (001f…) or ANSI (001e…) binary,
    REG_SZ or REG_EXPAND_SZ; None when empty or not text."""
    if raw is None:
        return None
    name, _, value = raw
    if isinstance(value, bytes):
        ansi = name.lower().startswith("001e")
        text = value.decode("cp1252" if ansi else "utf-16-le", errors="replace")
        value = text.split("\0", 1)[0]
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip() or None if isinstance(value, str) else None


# ---------------------------------------------------------------- target paths


def resolve(target: Target, folder: str, names: tuple[str, ...]) -> str | None:
    """The target path of `folder/names…` matching each name ignoring case, or None."""
    for name in names:
        try:
            entries = target.list_dir(folder)
        except OSError:
            return None
        match = next((e.name for e in entries if e.name.lower() == name.lower()), None)
        if match is None:
            return None
        folder = join(folder, match)
    return folder


def system_volumes(target: Target) -> list[str]:
    """Volumes to look for a SOFTWARE hive on: the system drive first."""
    volumes = target.volumes()
    return sorted(volumes, key=lambda v: (v not in ("", SYSTEM_DRIVE), v))


def to_target_path(target: Target, windows_path: str) -> str:
    """`C:\\Users\\bob\\x.ost` → `C:/Users/bob/x.ost` on a target with drive letters, or
    `Users/bob/x.ost` on a one-tree target (taken as the system drive). Existing components are
    matched ignoring case; a drive the target lacks keeps its letter (the file is then missing).
    """
    text = windows_path.strip().strip('"').replace("\\", "/")
    if text.startswith("//"):
        return text
    drive, rest = (text[:2].upper(), text[2:]) if text[1:2] == ":" else (SYSTEM_DRIVE, text)
    volumes = target.volumes()
    if drive in volumes:
        root = drive
    elif drive == SYSTEM_DRIVE and "" in volumes:
        root = ""
    else:
        return f"{drive}{rest}"
    return matched_case(target, root, [p for p in rest.split("/") if p])


def matched_case(target: Target, root: str, parts: list[str]) -> str:
    path = root
    for index, part in enumerate(parts):
        found = resolve(target, path, (part,))
        if found is None:
            return "/".join([path, *parts[index:]]) if path else "/".join(parts[index:])
        path = found
    return path


def windows_form(target_path: str) -> str:
    """`C:/Users/bob` or `Users/bob` (system drive) → `C:\\Users\\bob`."""
    head = target_path.split("/", 1)[0]
    if len(head) == 2 and head[1] == ":":
        return target_path.replace("/", "\\")
    return f"{SYSTEM_DRIVE}\\" + target_path.replace("/", "\\")


def expand(text: str, variables: dict[str, str]) -> str:
    """Expand %VARIABLE% references known for this profile; unknown ones stay as written."""
    return re.sub(r"%([^%\\/]+)%", lambda m: variables.get(m.group(1).upper(), m.group(0)), text)


def profile_variables(profile: HasProfile | None) -> dict[str, str]:
    windows = f"{SYSTEM_DRIVE}\\Windows"
    variables = {"SYSTEMDRIVE": SYSTEM_DRIVE, "SYSTEMROOT": windows, "WINDIR": windows,
                 "PROGRAMDATA": f"{SYSTEM_DRIVE}\\ProgramData"}
    if profile is None:
        return variables
    home = windows_form(profile.path)
    legacy = "documents and settings" in home.lower()
    local = home + ("\\Local Settings\\Application Data" if legacy else "\\AppData\\Local")
    roaming = home + ("\\Application Data" if legacy else "\\AppData\\Roaming")
    variables.update({
        "USERPROFILE": home, "HOMEDRIVE": home[:2], "HOMEPATH": home[2:],
        "USERNAME": profile.user, "LOCALAPPDATA": local, "APPDATA": roaming,
        "TEMP": local + "\\Temp", "TMP": local + "\\Temp",
    })
    return variables


# ---------------------------------------------------------------- ProfileList


def profiles_in_hive(target: Target, hive: OpenHive) -> list[ProfileFolder]:
    root = hive.key(PROFILE_LIST)
    if root is None:
        return []
    found = []
    for key in subkeys(root):
        sid = key.name.removesuffix(".bak")
        configured = text_value(values(key).get("profileimagepath"))
        if sid in SERVICE_SIDS or not configured:
            continue
        path = to_target_path(target, expand(configured, profile_variables(None)))
        user = configured.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
        found.append(ProfileFolder(user, sid, path, "ProfileList", configured, key_time(key)))
    return found


# ---------------------------------------------------------------- NTUSER.DAT


@dataclass
class Context:
    """What every event of one user hive shares."""

    target: Target
    hive: OpenHive
    profile: HasProfile
    variables: dict[str, str]

    def event(self, key: Any, key_path: str, **fields: Any) -> RegistryEvent:
        return RegistryEvent(hive=self.hive.path, key=key_path, last_written=key_time(key),
                             profile_user=self.profile.user, **fields)

    def store_path(self, configured: str) -> str:
        return to_target_path(self.target, expand(configured, self.variables))


def user_hive_events(
    target: Target, hive: OpenHive, hive_path: str, profile: HasProfile
) -> list[RegistryEvent]:
    context = Context(target, hive, profile, profile_variables(profile))
    events = []
    for profiles_path in mapi_profile_roots(hive):
        for profile_key in subkeys(hive.key(profiles_path)):
            events += mapi_profile_events(context, profile_key, f"{profiles_path}\\"
                                          f"{profile_key.name}")
    for outlook_path in outlook_keys(hive):
        events += forced_folder_events(context, outlook_path)
        events += search_catalog_events(context, outlook_path)
    return events


def office_versions(hive: OpenHive, root: str) -> list[str]:
    office = hive.key(root)
    if office is None:
        return []
    return sorted(k.name for k in subkeys(office) if OFFICE_VERSION.match(k.name))


def mapi_profile_roots(hive: OpenHive) -> list[str]:
    roots = [f"{OFFICE}\\{v}\\Outlook\\Profiles" for v in office_versions(hive, OFFICE)]
    roots.append(MESSAGING_PROFILES)
    return [r for r in roots if hive.key(r) is not None]


def outlook_keys(hive: OpenHive) -> list[str]:
    keys = [f"{POLICIES}\\{v}\\Outlook" for v in office_versions(hive, POLICIES)]
    keys += [f"{OFFICE}\\{v}\\Outlook" for v in office_versions(hive, OFFICE)]
    return [k for k in keys if hive.key(k) is not None]


@dataclass(frozen=True)
class Account:
    key_path: str
    smtp: str | None
    display_name: str | None
    service: str | None              # the service section's key name, lower-case hex


def mapi_profile_events(context: Context, profile_key: Any, key_path: str) -> list[RegistryEvent]:
    """The profile key itself, each account key, and each configured store."""
    sections = {k.name.lower(): k for k in subkeys(profile_key)}
    accounts = read_accounts(sections, key_path)
    events = [context.event(profile_key, key_path)]
    for account, key in accounts:
        events.append(context.event(key, account.key_path, account=account.smtp,
                                    display_name=account.display_name))
    by_service = {a.service: a for a, _ in accounts if a.service}
    owners = store_owners(sections)
    for name, section, value_name, configured in store_values(sections):
        account = by_service.get(owners.get(name, name))
        events.append(context.event(
            section, f"{key_path}\\{section.name}", value_name=value_name,
            store_path=context.store_path(configured), configured_path=configured,
            account=account.smtp if account else None,
            display_name=account.display_name if account else None))
    return events


def read_accounts(sections: dict[str, Any], key_path: str) -> list[tuple[Account, Any]]:
    manager = sections.get(ACCOUNT_MANAGER)
    if manager is None:
        return []
    found = []
    for key in sorted(subkeys(manager), key=lambda k: k.name):
        fields = values(key)
        uid = fields.get("service uid")
        service = uid[2].hex() if uid and isinstance(uid[2], bytes) else None
        service_fields = values(sections[service]) if service in sections else {}
        found.append((account_of(fields, service_fields, f"{key_path}\\{manager.name}\\{key.name}",
                                 service), key))
    return found


def account_of(fields: dict[str, Any], service: dict[str, Any], key_path: str,
               service_name: str | None) -> Account:
    names = [text_value(fields.get("account name")), text_value(fields.get("email")),
             text_value(service.get(SMTP_VALUE)), text_value(fields.get(SMTP_VALUE))]
    smtp = next((n for n in names if n and "@" in n), None)
    display = (text_value(service.get(DISPLAY_NAME_VALUE))
               or text_value(fields.get("display name"))
               or next((n for n in names if n and n != smtp), None))
    return Account(key_path, smtp, display, service_name)


def store_owners(sections: dict[str, Any]) -> dict[str, str]:
    """Store section name → its service section name, from both directions of the link."""
    owners = {}
    for name, section in sections.items():
        fields = values(section)
        providers = fields.get(STORE_PROVIDERS)
        if providers and isinstance(providers[2], bytes):
            for start in range(0, len(providers[2]) - 15, 16):
                owners[providers[2][start:start + 16].hex()] = name
        back = fields.get(SERVICE_UID)
        if back and isinstance(back[2], bytes) and len(back[2]) == 16:
            owners.setdefault(name, back[2].hex())
    return owners


def store_values(sections: dict[str, Any]) -> Iterator[tuple[str, Any, str, str]]:
    """(section name, section key, value name, configured path) of every store path value."""
    for name, section in sorted(sections.items()):
        fields = values(section)
        for value_name in STORE_PATH_VALUES:
            configured = text_value(fields.get(value_name))
            if configured:
                yield name, section, fields[value_name][0], configured


def forced_folder_events(context: Context, outlook_path: str) -> list[RegistryEvent]:
    key = context.hive.key(outlook_path)
    fields = values(key)
    events = []
    for value_name in FORCE_PATH_VALUES:
        configured = text_value(fields.get(value_name.lower()))
        if configured:
            events.append(context.event(key, outlook_path, value_name=value_name,
                                        store_path=context.store_path(configured),
                                        configured_path=configured))
    return events


def search_catalog_events(context: Context, outlook_path: str) -> list[RegistryEvent]:
    """Stores Windows Search indexed: the value name is the store's path."""
    events, seen = [], set()
    for sub in SEARCH_KEYS:
        key = context.hive.key(f"{outlook_path}\\{sub}")
        if key is None:
            continue
        for name, _, _ in values(key).values():
            if name.lower().endswith(STORE_SUFFIXES) and name.lower() not in seen:
                seen.add(name.lower())
                events.append(context.event(key, f"{outlook_path}\\{sub}", value_name=name,
                                            store_path=context.store_path(name),
                                            configured_path=name))
    return events

