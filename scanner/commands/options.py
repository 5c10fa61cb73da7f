"""Checks shared by the commands' options (no command here: this module registers nothing)."""

from __future__ import annotations

import typer

from scanner.output import output_problem


def writable_output(value: str | None) -> str | None:
    """`-o FILE`: its folder must exist; nothing is created on the way."""
    problem = output_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    return value
