"""The host scan: find every Outlook data file in a target and describe it in one report."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from scanner import TOOL_NAME, __version__, discovery
from scanner.audit.sources import looks_binary, sniff_encoding
from scanner.console import Console
from scanner.hostinfo import holders, installed_outlook_versions, live_host
from scanner.records import (
    SCAN_DOCUMENT,
    STATUS_DAMAGED,
    STATUS_EMPTY,
    STATUS_LOCKED,
    STATUS_MISSING,
    STATUS_NOT_PFF,
    STATUS_OK,
    STATUS_TIMEOUT,
    STATUS_UNREADABLE,
    HostContext,
    RegistryEvent,
    ScanError,
    ScanReport,
    StoreFile,
    TargetInfo,
)
from scanner.target.base import Target
from scanner.target.open import open_target
from scanner.timeutil import now_utc
from scanner.worker import ParseJob, parse_inline, parse_isolated

HEADER_BYTES = 4096
HASH_CHUNK = 1 << 20
SHARING_VIOLATIONS = (32, 33)  # Windows: ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
ARGUMENT = "argument"          # found_by of a file given to scan by itself
DRIVE_NAME = re.compile(r"[a-z](?::|%3a|\$)?", re.I)   # C, C:, C%3A (Velociraptor), C$


@dataclass
class ScanOptions:
    deep: bool = False
    hash: bool = True
    hash_max_bytes: int | None = None
    items: bool = False
    owner_sample: int = 50
    timeout: float = 300.0
    isolate: bool = True
    host_name: str | None = None
    egress_ip: str | None = None


def scan_path(path: str | None, options: ScanOptions, console: Console | None = None) -> ScanReport:
    """Scan the live host (None), a folder, or a single file."""
    target = open_target(path)
    try:
        return scan_target(target, options, console or Console(quiet=True))
    finally:
        target.close()


def scan_target(target: Target, options: ScanOptions, console: Console) -> ScanReport:
    report = new_report(target, options)
    report.host = host_context(target, options, report.errors)
    if report.host.name is None and not target.is_live():
        _warn_unnamed(target, console)

    candidates, configured = find_candidates(target, options, report.errors)
    report.registry = configured
    report.files.extend(missing_stores(target, configured))
    for number, candidate in enumerate(candidates, 1):
        console.progress(f"[{number}/{len(candidates)}] {candidate.path}")
        store = describe_store(target, candidate, options, report.errors)
        store.open_by_pids = holders(report.host, target.local_path(candidate.path))
        report.files.append(store)

    report.finished = now_utc()
    return report


def host_trees(target: Target) -> list[str]:
    """Volumes of a folder named like hosts, not drives: a folder of host trees, which one
    report names as one host."""
    if target.kind != "folder":
        return []
    names = [v for v in target.volumes() if v and not DRIVE_NAME.fullmatch(v)]
    return names if len(names) > 1 else []


def _warn_unnamed(target: Target, console: Console) -> None:
    """No host name found: correlate names the host after the target path, and a folder of
    host trees becomes one host."""
    names = host_trees(target)
    if names:
        first = target.local_path(names[0]) or os.path.join(target.spec.path, names[0])
        console.warn(f"{target.spec.path}: {len(names)} trees named like hosts "
                     f"({', '.join(names[:5])}{', …' if len(names) > 5 else ''}) are read as "
                     "the drives of one unnamed host; for correlate to tell them apart, scan "
                     f"each on its own (ostscan scan {first} --host-name {names[0]} "
                     f"-o {names[0]}.json)")
        return
    console.warn(f"{target.spec.path}: no host name found (no SYSTEM hive); correlate will "
                 f"call this host 'unnamed ({_absolute(target.spec.path)})': give --host-name")


def new_report(target: Target, options: ScanOptions) -> ScanReport:
    return ScanReport(
        started=now_utc(),
        finished=None,
        target=TargetInfo(target.kind, _absolute(target.spec.path), target.description),
        host=None,
        options=asdict(options),
        tool={"name": TOOL_NAME, "version": __version__},
        scan_id=str(uuid.uuid4()),
    )


def _absolute(path: str) -> str:
    """The target as a whole path: the same tree given from two folders is one target."""
    return os.path.abspath(path) if path else path


def host_context(target: Target, options: ScanOptions, errors: list[ScanError]) -> HostContext:
    if target.is_live():
        host = live_host(errors)
    else:
        host = HostContext(name=target_host_name(target), os=None, boot_time=None)
        host.outlook_versions = installed_outlook_versions(target)
    if options.host_name:
        host.name = options.host_name
    host.egress_ip = options.egress_ip
    return host


def target_host_name(target: Target) -> str | None:
    """What the target says it is called: dissect's view, else the SYSTEM hive."""
    name = target.host_name()
    if name:
        return name
    try:
        from scanner import registry
    except ImportError:
        return None
    return registry.computer_name(target)


def find_candidates(
    target: Target, options: ScanOptions, errors: list[ScanError]
) -> tuple[list[discovery.Candidate], list[RegistryEvent]]:
    if getattr(target, "single_file", None):
        name = target.single_file  # type: ignore[attr-defined]
        return [discovery.Candidate(name, None, ARGUMENT)], []
    profiles = discovery.profiles_in_users_folders(target, errors)
    configured = registry_stores(target, profiles, errors)
    found = list(discovery.default_candidates(target, profiles, errors))
    found += registry_candidates(target, configured)
    if options.deep or target.loose:
        found += discovery.deep_candidates(target, profiles, errors)
    else:
        discovery.note_not_searched(target, errors)
    return discovery.unique(iter(found)), configured


def registry_stores(
    target: Target, profiles: list[discovery.Profile], errors: list[ScanError]
) -> list[RegistryEvent]:
    """Stores the users' registry hives configure (when the registry reader is present)."""
    try:
        from scanner import registry
    except ImportError:
        return []
    for folder in registry.profile_folders(target):
        if all(p.path.lower() != folder.path.lower() for p in profiles):
            profiles.append(discovery.Profile(folder.user, folder.path, "ProfileList"))
    events, problems = registry.outlook_stores(target, profiles)
    errors.extend(problems)
    return events


def registry_candidates(
    target: Target, configured: list[RegistryEvent]
) -> list[discovery.Candidate]:
    return [discovery.Candidate(e.store_path, e.profile_user, registry_origin(e), e.value_name)
            for e in configured if is_present_file(target, e)]


def registry_origin(event: RegistryEvent) -> str:
    return f"registry: {event.key}\\{event.value_name}"


def is_present_file(target: Target, event: RegistryEvent) -> bool:
    if not event.store_path or not discovery.is_store_name(event.store_path):
        return False
    try:
        target.stat(event.store_path)
    except OSError:
        return False
    return True


def missing_stores(target: Target, configured: list[RegistryEvent]) -> list[StoreFile]:
    """Stores the registry names that are not on disk: deleted copies matter to a responder."""
    missing = []
    for event in configured:
        if event.store_path and discovery.is_store_name(event.store_path):
            if not is_present_file(target, event):
                missing.append(StoreFile(
                    path=event.store_path, profile_user=event.profile_user,
                    found_by=registry_origin(event),
                    status=STATUS_MISSING, reason="configured in the registry, not on disk",
                    registry_value=event.value_name))
    return missing


def describe_store(
    target: Target, candidate: discovery.Candidate, options: ScanOptions, errors: list[ScanError]
) -> StoreFile:
    store = StoreFile(candidate.path, candidate.profile_user, candidate.found_by,
                      registry_value=candidate.registry_value)
    if not add_file_facts(target, store, errors):
        return store
    if not add_header_facts(target, store):
        return store
    add_hash(target, store, options, errors)
    add_store_facts(target, store, options, errors)
    return store


def add_file_facts(target: Target, store: StoreFile, errors: list[ScanError]) -> bool:
    try:
        facts = target.stat(store.path)
    except OSError as exc:
        return fail(store, errors, "stat", exc)
    store.size = facts.size
    store.created, store.modified = facts.created, facts.modified
    store.accessed, store.changed = facts.accessed, facts.changed
    if facts.size == 0:
        store.status, store.reason = STATUS_EMPTY, "empty file (0 bytes)"
        return False
    return True


def add_header_facts(target: Target, store: StoreFile) -> bool:
    from scanner.pff.header import read_header

    try:
        with target.open(store.path) as handle:
            head = handle.read(HEADER_BYTES)
            store.read_through = getattr(handle, "read_through", None)
    except OSError as exc:
        return fail(store, [], "open", exc)
    except Exception as exc:  # noqa: BLE001 - zipfile and dissect raise their own errors
        store.status = STATUS_DAMAGED
        store.reason = f"cannot be read from its container: {exc}"
        return False
    header = read_header(head)
    store.kind, store.format_version = header.kind, header.format_version
    store.variant, store.encryption = header.variant, header.encryption
    store.header_crc_ok = header.header_crc_ok
    if not header.signature_ok:
        hint = other_tool_hint(head) if store.found_by == ARGUMENT else ""
        store.status, store.reason = STATUS_NOT_PFF, (header.problem or "") + hint
        return False
    if header.file_eof and store.size is not None and store.size < header.file_eof:
        store.status = STATUS_DAMAGED
        store.reason = f"truncated: {store.size} bytes of {header.file_eof}"
    elif header.problem:
        store.status, store.reason = STATUS_DAMAGED, header.problem
    return True


def other_tool_hint(head: bytes) -> str:
    """Which command a text file given to scan was meant for, from its first bytes."""
    text = head_text(head).lstrip()
    report = SCAN_DOCUMENT in text or ('"schema_version"' in text and '"target"' in text)
    if text.startswith("{") and report:
        return " (this looks like a scan report: use `ostscan collect` or " \
            "`ostscan correlate --report`)"
    if text.startswith(("{", "[")) or is_csv_header(text.partition("\n")[0]):
        return " (this looks like an audit export: use `ostscan audit`)"
    return ""


def head_text(head: bytes) -> str:
    """The first bytes as text, in the encoding the audit reader would find (UTF-8, UTF-16 with
    a BOM or zero bytes between ASCII); empty when they look binary."""
    encoding = sniff_encoding(head)
    if looks_binary(head, encoding):
        return ""
    return head.decode(encoding, errors="replace").lstrip("\ufeff")


def is_csv_header(line: str) -> bool:
    names = [n.strip().strip('"') for n in line.rstrip("\r").split(",")]
    return len(names) >= 2 and all(n and n.isprintable() for n in names)


def add_hash(
    target: Target, store: StoreFile, options: ScanOptions, errors: list[ScanError]
) -> None:
    if not options.hash:
        store.hash_note = "skipped (--no-hash)"
        return
    if options.hash_max_bytes is not None and (store.size or 0) > options.hash_max_bytes:
        store.hash_note = f"skipped: {store.size} bytes is over --hash-max-bytes"
        return
    digest = hashlib.sha256()
    try:
        with target.open(store.path) as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except Exception as exc:  # noqa: BLE001 - zipfile and dissect raise their own errors
        store.hash_note = f"error: {exc}"       # (a bad CRC in a zip member): damage, said
        errors.append(ScanError(store.path, "hash", str(exc)))
        return
    store.sha256 = digest.hexdigest()


def add_store_facts(
    target: Target, store: StoreFile, options: ScanOptions, errors: list[ScanError]
) -> None:
    job = ParseJob(target.spec, store.path, store.path.rsplit("/", 1)[-1],
                   options.items, options.owner_sample)
    outcome = (parse_isolated(target, job, options.timeout) if options.isolate
               else parse_inline(target, job))
    if outcome.failure:
        opened = not outcome.failure.startswith("cannot open")
        store.status = STATUS_TIMEOUT if opened else STATUS_UNREADABLE
        store.reason = outcome.failure
        errors.append(ScanError(store.path, "parse", outcome.failure))
        return
    merge_reading(store, outcome.reading)


def merge_reading(store: StoreFile, reading: Any) -> None:
    """Take the parser's findings; its reason includes any header problem seen before."""
    store.store = reading.store
    store.owner_clues, store.folders = reading.owner_clues, reading.folders
    if reading.status == STATUS_OK:
        return
    if store.status == STATUS_OK:
        store.status = reading.status
    store.reason = reading.reason or store.reason


def fail(store: StoreFile, errors: list[ScanError], stage: str, exc: OSError) -> bool:
    locked = getattr(exc, "winerror", None) in SHARING_VIOLATIONS
    denied = isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM)
    store.status = STATUS_LOCKED if locked else STATUS_UNREADABLE
    store.reason = f"{'locked by another process' if locked else 'cannot read'}: " \
        f"{exc.strerror or exc}" + (" (permission denied)" if denied and not locked else "")
    errors.append(ScanError(store.path, stage, store.reason))
    return False
