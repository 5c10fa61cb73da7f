"""A large plain export read by two processes: this one reads the first half, a child the rest.

The input is cut at a line start near its middle (JSON lines: after any newline; CSV: after a
newline that the reading of the first half proves is a row end, its quotes being paired). The
child reads the second half with a state of its own and sends back events, record ids, counts,
errors and coverage, with lines counted from the cut. They are taken as if this process had read
them, which is exact when none of the child's record ids was met in the first half: each record
id is decided on its own copies, and the child saw them all. Otherwise, or when the cut turns out
to lie inside a CSV row, or the child failed, this process reads the second half itself, so the
result is always the one reading the file in one go gives.

Only plain UTF-8 files of at least MIN_SPLIT_BYTES are split, when at least two CPUs are usable;
compressed inputs, zip members and UTF-16 are read in one process.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import pickle
import re
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import BinaryIO

from scanner.audit import bulk, containers
from scanner.audit.events import AuditEvent
from scanner.audit.ingest import IngestState, RangePart, _FileReader
from scanner.audit.sources import GZIP_MAGIC, ZIP_MAGIC, TextSource
from scanner.quiet import open_quietly

MIN_SPLIT_BYTES = 64 << 20
# the part of the file read here: the child also sends what it found, which costs it more
# where reading costs little (JSON lines); measured with bench/bench_audit.py
FIRST_PART = {containers.FORMAT_JSON_LINES: 0.55, containers.FORMAT_CSV: 0.5}
CUT_WINDOW = 1 << 20            # where a cut is looked for, from the middle on
CUT_TRIES = 64                  # lines looked at for a cut between two different records
SPLIT_FORMATS = (containers.FORMAT_JSON_LINES, containers.FORMAT_CSV)
EVENT_CHUNK = 2000              # events pickled together by the child
DIGEST_SIZE = 16                # bytes of a record id digest (ingest.record_digest)
RECORD_ID = re.compile(rb'"Id"+:"+([^"]{1,100})')


class _Window:
    """Bytes `start` to `stop` (None: the end) of a file, read like the file itself."""

    def __init__(self, path: str, start: int, stop: int | None) -> None:
        self.file = open_quietly(path)        # closed by close()
        self.file.seek(start)
        self.left = stop - start if stop is not None else None

    def read(self, size: int = -1) -> bytes:
        if self.left is None:
            return self.file.read(size)
        data = self.file.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.file.close()


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worth_splitting(source: TextSource) -> bool:
    """A plain UTF-8 file large enough, and two CPUs to read it with."""
    if source.encoding != "utf-8" or not os.path.isfile(source.name):
        return False
    if os.path.getsize(source.name) < MIN_SPLIT_BYTES or usable_cpus() < 2:
        return False
    with open_quietly(source.name) as handle:
        return not handle.read(4).startswith((GZIP_MAGIC, ZIP_MAGIC))


def read_split(state: IngestState, source: TextSource) -> Iterator[AuditEvent]:
    """The events of one input, as `_FileReader.events` gives them, read by two processes."""
    reader = _FileReader(state, source)
    plan = _plan(source.name)
    if plan is None:
        yield from reader.events()
        return

    fmt, header, cut = plan
    reader.announce()
    with _Child(source.name, cut, fmt, header) as child:
        end = bulk.RangeEnd(leave_open_row=True, input_end=False)
        yield from reader.read(lambda stack: _first_part(stack, source.name, cut, end))
        if not reader.stopped:
            received = child.part() if not end.open_row else None
            offset = end.next_line - 1
            if received is not None and reader.absorb(received[0], offset):
                for event in received[1]:
                    if event.source_line is not None:
                        event.source_line += offset
                    yield event
            else:
                child.stop()
                start = cut - end.open_row
                yield from reader.read(
                    lambda stack: _rest(stack, source.name, start, fmt, header, end.next_line))
    reader.finish()


def _plan(path: str) -> tuple[str, str, int] | None:
    """Format, first line and cut of a file to split; None when it is read in one go."""
    with open_quietly(path) as handle:
        found = bulk.first_line(handle)
        first_end = handle.tell() - len(found[2]) if found is not None else 0
    if found is None:
        return None
    fmt = containers.detect(found[1])
    if fmt not in SPLIT_FORMATS:
        return None
    cut = find_cut(path, first_end, FIRST_PART[fmt])
    return (fmt, found[1], cut) if cut is not None else None


def find_cut(path: str, after: int, part: float = 0.5) -> int | None:
    """A line start near `part` of a file (and past `after`), between two lines that name
    different record ids where one is found, so that adjacent copies stay together."""
    size = os.path.getsize(path)
    middle = max(int(size * part), after)
    with open_quietly(path) as handle:
        handle.seek(middle)
        window = handle.read(CUT_WINDOW)
    newlines = itertools.islice(re.finditer(b"\n", window), CUT_TRIES + 2)
    ends = [match.start() for match in newlines]
    cuts = [(ends[i] + 1, window[ends[i - 1] + 1:ends[i]], window[ends[i] + 1:ends[i + 1]])
            for i in range(1, len(ends) - 1)]
    for cut, before, after_line in cuts:
        if _plain_row(before) and _plain_row(after_line) and _id(before) != _id(after_line):
            return middle + cut
    return middle + cuts[0][0] if cuts else None


def _plain_row(line: bytes) -> bool:
    return not line.count(b'"') % 2


def _id(line: bytes) -> bytes | None:
    match = RECORD_ID.search(line)
    return match.group(1) if match else None


def _first_part(stack: contextlib.ExitStack, path: str, cut: int,
                end: bulk.RangeEnd) -> tuple[str, Iterator]:
    window = stack.enter_context(contextlib.closing(_Window(path, 0, cut)))
    opened = bulk.open_records(window, end)
    if opened is None:                  # cannot be: the plan read the same first line
        raise OSError("the first line of the input changed while it was read")
    return opened


def _rest(stack: contextlib.ExitStack, path: str, start: int, fmt: str, header: str,
          number: int) -> tuple[str, Iterator]:
    window: BinaryIO = stack.enter_context(contextlib.closing(_Window(path, start, None)))
    return fmt, bulk.open_range(window, fmt, header, number, bulk.RangeEnd())


def read_part(path: str, cut: int, fmt: str, header: str) -> _Sent | None:
    """The child's work: the input from `cut` on, with a state of its own; None when a read
    error stopped it (the parent then reads that part itself and says why). Events are kept
    pickled, EVENT_CHUNK at a time, and the record ids as one bytes object: far smaller."""
    source = TextSource(path, "utf-8", lambda: open_quietly(path))
    reader = _FileReader(IngestState(), source)
    chunks, events = [], []
    for event in reader.read(lambda stack: _rest(stack, path, cut, fmt, header, 1)):
        events.append(event)
        if len(events) == EVENT_CHUNK:
            chunks.append(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
            events.clear()
    if reader.stopped:
        return None
    chunks.append(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
    part = reader.part([])
    seen, part.seen = b"".join(part.seen), set()
    return _Sent(part, seen, chunks)


@dataclass
class _Sent:
    """A part as sent: its record ids joined (each DIGEST_SIZE bytes), its events pickled."""

    part: RangePart
    seen: bytes
    chunks: list[bytes]

    def received(self) -> tuple[RangePart, Iterator[AuditEvent]]:
        """The part, its ids as a tuple, and its events (unpickled as they are read)."""
        seen = self.seen
        # one struct call splits them, and a tuple serves as well as a set: 3x faster
        self.part.seen = struct.Struct(f"{DIGEST_SIZE}s" * (len(seen) // DIGEST_SIZE)).unpack(seen)
        self.seen = b""
        return self.part, self._events()

    def _events(self) -> Iterator[AuditEvent]:
        while self.chunks:
            collecting = gc.isenabled()
            gc.disable()            # unpickling makes many objects, no garbage
            try:
                events = pickle.loads(self.chunks.pop(0))
            finally:
                if collecting:
                    gc.enable()
            yield from events


def _child_main(connection: Connection, path: str, cut: int, fmt: str, header: str) -> None:
    gc.disable()        # a short life that makes no reference cycles: collections only cost
    try:
        sent = read_part(path, cut, fmt, header)
    except Exception:                   # the parent reads the part itself
        sent = None
    if sent is None:
        connection.send(None)
    else:
        connection.send((sent.part, len(sent.chunks)))
        connection.send_bytes(sent.seen)
        for chunk in sent.chunks:
            connection.send_bytes(chunk)
    connection.close()


class _Child:
    """The process reading the second part; stopped when its work is not wanted."""

    def __init__(self, path: str, cut: int, fmt: str, header: str) -> None:
        context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        self.connection, sending = context.Pipe(duplex=False)
        self.process = context.Process(target=_child_main, daemon=True,
                                       args=(sending, path, cut, fmt, header))
        self.process.start()
        sending.close()

    def part(self) -> tuple[RangePart, Iterator[AuditEvent]] | None:
        """The child's part and its events; None when it has none to give."""
        try:
            head = self.connection.recv()
            if head is None:
                return None
            part, count = head
            seen = self.connection.recv_bytes()
            chunks = [self.connection.recv_bytes() for _ in range(count)]
        except (EOFError, OSError):
            return None
        self.process.join()
        return _Sent(part, seen, chunks).received()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()

    def __enter__(self) -> _Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.connection.close()
