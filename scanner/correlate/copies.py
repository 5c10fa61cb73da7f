"""The OST side of the join: each OST in a scan report, reduced to what correlation compares."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from scanner.entryid import counter_text
from scanner.records import (
    STATUS_EMPTY,
    STATUS_MISSING,
    STATUS_NOT_PFF,
    FolderRecord,
    HostContext,
    ScanReport,
    SpecialFolderId,
    StoreFile,
)

FolderKey = tuple[str, int]
_SMTP = re.compile(r"^[^@\s/\\]+@[^@\s/\\]+\.[^@\s/\\]+$")


@dataclass
class OstCopy:
    """One OST file on one host: its mailbox ids, folder ids, times and host context."""

    copy_id: str
    report_id: str
    host: str
    path: str
    sha256: str | None
    status: str
    provider_uid: str | None
    database_guids: set[str]
    root_created: dt.datetime | None
    file_birth: dt.datetime | None
    last_write: dt.datetime | None
    owners: set[str]
    folders: dict[FolderKey, FolderRecord]
    outlook_versions: set[str]
    egress_ips: set[str]
    outlook_open: bool | None
    scan_started: dt.datetime | None
    scan_finished: dt.datetime | None
    message_ids: dict[FolderKey, list[str]] = field(default_factory=dict)
    local_folders: dict[str, FolderRecord] = field(default_factory=dict)  # by lower-case name
    owners_by_name_only: bool = False    # no owner clue read from the contents, only names
    _labels: dict[FolderKey, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_identity(self) -> bool:
        return bool(self.database_guids) or self.provider_uid is not None

    def folder_label(self, key: FolderKey) -> str:
        """`path (database_guid:0xGC)`, as evidence lists the folders a session synced."""
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = f"{self.folders[key].path} ({folder_key_text(key)})"
        return label


def folder_key_text(key: FolderKey) -> str:
    return f"{key[0]}:{counter_text(key[1])}"


def parse_folder_key(text: str) -> FolderKey | None:
    guid, _, counter = text.rpartition(":")
    try:
        return (guid.lower(), int(counter, 16)) if guid else None
    except ValueError:
        return None


def host_name(report: ScanReport) -> str:
    """The host's name; else its target path, so that two unnamed targets stay two hosts."""
    if report.host is not None and report.host.name:
        return report.host.name
    path = report.target.path.rstrip("/\\")
    if path:
        return f"unnamed ({path})"
    return report.target.description or report.target.path


NOT_COPIES = (STATUS_NOT_PFF, STATUS_EMPTY, STATUS_MISSING)


def copies_from_report(
    report: ScanReport, report_id: str, egress: dict[str, str] | None = None
) -> Iterator[OstCopy]:
    """Every OST of a report, and every file that may be one but could not be read (locked,
    damaged). PSTs are not Sync copies; files that are not Outlook stores at all (no PFF
    signature, empty) and configured stores that are gone are left out too."""
    host = host_name(report)
    versions = _outlook_versions(report.host)
    egress_ips = _egress(report.host, host, egress or {})
    for index, store in enumerate(report.files):
        if store.kind == "pst" or store.status in NOT_COPIES:
            continue
        yield _copy(report, report_id, index, store, host, versions, egress_ips)


def unreadable_osts(report: ScanReport) -> Iterator[str]:
    """Files named as OSTs that are no store at all (empty, no PFF signature): no copy to pair,
    but one that may have been (a locked OST that a collection copied as 0 bytes)."""
    host = host_name(report)
    for store in report.files:
        if store.status in (STATUS_EMPTY, STATUS_NOT_PFF) and store.path.lower().endswith(".ost"):
            yield f"{host}: {store.path} ({store.status})"


def _copy(
    report: ScanReport, report_id: str, index: int, store: StoreFile, host: str,
    versions: set[str], egress_ips: set[str],
) -> OstCopy:
    identity = store.store
    folders = _server_folders(store)
    return OstCopy(
        copy_id=f"{report_id}:{index}",
        report_id=report_id,
        host=host,
        path=store.path,
        sha256=store.sha256,
        status=store.status,
        provider_uid=_lower(identity.provider_uid) if identity else None,
        database_guids=_database_guids(store, folders),
        root_created=identity.root_created if identity else None,
        file_birth=store.created,
        last_write=store.modified,
        owners=_owners(store),
        folders=folders,
        outlook_versions=versions,
        egress_ips=egress_ips,
        outlook_open=_outlook_open(report, store),
        scan_started=report.started,
        scan_finished=report.finished,
        message_ids={k: f.message_ids for k, f in folders.items() if f.message_ids},
        local_folders=_local_mail_folders(store),
        owners_by_name_only=all(c.source == "file_name" for c in store.owner_clues),
    )


def _local_mail_folders(store: StoreFile) -> dict[str, FolderRecord]:
    """Mailbox folders the OST numbers locally (Inbox, Sent Items, … in real OSTs): their server
    id is not in the file, so a synced folder can only be found again by its name."""
    found: dict[str, FolderRecord] = {}
    for folder in store.folders:
        if folder.id_scope == "local" and "/IPM_SUBTREE/" in folder.path:
            found.setdefault(folder.name.lower(), folder)
    return found


def _lower(text: str | None) -> str | None:
    return text.lower() if text else None


def _server_folders(store: StoreFile) -> dict[FolderKey, FolderRecord]:
    """Folders whose id the server assigned: these are the ids a Sync record names."""
    fallback = store.store.database_guid if store.store else None
    folders: dict[FolderKey, FolderRecord] = {}
    for folder in store.folders:
        if folder.global_counter is None or folder.id_scope == "local":
            continue
        if folder.id_scope is None and folder.replica_id not in (None, 1):
            continue
        guid = folder.database_guid or fallback
        if guid:
            folders[(guid.lower(), folder.global_counter)] = folder
    for special in store.store.special_folders if store.store else []:
        if special.database_guid and special.global_counter is not None:
            key = (special.database_guid.lower(), special.global_counter)
            folders.setdefault(key, _special_folder(special))
    return folders


def _special_folder(special: SpecialFolderId) -> FolderRecord:
    """A server folder id the store names (e.g. 0x36D0 Calendar) for a folder whose own id is
    local: the OST holds that folder, but its item count is not tied to it here."""
    name = special.name if special.name != "unknown" else special.tag
    return FolderRecord(path=f"[{name}]", name=name, local_id=0,
                        global_counter=special.global_counter, id_scope="server",
                        database_guid=special.database_guid)


def _database_guids(store: StoreFile, folders: dict[FolderKey, FolderRecord]) -> set[str]:
    guids = {guid for guid, _ in folders}
    if store.store and store.store.database_guid:
        guids.add(store.store.database_guid.lower())
    for special in store.store.special_folders if store.store else []:
        if special.database_guid:
            guids.add(special.database_guid.lower())
    return guids


def _owners(store: StoreFile) -> set[str]:
    owners = {c.value.strip().lower() for c in store.owner_clues if c.kind == "smtp"}
    name = re.split(r"[/\\]", store.path)[-1]
    stem = name[:-4] if name.lower().endswith(".ost") else name
    if _SMTP.match(stem):
        owners.add(stem.lower())
    return owners


def _outlook_versions(host: HostContext | None) -> set[str]:
    if host is None:
        return set()
    versions = {version_build(v) for v in host.outlook_versions if v}
    versions.update(version_build(p.version) for p in host.outlook_processes if p.version)
    return versions


def version_build(version: str) -> str:
    """Major.minor.build.revision, the form both OUTLOOK.EXE and ClientVersion give."""
    return ".".join(version.strip().split(".")[:4])


def _egress(host: HostContext | None, name: str, egress: dict[str, str]) -> set[str]:
    given = egress.get(name.lower())
    if given:
        return {normal_ip(given)}
    if host is not None and host.egress_ip:
        return {normal_ip(host.egress_ip)}
    return set()


def _outlook_open(report: ScanReport, store: StoreFile) -> bool | None:
    """True when OUTLOOK.EXE held the file; None when the scan could not see processes."""
    if store.open_by_pids:
        return True
    host = report.host
    if host is None or (report.target.kind != "live" and not host.outlook_processes):
        return None
    wanted = _norm_path(store.path)
    return any(wanted == _norm_path(p) for o in host.outlook_processes for p in o.open_stores)


def _norm_path(path: str) -> str:
    return path.replace("\\", "/").lower()


@functools.lru_cache(maxsize=65536)
def normal_ip(text: str) -> str:
    """One text form per address, so that audit and host values compare equal."""
    text = text.strip().strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


# Addresses a host has inside a network, never the public one the audit log sees.
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "0.0.0.0/8", "::1/128", "fc00::/7", "fe80::/10"))


def local_address(address: str) -> bool:
    found = ipaddress.ip_address(address)
    return any(found in network for network in LOCAL_NETWORKS if network.version == found.version)


def drop_local(egress: dict[str, str], source: str, problems: list[str]) -> dict[str, str]:
    """Egress addresses that are a network's own (private, loopback, link-local) are left out
    and said: the audit log sees a host's public address, so they could only mislead."""
    for host, address in list(egress.items()):
        if local_address(address):
            problems.append(f"{source}: {host} = {address} is a private or local address, not "
                            "the public one the audit log sees; not used")
            del egress[host]
    return egress


def parse_egress(pairs: Iterable[str]) -> dict[str, str]:
    """`HOST=IP` pairs, host names matched case-insensitively; one host given two addresses is
    refused (which of them the audit log should be held against cannot be told)."""
    egress: dict[str, str] = {}
    for pair in pairs:
        host, sep, address = pair.partition("=")
        if not sep or not host.strip() or not address.strip():
            raise ValueError(f"--egress {pair!r}: expected HOST=IP")
        try:
            ipaddress.ip_address(normal_ip(address))
        except ValueError:
            raise ValueError(f"--egress {pair!r}: {address.strip()!r} is not an IP address") \
                from None
        known = egress.setdefault(host.strip().lower(), normal_ip(address))
        if known != normal_ip(address):
            raise ValueError(f"--egress {host.strip()}: given twice, {known} and "
                             f"{normal_ip(address)}")
    return egress


EGRESS_HOST_COLUMNS = ("host", "hostname", "host.name", "name", "fqdn", "client")
EGRESS_IP_COLUMNS = ("ip", "egress_ip", "public_ip", "publicip", "last_ip", "lastip",
                     "ip_address", "address")


def read_egress_csv(path: str, problems: list[str]) -> dict[str, str]:
    """A CSV of host and public IP (Velociraptor's client list has Hostname and LastIP...), in
    UTF-8 or UTF-16 with a BOM. A row without a host or an address, or whose address is not an
    IP, is left out, and so is a host given two addresses; each is said in `problems`."""
    with open(path, "rb") as handle:
        text = _egress_text(path, handle.read())
    rows = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip().lower(): c for c in rows.fieldnames or []}
    host_col = next((columns[c] for c in EGRESS_HOST_COLUMNS if c in columns), None)
    ip_col = next((columns[c] for c in EGRESS_IP_COLUMNS if c in columns), None)
    if host_col is None or ip_col is None:
        raise ValueError(f"{path}: needs a host column and an IP column, found {sorted(columns)}")
    found: dict[str, set[str]] = {}
    for row in rows:
        where = f"{path}:{rows.line_num}"
        host, address = (row.get(host_col) or "").strip(), (row.get(ip_col) or "").strip()
        if not host or not address:
            problems.append(f"{where}: no {'host' if not host else 'address'}; row left out")
            continue
        address = normal_ip(_strip_port(address))
        try:
            ipaddress.ip_address(address)
        except ValueError:
            problems.append(f"{where}: {row[ip_col].strip()!r} is not an IP address; host "
                            f"{host} has no egress address")
            continue
        found.setdefault(host.lower(), set()).add(address)
    return _one_address_each(path, found, problems)


def _egress_text(path: str, data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 or UTF-16 text file (a CSV of host and IP)") \
            from None


def _one_address_each(path: str, found: dict[str, set[str]],
                      problems: list[str]) -> dict[str, str]:
    egress = {}
    for host, addresses in found.items():
        if len(addresses) > 1:
            problems.append(f"{path}: host {host} has {len(addresses)} addresses "
                            f"({', '.join(sorted(addresses))}); none is used")
            continue
        egress[host] = next(iter(addresses))
    return egress


def _strip_port(text: str) -> str:
    """Velociraptor's LastIP reads `203.0.113.5:51234`; keep the address."""
    text = text.strip()
    if text.startswith("["):
        return text[1:].split("]")[0]
    if text.count(":") == 1:
        return text.split(":")[0]
    return text
