"""Audit ingestion speed and memory against DuckDB, measured in the same run.

    pip install -r bench/requirements.txt
    python bench/bench_audit.py path/to/invictus-o365-dataset-auditrecords.csv.gz [--rows N]

Builds an export of N rows (default 1,000,000) from the real records of the given file, in the
same mix (every operation, about 1.8 copies of each record), as a Search-UnifiedAuditLog CSV
(AuditData in a cell) and as JSON lines, in a temporary folder. Then, each in its own
subprocess so that peak memory is its own: `iter_events` of ostscan (every MailItemsAccessed
record normalised, de-duplicated on Id) and DuckDB extracting the same Sync rows (distinct Id,
time, session, IP, folder id). Prints records/second, peak memory and the time ratio
ostscan/DuckDB. ostscan reads a large plain file with two processes; memory is the peak of
the whole process tree, sampled (see run_measure). A third measurement, the floor, is the
least any reader in CPython must do on two processes (find every line and take its head),
to tell how far the language itself is from DuckDB's time.
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
    return {"seconds": seconds, "rows": rows, "sync": sync, "peak_mb": _peak_mb(),
            "children_peak_mb": _peak_mb(resource.RUSAGE_CHILDREN)}


def measure_duckdb(path: str) -> dict:
    import duckdb

    source = (DUCKDB_CSV if path.endswith(".csv") else DUCKDB_JSONL).format(path=path)
    start = time.perf_counter()
    sync = duckdb.connect().execute(DUCKDB_SYNC.format(source=source)).fetchone()[0]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": None, "sync": sync, "peak_mb": _peak_mb()}


def measure_floor(path: str) -> dict:
    """What any reader written in CPython must do at least, on two processes as ostscan reads:
    each half read in 2 MiB blocks, every line found (bytes.find) and its first 113 bytes
    taken (where Microsoft's compact records keep time, Id and Operation). Nothing parsed."""
    import multiprocessing

    size = Path(path).stat().st_size
    with open(path, "rb") as handle:            # the halves meet at a line start
        handle.seek(size // 2)
        middle = size // 2 + len(handle.readline())
    context = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with context.Pool(1) as pool:
        second = pool.apply_async(_floor_part, (path, middle, size))
        lines = _floor_part(path, 0, middle) + second.get()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": lines, "sync": None, "peak_mb": _peak_mb()}


def _floor_part(path: str, start: int, stop: int) -> int:
    lines, rest = 0, b"\n"                     # a block starts with the newline before it
    with open(path, "rb") as handle:
        handle.seek(start)
        left = stop - start
        while left > 0:
            chunk = handle.read(min(2 << 20, left))
            left -= len(chunk)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                rest += chunk
                continue
            block, rest = b"".join((rest, memoryview(chunk)[:cut + 1])), chunk[cut:]
            find, starts, last = block.find, [], len(block) - 1
            position = find(b"\n")
            while 0 <= position < last:
                starts.append(position + 1)
                position = find(b"\n", position + 1)
            heads = [block[line:line + 113] for line in starts]
            lines += len(heads)
    return lines


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak RSS of this process, or of the largest child it waited for (KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


def run_measure(tool: str, path: Path) -> dict:
    """One measurement in a fresh interpreter, so peak memory belongs to that tool alone.

    Memory of the whole process tree (the interpreter and any process it starts) is sampled
    every SAMPLE_SECONDS with psutil: the peak of the summed RSS (pages shared after a fork
    counted once per process, so an upper bound) and the peak of the summed PSS (shared pages
    split between the processes sharing them; Linux only)."""
    import psutil

    repo = Path(__file__).resolve().parent.parent
    with subprocess.Popen([sys.executable, __file__, "--measure", tool, str(path)],
                          stdout=subprocess.PIPE, text=True, cwd=repo) as child:
        peaks = _sample_tree(psutil.Process(child.pid), child)
        output = child.stdout.read()
    if child.returncode:
        raise SystemExit(f"measuring {tool} failed ({child.returncode})")
    result = json.loads(output)
    result["tree_rss_mb"], result["tree_pss_mb"] = peaks
    return result


SAMPLE_SECONDS = 0.05


def _sample_tree(process, child: subprocess.Popen) -> tuple[float, float]:
    """Peak summed RSS and PSS (MB) of a process and its children until it ends."""
    import psutil

    rss = pss = 0.0
    while child.poll() is None:
        tree_rss = tree_pss = 0
        for member in [process, *process.children(recursive=True)]:
            try:
                info = member.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            tree_rss += info.rss
            tree_pss += getattr(info, "pss", info.rss)
        rss, pss = max(rss, tree_rss / 2**20), max(pss, tree_pss / 2**20)
        time.sleep(SAMPLE_SECONDS)
    return rss, pss


def report(name: str, path: Path) -> None:
    ours = run_measure("ostscan", path)
    duck = run_measure("duckdb", path)
    floor = run_measure("floor", path)
    size = path.stat().st_size / 2**20
    rate = ours["rows"] / ours["seconds"]
    print(f"{name}: {size:,.0f} MiB, {ours['rows']:,} rows")
    print(f"  ostscan  {ours['seconds']:6.2f} s  {rate:10,.0f} records/s  "
          f"{_memory(ours)}  sync events {ours['sync']:,}")
    print(f"  duckdb   {duck['seconds']:6.2f} s  {'':>21}  {_memory(duck)}  "
          f"distinct sync rows {duck['sync']:,}")
    print(f"  floor    {floor['seconds']:6.2f} s  (CPython, 2 processes: read, find every "
          f"line, take its head; nothing parsed)")
    print(f"  ratio ostscan/duckdb time {ours['seconds'] / duck['seconds']:.2f}, "
          f"peak memory (tree RSS) {ours['tree_rss_mb'] / duck['tree_rss_mb']:.2f}; "
          f"floor/duckdb time {floor['seconds'] / duck['seconds']:.2f}")


def _memory(result: dict) -> str:
    """Peaks (getrusage) of the measured process and of its child, the sum being an upper
    bound whenever they peaked; then the sampled peak of the whole tree (RSS, PSS)."""
    child = result.get("children_peak_mb") or 0
    return (f"peak {result['peak_mb']:4.0f} + child {child:4.0f} MB, "
            f"tree sampled RSS {result['tree_rss_mb']:5.0f} MB, "
            f"PSS {result['tree_pss_mb']:5.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", help="invictus CSV (.csv.gz)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--reuse", type=Path, help="measure the exports --keep left there")
    parser.add_argument("--measure", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        tool, path = args.measure
        measure = {"ostscan": measure_ostscan, "duckdb": measure_duckdb,
                   "floor": measure_floor}[tool]
        result = measure(path)
        print(json.dumps(result))
        return
    if args.reuse:
        report("CSV with AuditData", args.reuse / "export.csv")
        report("JSON lines", args.reuse / "export.jsonl")
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
