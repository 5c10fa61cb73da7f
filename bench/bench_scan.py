"""Scan time per OST, with and without hashing, against `sha256sum` of the same files.

Writes a set of OSTs with the fixture writer into a temporary folder (one large one with
100,000+ messages unless --small), then times in the same run:
  baseline  sha256sum over the same files (reading every byte once)
  scan      ostscan scan FOLDER            (hash + header + folder walk)
  no-hash   ostscan scan FOLDER --no-hash  (header + folder walk)
  items     ostscan scan FOLDER --no-hash --items (every message read)
and prints each as seconds and as a ratio to the baseline. Nothing is asserted: read the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fixtures.ostwriter import write_ost  # noqa: E402
from fixtures.ostwriter.mailbox import Mailbox, exchange_ost  # noqa: E402

UTC = dt.timezone.utc


def mailbox(number: int) -> Mailbox:
    return Mailbox(
        smtp=f"user{number}@bench.example",
        display_name=f"Bench User {number}",
        legacy_dn=f"/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                  f"cn=Recipients/cn={number:032x}-user{number}",
        provider_uid=uuid.UUID(int=number * 7919 + 1),
        database_guid=uuid.UUID(int=number * 104729 + 3),
        created=dt.datetime(2024, 1, 1, tzinfo=UTC),
        seed=number,
    )


def write_set(folder: Path, small: bool) -> list[Path]:
    sizes = [(5, 2000), (5, 2000), (4, 25000 if small else 110000)]
    written = []
    for number, (folders, messages) in enumerate(sizes, 1):
        counts = {f"Inbox/Project {i}": messages // folders for i in range(folders)}
        path = folder / f"user{number}@bench.example.ost"
        started = time.perf_counter()
        write_ost(exchange_ost(mailbox(number), dt.datetime(2026, 1, number, tzinfo=UTC),
                               counts), path)
        print(f"wrote {path.name}: {messages} messages, {path.stat().st_size / 2**20:.1f} MiB "
              f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        written.append(path)
    return written


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="25,000 messages, not 110,000")
    args = parser.parse_args()
    ostscan = shutil.which("ostscan") or f"{sys.executable} -m scanner.cli"
    with tempfile.TemporaryDirectory(prefix="ostscan-bench-") as temp:
        files = write_set(Path(temp), args.small)
        runs = {
            "sha256sum (baseline)": ["sha256sum", *map(str, files)],
            "scan": [*ostscan.split(), "scan", temp, "-q"],
            "scan --no-hash": [*ostscan.split(), "scan", temp, "-q", "--no-hash"],
            "scan --no-hash --items": [*ostscan.split(), "scan", temp, "-q", "--no-hash",
                                       "--items"],
        }
        results = {name: timed(command) for name, command in runs.items()}
    baseline = results["sha256sum (baseline)"]
    print(f"{'run':<26}{'seconds':>10}{'per OST':>10}{'ratio':>8}")
    for name, seconds in results.items():
        print(f"{name:<26}{seconds:>10.2f}{seconds / len(files):>10.2f}"
              f"{seconds / baseline:>8.2f}")


if __name__ == "__main__":
    main()
