"""Host context on this (Linux) machine: the live part that psutil gives everywhere."""

from __future__ import annotations

import socket

from scanner.hostinfo import holders, live_host
from scanner.records import HostContext, OutlookProcess, ScanError


def test_live_host_names_this_machine() -> None:
    errors: list[ScanError] = []

    host = live_host(errors)

    assert host.name == socket.gethostname()
    assert host.boot_time is not None and host.boot_time.tzinfo is not None
    assert host.outlook_processes == []
    assert "127.0.0.1" not in host.addresses


def test_holders_match_open_stores_ignoring_case() -> None:
    process = OutlookProcess(pid=4242, user="CORP\\jdoe", started=None, executable=None,
                             version="16.0.17928.20114",
                             open_stores=[r"C:\Users\jdoe\AppData\Local\Microsoft\Outlook\a.ost"])
    host = HostContext(name="PC1", os=None, boot_time=None, outlook_processes=[process])

    assert holders(host, r"c:\users\JDOE\AppData\Local\Microsoft\Outlook\A.OST") == [4242]
    assert holders(host, r"C:\other.ost") == []
    assert holders(None, r"C:\other.ost") == []
