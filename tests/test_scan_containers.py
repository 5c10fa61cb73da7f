"""Archives and images lying in a scanned folder are not opened (each is a target of its own),
but they are said: a loose folder whole, and what lies beside a collection's drives; a drive's
own zips are the host's files and are not listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import discovery, exitcodes
from scanner.cli import app
from scanner.scan import ScanOptions, scan_path

PLACEHOLDER = b"!BDN" + bytes(508)
ZIP_HEAD = b"PK\x03\x04" + bytes(26)


def build_case(root: Path) -> Path:
    """A drive tree with a user's zip, and beside it a collection zip, an E01 and a 7z."""
    (root / "hosts/PC-1/Users/alice/Downloads").mkdir(parents=True)
    (root / "hosts/PC-1/Users/alice/Downloads/holiday.zip").write_bytes(ZIP_HEAD)
    (root / "collections/PC-2").mkdir(parents=True)
    (root / "collections/PC-2/kape.ZIP").write_bytes(ZIP_HEAD)
    (root / "images").mkdir()
    (root / "images/PC-3.E01").write_bytes(b"EVF\x09\x0d\x0a\xff\x00")
    (root / "mail.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    (root / "notes.zip.txt").write_text("not an archive", encoding="utf-8")
    return root


def not_opened(errors: list) -> list[tuple[str, str]]:
    return [(e.path, e.reason) for e in errors
            if e.stage == "not-searched" and "not opened" in e.reason]


def test_containers_beside_the_drives_are_said_not_the_drives_own(tmp_path: Path) -> None:
    case = build_case(tmp_path / "case")

    report = scan_path(str(case), ScanOptions(hash=False))

    assert not_opened(report.errors) == [
        (".", f"3 archive(s)/image(s) in the target were not opened ({case}/collections/PC-2/"
              f"kape.ZIP, {case}/images/PC-3.E01, {case}/mail.7z); scan each on its own "
              "(a .7z once extracted)")]


def test_deep_says_the_same_from_its_own_walk(tmp_path: Path) -> None:
    case = build_case(tmp_path / "case")

    report = scan_path(str(case), ScanOptions(deep=True, hash=False))

    [(path, reason)] = not_opened(report.errors)
    assert path == "." and reason.startswith("3 archive(s)/image(s) in the target were not opened")


def test_a_loose_folder_says_its_containers_and_its_exit_code_stays(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    (folder / "fe01").mkdir(parents=True)
    (folder / "fe01/fe01.zip").write_bytes(ZIP_HEAD)
    (folder / "disk.vhdx").write_bytes(b"vhdxfile")

    out = tmp_path / "report.json"

    result = CliRunner().invoke(app, ["scan", str(folder), "--no-hash", "-o", str(out)])

    assert result.exit_code == exitcodes.OK
    assert "warning: (target root): not-searched: 2 archive(s)/image(s)" in result.stderr
    errors = json.loads(out.read_text(encoding="utf-8"))["errors"]
    assert [(e["path"], e["reason"]) for e in errors] == [
        ("", f"2 archive(s)/image(s) in the target were not opened ({folder}/disk.vhdx, "
             f"{folder}/fe01/fe01.zip); scan each on its own")]


def test_a_large_tree_beside_is_walked_only_so_far(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    case = build_case(tmp_path / "case")
    for number in range(5):
        (case / f"copy-{number}.ost").write_bytes(PLACEHOLDER)
    monkeypatch.setattr(discovery, "BESIDE_FILES", 4)

    report = scan_path(str(case), ScanOptions(hash=False))

    assert report.errors and all(e.reason.startswith("at least ") for e in report.errors)
