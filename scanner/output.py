"""Writing documents: one JSON document, or JSON lines, to stdout or a named file."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


class OutputError(OSError):
    """The output cannot be written where asked; the text says why."""


def output_problem(path: str | None) -> str | None:
    """Why `path` cannot take the output, or None. Nothing is created on the way."""
    if path in (None, "-"):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{path}: cannot write: folder {folder} does not exist"
    if os.path.isdir(path):
        return f"{path}: cannot write: it is a folder"
    if not os.access(folder, os.W_OK):
        return f"{path}: cannot write: no permission to write in {folder}"
    return None


def inside(path: str, folder: str) -> bool:
    """Whether `path` would land in `folder` or below it (the evidence)."""
    where = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    folder = os.path.realpath(folder)
    return where == folder or where.startswith(folder.rstrip(os.sep) + os.sep)


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    """stdout for None or '-'; otherwise a new file written atomically (temp file, then rename).
    Raises OutputError when the file cannot be written."""
    if path in (None, "-"):
        yield sys.stdout
        sys.stdout.flush()
        return
    problem = output_problem(path)
    if problem:
        raise OutputError(problem)
    temp = f"{path}.partial"
    try:
        # a file name that is not valid UTF-8 reaches us with surrogates: written as \udcXX,
        # which JSON reads back as the same name
        handle = open(temp, "w", encoding="utf-8", newline="\n",  # noqa: SIM115
                      errors="backslashreplace")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    with handle:
        yield handle
    os.replace(temp, path)


def write_json(document: Any, stream: TextIO) -> None:
    json.dump(document, stream, indent=2, ensure_ascii=False, sort_keys=False)
    stream.write("\n")


def write_jsonl(records: Iterable[Any], stream: TextIO) -> None:
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")


def reader_gone() -> None:
    """stdout's reader stopped early (`| head`): not a failure. What is left to write goes
    nowhere, so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
