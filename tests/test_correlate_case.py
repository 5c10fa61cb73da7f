"""The case store: idempotent collection, refused reports with reasons, whole transactions."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.audit.ingest import iter_events
from scanner.cli import app
from scanner.correlate.case import CaseStore
from scanner.correlate.synthetic import (
    Mailbox,
    SyncSpec,
    fleet_report,
    sync_burst,
    write_json_lines,
)
from scanner.report import report_document

UTC = dt.timezone.utc
CREATED = dt.datetime(2025, 2, 3, 10, 0, tzinfo=UTC)
MAILBOX = Mailbox("alice@contoso.example", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                  "11111111-2222-3333-4444-555555555555")


def _write_report(path: Path, host: int, mailbox: Mailbox | None = MAILBOX) -> Path:
    document = report_document(fleet_report(host, mailbox, CREATED))
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _audit(folder: Path, start: dt.datetime = CREATED + dt.timedelta(seconds=30)) -> Path:
    spec = SyncSpec(MAILBOX.upn, MAILBOX.provider_uid, MAILBOX.database_guid,
                    "5e55104a-0000-4000-8000-0000000000aa", "203.0.113.7")
    folders = [(0x109 + n, f"F{0x109 + n:X}") for n in range(20)]
    return write_json_lines(sync_burst(spec, start, folders), folder / "audit.jsonl")


def _counts(case: Path) -> tuple[int, int]:
    db = sqlite3.connect(case)
    try:
        return (db.execute("SELECT count(*) FROM reports").fetchone()[0],
                db.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    finally:
        db.close()


def test_collecting_twice_changes_nothing(tmp_path: Path) -> None:
    report = _write_report(tmp_path / "host1.json", 1)
    case = tmp_path / "case.sqlite"

    with CaseStore(case) as store:
        first = store.collect_reports([str(report)])
        second = store.collect_reports([str(report)])

    assert first.added == [str(report)] and second.unchanged == [str(report)]
    assert _counts(case) == (1, 0)


def test_a_bad_report_is_refused_with_a_reason_and_the_rest_go_in(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    _write_report(folder / "host1.json", 1)
    (folder / "host2.json").write_text('{"document": "something else"}', encoding="utf-8")
    (folder / "host3.json").write_text("{not json", encoding="utf-8")
    _write_report(folder / "host4.json", 4)
    (folder / "host5.json").write_text('{"CreationTime":"2024-03-01T08:59:00"}\n{}\n',
                                       encoding="utf-8")
    (folder / "host6.jsonl").write_text('{"schema_version":"1.0","ostscan.scan_id":"s"}\n',
                                        encoding="utf-8")
    (folder / "audit.jsonl").write_text('{"CreationTime":"2024-03-01T08:59:00"}\n',
                                        encoding="utf-8")

    with CaseStore(tmp_path / "case.sqlite") as store:
        summary = store.collect_reports([str(folder)])

    assert [Path(p).name for p in summary.added] == ["host1.json", "host4.json"]
    reasons = dict(summary.refused)
    assert "not an ostscan scan report" in reasons[str(folder / "host2.json")]
    assert "JSON cut short or broken" in reasons[str(folder / "host3.json")]
    assert "given with --audit" in reasons[str(folder / "host5.json")]
    assert "scan --format jsonl" in reasons[str(folder / "host6.jsonl")]
    assert str(folder / "audit.jsonl") not in reasons


def test_reports_inside_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "velociraptor-export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for host in (1, 2, 3):
            out.writestr(f"hosts/h{host}.json",
                         json.dumps(report_document(fleet_report(host, MAILBOX, CREATED))))
        out.writestr("hosts/readme.txt", "not a report")

    with CaseStore(tmp_path / "case.sqlite") as store:
        summary = store.collect_reports([str(archive)])
        hosts = sorted(r.host.name for _, r in store.reports())

    assert len(summary.added) == 3 and not summary.refused
    assert hosts == ["HOST00001", "HOST00002", "HOST00003"]


def test_an_interrupted_audit_collection_leaves_nothing_half_written(tmp_path: Path) -> None:
    audit = _audit(tmp_path)
    case = tmp_path / "case.sqlite"

    def breaks_after_five():  # noqa: ANN202 - a generator
        for number, event in enumerate(iter_events([str(audit)])):
            if number == 5:
                raise KeyboardInterrupt
            yield event

    with CaseStore(case) as store, pytest.raises(KeyboardInterrupt):
        store.add_audit_events(str(audit), "digest-1", breaks_after_five(), dict)

    assert _counts(case) == (0, 0)
    with CaseStore(case) as store:
        outcome, seen, added = store.add_audit_events(
            str(audit), "digest-1", iter_events([str(audit)]), dict)
    assert (outcome, seen, added) == ("added", 20, 20)


def test_collect_and_correlate_through_the_command_line(tmp_path: Path) -> None:
    reports = [str(_write_report(tmp_path / f"host{n}.json", n)) for n in (1, 2)]
    audit = str(_audit(tmp_path))
    (tmp_path / "work").mkdir()
    case = str(tmp_path / "work" / "case.sqlite")       # never beside the evidence
    runner = CliRunner()

    first = runner.invoke(app, ["collect", *reports, "--audit", audit, "--case", case, "-q"])
    again = runner.invoke(app, ["collect", *reports, "--audit", audit, "--case", case, "-q"])
    out = tmp_path / "findings.jsonl"
    result = runner.invoke(app, ["correlate", "--case", case, "--ip", "203.0.113.7",
                                 "--format", "jsonl", "-o", str(out), "-q"])

    assert first.exit_code == exitcodes.OK, first.output
    assert again.exit_code == exitcodes.OK
    assert _counts(Path(case)) == (2, 20)
    assert result.exit_code == exitcodes.OK, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    findings = [r for r in records if r["ostscan.record"] == "finding"]
    assert sorted(r["host.name"] for r in findings) == ["HOST00001", "HOST00002"]
    assert {r["ostscan.verdict"] for r in findings} == {"match"}
    [session] = [r for r in records if r["ostscan.record"] == "session"]
    assert session["ostscan.conclusion"] == "held-by-collected-devices"
    assert session["ostscan.hosts_examined"] == 2
    assert all(r["schema_version"] == "1.0" for r in records)


def test_collect_refuses_a_bad_report_with_partial_exit(tmp_path: Path) -> None:
    good = str(_write_report(tmp_path / "good.json", 1))
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    case = str(tmp_path / "case.sqlite")

    result = CliRunner().invoke(app, ["collect", good, str(bad), "--case", case])

    assert result.exit_code == exitcodes.PARTIAL
    assert f"{bad}: not a JSON object" in result.output
    assert _counts(Path(case)) == (1, 0)


def test_collect_refuses_audit_inputs_without_records_and_repeats_damage(tmp_path: Path) -> None:
    """An OST or a scan report given with --audit is refused, not kept as an input; an export
    collected again says again what its reading found."""
    not_audit = tmp_path / "mailbox.ost"
    not_audit.write_bytes(b"!BDN" + bytes(4000))
    report = _write_report(tmp_path / "host1.json", 1)
    cut = tmp_path / "cut.jsonl"
    cut.write_text(_audit(tmp_path).read_text(encoding="utf-8")[:-40], encoding="utf-8")
    (tmp_path / "work").mkdir()
    case = str(tmp_path / "work" / "case.sqlite")
    runner = CliRunner()

    first = runner.invoke(app, ["collect", "--case", case, "--audit", str(not_audit),
                                "--audit", str(report), "--audit", str(cut)])
    again = runner.invoke(app, ["collect", "--case", case, "--audit", str(cut)])

    assert first.exit_code == exitcodes.PARTIAL
    assert f"{not_audit}: refused" in first.stderr and f"{report}: refused" in first.stderr
    with CaseStore(Path(case)) as store:
        assert [i["source"] for i in store.audit_inputs()] == [str(cut)]
    assert again.exit_code == exitcodes.PARTIAL
    assert "looks cut short" in again.stderr and "unchanged" in again.stderr


def test_correlate_without_a_case_fails_clearly(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.sqlite")

    result = CliRunner().invoke(app, ["correlate", "--case", missing])

    assert result.exit_code == exitcodes.FAILED
    assert "no such case" in result.output
    assert not Path(missing).exists()


def test_correlate_directly_over_reports_and_audit_to_html(tmp_path: Path) -> None:
    report = str(_write_report(tmp_path / "host7.json", 7))
    bad = tmp_path / "bad.json"
    bad.write_text('{"document": "ostscan.scan_report"}', encoding="utf-8")
    audit = str(_audit(tmp_path))
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "report.html"          # never beside the evidence

    result = CliRunner().invoke(app, [
        "correlate", "--report", report, "--report", str(bad), "--audit", audit,
        "--mailbox", MAILBOX.upn, "--egress", "HOST00007=203.0.113.7", "--format", "html",
        "-o", str(out), "-q"])

    assert result.exit_code == exitcodes.PARTIAL      # bad.json refused, the rest correlated
    assert f"{bad}: schema_version" in result.output
    html = out.read_text(encoding="utf-8")
    assert "HOST00007" in html and "held-by-collected-devices" in html
    assert "egress_ip</b> supports" in html
    assert html.count("<circle") == 20                # the 20 Sync events of the session


def test_collect_audit_folder_skips_documents_as_audit_does(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    _audit(exports)
    (exports / "SOURCES.md").write_text("where these came from\n", encoding="utf-8")
    (tmp_path / "work").mkdir()

    result = CliRunner().invoke(app, ["collect", "--case", str(tmp_path / "work/c.sqlite"),
                                      "--audit", str(exports), "-q"])

    assert result.exit_code == exitcodes.OK, result.stderr
    assert "SOURCES.md" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is a Linux feature")
def test_collect_leaves_the_access_times_of_what_it_reads(tmp_path: Path) -> None:
    report = _write_report(tmp_path / "host1.json", 1)
    audit = _audit(tmp_path)
    packed = tmp_path / "reports.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        archive.write(report, "host1.json")
    for path in (report, audit, packed):
        os.utime(path, (1577836800, 1609459200))        # atime 2020, mtime 2021
    (tmp_path / "work").mkdir()

    CliRunner().invoke(app, ["collect", str(report), str(packed), "--audit", str(audit),
                             "--case", str(tmp_path / "work/c.sqlite"), "-q"])

    assert [os.stat(p).st_atime for p in (report, audit, packed)] == [1577836800] * 3


@pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is a Linux feature")
def test_collect_lists_an_audit_folder_as_audit_does(tmp_path: Path) -> None:
    """Documents left out, and the folders listed without updating their access times."""
    exports = tmp_path / "exports" / "tenant"
    exports.mkdir(parents=True)
    _audit(exports)
    (exports / "README.md").write_text("notes\n", encoding="utf-8")
    for folder in (exports, exports.parent):
        os.utime(folder, (1577836800, 1609459200))
    (tmp_path / "work").mkdir()

    result = CliRunner().invoke(app, ["collect", "--case", str(tmp_path / "work/c.sqlite"),
                                      "--audit", str(exports.parent), "-q"])

    assert result.exit_code == exitcodes.OK, result.stderr
    assert [os.stat(f).st_atime for f in (exports, exports.parent)] == [1577836800] * 2
