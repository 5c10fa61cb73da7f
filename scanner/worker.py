"""Parse one store in a child process with a time limit, so that a crash or a hang inside
libpff costs one file, not the scan.

On POSIX the child is forked and inherits the open target; on Windows it is spawned and opens
the target again from its spec.
"""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass
from typing import Any

from scanner.target.base import Target, TargetSpec

_INHERITED: Target | None = None


@dataclass(frozen=True)
class ParseJob:
    spec: TargetSpec
    path: str
    display_name: str
    items: bool
    owner_sample: int


@dataclass(frozen=True)
class ParseOutcome:
    reading: Any | None       # scanner.pff.store.StoreReading
    failure: str | None       # why there is no reading


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _child(job: ParseJob, conn: Any) -> None:
    from scanner.pff.store import read_store
    from scanner.target.open import reopen

    target = _INHERITED or reopen(job.spec)
    try:
        with target.open(job.path) as handle:
            reading = read_store(handle, job.display_name, job.items, job.owner_sample)
        conn.send(ParseOutcome(reading, None))
    except OSError as exc:
        conn.send(ParseOutcome(None, f"cannot open: {exc}"))
    finally:
        conn.close()


def parse_isolated(target: Target, job: ParseJob, timeout: float) -> ParseOutcome:
    """Run `read_store` in a child; a timeout or crash becomes a failure text."""
    global _INHERITED
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    _INHERITED = target if context.get_start_method() == "fork" else None
    process = context.Process(target=_child, args=(job, sender), daemon=True)
    process.start()
    sender.close()
    try:
        return _wait(process, receiver, timeout)
    finally:
        _INHERITED = None
        receiver.close()


def _wait(process: Any, receiver: Any, timeout: float) -> ParseOutcome:
    if receiver.poll(timeout):
        try:
            outcome = receiver.recv()
        except EOFError:
            outcome = None
        process.join(5)
        if outcome is not None:
            return outcome
        return ParseOutcome(None, f"parser crashed (exit code {process.exitcode})")
    process.kill()
    process.join(5)
    return ParseOutcome(None, f"parser did not finish within {timeout:g} s")


def parse_inline(target: Target, job: ParseJob) -> ParseOutcome:
    """The same parse in this process (for --no-isolation and debugging)."""
    from scanner.pff.store import read_store

    with target.open(job.path) as handle:
        return ParseOutcome(read_store(handle, job.display_name, job.items, job.owner_sample), None)
