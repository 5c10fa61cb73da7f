#!/usr/bin/env bash
# Install ostscan into .venv and run the main job on the bundled example case:
# scan three hosts, collect the reports and the audit export into a case, correlate.
# Everything written goes to out/example/ (the example's evidence is only read).
set -euo pipefail
cd "$(dirname "$0")/.."

quietly() {  # the build backend's notices are shown only when the install fails
  local log
  log=$("$@" 2>&1) || { printf '%s\n' "$log" >&2; return 1; }
}

python3 -m venv .venv
quietly .venv/bin/python -m pip install -q --upgrade pip
quietly .venv/bin/python -m pip install -q -e .
ostscan=.venv/bin/ostscan

case_dir=fixtures/example-case
out=out/example
rm -rf "$out" && mkdir -p "$out"

for host in "$case_dir"/hosts/*/; do
  name=$(basename "$host")
  echo "== scan $name" >&2
  # exit code 1 = done, some files or folders unreadable (listed): the report still counts
  "$ostscan" scan "$host" --host-name "$name" -o "$out/$name.json" || [ $? -eq 1 ]
done

echo "== collect reports and the audit export into $out/case.sqlite" >&2
"$ostscan" collect --case "$out/case.sqlite" "$out"/*.json
"$ostscan" collect --case "$out/case.sqlite" --audit "$case_dir/audit/purview-export.csv"

echo "== sessions in the audit export" >&2
"$ostscan" audit "$case_dir/audit/purview-export.csv"

echo "== correlate: the malicious session is known by its IP, 198.51.100.77" >&2
"$ostscan" correlate --case "$out/case.sqlite" --ip 198.51.100.77
"$ostscan" correlate --case "$out/case.sqlite" --ip 198.51.100.77 --format html \
  -o "$out/report.html"
echo "HTML report: $out/report.html" >&2
