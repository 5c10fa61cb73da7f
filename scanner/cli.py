"""The `ostscan` command line. Subcommands live in `scanner.commands` and register themselves."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import typer

from scanner import __version__
from scanner import commands as command_package

app = typer.Typer(
    name="ostscan",
    help="Find Outlook OST copies of a mailbox on hosts and tie them to audit-log Sync sessions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ostscan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit.", metavar=""),
) -> None:
    """Which devices hold a copy of this mailbox, and which copy came from which session."""


def load_commands() -> None:
    for module in sorted(pkgutil.iter_modules(command_package.__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{command_package.__name__}.{module.name}")
        register = getattr(loaded, "register", None)
        if register is not None:
            register(app)


load_commands()


def main() -> None:
    # libraries (dissect) log their own warnings: one prefixed line each on stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="warning: %(name)s: %(message)s")
    logging.getLogger("dissect").setLevel(logging.ERROR)   # "no OS plugin" on every archive
    for stream in (sys.stdout, sys.stderr):   # names that are not valid UTF-8 stay readable
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    app()


if __name__ == "__main__":
    main()
