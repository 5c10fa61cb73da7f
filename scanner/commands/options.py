"""Checks shared by the commands' options (no command here: this module registers nothing)."""

from __future__ import annotations

import ipaddress
import os

import typer

from scanner import exitcodes
from scanner.console import Console
from scanner.output import inside, output_problem


def writable_output(value: str | None) -> str | None:
    """`-o FILE`: its folder must exist; nothing is created on the way."""
    problem = output_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    return value


MAX_TIMEOUT = 7 * 24 * 3600.0


def seconds_allowed(value: float) -> float:
    if not 0 < value <= MAX_TIMEOUT:   # also refuses nan and inf
        raise typer.BadParameter(f"must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return value


def ip_address(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an IPv4 or IPv6 address") from None


PROFILE_FOLDERS = ("users", "documents and settings")


def evidence_root(path: str) -> str | None:
    """The folder a file's Windows profile tree hangs from (`X` of `X/Users/alice/...`): a
    host tree or drive, all of it evidence; None when the path has no profile folder."""
    parts = os.path.realpath(path).split(os.sep)
    for index in range(len(parts) - 2, 0, -1):
        if parts[index].lower() in PROFILE_FOLDERS:
            root = os.sep.join(parts[:index]) or os.sep
            # a drive of a live host: its profile tree, not the whole drive
            return os.path.join(root, parts[index]) if os.path.ismount(root) else root
    return None


def refuse_overwriting(output: str | None, inputs: list[str], console: Console,
                       evidence: list[str] | None = None) -> None:
    """`-o` must not name an input or the case, nor land inside an input folder, nor beside a
    file of `evidence` (OSTs, audit exports): evidence and cases are never overwritten, and
    nothing is written beside evidence."""
    if output in (None, "-"):
        return
    target = os.path.realpath(output)
    for given in [*inputs, *(evidence or [])]:
        if not given or given == "-" or not os.path.exists(given):
            continue
        real = os.path.realpath(given)
        if target == real or (os.path.isdir(real) and inside(output, real)):
            console.error(f"{output}: would overwrite or write into an input ({given}); "
                          "write elsewhere")
            raise typer.Exit(exitcodes.USAGE)
    for given in evidence or []:
        if given and given != "-" and os.path.isfile(given) and \
                os.path.dirname(target) == os.path.dirname(os.path.realpath(given)):
            console.error(f"{output}: would be written beside {given}, into the evidence; "
                          "write elsewhere")
            raise typer.Exit(exitcodes.USAGE)


STORE_SUFFIXES = (".ost", ".pst")


def refuse_beside_stores(output: str, console: Console) -> None:
    """A new file is not made in a folder that holds Outlook data files (evidence)."""
    folder = os.path.dirname(os.path.abspath(output))
    try:
        names = os.listdir(folder)
    except OSError:
        return                          # the write itself will say why it fails
    stores = [n for n in names if n.lower().endswith(STORE_SUFFIXES)]
    if stores:
        console.error(f"{output}: would be written beside {stores[0]} (an Outlook data file), "
                      "into the evidence; write elsewhere")
        raise typer.Exit(exitcodes.USAGE)
