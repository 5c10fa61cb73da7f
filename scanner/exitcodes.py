"""Exit codes shared by every command."""

from __future__ import annotations

OK = 0            # done, every input read
PARTIAL = 1       # done, but some inputs were unreadable or damaged (listed in the output),
                  # or a mark given to correlate/match names nothing in the inputs
USAGE = 2         # bad command line (typer's own code)
FAILED = 3        # could not run: the target, case or output could not be opened
INVALID = 4       # input refused by validation (e.g. a rule file or report with errors)
