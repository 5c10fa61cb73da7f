"""The scan command end to end on the real public fixtures (skipped without ../shared)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app
from scanner.report import parse_report

ASPOSE = "fixtures-public/aspose-email-net"


@pytest.fixture(scope="module")
def evidence(shared_dir: Path, fe01_ost: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A loose folder of evidence: real stores, a PST named .ost and two broken files."""
    folder = tmp_path_factory.mktemp("evidence")
    shutil.copy(fe01_ost, folder / "fe01.ost")
    for name in ("SampleOstFile.ost", "PersonalStorageFile.ost",
                 "AddingBulkMessagesWithImprovedPerformance.pst"):
        shutil.copy(shared_dir / ASPOSE / name, folder / name)
    shutil.copy(shared_dir / "fixtures-public/hughbe-pstreader/albert_meyers_000.pst",
                folder / "albert_meyers_000.pst")
    return folder


@pytest.fixture(scope="module")
def scanned(evidence: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["scan", str(evidence), "-q"])
    return result.exit_code, json.loads(result.stdout)


def by_name(document: dict, name: str) -> dict:
    return next(f for f in document["files"] if f["path"].endswith(name))


def test_every_file_reported_and_scan_finishes(scanned: tuple[int, dict]) -> None:
    code, document = scanned

    assert code == exitcodes.PARTIAL
    assert document["schema_version"] == "1.0"
    assert len(document["files"]) == 5
    assert document["finished"].endswith("Z")
    parse_report(document, "scan output")


def test_fe01_owner_folders_and_ids(scanned: tuple[int, dict]) -> None:
    fe01 = by_name(scanned[1], "fe01.ost")

    assert fe01["status"] == "ok"
    assert (fe01["kind"], fe01["format_version"], fe01["variant"]) == ("ost", 36, "unicode-4k")
    assert len(fe01["folders"]) == 61
    assert fe01["store"]["root_created"].startswith("2021-03-03T14:32:37.")
    assert "steven.hark@testymctestfaces.com" in {c["value"] for c in fe01["owner_clues"]}
    calendar = next(f for f in fe01["folders"] if f["path"].endswith("IPM_SUBTREE/Calendar"))
    assert (calendar["replica_id"], calendar["global_counter"]) == (1, 0x10D)
    assert fe01["sha256"] == "e23c22cfc472103dda1348a36693635b54c1a1d996b213bdcb3a357963f56388"


def test_kind_comes_from_the_header_not_the_name(scanned: tuple[int, dict]) -> None:
    sample = by_name(scanned[1], "SampleOstFile.ost")
    disguised = by_name(scanned[1], "PersonalStorageFile.ost")

    assert (sample["kind"], sample["format_version"], sample["encryption"]) == \
        ("ost", 23, "permute")
    assert disguised["kind"] == "pst"


def test_broken_files_have_reasons(scanned: tuple[int, dict]) -> None:
    bad_crc = by_name(scanned[1], "AddingBulkMessagesWithImprovedPerformance.pst")
    html = by_name(scanned[1], "albert_meyers_000.pst")

    assert bad_crc["status"] == "damaged" and "CRC" in bad_crc["reason"]
    assert html["status"] == "not-pff" and "signature" in html["reason"]


def test_jsonl_has_one_record_per_file_and_folder(evidence: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(evidence), "-q", "--format", "jsonl",
                                      "--no-hash"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    files = [r for r in records if r["ostscan.record"] == "file"]
    folders = [r for r in records if r["ostscan.record"] == "folder"]

    assert len(files) == 5
    assert sum(1 for r in folders if r["file.path"].endswith("fe01.ost")) == 61
    assert all(r["file.hash.sha256"] is None for r in files)
    assert all(r["schema_version"] == "1.0" for r in records)


def test_no_subjects_in_default_report(scanned: tuple[int, dict]) -> None:
    text = json.dumps(scanned[1])

    assert "United States holidays" in text           # a folder name: metadata
    assert "Invoice for the new office." not in text  # a message subject in fe01: content
    assert "Friday Catch-up." not in text
