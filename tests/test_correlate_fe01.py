"""fe01.ost (a real Exchange Online OST) against real and made-up Sync records.

fe01 facts (see ../shared/research/ost-identity.md and ost-fixtures.md): ProviderUID raw bytes
8da5fade8443dc44a3db178a4796b03c, DatabaseGuid raw bytes 68e805a98195124f961de50f1230034d, root
folder created 2021-03-03T14:32:37Z, owner steven.hark@testymctestfaces.com, server folders
Calendar 0x10D (6 items), Contacts 0x10E, Drafts 0x10F, Journal 0x110, Notes 0x111, Tasks 0x112,
Junk Email 0x113. The invictus export holds Sync records of another mailbox
(joey@dutchmasterz.onmicrosoft.com).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.audit.ingest import ingest
from scanner.cli import app
from scanner.correlate.auditside import audit_side_from_log
from scanner.correlate.engine import correlate
from scanner.correlate.marking import build_marks
from scanner.correlate.model import HELD_BY_DEVICES, UNDETERMINED, CorrelationResult
from scanner.correlate.rules import default_rules_dir, load_rules
from scanner.correlate.synthetic import SyncSpec, sync_burst, write_json_lines
from scanner.entryid import guid_text
from scanner.records import ScanReport
from scanner.scan import ScanOptions, scan_path

PROVIDER_UID = guid_text(bytes.fromhex("8da5fade8443dc44a3db178a4796b03c"))
DATABASE_GUID = guid_text(bytes.fromhex("68e805a98195124f961de50f1230034d"))
ROOT_CREATED = dt.datetime(2021, 3, 3, 14, 32, 37, tzinfo=dt.timezone.utc)
OWNER = "steven.hark@testymctestfaces.com"
SERVER_FOLDERS = [(0x10D, "Calendar"), (0x10E, "Contacts"), (0x10F, "Drafts"),
                  (0x110, "Journal"), (0x111, "Notes"), (0x112, "Tasks"), (0x113, "Junk Email")]
SESSION = "0e5c0a11-fe01-4a7e-9d0c-5e5510000001"
INVICTUS = "auditlogs-public/invictus-o365-dataset-auditrecords.csv.gz"


@pytest.fixture(scope="module")
def fe01_report(fe01_ost: Path) -> ScanReport:
    return scan_path(str(fe01_ost), ScanOptions(host_name="WS-FE01"))


def _spec() -> SyncSpec:
    return SyncSpec(OWNER, PROVIDER_UID, DATABASE_GUID, SESSION, "198.51.100.23")


def _positive_audit(folder: Path, shift: dt.timedelta = dt.timedelta(0)) -> Path:
    """Sync records of fe01's own folders, starting 40 s after its root folder was created."""
    start = ROOT_CREATED + dt.timedelta(seconds=40) + shift
    return write_json_lines(sync_burst(_spec(), start, SERVER_FOLDERS), folder / "sync.jsonl")


def _correlate(report: ScanReport, audit: Path, marked: bool = False) -> CorrelationResult:
    side = audit_side_from_log(ingest([str(audit)]))
    marks = build_marks([SESSION] if marked else [])
    return correlate([("fe01", report)], side, load_rules([default_rules_dir()]), marks)


def test_fe01_against_invictus_is_unrelated_with_the_reason(
    fe01_report: ScanReport, shared_dir: Path
) -> None:
    result = _correlate(fe01_report, shared_dir / INVICTUS)

    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.verdict == "unrelated"
    assert finding.mailbox == "joey@dutchmasterz.onmicrosoft.com"
    assert finding.rule_ids[0] == "unrelated-different-mailbox"
    assert finding.session_key is None and finding.session_count == 2
    by_check = {e.check: e for e in finding.evidence}
    assert by_check["database_guid"].outcome == "contradicts"
    assert by_check["database_guid"].ost_value == [DATABASE_GUID]
    assert DATABASE_GUID not in by_check["database_guid"].audit_value
    assert by_check["provider_uid"].ost_value == PROVIDER_UID
    assert by_check["owner_address"].ost_value == [OWNER]
    assert by_check["owner_address"].outcome == "contradicts"


def test_fe01_with_sync_of_its_own_folders_at_creation_is_a_match(
    fe01_report: ScanReport, tmp_path: Path
) -> None:
    result = _correlate(fe01_report, _positive_audit(tmp_path), marked=True)

    assert [f.verdict for f in result.findings] == ["match"]
    finding = result.findings[0]
    assert finding.rule_ids[0] == "match-created-by-session"
    assert finding.session_key == SESSION
    assert finding.host == "WS-FE01"
    assert finding.facts["folder_overlap_count"] == 7
    assert finding.facts["database_guid_match"] is True
    assert finding.facts["provider_uid_match"] is True
    assert finding.facts["owner_match"] is True
    assert abs(finding.facts["creation_delta_hours"]) < 0.02
    exposed = {x.folder_key: x for x in finding.exposure}
    assert exposed[f"{DATABASE_GUID}:0x10D"].path.endswith("/Calendar")
    assert exposed[f"{DATABASE_GUID}:0x10D"].item_count == 6
    conclusion = result.conclusions[0]
    assert conclusion.conclusion == HELD_BY_DEVICES
    assert [d.host for d in conclusion.devices] == ["WS-FE01"]


def test_the_same_sync_two_weeks_earlier_is_same_mailbox_not_match(
    fe01_report: ScanReport, tmp_path: Path
) -> None:
    audit = _positive_audit(tmp_path, shift=-dt.timedelta(days=14))
    result = _correlate(fe01_report, audit, marked=True)

    assert [f.verdict for f in result.findings] == ["same-mailbox"]
    finding = result.findings[0]
    assert finding.rule_ids == ["same-mailbox"]
    creation = next(e for e in finding.evidence if e.check == "creation_time")
    assert creation.outcome == "contradicts"
    assert finding.facts["session_before_ost"] is True
    conclusion = result.conclusions[0]
    # one file scanned is not its host searched: the session's copy could be elsewhere on it
    assert conclusion.conclusion == UNDETERMINED
    assert conclusion.undetermined_copies == [
        f"{fe01_report.host.name or 'unnamed (' + fe01_report.target.path + ')'}: only single "
        "files were scanned, not the host"]
    assert conclusion.hosts_examined == 1
    assert conclusion.copies_of_mailbox == 1


def test_match_command_on_fe01(fe01_ost: Path, tmp_path: Path) -> None:
    audit = _positive_audit(tmp_path)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "match.jsonl"          # never beside the evidence
    runner = CliRunner()
    result = runner.invoke(app, ["match", str(fe01_ost), "--audit", str(audit), "--session",
                                 SESSION, "--format", "jsonl", "-o", str(out), "-q"])

    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert '"ostscan.verdict":"match"' in lines[0]
    assert '"ostscan.conclusion":"held-by-collected-devices"' in lines[-1]


def test_locally_numbered_inbox_is_found_again_by_name(
    fe01_report: ScanReport, tmp_path: Path
) -> None:
    # fe01 numbers Inbox locally (replica 0, counter 0xC): the server's Inbox id 0x10C is not in
    # the file, so a synced Inbox can only be tied to the OST's Inbox (31 items) by its name.
    folders = [*SERVER_FOLDERS, (0x10C, "Inbox")]
    start = ROOT_CREATED + dt.timedelta(seconds=40)
    audit = write_json_lines(sync_burst(_spec(), start, folders), tmp_path / "sync.jsonl")

    finding = _correlate(fe01_report, audit).findings[0]

    exposed = {x.folder_key: x for x in finding.exposure}
    inbox = exposed[f"{DATABASE_GUID}:0x10C"]
    assert (inbox.path, inbox.item_count, inbox.matched_by) == \
        ("/Root - Mailbox/IPM_SUBTREE/Inbox", 31, "folder name")
    assert exposed[f"{DATABASE_GUID}:0x10D"].matched_by == "folder id"
    assert (finding.facts["folder_overlap_count"], finding.facts["folder_overlap_by_name"]) \
        == (8, 1)


def test_a_later_sync_of_only_inbox_and_sent_items_does_not_count_against_the_copy(
    fe01_report: ScanReport, tmp_path: Path
) -> None:
    # an incremental session names only locally numbered folders: found by name, not absent
    start = ROOT_CREATED + dt.timedelta(days=2)
    folders = [(0x10C, "Inbox"), (0x109, "Sent Items")]
    audit = write_json_lines(sync_burst(_spec(), start, folders), tmp_path / "sync.jsonl")

    finding = _correlate(fe01_report, audit).findings[0]

    overlap = next(e for e in finding.evidence if e.check == "folder_overlap")
    assert overlap.outcome == "supports"
    assert overlap.note == "2 of 2 synced folders are in the OST (2 by name)"
