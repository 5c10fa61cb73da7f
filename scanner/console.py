"""Progress and warnings on stderr; results never go here."""

from __future__ import annotations

import sys


class Console:
    """Writes progress lines to stderr unless quiet; warnings are always written."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._live = sys.stderr.isatty() and not quiet
        self._pending = False

    def progress(self, text: str) -> None:
        if not self._live:
            return
        sys.stderr.write("\r\033[K" + text[:150])
        sys.stderr.flush()
        self._pending = True

    def info(self, text: str) -> None:
        if not self.quiet:
            self._clear()
            print(text, file=sys.stderr)

    def warn(self, text: str) -> None:
        self._clear()
        print(f"warning: {text}", file=sys.stderr)

    def error(self, text: str) -> None:
        self._clear()
        print(f"error: {text}", file=sys.stderr)

    def _clear(self) -> None:
        if self._pending:
            sys.stderr.write("\r\033[K")
            self._pending = False
