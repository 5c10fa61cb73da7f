"""Time `read_store` on one PST/OST against a bare pypff folder walk measured in the same run.

    python bench/pff_store.py path/to/file.ost [--runs 5]

Prints the best of N runs for: the baseline (open + every folder's record sets, nothing else),
the default reading (folders + bounded Inbox owner sample) and `items=True` (every message's
delivery time and Message-ID), each with its ratio to the baseline. Results go to stdout.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pypff

from scanner.pff.store import read_store


def baseline(path: Path) -> None:
    with path.open("rb") as handle:
        pff = pypff.file()
        pff.open_file_object(handle)
        pending = [pff.root_folder]
        while pending:
            folder = pending.pop()
            for index in range(folder.number_of_record_sets):
                list(folder.get_record_set(index).entries)
            pending.extend(folder.sub_folders)
        pff.close()


def reading(path: Path, items: bool) -> None:
    with path.open("rb") as handle:
        read_store(handle, path.name, items=items)


def best_of(runs: int, work: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    base = best_of(args.runs, lambda: baseline(args.path))
    cases = {
        "baseline (pypff folder walk)": base,
        "read_store default": best_of(args.runs, lambda: reading(args.path, False)),
        "read_store items=True": best_of(args.runs, lambda: reading(args.path, True)),
    }
    for name, seconds in cases.items():
        print(f"{name:30s} {seconds * 1000:9.1f} ms  x{seconds / base:5.2f}")


if __name__ == "__main__":
    main()
