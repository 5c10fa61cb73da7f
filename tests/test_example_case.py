"""The bundled example case end to end: scan its hosts, correlate with its audit export, and get
the verdicts its build script says it should (fixtures/example-case/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "example-case"
EXPECTED = json.loads((CASE / "expected.json").read_text())


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("example")
    reports = []
    for host in sorted((CASE / "hosts").iterdir()):
        report = out / f"{host.name}.json"
        result = CliRunner().invoke(app, ["scan", str(host), "--host-name", host.name,
                                          "-o", str(report), "-q"])
        assert result.exit_code == exitcodes.OK, result.stderr
        reports += ["--report", str(report)]

    result = CliRunner().invoke(app, ["correlate", *reports,
                                      "--audit", str(CASE / "audit/purview-export.csv"),
                                      "--ip", EXPECTED["malicious_session"]["client_ip"],
                                      "--format", "json", "-q"])
    assert result.exit_code == exitcodes.OK, result.stderr
    return json.loads(result.stdout)["findings"]


@pytest.mark.parametrize("expected", EXPECTED["expected"],
                         ids=lambda e: f"{e['host']}-{e['session']}")
def test_verdicts_are_the_case_scripts(findings: list[dict], expected: dict) -> None:
    host, session = expected["host"], expected["session_id"]
    mailbox = next(f["mailbox"] for f in findings if f["session_key"] == session)

    # a pair with another mailbox's sessions is one collapsed finding per OST and mailbox
    found = [f for f in findings if f["host"] == host and f["session_key"] == session] or \
        [f for f in findings if f["host"] == host and f["mailbox"] == mailbox
         and f["session_key"] is None]

    assert [f["verdict"] for f in found] == [expected["verdict"]]


def test_server_copy_holds_the_malicious_sessions_copy(tmp_path: Path) -> None:
    hosts = [p for p in sorted((CASE / "hosts").iterdir())]
    reports = []
    for host in hosts:
        report = tmp_path / f"{host.name}.json"
        CliRunner().invoke(app, ["scan", str(host), "--host-name", host.name, "-o", str(report),
                                 "-q"])
        reports += ["--report", str(report)]

    result = CliRunner().invoke(app, ["correlate", *reports, "--audit",
                                      str(CASE / "audit/purview-export.csv"),
                                      "--session", EXPECTED["malicious_session"]["session_id"],
                                      "-q"])

    assert "The copy made or fed by session f3b8d2a6-5e0c-4a97-b1d3-9c7e2f4a6b05 is on: " \
        "SRV-FILE01" in result.stdout


def test_no_match_with_a_session_that_ended_before_the_copy_existed(findings: list[dict]) -> None:
    matches = [f for f in findings if f["verdict"] == "match"]

    assert len(matches) == 3
    assert all(f["session_last"] >= f["ost_created"] for f in matches)


def test_a_host_scanned_twice_is_one_host_with_one_copy(tmp_path: Path) -> None:
    laptop = CASE / "hosts" / "LAPTOP-CFO"
    reports = []
    for run in ("first", "again"):
        out = tmp_path / f"{run}.json"
        CliRunner().invoke(app, ["scan", str(laptop), "--host-name", "LAPTOP-CFO", "-o",
                                 str(out), "-q"])
        reports += ["--report", str(out)]

    result = CliRunner().invoke(app, ["correlate", *reports, "--audit",
                                      str(CASE / "audit/purview-export.csv")])

    assert "1 host(s), 1 OST(s)" in result.stderr
    assert "1 cop(ies) found again in other reports of the same host" in result.stderr


def test_findings_have_the_same_ids_with_and_without_a_case(tmp_path: Path) -> None:
    reports = []
    for host in sorted((CASE / "hosts").iterdir()):
        out = tmp_path / f"{host.name}.json"
        CliRunner().invoke(app, ["scan", str(host), "--host-name", host.name, "-o", str(out),
                                 "-q"])
        reports.append(str(out))
    audit = str(CASE / "audit/purview-export.csv")
    case = str(tmp_path / "case.sqlite")
    CliRunner().invoke(app, ["collect", *reports, "--audit", audit, "--case", case, "-q"])

    direct = CliRunner().invoke(app, ["correlate", *[x for r in reports for x in ("--report", r)],
                                      "--audit", audit, "--format", "json", "-q"])
    cased = CliRunner().invoke(app, ["correlate", "--case", case, "--format", "json", "-q"])

    ids = [sorted(f["finding_id"] for f in json.loads(r.stdout)["findings"])
           for r in (direct, cased)]
    assert ids[0] == ids[1] and len(ids[0]) == 9      # 3 match, 6 same-mailbox


def test_the_victims_own_sessions_are_not_called_off_fleet(tmp_path: Path) -> None:
    """Marked by mailbox, the victim's own sessions ran while the laptop's copy was written:
    without the laptop's egress address they cannot be ruled out; with it they are its own."""
    reports = []
    for host in sorted((CASE / "hosts").iterdir()):
        out = tmp_path / f"{host.name}.json"
        CliRunner().invoke(app, ["scan", str(host), "--host-name", host.name, "-o", str(out),
                                 "-q"])
        reports += ["--report", str(out)]
    ask = ["correlate", *reports, "--audit", str(CASE / "audit/purview-export.csv"),
           "--mailbox", "jdoe@contoso.example", "--format", "json", "-q"]

    def conclusions(*extra: str) -> dict[str, str]:
        document = json.loads(CliRunner().invoke(app, [*ask, *extra]).stdout)
        return {c["session_key"][:8]: c["conclusion"] for c in document["conclusions"]}

    assert conclusions() == {"6a0f3c2e": "held-by-collected-devices",
                             "d94b1e07": "undetermined", "0e7c5a93": "undetermined",
                             "f3b8d2a6": "held-by-collected-devices"}
    assert set(conclusions("--egress", "LAPTOP-CFO=203.0.113.24").values()) == {
        "held-by-collected-devices"}


def test_one_host_given_from_two_folders_or_drive_prefixes_counts_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unnamed, the same tree scanned from two working folders is one host; named, a copy
    listed as `Users/...` and as `C:/Users/...` (a folder and an image) is one copy."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    CliRunner().invoke(app, ["scan", str(CASE / "hosts/LAPTOP-CFO"), "-o", str(first), "-q"])
    monkeypatch.chdir(CASE / "hosts")
    CliRunner().invoke(app, ["scan", "LAPTOP-CFO", "-o", str(second), "-q"])
    imaged = json.loads(second.read_text())
    imaged["files"][0]["path"] = "C:/" + imaged["files"][0]["path"]
    third = tmp_path / "third.json"
    third.write_text(json.dumps(imaged))

    result = CliRunner().invoke(app, ["correlate", "--report", str(first), "--report",
                                      str(second), "--report", str(third), "--audit",
                                      str(CASE / "audit/purview-export.csv")])

    assert "1 host(s), 1 OST(s)" in result.stderr
