"""Audit ingestion speed and memory against DuckDB, measured in the same run.

    pip install -r bench/requirements.txt
    python bench/bench_audit.py path/to/invictus-o365-dataset-auditrecords.csv.gz [--rows N]

Builds an export of N rows (default 1,000,000) from the real records of the given file, in the
same mix (every operation, about 1.8 copies of each record), as a Search-UnifiedAuditLog CSV
(AuditData in a cell) and as JSON lines, in a temporary folder. Then, each in its own
subprocess so that peak memory is its own: `iter_events` of ostscan (every MailItemsAccessed
record normalised, de-duplicated on Id) and DuckDB extracting the same Sync rows (distinct Id,
time, session, IP, folder id). Prints records/second, peak RSS and the time ratio ostscan/DuckDB.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CSV_COLUMNS = ["CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex",
               "ResultCount", "Identity"]
REPEAT_EVERY = (True, True, True, True, False)   # 4 of 5 records twice: ~1.8 copies each

DUCKDB_SYNC = """
SELECT count(*) FROM (
  SELECT DISTINCT json_extract_string(a, '$.Id') AS id,
         json_extract_string(a, '$.CreationTime') AS time,
         json_extract_string(a, '$.SessionId') AS session,
         json_extract_string(a, '$.ClientIPAddress') AS ip,
         coalesce(json_extract_string(a, '$.Item.ParentFolder.Id'),
                  json_extract_string(a, '$.Folders[0].Id')) AS folder
  FROM ({source})
  WHERE a LIKE '%MailItemsAccessed%'
    AND list_contains(json_extract_string(a, '$.OperationProperties[*].Value'), 'Sync'))
"""
DUCKDB_CSV = ("SELECT AuditData AS a FROM read_csv('{path}', header=true, all_varchar=true, "
              "max_line_size=100000000, quote='\"', escape='\"')")
DUCKDB_JSONL = ("SELECT json AS a FROM read_json_objects('{path}', "
                "format='newline_delimited')")


def real_records(path: Path) -> list[dict]:
    """Distinct AuditData objects of a CSV export (any operation), in file order."""
    csv.field_size_limit(sys.maxsize)
    seen: dict[str, dict] = {}
    with io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            if row["AuditData"].strip():
                record = json.loads(row["AuditData"])
                seen.setdefault(record["Id"], record)
    return list(seen.values())


def generate(records: list[dict], rows: int, folder: Path) -> tuple[Path, Path]:
    """`rows` rows in both formats, new Ids per distinct record, duplicates like the original."""
    csv_path, jsonl_path = folder / "export.csv", folder / "export.jsonl"
    with (csv_path.open("w", encoding="utf-8", newline="") as csv_file,
          jsonl_path.open("w", encoding="utf-8") as jsonl_file):
        writer = csv.writer(csv_file, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        written = number = 0
        while written < rows:
            record = dict(records[number % len(records)], Id=str(uuid.UUID(int=number)))
            text = json.dumps(record, separators=(",", ":"))
            copies = 2 if REPEAT_EVERY[number % len(REPEAT_EVERY)] else 1
            for _ in range(min(copies, rows - written)):
                written += 1
                writer.writerow([record["CreationTime"], record.get("UserId", ""),
                                 record["Operation"], text, written, rows, record["Id"]])
                jsonl_file.write(text + "\n")
            number += 1
    return csv_path, jsonl_path


def measure_ostscan(path: str) -> dict:
    from scanner.audit.ingest import IngestState, iter_events

    state = IngestState()
    start = time.perf_counter()
    sync = sum(1 for event in iter_events([path], state=state) if event.kind == "sync")
    seconds = time.perf_counter() - start
    rows = sum(c.rows for c in state.coverage)
    return {"seconds": seconds, "rows": rows, "sync": sync, "peak_mb": _peak_mb()}


def measure_duckdb(path: str) -> dict:
    import duckdb

    source = (DUCKDB_CSV if path.endswith(".csv") else DUCKDB_JSONL).format(path=path)
    start = time.perf_counter()
    sync = duckdb.connect().execute(DUCKDB_SYNC.format(source=source)).fetchone()[0]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": None, "sync": sync, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measure(tool: str, path: Path) -> dict:
    """One measurement in a fresh interpreter, so peak memory belongs to that tool alone."""
    repo = Path(__file__).resolve().parent.parent
    output = subprocess.run([sys.executable, __file__, "--measure", tool, str(path)],
                            check=True, capture_output=True, text=True, cwd=repo).stdout
    return json.loads(output)


def report(name: str, path: Path) -> None:
    ours = run_measure("ostscan", path)
    duck = run_measure("duckdb", path)
    size = path.stat().st_size / 2**20
    rate = ours["rows"] / ours["seconds"]
    print(f"{name}: {size:,.0f} MiB, {ours['rows']:,} rows")
    print(f"  ostscan  {ours['seconds']:6.2f} s  {rate:10,.0f} records/s  "
          f"peak {ours['peak_mb']:6.0f} MB  sync events {ours['sync']:,}")
    print(f"  duckdb   {duck['seconds']:6.2f} s  {'':>21}  peak {duck['peak_mb']:6.0f} MB  "
          f"distinct sync rows {duck['sync']:,}")
    print(f"  ratio ostscan/duckdb time {ours['seconds'] / duck['seconds']:.2f}, "
          f"peak memory {ours['peak_mb'] / duck['peak_mb']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", help="invictus CSV (.csv.gz)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--measure", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        tool, path = args.measure
        result = measure_ostscan(path) if tool == "ostscan" else measure_duckdb(path)
        print(json.dumps(result))
        return
    if args.source is None:
        parser.error("give the invictus CSV export to build the benchmark input from")

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        csv_path, jsonl_path = generate(real_records(args.source), args.rows, folder)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.0f} s")
        report("CSV with AuditData", csv_path)
        report("JSON lines", jsonl_path)


if __name__ == "__main__":
    main()
