"""`ostscan scan` with no target off Windows reads this machine's own `/`; with no Windows
profile folders there it says that a target is given as an argument. The live root is a
made-up folder here, never the real machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app
from scanner.target import local

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the Linux view of a live host")

NO_PROFILES = "warning: no Windows profile folders (Users, Documents and Settings) on this machine"


def scan_live(root: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, dict]:
    monkeypatch.setattr(local, "live_volumes", lambda: {"": str(root)})
    result = CliRunner().invoke(app, ["scan", "-q", "-o", str(out)])
    return result.exit_code, result.stderr, json.loads(out.read_text(encoding="utf-8"))


def test_a_machine_without_profiles_says_to_give_a_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "root/etc").mkdir(parents=True)

    code, stderr, report = scan_live(tmp_path / "root", tmp_path / "out.json", monkeypatch)

    assert (code, report["target"]["kind"], report["files"]) == (exitcodes.OK, "live", [])
    assert NO_PROFILES in stderr
    assert "give its path as the target" in stderr


def test_a_root_with_profiles_is_scanned_without_the_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "root/Users/alice/Desktop").mkdir(parents=True)

    code, stderr, report = scan_live(tmp_path / "root", tmp_path / "out.json", monkeypatch)

    assert (code, report["files"]) == (exitcodes.OK, [])
    assert NO_PROFILES not in stderr
