"""Bad command lines and bad places to write: a clear message, the documented exit code,
nothing created on the way and nothing written into the evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "example-case"
AUDIT = str(CASE / "audit" / "purview-export.csv")


def run(*args: str) -> tuple[int, str]:
    """Exit code and stderr as one line of words (typer draws usage errors in a box)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())


@pytest.mark.parametrize("command", [
    ("scan", str(CASE / "hosts" / "WS-HR02")),
    ("audit", AUDIT),
    ("correlate", "--audit", AUDIT),
])
def test_output_into_a_missing_folder_is_refused(tmp_path: Path, command: tuple) -> None:
    target = tmp_path / "no" / "such" / "out.json"

    code, said = run(*command, "-o", str(target), "-q")

    assert code == exitcodes.USAGE
    assert "does not exist" in said
    assert not (tmp_path / "no").exists()


def test_the_report_never_goes_into_the_evidence(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.ost").write_bytes(b"!BDN" + bytes(508))

    code, said = run("scan", str(evidence), "-o", str(evidence / "report.json"), "-q")
    beside, _ = run("scan", str(evidence / "a.ost"), "-o", str(evidence / "r.json"), "-q")

    assert (code, beside) == (exitcodes.USAGE, exitcodes.USAGE)
    assert "would write into the evidence" in said
    assert sorted(p.name for p in evidence.iterdir()) == ["a.ost"]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e12"])
def test_a_timeout_must_be_a_positive_number_of_seconds(value: str) -> None:
    code, said = run("scan", str(CASE / "hosts" / "WS-HR02"), "--timeout", value, "-q")

    assert code == exitcodes.USAGE
    assert "--timeout" in said


def test_a_case_in_a_missing_folder_says_so(tmp_path: Path) -> None:
    code, said = run("collect", "--case", str(tmp_path / "nowhere" / "c.sqlite"),
                     "--audit", AUDIT, "-q")

    assert code == exitcodes.FAILED
    assert "does not exist" in said
