"""Bad command lines and bad places to write: a clear message, the documented exit code,
nothing created on the way and nothing written into the evidence."""

from __future__ import annotations

import json
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


def _scanned(folder: Path, *hosts: str) -> list[str]:
    """Reports of example-case hosts, each scanned with its name, as --report options."""
    options = []
    for host in hosts:
        options += ["--report", str(folder / f"{host}.json")]
        run("scan", str(CASE / "hosts" / host), "--host-name", host, "-o", options[-1], "-q")
    return options


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

    assert code == exitcodes.USAGE          # as for -o: a folder that does not exist
    assert "does not exist" in said


def test_a_case_does_not_combine_with_direct_inputs(tmp_path: Path) -> None:
    code, said = run("correlate", "--case", str(tmp_path / "c.sqlite"), "--audit", AUDIT, "-q")

    assert code == exitcodes.USAGE
    assert "--case does not combine with --report/--audit" in said


def test_without_host_reports_nothing_is_concluded_off_fleet() -> None:
    result = CliRunner().invoke(app, ["correlate", "--audit", AUDIT, "--ip", "198.51.100.77",
                                      "-q"])

    assert result.exit_code == exitcodes.PARTIAL       # the question went unanswered
    assert "[undetermined]" in result.stdout
    assert "no host report was given or readable" in result.stdout
    assert "off-fleet" not in result.stdout and "None" not in result.stdout


@pytest.mark.parametrize(("options", "said"), [
    (("--since", "2024-03-15", "--until", "2024-03-01"), "--since 2024-03-15 is after --until"),
    (("--since", "yesterday"), "--since 'yesterday': not an ISO 8601 time"),
    (("--egress", "SRV-FILE01=notanip"), "'notanip' is not an IP address"),
    (("--ip", "10.0.0.0/33"), "--ip '10.0.0.0/33': not an IP address or CIDR range"),
])
def test_bad_marks_are_usage_errors(options: tuple, said: str) -> None:
    code, text = run("correlate", "--audit", AUDIT, *options, "-q")

    assert code == exitcodes.USAGE
    assert said in text


def test_a_mark_that_names_nothing_is_warned_about() -> None:
    """The question asked goes unanswered: exit code 1, not a clean 0."""
    code, said = run("correlate", "--audit", AUDIT, "--session", "f3b8d2a6-typo",
                     "--mailbox", "nobody@contoso.example", "-q")

    assert code == exitcodes.PARTIAL
    assert "--session f3b8d2a6-typo: no Sync session has this id" in said
    assert "--mailbox nobody@contoso.example: no Sync session of this mailbox" in said


def test_match_with_a_session_it_does_not_know_exits_1() -> None:
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"

    code, said = run("match", str(laptop / "jdoe@contoso.example.ost"), "--audit", AUDIT,
                     "--session", "f3b8d2a6-typo", "-q")

    assert code == exitcodes.PARTIAL
    assert "--session f3b8d2a6-typo: no Sync session has this id" in said


def test_files_that_are_no_store_are_no_copies_but_an_empty_ost_is_unread(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "page.pst").write_text("<html>not a store</html>")
    (evidence / "empty.ost").write_bytes(b"")
    report = tmp_path / "report.json"
    run("scan", str(evidence), "-o", str(report), "-q")

    code, said = run("correlate", "--report", str(report), "--audit", AUDIT,
                     "--ip", "198.51.100.77")

    # no copy to pair, but an OST that could not be read: the session's copy may be that one
    assert code == exitcodes.PARTIAL
    assert "1 host(s), 0 OST(s)" in said
    assert "1 OST(s) not read whole" in said and "empty.ost (empty)" in said
    assert "page.pst" not in said
    assert "[undetermined]" in CliRunner().invoke(app, [
        "correlate", "--report", str(report), "--audit", AUDIT, "--ip", "198.51.100.77",
        "-q"]).stdout


def test_collecting_a_place_with_no_report_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    code, said = run("collect", str(tmp_path / "empty"), "--case", str(tmp_path / "c.sqlite"))

    assert code == exitcodes.FAILED                # nothing readable at all, as audit says
    assert "empty: no scan report in it" in said
    assert "no case was made" in said and not (tmp_path / "c.sqlite").exists()


def test_collect_audit_of_an_empty_folder_is_said(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "work").mkdir()
    case = tmp_path / "work" / "c.sqlite"
    report = tmp_path / "work" / "r.json"
    run("scan", str(CASE / "hosts" / "WS-HR02"), "-o", str(report), "-q")

    code, said = run("collect", str(report), "--audit", str(tmp_path / "empty"),
                     "--case", str(case))

    assert code == exitcodes.PARTIAL
    assert "empty: no file in this folder or below it" in said and case.exists()


def test_output_never_overwrites_an_input_or_the_case(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(Path(AUDIT).read_bytes())
    (tmp_path / "work").mkdir()
    case = tmp_path / "work" / "case.sqlite"
    run("collect", "--case", str(case), "--audit", str(export), "-q")
    before = (export.read_bytes(), case.read_bytes())

    refused = [
        run("audit", str(export), "-o", str(export), "-q")[0],
        run("correlate", "--case", str(case), "-o", str(case), "-q")[0],
        run("correlate", "--audit", str(export), "-o", str(export), "--format", "csv")[0],
    ]

    assert refused == [exitcodes.USAGE] * 3
    assert (export.read_bytes(), case.read_bytes()) == before


@pytest.mark.parametrize("command", ["audit", "correlate"])
def test_output_beside_an_audit_export_is_refused(tmp_path: Path, command: str) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(Path(AUDIT).read_bytes())
    args = [str(export)] if command == "audit" else ["--audit", str(export)]

    code, said = run(command, *args, "-o", str(tmp_path / "out.json"), "-q")

    assert code == exitcodes.USAGE and "into the evidence" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_match_speaks_of_its_one_file_only() -> None:
    """The laptop's own copy was written while the attacker's session ran: only its egress
    address (not the session's) rules out that the session fed it."""
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"
    ask = ["match", str(laptop / "jdoe@contoso.example.ost"), "--audit", AUDIT,
           "--session", "f3b8d2a6-5e0c-4a97-b1d3-9c7e2f4a6b05", "-q"]
    unknown = CliRunner().invoke(app, ask)
    result = CliRunner().invoke(app, [*ask, "--egress-ip", "203.0.113.24"])

    assert unknown.exit_code == exitcodes.OK
    assert "[undetermined]" in unknown.stdout and "may have fed it" in unknown.stdout
    assert result.exit_code == exitcodes.OK
    assert "[not-this-file]" in result.stdout and "off-fleet" not in result.stdout
    code, said = run("match", str(laptop), "--audit", AUDIT)
    assert code == exitcodes.USAGE and "match takes one OST file" in said


@pytest.mark.parametrize("keep", [0, 1000, 40000])
def test_match_on_a_file_it_cannot_read_whole_is_undetermined(tmp_path: Path,
                                                              keep: int) -> None:
    """Empty, not PFF, or cut short: the answer is "cannot be told", the damage is said, and
    the exit code is 1; never "not this file"."""
    server = CASE / "hosts/SRV-FILE01/Users/Administrator/AppData/Local/Microsoft/Outlook"
    cut = tmp_path / "cut.ost"
    cut.write_bytes((server / "jdoe@contoso.example.ost").read_bytes()[:keep])

    result = CliRunner().invoke(app, [
        "match", str(cut), "--audit", AUDIT, "--session",
        "f3b8d2a6-5e0c-4a97-b1d3-9c7e2f4a6b05", "-q"])

    assert result.exit_code == exitcodes.PARTIAL
    assert "[undetermined] Whether" in result.stdout and "cannot be told" in result.stdout
    assert "[not-this-file]" not in result.stdout
    assert f"{cut}: " in result.stderr
    document = json.loads(CliRunner().invoke(app, [
        "match", str(cut), "--audit", AUDIT, "--format", "json", "-q"]).stdout)
    assert [": cut.ost (" in u for u in document["unread_copies"]] == [True]


@pytest.mark.parametrize("name", ["john.doe@contoso.com.ost", "Outlook.ost",
                                  "jdoe@contoso.example.ost"])
def test_a_damaged_ost_is_never_ruled_out_by_its_file_name(tmp_path: Path, name: str) -> None:
    """OSTs are named after the primary SMTP address, which may differ from the UPN: a name
    alone, with nothing read from the contents, does not make a damaged copy unrelated."""
    host = _host_with_a_cut_ost(tmp_path / "HOST-Z", name)
    report = tmp_path / "report.json"
    run("scan", str(host), "--host-name", "HOST-Z", "-o", str(report), "-q")

    result = CliRunner().invoke(app, ["correlate", "--report", str(report), "--audit", AUDIT,
                                      "--ip", "198.51.100.77", "-q"])

    assert "[undetermined]" in result.stdout and "off-fleet" not in result.stdout
    assert f"not ruled out: HOST-Z: Users/Administrator/AppData/Local/Microsoft/Outlook/{name}" \
        in result.stdout


def _host_with_a_cut_ost(host: Path, name: str) -> Path:
    """A host tree whose one OST is the server's copy cut to its first 40,000 bytes."""
    outlook = host / "Users/Administrator/AppData/Local/Microsoft/Outlook"
    outlook.mkdir(parents=True)
    whole = CASE / "hosts/SRV-FILE01/Users/Administrator/AppData/Local/Microsoft/Outlook"
    (outlook / name).write_bytes((whole / "jdoe@contoso.example.ost").read_bytes()[:40000])
    return host


def test_correlate_names_a_damaged_copy_and_exits_1(tmp_path: Path) -> None:
    server = _host_with_a_cut_ost(tmp_path / "SRV-FILE01", "jdoe@contoso.example.ost")
    report = tmp_path / "report.json"
    run("scan", str(server), "-o", str(report), "-q")

    result = CliRunner().invoke(app, ["correlate", "--report", str(report), "--audit", AUDIT,
                                      "--ip", "198.51.100.77"])

    assert result.exit_code == exitcodes.PARTIAL
    assert "OST damaged: " in result.stdout
    assert "1 OST(s) not read whole" in result.stderr


def test_what_the_reader_said_of_an_export_survives_the_case(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    text = Path(AUDIT).read_text(encoding="utf-8")
    header = text.splitlines()[0]
    blank = ",".join('""' if name == "AuditData" else "x" for name in header.split(","))
    export.write_text(text + blank + "\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    case = tmp_path / "work" / "case.sqlite"
    run("collect", "--case", str(case), "--audit", str(export), "-q")

    code, said = run("correlate", "--case", str(case), "-q")

    assert code == exitcodes.PARTIAL
    assert "empty AuditData" in said


def test_a_bare_until_date_takes_in_the_whole_day() -> None:
    result = CliRunner().invoke(app, ["correlate", "--audit", AUDIT, "--since", "2024-03-14",
                                      "--until", "2024-03-14", "--format", "json", "-q"])

    marked = [c for c in json.loads(result.stdout)["conclusions"]]
    assert [c["session_key"] for c in marked] == ["f3b8d2a6-5e0c-4a97-b1d3-9c7e2f4a6b05"]
    assert marked[0]["marked_by"] == ["window 2024-03-14T00:00:00Z to 2024-03-14T23:59:59.999999Z"]


def test_many_damaged_files_give_a_bounded_warning_list(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for number in range(40):
        (evidence / f"empty-{number}.ost").write_bytes(b"")

    code, said = run("scan", str(evidence), "-q", "-o", str(tmp_path / "r.json"))

    assert code == exitcodes.PARTIAL
    assert said.count("empty file (0 bytes)") == 25
    assert "and 15 more: every one is in the report" in said


def test_a_new_case_is_not_made_beside_an_audit_export(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(Path(AUDIT).read_bytes())
    monkeypatch.chdir(tmp_path)

    code, said = run("collect", "--audit", "export.csv", "-q")

    assert code == exitcodes.USAGE and "into the evidence" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_correlate_with_one_side_only_says_which_is_missing() -> None:
    code, said = run("correlate", "--audit", AUDIT, "-q")

    assert code == exitcodes.PARTIAL
    assert "no scan report to pair with" in said
    assert "no Sync session in the audit inputs" not in said


def test_outputs_are_not_written_into_a_host_tree(tmp_path: Path) -> None:
    """match: anywhere below the folder the OST's profile tree hangs from; correlate: inside a
    folder a report scanned."""
    host = tmp_path / "host1"
    outlook = host / "Users/a/AppData/Local/Microsoft/Outlook"
    outlook.mkdir(parents=True)
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"
    (outlook / "a.ost").write_bytes((laptop / "jdoe@contoso.example.ost").read_bytes())
    report = tmp_path / "report.json"
    run("scan", str(host), "-o", str(report), "-q")
    before = sorted(host.rglob("*"))

    refused = [
        run("match", str(outlook / "a.ost"), "--audit", AUDIT, "-o", str(host / "m.txt"))[0],
        run("match", str(outlook / "a.ost"), "--audit", AUDIT, "-o",
            str(host / "Users" / "m.txt"))[0],
        run("correlate", "--report", str(report), "--audit", AUDIT, "-o",
            str(host / "Users" / "c.txt"))[0],
    ]

    assert refused == [exitcodes.USAGE] * 3
    assert sorted(host.rglob("*")) == before


def test_a_host_with_no_ost_in_outlooks_folders_is_searched_whole_or_undetermined(
        tmp_path: Path) -> None:
    """An OST moved out of Outlook's folders is found by --deep only; without it the scan
    warns, and the host keeps the session's conclusion undetermined."""
    host = tmp_path / "HOST-X"
    (host / "Users/Administrator/Documents").mkdir(parents=True)
    (host / "OfflineFiles").mkdir()
    server = CASE / "hosts/SRV-FILE01/Users/Administrator/AppData/Local/Microsoft/Outlook"
    (host / "OfflineFiles/jdoe.ost").write_bytes((server / "jdoe@contoso.example.ost").read_bytes())
    said = {}
    for deep in ([], ["--deep"]):
        report = tmp_path / f"report{len(deep)}.json"
        scanned = CliRunner().invoke(app, ["scan", str(host), "--host-name", "HOST-X", *deep,
                                           "-o", str(report)])
        said[bool(deep)] = (scanned.stderr, CliRunner().invoke(app, [
            "correlate", "--report", str(report), "--audit", AUDIT, "--ip", "198.51.100.77",
            "-q"]).stdout)

    assert "no Outlook data file in Outlook's folders" in said[False][0]
    assert "[undetermined]" in said[False][1]
    assert "HOST-X: no Outlook data file in Outlook's folders, and not searched whole" \
        in said[False][1]
    assert "no Outlook data file" not in said[True][0]
    assert "is on: HOST-X" in said[True][1]


def test_correlate_with_nothing_readable_exits_3(tmp_path: Path) -> None:
    code, said = run("correlate", "--report", str(tmp_path / "none.json"), "--audit",
                     str(tmp_path / "none.csv"), "-q")

    assert code == exitcodes.FAILED
    assert "no scan report could be read" in said and "give --audit" not in said


def test_a_copy_with_no_identity_is_not_given_one_mailbox(tmp_path: Path) -> None:
    """A damaged OST with no ids and no owner stands against every mailbox's sessions: the
    finding names how many mailboxes, not the first of them."""
    _host_with_a_cut_ost(tmp_path / "HOST-H", "Outlook.ost")
    report = tmp_path / "report.json"
    run("scan", str(tmp_path / "HOST-H"), "--host-name", "HOST-H", "-o", str(report), "-q")

    result = CliRunner().invoke(app, ["correlate", "--report", str(report), "--audit", AUDIT,
                                      "--ip", "198.51.100.77", "--format", "json", "-q"])

    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["verdict"], finding["mailbox"], finding["session_count"]) == (
        "insufficient-evidence", "2 mailbox(es)", 5)


def test_scan_of_a_file_and_a_new_case_stay_out_of_the_host_tree(tmp_path: Path) -> None:
    outlook = tmp_path / "host1/Users/a/AppData/Local/Microsoft/Outlook"
    outlook.mkdir(parents=True)
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"
    (outlook / "a.ost").write_bytes((laptop / "jdoe@contoso.example.ost").read_bytes())
    report = tmp_path / "report.json"
    run("scan", str(tmp_path / "host1"), "-o", str(report), "-q")
    before = sorted((tmp_path / "host1").rglob("*"))

    refused = [
        run("scan", str(outlook / "a.ost"), "-o", str(tmp_path / "host1/x.json"), "-q")[0],
        run("collect", str(report), "--case", str(outlook / "case.sqlite"), "-q")[0],
    ]

    assert refused == [exitcodes.USAGE] * 2
    assert sorted((tmp_path / "host1").rglob("*")) == before


def test_a_host_report_that_could_not_be_read_keeps_off_fleet_away(tmp_path: Path) -> None:
    """The server's report is cut: the session's copy may be on it. Directly and through a case
    (which remembers the refusal), the conclusion is undetermined, never off-fleet."""
    reports = {}
    for host in ("SRV-FILE01", "WS-HR02"):
        reports[host] = tmp_path / f"{host}.json"
        run("scan", str(CASE / "hosts" / host), "--host-name", host, "-o",
            str(reports[host]), "-q")
    cut = tmp_path / "SRV-FILE01-cut.json"
    cut.write_bytes(reports["SRV-FILE01"].read_bytes()[:5000])
    ask = ["--ip", "198.51.100.77", "-q"]
    case = tmp_path / "case.sqlite"
    run("collect", str(cut), str(reports["WS-HR02"]), "--audit", AUDIT, "--case", str(case),
        "-q")

    direct = CliRunner().invoke(app, ["correlate", "--report", str(cut), "--report",
                                      str(reports["WS-HR02"]), "--audit", AUDIT, *ask])
    cased = CliRunner().invoke(app, ["correlate", "--case", str(case), *ask])

    for result in (direct, cased):
        assert result.exit_code == exitcodes.PARTIAL
        assert "[undetermined]" in result.stdout and "off-fleet" not in result.stdout
        assert "SRV-FILE01-cut.json" in result.stderr


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + bytes(100), b"not a case"])
def test_a_file_that_is_no_case_is_refused_and_left_as_it_is(tmp_path: Path,
                                                             content: bytes) -> None:
    import sqlite3

    evidence = tmp_path / "locked.ost"
    if content.startswith(b"SQLite"):
        sqlite3.connect(evidence).execute("CREATE TABLE t (x)").connection.close()
    else:
        evidence.write_bytes(content)
    before = evidence.read_bytes()
    report = tmp_path / "r.json"
    run("scan", str(CASE / "hosts" / "WS-HR02"), "-o", str(report), "-q")

    codes = [run("correlate", "--case", str(evidence), "-q")[0],
             run("collect", str(report), "--case", str(evidence), "-q")[0]]

    assert codes == [exitcodes.FAILED] * 2
    assert evidence.read_bytes() == before


def test_match_with_no_readable_audit_input_exits_3(tmp_path: Path) -> None:
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    code, _ = run("match", str(laptop / "jdoe@contoso.example.ost"), "--audit", str(empty),
                  "-q")

    assert code == exitcodes.FAILED


def test_off_fleet_says_how_many_hosts_were_searched_in_outlooks_folders_only(
        tmp_path: Path) -> None:
    reports = _scanned(tmp_path, "LAPTOP-CFO", "WS-HR02")

    result = CliRunner().invoke(app, ["correlate", *reports, "--audit", AUDIT, "--ip",
                                      "198.51.100.77", "--egress", "LAPTOP-CFO=203.0.113.24",
                                      "-q"])

    assert "[not-on-collected-devices]" in result.stdout
    assert "2 of the hosts were searched in Outlook's own folders only" in result.stdout


def test_a_new_case_is_not_made_inside_a_folder_a_report_scanned(tmp_path: Path) -> None:
    host = tmp_path / "WS-HR02"
    host.mkdir()
    (host / "Users").mkdir()
    report = tmp_path / "r.json"
    run("scan", str(host), "--host-name", "WS-HR02", "-o", str(report), "-q")

    code, said = run("collect", str(report), "--case", str(host / "Users" / "case.sqlite"))

    assert code == exitcodes.USAGE and "write into an input" in said
    assert not (host / "Users" / "case.sqlite").exists()


def test_a_wrong_file_given_as_a_report_is_no_unexamined_host(tmp_path: Path) -> None:
    """An OST given to collect by mistake is refused, but it is no host report that could not
    be read: later conclusions do not stay undetermined because of it."""
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"
    reports = _scanned(tmp_path, "SRV-FILE01", "LAPTOP-CFO")[1::2]
    case = tmp_path / "case.sqlite"
    run("collect", *reports, str(laptop / "jdoe@contoso.example.ost"), "--audit", AUDIT,
        "--case", str(case), "-q")

    result = CliRunner().invoke(app, ["correlate", "--case", str(case), "--ip",
                                      "198.51.100.77", "-q"])

    assert "[held-by-collected-devices]" in result.stdout
    assert "host report not read" not in result.stdout


def test_small_command_line_things(tmp_path: Path) -> None:
    """-h is help; a case in a folder that does not exist is a bad command line; match names
    its one file's host 'unnamed' without warning about correlate."""
    laptop = CASE / "hosts/LAPTOP-CFO/Users/jdoe/AppData/Local/Microsoft/Outlook"

    helped = CliRunner().invoke(app, ["scan", "-h"])
    code, said = run("collect", "--case", str(tmp_path / "no/c.sqlite"), str(AUDIT))
    matched = CliRunner().invoke(app, ["match", str(laptop / "jdoe@contoso.example.ost"),
                                       "--audit", AUDIT])

    assert helped.exit_code == exitcodes.OK and "Usage: ostscan scan" in helped.stdout
    assert code == exitcodes.USAGE and "does not exist" in said
    assert "no host name found" not in matched.stderr


def test_one_file_scanned_is_not_its_host_searched(tmp_path: Path) -> None:
    """A report of one file, named as the server, does not let the server's copy be called
    off-fleet; match, which asks about that one file, is not held back by it."""
    hr = CASE / "hosts/WS-HR02/Users/msmith/AppData/Local/Microsoft/Outlook"
    report = tmp_path / "srv-onefile.json"
    run("scan", str(hr / "msmith@contoso.example.ost"), "--host-name", "SRV-FILE01", "-o",
        str(report), "-q")

    result = CliRunner().invoke(app, ["correlate", "--report", str(report), "--audit", AUDIT,
                                      "--ip", "198.51.100.77", "-q"])

    assert "[undetermined]" in result.stdout
    assert "SRV-FILE01: only single files were scanned, not the host" in result.stdout


def test_one_host_name_on_two_targets_is_warned_about(tmp_path: Path) -> None:
    reports = []
    for tree in ("SRV-FILE01", "LAPTOP-CFO"):
        reports += ["--report", str(tmp_path / f"{tree}.json")]
        run("scan", str(CASE / "hosts" / tree), "--host-name", "LAPTOP-CFO", "-o", reports[-1],
            "-q")

    result = CliRunner().invoke(app, ["correlate", *reports, "--audit", AUDIT])

    assert "host LAPTOP-CFO names reports of 2 different targets" in result.stderr
    assert "--host-name left unchanged?" in result.stderr


def test_csv_output_leaves_the_conclusions_on_the_terminal(tmp_path: Path) -> None:
    reports = _scanned(tmp_path, "SRV-FILE01", "LAPTOP-CFO")
    (tmp_path / "out").mkdir()

    result = CliRunner().invoke(app, ["correlate", *reports, "--audit", AUDIT, "--ip",
                                      "198.51.100.77", "--format", "csv", "-o",
                                      str(tmp_path / "out/f.csv")])

    assert "[held-by-collected-devices]" in result.stderr and "is on: SRV-FILE01" in result.stderr


def test_an_ip_narrowed_away_by_mailbox_says_so() -> None:
    code, said = run("correlate", "--audit", AUDIT, "--ip", "198.51.100.77", "--mailbox",
                     "msmith@contoso.example", "-q")

    assert code == exitcodes.PARTIAL
    assert "no Sync session came from there that also fits --mailbox/--since/--until" in said


def test_a_refused_report_can_be_forgotten(tmp_path: Path) -> None:
    reports = {}
    for host in ("SRV-FILE01", "LAPTOP-CFO"):
        reports[host] = tmp_path / f"{host}.json"
        run("scan", str(CASE / "hosts" / host), "--host-name", host, "-o", str(reports[host]),
            "-q")
    cut = tmp_path / "cut.json"
    cut.write_bytes(reports["SRV-FILE01"].read_bytes()[:5000])
    case = tmp_path / "case.sqlite"
    run("collect", *map(str, reports.values()), str(cut), "--audit", AUDIT, "--case",
        str(case), "-q")
    ask = ["correlate", "--case", str(case), "--ip", "198.51.100.77",
           "--egress", "LAPTOP-CFO=203.0.113.24", "-q"]

    before = CliRunner().invoke(app, ask).stdout
    forgot = run("collect", "--case", str(case), "--forget", str(cut))[0]
    again = run("collect", "--case", str(case), "--forget", str(cut), "-q")[0]
    after = CliRunner().invoke(app, ask).stdout

    assert "not ruled out: a host report not read" in before
    assert (forgot, again) == (exitcodes.OK, exitcodes.PARTIAL)
    assert "host report not read" not in after and "is on: SRV-FILE01" in after
