"""Correlation at fleet scale: 10,000 host reports against 1,000,000 Sync events.

Generated inputs (scanner.correlate.synthetic): 5,000 mailboxes with 20 server folders each;
1,000,000 Sync events in 50,000 sessions of 20 folder syncs; 10,000 hosts, of which 9,000 hold
an OST of an audited mailbox, 500 an OST of a mailbox the audit log never names, and 500 none.
The one session from 198.51.0.7 is marked malicious.

Printed: time of each step, peak memory (max RSS), and the baseline measured in the same run:
the naive all-pairs loop (every copy against every session, identity check only) on a subset of
copies, extrapolated to the fleet, as a ratio to the indexed join.

    python bench/bench_correlate.py [--hosts 10000] [--events 1000000] [--baseline-copies 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from scanner.audit.sessions import build_sessions
from scanner.correlate.auditside import AuditSide, build_audit_side
from scanner.correlate.copies import copies_from_report
from scanner.correlate.engine import correlate
from scanner.correlate.evidence import check_database_guid, party_of
from scanner.correlate.marking import build_marks
from scanner.correlate.outputs import write_result
from scanner.correlate.rules import default_rules_dir, load_rules
from scanner.correlate.synthetic import (
    FLEET_START,
    Mailbox,
    fleet_events,
    fleet_mailboxes,
    fleet_report,
)
from scanner.records import ScanReport

MARKED_IP = "198.51.0.7"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = step()
    seconds = time.perf_counter() - start
    print(f"{label:<34} {seconds:8.2f} s   peak {peak_mib():7.0f} MiB", flush=True)
    return value, seconds


def make_reports(hosts: int, mailboxes: list[Mailbox]) -> list[tuple[str, ScanReport]]:
    unaudited = fleet_mailboxes(hosts // 20 + 1, seed=99)
    reports = []
    for host in range(hosts):
        slot = host % 20
        if slot == 18:
            mailbox: Mailbox | None = unaudited[host // 20]
        elif slot == 19:
            mailbox = None
        else:
            mailbox = mailboxes[host % len(mailboxes)]
        created = FLEET_START - dt.timedelta(days=30) + dt.timedelta(hours=host % 2000)
        reports.append((f"r{host:05d}", fleet_report(host, mailbox, created)))
    return reports


def naive_pairs_per_second(reports: list[tuple[str, ScanReport]], audit: AuditSide,
                           copies_wanted: int) -> tuple[float, int]:
    """Every copy of a subset against every session: the cross product this design avoids."""
    copies = [c for rid, r in reports[:copies_wanted * 2] for c in copies_from_report(r, rid)]
    copies = copies[:copies_wanted]
    parties = [party_of(view) for view in audit.sessions]
    start = time.perf_counter()
    pairs = 0
    for copy in copies:
        for party in parties:
            check_database_guid(copy, party)
            pairs += 1
    return pairs / (time.perf_counter() - start), len(copies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--mailboxes", type=int, default=5_000)
    parser.add_argument("--baseline-copies", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.hosts:,} host reports x {args.events:,} Sync events, "
          f"{args.mailboxes:,} mailboxes")

    mailboxes = fleet_mailboxes(args.mailboxes)
    reports, _ = timed("generate host reports", lambda: make_reports(args.hosts, mailboxes))
    events, _ = timed("generate Sync events", lambda: list(fleet_events(mailboxes, args.events)))
    sessions, t_sessions = timed("build sessions (audit reader)", lambda: build_sessions(events))
    events.clear()
    audit, t_index = timed("index sessions by DatabaseGuid", lambda: build_audit_side(sessions))
    rules = load_rules([default_rules_dir()])
    marks = build_marks(ips=[MARKED_IP])
    result, t_join = timed("correlate (indexed join)",
                           lambda: correlate(reports, audit, rules, marks))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        _, t_write = timed("write JSONL", lambda: write_result(result, "jsonl", sink))

    verdicts: dict[str, int] = {}
    for finding in result.findings:
        verdicts[finding.verdict] = verdicts.get(finding.verdict, 0) + 1
    print(f"{result.copies:,} OST copies, {result.sessions:,} sessions, "
          f"{len(result.findings):,} findings {verdicts}, {len(result.conclusions)} conclusions")

    rate, sample = naive_pairs_per_second(reports, audit, args.baseline_copies)
    naive = result.copies * result.sessions / rate
    total = t_sessions + t_index + t_join
    print(f"baseline: naive all-pairs identity check on {sample} copies x {result.sessions:,} "
          f"sessions: {rate:,.0f} pairs/s; whole fleet would take {naive:,.0f} s")
    print(f"ratio naive / indexed join: {naive / t_join:,.0f}x")
    print(f"sessions + index + join: {total:.1f} s (target < 60 s); with output "
          f"{total + t_write:.1f} s; peak memory {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
