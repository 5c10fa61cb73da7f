"""Store files beside the host trees of a case folder: only --deep reads them, and a scan without
it says how many there are and where, so that no evidence is left out unsaid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import discovery, exitcodes
from scanner.cli import app
from scanner.scan import ScanOptions, scan_path

PLACEHOLDER = b"!BDN" + bytes(508)


def build_case(root: Path) -> Path:
    """Two host trees without stores, and four store files beside them (one named in capitals),
    an audit export and a decoy whose name only contains `.ost`."""
    for host in ("PC-1", "PC-2"):
        (root / "hosts" / host / "Users/alice/Desktop").mkdir(parents=True)
    (root / "audit").mkdir()
    (root / "audit/export.csv").write_text("CreationDate,UserIds\n", encoding="utf-8")
    (root / "copies/old").mkdir(parents=True)
    for name in ("a.ost", "b.pst", "copies/c.OST", "copies/old/d.ost"):
        (root / name).write_bytes(PLACEHOLDER)
    (root / "notes.ost.txt").write_text("not a store", encoding="utf-8")
    return root


def test_stores_beside_the_volumes_are_counted_with_their_folders(tmp_path: Path) -> None:
    case = build_case(tmp_path / "case")

    report = scan_path(str(case), ScanOptions(hash=False))

    assert report.files == []
    assert [(e.path, e.stage, e.reason) for e in report.errors] == [
        (".", "not-searched", "4 store file(s) beside the volumes were not searched "
         f"({case}: 2, {case}/copies: 1, {case}/copies/old: 1); add --deep to read them")]


def test_the_warning_is_on_stderr_and_is_no_damage(tmp_path: Path) -> None:
    case = build_case(tmp_path / "case")

    result = CliRunner().invoke(app, ["scan", str(case), "-q", "--no-hash"])

    assert result.exit_code == exitcodes.OK
    assert "warning: .: not-searched: 4 store file(s) beside the volumes" in result.stderr
    assert '"stage": "not-searched"' in result.stdout


def test_deep_reads_them_and_says_nothing_of_it(tmp_path: Path) -> None:
    case = build_case(tmp_path / "case")

    report = scan_path(str(case), ScanOptions(deep=True, hash=False, isolate=False))

    assert sorted(f.path for f in report.files) == [
        "./a.ost", "./b.pst", "./copies/c.OST", "./copies/old/d.ost"]
    assert [e for e in report.errors if e.stage == "not-searched"] == []


def test_a_folder_of_host_trees_alone_has_nothing_beside(tmp_path: Path) -> None:
    for host in ("PC-1", "PC-2"):
        outlook = tmp_path / "hosts" / host / "Users/alice/AppData/Local/Microsoft/Outlook"
        outlook.mkdir(parents=True)
        (outlook / "alice.ost").write_bytes(PLACEHOLDER)
    (tmp_path / "hosts/PC-1/Users/alice/Desktop").mkdir()
    (tmp_path / "hosts/PC-1/Users/alice/Desktop/copy.ost").write_bytes(PLACEHOLDER)

    report = scan_path(str(tmp_path / "hosts"), ScanOptions(hash=False, isolate=False))

    assert len(report.files) == 2
    assert [e for e in report.errors if e.stage == "not-searched"] == []


def test_a_large_tree_beside_is_walked_only_so_far(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    case = build_case(tmp_path / "case")
    monkeypatch.setattr(discovery, "BESIDE_FILES", 3)

    [error] = scan_path(str(case), ScanOptions(hash=False)).errors

    assert error.reason.startswith("at least ")
    assert error.reason.endswith("; add --deep to read them")


@pytest.mark.parametrize(("volumes", "warned"), [
    (("PC-1", "PC-2"), True),              # host trees: one report would name one host
    (("C", "D"), False),                   # a collection's drives
    (("C%3A", "D%3A"), False),             # Velociraptor's names for them
    (("PC-1",), False),                    # one tree is one host
])
def test_a_folder_of_host_trees_is_said_to_be_one_host(tmp_path: Path, volumes: tuple,
                                                        warned: bool) -> None:
    for volume in volumes:
        (tmp_path / "case" / volume / "Users/alice/Desktop").mkdir(parents=True)

    result = CliRunner().invoke(app, ["scan", str(tmp_path / "case"), "--no-hash", "-o",
                                      str(tmp_path / "report.json")])

    said = f"{len(volumes)} trees named like hosts" in result.stderr
    assert said == warned, result.stderr


def test_host_trees_deeper_down_are_named_with_their_folders(tmp_path: Path) -> None:
    case = tmp_path / "case"
    for host in ("PC-1", "PC-2"):
        (case / "hosts" / host / "Users/alice/Desktop").mkdir(parents=True)
    (case / "C/Users/bob").mkdir(parents=True)           # a drive right below the case folder

    result = CliRunner().invoke(app, ["scan", str(case), "--no-hash", "-o",
                                      str(tmp_path / "report.json")])

    target = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["target"]
    assert target["description"] == (
        f"folder {case} (volumes: C:, PC-1 = hosts{os.sep}PC-1, PC-2 = hosts{os.sep}PC-2)")
    command = f"ostscan scan {case / 'hosts' / 'PC-1'} --host-name PC-1 -o PC-1.json"
    assert command in result.stderr
    assert (case / "hosts" / "PC-1").is_dir()


def test_a_target_without_a_host_name_is_said_and_stays_its_own_host(tmp_path: Path) -> None:
    """Two collections of different machines, both unnamed: each keeps its own host."""
    reports = []
    for case in ("caseA", "caseB"):
        (tmp_path / case / "collection/Users/alice/Desktop").mkdir(parents=True)
        report = tmp_path / f"{case}.json"
        result = CliRunner().invoke(app, ["scan", str(tmp_path / case / "collection"),
                                          "--no-hash", "-o", str(report)])
        assert "no host name found" in result.stderr and "give --host-name" in result.stderr
        reports += ["--report", str(report)]

    result = CliRunner().invoke(app, ["correlate", *reports])

    assert "2 host(s)" in result.stderr
