#!/usr/bin/env bash
# Install what the tests need into .venv (system tools for the NTFS and registry fixtures too,
# where apt is available and we are root), then run the whole suite. Exits non-zero on any
# failure, and when pytest collects no test at all.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=()
  command -v pffinfo >/dev/null || need+=(pff-tools)
  command -v mkntfs >/dev/null || need+=(ntfs-3g)
  command -v hivexregedit >/dev/null || need+=(libwin-hivex-perl libhivex-bin)
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") \
      >&2 || echo "warning: could not install ${need[*]}; tests that need them will skip" >&2
  fi
fi

quietly() {  # the build backend's notices are shown only when the install fails
  local log
  log=$("$@" 2>&1) || { printf '%s\n' "$log" >&2; return 1; }
}

python3 -m venv .venv
quietly .venv/bin/python -m pip install -q --upgrade pip
quietly .venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/python -m ruff check scanner tests bench fixtures
.venv/bin/python -m pytest "$@"
