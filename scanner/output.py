"""Writing documents: one JSON document, or JSON lines, to stdout or a named file."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    """stdout for None or '-'; otherwise a new file written atomically (temp file, then rename)."""
    if path in (None, "-"):
        yield sys.stdout
        sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = f"{path}.partial"
    with open(temp, "w", encoding="utf-8", newline="\n") as handle:
        yield handle
    os.replace(temp, path)


def write_json(document: Any, stream: TextIO) -> None:
    json.dump(document, stream, indent=2, ensure_ascii=False, sort_keys=False)
    stream.write("\n")


def write_jsonl(records: Iterable[Any], stream: TextIO) -> None:
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")
