"""Inputs that are no audit export, or break mid-way: each is named with its reason, and the
other inputs of the same run are still read."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from scanner import exitcodes
from scanner.audit import ingest as ingest_module
from scanner.audit.ingest import exit_code, ingest
from tests import auditgen
from tests.auditgen import compact

CASE_EXPORT = Path(__file__).resolve().parent.parent / "fixtures/example-case/audit" \
    / "purview-export.csv"
CASE_RECORDS = 48


def random_bytes(tmp: Path) -> Path:
    path = tmp / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def gzipped_program(tmp: Path) -> Path:
    path = tmp / "elf.gz"
    path.write_bytes(gzip.compress(b"\x7fELF" + bytes(4000)))
    return path


def zip_of_junk(tmp: Path) -> Path:
    path = tmp / "junk.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.bin", os.urandom(4096))
    return path


@pytest.mark.parametrize("make", [random_bytes, gzipped_program, zip_of_junk])
def test_binary_input_is_named_and_the_rest_is_read(tmp_path: Path, make: object) -> None:
    bad = make(tmp_path)

    log = ingest([str(bad), str(CASE_EXPORT)])

    assert log.distinct_records == CASE_RECORDS
    assert [e.reason for e in log.errors] == ["not an audit export: binary data"]
    assert log.errors[0].source_file.startswith(str(bad))


def test_a_csv_row_that_breaks_midway_costs_that_row_only(tmp_path: Path) -> None:
    lines = CASE_EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "broken.csv"
    unpaired = lines[30].replace('""Operation""', '""Oper"ation""', 1)
    broken.write_text("".join(lines[:30] + [unpaired] + lines[31:]), encoding="utf-8")

    log = ingest([str(broken)])

    assert [(e.line, e.reason.split(";")[0]) for e in log.errors] == [
        (31, "bad JSON at character 88")]
    assert log.distinct_records == CASE_RECORDS - 1


def test_documents_in_a_folder_are_skipped_not_read(tmp_path: Path) -> None:
    (tmp_path / "SOURCES.md").write_text("| a | b |\n|---|---|\n")
    (tmp_path / "export.csv").write_bytes(CASE_EXPORT.read_bytes())

    log = ingest([str(tmp_path)])

    assert log.errors == []
    assert [c.source_file for c in log.coverage] == [str(tmp_path / "export.csv")]


def test_a_header_only_export_says_it_holds_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(CASE_EXPORT.read_text(encoding="utf-8").splitlines()[0] + "\n")

    log = ingest([str(empty)])

    assert log.distinct_records == 0 and log.errors == []
    assert log.coverage[0].warnings == ["holds no audit record (an empty export?)"]
    assert exit_code(log) == exitcodes.PARTIAL          # read, but empty: not "could not run"


def _two_line_rows(records: list[dict]) -> list[str]:
    """CSV rows whose last cell holds a line break (as Splunk's _raw does): two lines each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["AuditData", "Note", "Source"])
    for record in records:
        writer.writerow([compact(record), "seen\nby splunk", "UAL_csv"])
    return out.getvalue().splitlines(keepends=True)


@pytest.mark.parametrize("stray", [',""UAL_csv', ',"UAL_csv'])
def test_a_stray_quote_in_a_row_of_two_lines_costs_no_other_row(tmp_path: Path,
                                                                 stray: str) -> None:
    records = auditgen.repeated_records(10)
    lines = _two_line_rows(records)
    lines[41] = lines[41].replace(",UAL_csv", stray, 1)
    path = tmp_path / "stray.csv"
    path.write_text("".join(lines), encoding="utf-8")

    log = ingest([str(path)])

    assert log.distinct_records == 80
    assert [e.reason for e in log.errors if "read stopped" in e.reason] == []
    assert all("universal-newline" not in e.reason for e in log.errors)


def test_a_scan_report_given_as_an_audit_export_is_named(tmp_path: Path) -> None:
    report = tmp_path / "host.json"
    report.write_text('{\n  "schema_version": "1.0",\n  "document": "ostscan.scan_report",\n'
                      '  "files": []\n}\n', encoding="utf-8")

    log = ingest([str(report)])

    assert [e.reason for e in log.errors] == [ingest_module.SCAN_REPORT_REASON]


def test_a_zip_cut_before_its_index_is_said_to_be_cut(tmp_path: Path) -> None:
    whole = auditgen.zip_bytes({"export.csv": CASE_EXPORT.read_bytes()})
    cut = tmp_path / "export.zip"
    cut.write_bytes(whole[:len(whole) // 2])

    log = ingest([str(cut)])

    assert [e.reason for e in log.errors] == [
        "bad zip archive: File is not a zip file (it starts as a zip: cut short, its index at "
        "the end is missing)"]


def test_ostscans_own_output_given_as_an_audit_export_is_named(tmp_path: Path) -> None:
    output = tmp_path / "correlation.json"
    output.write_text('{"schema_version": "1.0", "document": "ostscan.correlation"}\n',
                      encoding="utf-8")

    log = ingest([str(output)])

    assert [e.reason for e in log.errors] == [ingest_module.SCAN_REPORT_REASON]


def test_rows_with_errors_are_said_up_to_a_bound_and_kept_whole(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from scanner.cli import app

    lines = [compact(r) for r in auditgen.repeated_records(10)]
    broken = [line[:40] if i % 2 else line for i, line in enumerate(lines)]   # 50 cut rows
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["audit", str(path)])
    document = json.loads(CliRunner().invoke(app, ["audit", str(path), "--format", "json",
                                                   "-q"]).stdout)

    said = [line for line in result.stderr.splitlines() if "export.jsonl:" in line]
    assert len(said) == ingest_module.LINE_ERRORS_SAID
    assert "every one is in --format json" in said[-1]
    assert len(document["errors"]) == len(broken) // 2


def test_a_text_file_with_no_audit_header_is_no_export(tmp_path: Path) -> None:
    text = tmp_path / "notes.csv"
    text.write_text("hello world\n", encoding="utf-8")

    log = ingest([str(text)])

    assert [e.reason for e in log.errors] == [
        "not an audit export: its first line names no column an audit export has"]
    assert exit_code(log) == exitcodes.FAILED


def test_an_input_whose_read_stopped_is_not_called_empty(tmp_path: Path) -> None:
    whole = auditgen.zip_bytes({"export.csv": CASE_EXPORT.read_bytes()})
    [member] = zipfile.ZipFile(io.BytesIO(whole)).infolist()
    data = bytearray(whole)
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    data[start:start + 200] = bytes(range(200))
    damaged = tmp_path / "export.zip"
    damaged.write_bytes(bytes(data))

    log = ingest([str(damaged)])

    assert any("decompressing data" in e.reason for e in log.errors)
    assert all("empty export" not in w for c in log.coverage for w in c.warnings)
