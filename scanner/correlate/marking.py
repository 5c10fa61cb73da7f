"""What the responder knows to be malicious: sessions, addresses, a mailbox, a time window."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from scanner.correlate.auditside import SessionView
from scanner.timeutil import iso

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Marks:
    """Session ids or client addresses pick sessions; mailbox and time window narrow them.

    With only a mailbox and/or a window given, every session of that mailbox in the window is
    marked.
    """

    session_ids: set[str] = field(default_factory=set)
    networks: list[Network] = field(default_factory=list)
    mailboxes: set[str] = field(default_factory=set)
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.session_ids or self.networks or self.mailboxes or self.since
                    or self.until)

    def reasons(self, view: SessionView) -> list[str]:
        """Why this session is marked; empty when it is not."""
        if not self.any or not self._narrowed_in(view):
            return []
        reasons = []
        if view.key.lower() in self.session_ids:
            reasons.append(f"session {view.key}")
        reasons += [f"ip {ip} in {net}" for ip in sorted(view.client_ips)
                    for net in self.networks if _in(ip, net)]
        if self.session_ids or self.networks:
            return reasons
        return [self._window_reason()]

    def _narrowed_in(self, view: SessionView) -> bool:
        upn = (view.session.mailbox_upn or "").lower()
        if self.mailboxes and upn not in self.mailboxes:
            return False
        if self.since and view.session.last < self.since:
            return False
        return not (self.until and view.session.first > self.until)

    def _window_reason(self) -> str:
        parts = []
        if self.mailboxes:
            parts.append("mailbox " + ", ".join(sorted(self.mailboxes)))
        if self.since or self.until:
            parts.append(f"window {iso(self.since) or '…'} to {iso(self.until) or '…'}")
        return "; ".join(parts)


def _in(ip: str, network: Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False


def build_marks(
    sessions: Iterable[str] = (),
    ips: Iterable[str] = (),
    mailboxes: Iterable[str] = (),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Marks:
    """From command-line values; a bad address raises ValueError naming it."""
    networks = []
    for text in ips:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"--ip {text!r}: not an IP address or CIDR range") from exc
    return Marks({s.strip().lower() for s in sessions}, networks,
                 {m.strip().lower() for m in mailboxes}, since, until)
