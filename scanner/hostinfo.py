"""Host context: what the live machine says about itself and its Outlook processes (psutil),
and the Outlook build installed in a target (from OUTLOOK.EXE's version resource)."""

from __future__ import annotations

import platform
import socket

import psutil

from scanner.discovery import find_paths
from scanner.peversion import file_version
from scanner.records import HostContext, OutlookProcess, ScanError
from scanner.target.base import Target, join
from scanner.timeutil import from_epoch

OUTLOOK_EXE = "outlook.exe"
PROGRAM_FOLDERS = ("program files", "program files (x86)")
OFFICE_ROOTS = (
    ("microsoft office", "root", "office16"),
    ("microsoft office", "root", "office15"),
    ("microsoft office", "office16"),
    ("microsoft office", "office15"),
    ("microsoft office", "office14"),
)


def live_host(errors: list[ScanError]) -> HostContext:
    """The machine this runs on, with every OUTLOOK.EXE process."""
    processes = outlook_processes(errors)
    versions = sorted({p.version for p in processes if p.version})
    return HostContext(
        name=socket.gethostname(),
        os=platform.platform(),
        boot_time=from_epoch(psutil.boot_time()),
        addresses=local_addresses(),
        outlook_processes=processes,
        outlook_versions=versions,
    )


def local_addresses() -> list[str]:
    found = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                text = address.address.split("%", 1)[0]
                if text not in ("127.0.0.1", "::1"):
                    found.add(text)
    return sorted(found)


def outlook_processes(errors: list[ScanError]) -> list[OutlookProcess]:
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if (proc.info.get("name") or "").lower() != OUTLOOK_EXE:
            continue
        try:
            found.append(describe_process(proc))
        except (psutil.Error, OSError) as exc:
            reason = f"cannot inspect OUTLOOK.EXE: {exc}"
            errors.append(ScanError(f"pid {proc.pid}", "host", reason))
    return found


def describe_process(proc: psutil.Process) -> OutlookProcess:
    with proc.oneshot():
        executable = _quiet(proc.exe)
        return OutlookProcess(
            pid=proc.pid,
            user=_quiet(proc.username),
            started=from_epoch(_quiet(proc.create_time)),
            executable=executable,
            version=executable_version(executable),
            open_stores=open_stores(proc),
            remote_endpoints=remote_endpoints(proc),
        )


def open_stores(proc: psutil.Process) -> list[str]:
    files = _quiet(proc.open_files) or []
    return sorted({f.path for f in files if f.path.lower().endswith((".ost", ".pst"))})


def remote_endpoints(proc: psutil.Process) -> list[str]:
    getter = getattr(proc, "net_connections", None) or proc.connections
    connections = _quiet(getter) or []
    return sorted({f"{c.raddr.ip}:{c.raddr.port}" for c in connections if c.raddr})


def executable_version(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return file_version(handle)
    except OSError:
        return None


def _quiet(call):  # noqa: ANN001, ANN202 - psutil getters of several types
    try:
        return call()
    except (psutil.Error, OSError):
        return None


def installed_outlook_versions(target: Target) -> list[str]:
    """Versions of every OUTLOOK.EXE in the usual Office folders of the target's volumes."""
    versions = set()
    for volume in target.volumes():
        for program in PROGRAM_FOLDERS:
            for names in OFFICE_ROOTS:
                for folder in find_paths(target, volume, (program, *names)):
                    versions.add(_exe_version(target, folder))
    versions.discard(None)
    return sorted(versions)


def _exe_version(target: Target, folder: str) -> str | None:
    for entry in target.list_dir(folder):
        if entry.name.lower() == OUTLOOK_EXE and entry.is_file:
            try:
                with target.open(join(folder, entry.name)) as handle:
                    return file_version(handle)
            except OSError:
                return None
    return None


def holders(host: HostContext | None, host_path: str | None) -> list[int]:
    """Pids of OUTLOOK.EXE processes that hold this file open."""
    if host is None or host_path is None:
        return []
    wanted = host_path.lower()
    return [p.pid for p in host.outlook_processes if wanted in (s.lower() for s in p.open_stores)]
