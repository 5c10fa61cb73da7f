"""`ostscan audit` through the CLI: output formats, CSV safety, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app
from tests import auditgen

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["audit", "-q", *args])


def test_table_lists_sessions(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    result = _run(str(path))

    assert result.exit_code == exitcodes.OK
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["SESSION", "MAILBOX", "FIRST"]
    session_line = next(line for line in lines if line.startswith(auditgen.SESSION_A))
    assert "2024-03-01T09:00:05Z" in session_line
    assert auditgen.ATTACKER_IP in session_line
    assert session_line.rstrip().endswith("yes")


def test_jsonl_lines_carry_schema_version(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f3-purview-classic-csv")

    result = _run(str(path), "--format", "jsonl", "--kind", "sync")

    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 4
    assert {d["schema_version"] for d in documents} == {"1.0"}
    first = documents[0]
    assert first["event.action"] == "MailItemsAccessed"
    assert first["source.ip"] == auditgen.ATTACKER_IP
    assert first["ostscan.folder.key"] == f"{auditgen.DATABASE_GUID}:0x10C"


def test_json_document_and_output_file(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f1-management-api-blob")
    out = tmp_path / "out" / "audit.json"
    out.parent.mkdir()

    result = _run(str(path), "--format", "json", "-o", str(out))

    assert result.exit_code == exitcodes.OK
    document = json.loads(out.read_text())
    assert document["schema_version"] == "1.0"
    assert document["summary"]["sync_events"] == 4
    assert document["summary"]["sessions"] == 2
    assert len(document["events"]) == 7
    assert document["throttle_windows"][0]["start"] == "2024-03-02T12:00:00Z"


def test_csv_cells_are_safe_in_a_spreadsheet(tmp_path: Path) -> None:
    records = auditgen.sample_records()
    records[1]["ClientInfoString"] = "=HYPERLINK(\"http://x\")"
    records[2]["ClientInfoString"] = "@SUM(A1)"
    path = auditgen.write_bytes(tmp_path, "x.jsonl", auditgen.f2_json_lines(records).encode())

    result = _run(str(path), "--format", "csv", "--kind", "sync")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    infos = [r["o365.audit.ClientInfoString"] for r in rows]
    assert infos[:2] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    assert {r["schema_version"] for r in rows} == {"1.0"}


def test_csv_sessions(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    result = _run(str(path), "--format", "csv", "--records", "sessions")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["ostscan.session.event_count"] for r in rows] == ["3", "1"]
    assert rows[0]["o365.audit.SessionId"] == auditgen.SESSION_A


def test_exit_codes(tmp_path: Path) -> None:
    good = auditgen.write_format(tmp_path, "f2-json-lines")
    broken = auditgen.write_bytes(tmp_path, "broken.jsonl", b'{"CreationTime":"2024-')
    nothing = auditgen.write_bytes(tmp_path, "nothing.txt", b"a,b\n1,2\n")

    assert _run(str(good), str(broken)).exit_code == exitcodes.PARTIAL
    assert _run(str(nothing)).exit_code == exitcodes.FAILED
    assert _run(str(tmp_path / "missing")).exit_code == exitcodes.FAILED


def test_nothing_read_gives_no_result_line(tmp_path: Path) -> None:
    """Missing, empty, not an export, a cut zip: stderr says why, stdout says nothing."""
    inputs = [tmp_path / "missing.csv",
              auditgen.write_bytes(tmp_path, "empty.csv", b""),
              auditgen.write_bytes(tmp_path, "random.bin", bytes(range(256)) * 16),
              auditgen.write_bytes(tmp_path, "cut.zip", auditgen.zip_bytes(
                  {"audit.jsonl": auditgen.f2_json_lines(auditgen.sample_records()).encode()})
                  [:300])]

    for path in inputs:
        result = _run(str(path))

        assert (path.name, result.exit_code, result.stdout) == (path.name, exitcodes.FAILED, "")
        assert f"warning: {path}" in result.stderr


def test_records_without_a_sync_session_say_so(tmp_path: Path) -> None:
    records = [r for r in auditgen.sample_records() if r["Operation"] != "MailItemsAccessed"]
    path = auditgen.write_bytes(tmp_path, "other.jsonl", auditgen.f2_json_lines(records).encode())

    result = _run(str(path))

    assert result.exit_code == exitcodes.OK
    assert result.stdout == "no MailItemsAccessed Sync session in the inputs\n"


def test_mailbox_filter_says_when_nothing_covers_it(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    result = _run(str(path), "--format", "json", "--mailbox", "someone@else.example")

    document = json.loads(result.stdout)
    assert document["mailboxes"][0]["status"] == "none-for-mailbox"
    assert document["sessions"] == []


def test_mailbox_answer_is_a_result_also_with_quiet(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    table = _run(str(path), "--mailbox", "nobody@contoso.example")
    jsonl = _run(str(path), "--mailbox", "nobody@contoso.example", "--format", "jsonl")

    assert table.stdout.splitlines()[-1].startswith(
        "mailbox nobody@contoso.example: none-for-mailbox: ")
    assert "mailbox nobody@contoso.example: none-for-mailbox: " in jsonl.stderr


def test_a_mailbox_the_inputs_do_not_hold_is_exit_code_1(tmp_path: Path) -> None:
    """As with `correlate`: a --mailbox that names nothing is most likely a typo."""
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    typo = _run(str(path), "--mailbox", "victim@contoso.exmaple")
    known = _run(str(path), "--mailbox", auditgen.MAILBOX)
    by_guid = _run(str(path), "--mailbox", auditgen.MAILBOX_GUID, "--format", "json")

    assert typo.exit_code == exitcodes.PARTIAL
    assert typo.stdout.splitlines() == [      # the line says it; no "no session" line above it
        "mailbox victim@contoso.exmaple: none-for-mailbox: the inputs hold MailItemsAccessed "
        "records, none for this mailbox between 2024-03-01T08:59:00Z and 2024-03-03T07:00:00Z"]
    assert known.exit_code == by_guid.exit_code == exitcodes.OK
    assert known.stdout.splitlines()[-1].startswith(
        f"mailbox {auditgen.MAILBOX}: events: MailItemsAccessed from 2024-03-01T09:00:05Z")


def test_a_mailbox_in_inputs_without_mailitemsaccessed_is_a_coverage_matter(
        tmp_path: Path) -> None:
    """No MailItemsAccessed at all: the answer says so, the mailbox is no typo (exit 0)."""
    records = [r for r in auditgen.sample_records() if r["Operation"] != "MailItemsAccessed"]
    path = auditgen.write_bytes(tmp_path, "other.jsonl", auditgen.f2_json_lines(records).encode())

    result = _run(str(path), "--mailbox", auditgen.MAILBOX)

    assert result.exit_code == exitcodes.OK
    assert result.stdout.splitlines()[-1].startswith(
        f"mailbox {auditgen.MAILBOX}: no-mailitemsaccessed-in-input: ")


def test_csv_bind_items_and_flags_read_plainly(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    result = _run(str(path), "--format", "csv", "--kind", "bind")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["ostscan.items"] == "<m6.268.0@contoso.example> (1000 bytes);" \
                                      "<m6.268.1@contoso.example> (1001 bytes)"
    assert {r["o365.audit.OperationProperties.IsThrottled"] for r in rows} == {"true", "false"}


def test_the_table_says_kind_and_records_are_for_the_other_formats(tmp_path: Path) -> None:
    path = auditgen.write_format(tmp_path, "f2-json-lines")

    result = _run(str(path), "--kind", "bind")

    assert "--kind and --records choose what json, jsonl and csv hold" in result.stderr
