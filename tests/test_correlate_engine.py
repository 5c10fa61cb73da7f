"""The join on made-up hosts and sessions whose truth is known by construction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scanner.audit.events import AuditEvent, BoundItem, SyncSession
from scanner.correlate.auditside import build_audit_side
from scanner.correlate.copies import copies_from_report, parse_egress, read_egress_csv
from scanner.correlate.engine import CorrelateOptions, candidate_sessions, correlate
from scanner.correlate.marking import build_marks
from scanner.correlate.model import HELD_BY_DEVICES, OFF_FLEET, UNDETERMINED
from scanner.correlate.rules import default_rules_dir, load_rules
from scanner.records import (
    STATUS_LOCKED,
    FolderRecord,
    HostContext,
    OutlookProcess,
    OwnerClue,
    ScanReport,
    StoreFile,
    StoreIdentity,
    TargetInfo,
)

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
VICTIM = "victim@contoso.example"
VICTIM_DB = "11111111-2222-3333-4444-555555555555"
VICTIM_UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
OTHER = "other@contoso.example"
OTHER_DB = "99999999-8888-7777-6666-555555555555"
FOLDERS = [(0x109, "Sent Items", 4), (0x10C, "Inbox", 120), (0x10D, "Calendar", 6),
           (0x10F, "Drafts", 1)]
RULES = load_rules([default_rules_dir()])


def _store(owner: str, database: str, created: dt.datetime, modified: dt.datetime,
           path: str | None = None, with_items: bool = False) -> StoreFile:
    folders = [FolderRecord(path=f"/Root - Mailbox/IPM_SUBTREE/{name}", name=name,
                            local_id=100 + gc, item_count=count, replica_id=1,
                            global_counter=gc, id_scope="server", database_guid=database,
                            message_ids=[f"<m{gc}-{n}@contoso.example>" for n in range(3)]
                            if with_items else None)
               for gc, name, count in FOLDERS]
    return StoreFile(
        path=path or f"C:/Users/u/AppData/Local/Microsoft/Outlook/{owner}.ost",
        profile_user="u", found_by="default-location", created=created, modified=modified,
        kind="ost", sha256="ab" * 32,
        store=StoreIdentity(provider_uid=VICTIM_UID if database == VICTIM_DB else None,
                            database_guid=database, root_created=created),
        owner_clues=[OwnerClue(owner, "smtp", "inbox_received_by")], folders=folders)


def _report(host: str, *stores: StoreFile, live: bool = False,
            egress: str | None = None, deep: bool = False) -> ScanReport:
    processes = [OutlookProcess(4242, "u", T0, "C:/Program Files/OUTLOOK.EXE",
                                "16.0.17928.20114", open_stores=[stores[0].path])] \
        if live and stores else []
    return ScanReport(
        started=T0 + dt.timedelta(days=20), finished=T0 + dt.timedelta(days=20, minutes=5),
        target=TargetInfo("live" if live else "collection", host, host),
        host=HostContext(name=host, os="Windows 11", boot_time=T0, outlook_processes=processes,
                         outlook_versions=["16.0.17928.20114"], egress_ip=egress),
        files=list(stores), scan_id=f"scan-{host}", options={"deep": deep})


def _session(key: str, mailbox: str, database: str, first: dt.datetime, ip: str,
             hours: float = 1.0) -> SyncSession:
    return SyncSession(
        session_key=key, key_source="session_id", user=mailbox, mailbox_upn=mailbox,
        first=first, last=first + dt.timedelta(hours=hours), event_count=len(FOLDERS),
        folder_keys=[f"{database}:0x{gc:X}" for gc, _, _ in FOLDERS], folder_paths=[],
        client_ips=[ip], client_versions=["16.0.17928.20114"],
        client_infos=["Client=MSExchangeRPC"],
        provider_uids=[VICTIM_UID] if database == VICTIM_DB else [], database_guids=[database],
        leaves_ost=True)


def _fleet() -> list[tuple[str, ScanReport]]:
    laptop = _store(VICTIM, VICTIM_DB, T0 - dt.timedelta(days=200), T0 + dt.timedelta(days=19))
    colleague = _store(OTHER, OTHER_DB, T0 - dt.timedelta(days=90), T0 + dt.timedelta(days=19))
    return [("r-laptop", _report("LAPTOP-VICTIM", laptop, live=True, egress="192.0.2.10")),
            ("r-colleague", _report("LAPTOP-OTHER", colleague)),
            ("r-server", _report("FILESERVER", deep=True))]    # no OST anywhere on it


def _sessions() -> list[SyncSession]:
    return [_session("owner-1", VICTIM, VICTIM_DB, T0 + dt.timedelta(days=3), "192.0.2.10"),
            _session("attacker-1", VICTIM, VICTIM_DB, T0 + dt.timedelta(days=5), "203.0.113.9"),
            _session("other-1", OTHER, OTHER_DB, T0 + dt.timedelta(days=4), "192.0.2.11")]


def test_attacker_copy_is_off_fleet_and_owner_laptop_is_fed_by_owner_session() -> None:
    audit = build_audit_side(_sessions())
    marks = build_marks(ips=["203.0.113.0/24"])

    result = correlate(_fleet(), audit, RULES, marks)

    verdicts = {(f.host, f.session_key or f.mailbox): f.verdict for f in result.findings}
    assert verdicts == {
        ("LAPTOP-VICTIM", "owner-1"): "match",
        ("LAPTOP-VICTIM", "attacker-1"): "same-mailbox",
        ("LAPTOP-OTHER", "other-1"): "same-mailbox",
        ("LAPTOP-OTHER", VICTIM): "unrelated",     # the marked mailbox, collapsed
    }
    fed = next(f for f in result.findings if f.session_key == "owner-1")
    assert fed.rule_ids[0] == "match-fed-by-session"
    assert {e.check: e.outcome for e in fed.evidence}["egress_ip"] == "supports"
    assert {e.check: e.outcome for e in fed.evidence}["outlook_open"] == "supports"

    [conclusion] = result.conclusions
    assert conclusion.session_key == "attacker-1"
    assert conclusion.conclusion == OFF_FLEET
    assert conclusion.hosts_examined == 3
    assert conclusion.copies_of_mailbox == 1
    assert conclusion.marked_by == ["ip 203.0.113.9 in 203.0.113.0/24"]
    assert conclusion.scans_from == T0 + dt.timedelta(days=20)
    assert "off-fleet" in conclusion.statement and "3 host(s)" in conclusion.statement


def test_a_host_with_no_ost_not_searched_whole_keeps_off_fleet_away() -> None:
    """The server holds no OST in Outlook's folders and was not scanned with --deep: a copy
    moved elsewhere on it would have been missed."""
    fleet = [*_fleet()[:2], ("r-server", _report("FILESERVER"))]

    [conclusion] = correlate(fleet, build_audit_side(_sessions()), RULES,
                             build_marks(ips=["203.0.113.0/24"])).conclusions

    assert conclusion.conclusion == UNDETERMINED
    assert conclusion.undetermined_copies == [
        "FILESERVER: no Outlook data file in Outlook's folders, and not searched whole "
        "(scan --deep)"]


def test_attacker_copy_on_a_collected_host_is_found() -> None:
    created = T0 + dt.timedelta(days=5, minutes=-2)
    vm = _store(VICTIM, VICTIM_DB, created, created + dt.timedelta(hours=2))
    reports = _fleet() + [("r-vm", _report("ATTACKER-VM", vm))]

    result = correlate(reports, build_audit_side(_sessions()), RULES,
                       build_marks(sessions=["attacker-1"]))

    [conclusion] = result.conclusions
    assert conclusion.conclusion == HELD_BY_DEVICES
    assert [(d.host, d.report_id) for d in conclusion.devices] == [("ATTACKER-VM", "r-vm")]
    match = next(f for f in result.findings if f.host == "ATTACKER-VM"
                 and f.session_key == "attacker-1")
    assert match.rule_ids[0] == "match-created-by-session"
    assert {x.path.rsplit("/", 1)[-1]: x.item_count for x in match.exposure} == {
        "Sent Items": 4, "Inbox": 120, "Calendar": 6, "Drafts": 1}


def test_sessions_of_another_mailbox_collapse_to_one_finding() -> None:
    sessions = [_session(f"o-{n}", OTHER, OTHER_DB, T0 + dt.timedelta(days=n), "192.0.2.11")
                for n in range(3)]
    laptop = _store(VICTIM, VICTIM_DB, T0, T0 + dt.timedelta(days=10))

    result = correlate([("r", _report("LAPTOP", laptop))], build_audit_side(sessions), RULES)

    [finding] = result.findings
    assert finding.verdict == "unrelated"
    assert finding.session_count == 3
    assert finding.session_key is None
    assert finding.facts["database_guid_match"] is False


def test_unrelated_mailboxes_are_capped_per_copy() -> None:
    sessions = [_session(f"s-{n}", f"user{n:02d}@contoso.example", f"{n:08d}-0000-0000-0000-"
                         "000000000000", T0, "192.0.2.50") for n in range(30)]
    laptop = _store(VICTIM, VICTIM_DB, T0, T0 + dt.timedelta(days=10))

    result = correlate([("r", _report("LAPTOP", laptop))], build_audit_side(sessions), RULES,
                       options=CorrelateOptions(unrelated_limit=20))

    assert len(result.findings) == 20
    assert {f.verdict for f in result.findings} == {"unrelated"}
    assert result.warnings and "--unrelated-limit" in result.warnings[0]


def test_a_locked_ost_of_the_mailbox_leaves_the_conclusion_open() -> None:
    locked = StoreFile(path=f"C:/Users/v/AppData/Local/Microsoft/Outlook/{VICTIM}.ost",
                       profile_user="v", found_by="default-location", status=STATUS_LOCKED,
                       reason="sharing violation", kind=None)
    reports = [("r-locked", _report("DESKTOP-LOCKED", locked))]

    result = correlate(reports, build_audit_side(_sessions()), RULES,
                       build_marks(sessions=["attacker-1"]))

    pair = next(f for f in result.findings if f.session_key == "attacker-1")
    assert pair.verdict == "insufficient-evidence"
    assert pair.facts["owner_match"] is True and pair.facts["ost_readable"] is False
    [conclusion] = result.conclusions
    assert conclusion.conclusion == UNDETERMINED
    assert conclusion.undetermined_copies == [
        f"DESKTOP-LOCKED: C:/Users/v/AppData/Local/Microsoft/Outlook/{VICTIM}.ost "
        "(locked: mailbox ids not readable)"]


def test_bind_message_ids_of_the_session_that_the_copy_holds() -> None:
    created = T0 + dt.timedelta(days=5, minutes=-2)
    vm = _store(VICTIM, VICTIM_DB, created, created + dt.timedelta(hours=2), with_items=True)
    sessions = _sessions()
    bind = _bind_event("attacker-1", ["<m268-1@contoso.example>", "<not-in-ost@x.example>"])

    result = correlate([("r-vm", _report("ATTACKER-VM", vm))],
                       build_audit_side(sessions, bind_events=[bind]), RULES)

    match = next(f for f in result.findings if f.session_key == "attacker-1")
    bound = {x.path.rsplit("/", 1)[-1]: x.bound_message_ids for x in match.exposure}
    assert bound["Inbox"] == ["<m268-1@contoso.example>"]
    assert bound["Calendar"] == []


def _bind_event(session: str, message_ids: list[str]) -> AuditEvent:
    return AuditEvent(
        kind="bind", time=T0 + dt.timedelta(days=5, minutes=30), record_id="b-1", user=VICTIM,
        mailbox_upn=VICTIM, mailbox_guid=None, session_id=session, client_ip="203.0.113.9",
        client_info="Client=MSExchangeRPC", client_process=None, client_version=None,
        app_id=None, logon_type=0, throttled=False, folder_id=None, folder_name="Inbox",
        folder_path="\\Inbox", folder_id_status="ok", provider_uid=VICTIM_UID,
        database_guid=VICTIM_DB, global_counter=0x10C, object_type=1,
        items=[BoundItem(m, 2048) for m in message_ids])


def test_a_copy_only_meets_sessions_of_its_own_mailbox() -> None:
    sessions = _sessions() + [
        _session(f"x-{n}", f"x{n}@contoso.example", f"{n:08d}-1111-0000-0000-000000000000",
                 T0, "192.0.2.99") for n in range(500)]
    audit = build_audit_side(sessions)
    laptop = _fleet()[0][1]

    [copy] = list(copies_from_report(laptop, "r-laptop"))

    assert sorted(candidate_sessions(copy, audit)) == ["attacker-1", "owner-1"]


def test_full_support_keeps_the_rule_confidence_and_contradiction_lowers_it() -> None:
    created = T0 + dt.timedelta(days=5, minutes=-2)
    vm = _store(VICTIM, VICTIM_DB, created, created + dt.timedelta(hours=1))
    report = _report("VM", vm, egress="203.0.113.9")

    result = correlate([("r", report)], build_audit_side(_sessions()), RULES)

    match = next(f for f in result.findings if f.session_key == "attacker-1")
    contradicted = [e.check for e in match.evidence if e.outcome == "contradicts"]
    assert contradicted == []
    assert match.confidence == 0.9
    owner = next(f for f in result.findings if f.session_key == "owner-1")
    assert owner.verdict == "same-mailbox"
    assert owner.confidence < 0.85


def test_egress_csv_in_velociraptor_client_list_form(tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text("client_id,Hostname,OS,LastIP\n"
                    "C.1,LAPTOP-VICTIM,windows,192.0.2.10:51234\n"
                    "C.2,Laptop-Other,windows,[2001:db8::7]:443\n"
                    "C.3,LAPTOP-TYPO,windows,notanip\n"
                    "C.4,,windows,1.2.3.4\n"
                    "C.5,WS-HR02,windows,\n"
                    "C.6,TWICE,windows,192.0.2.1\n"
                    "C.7,twice,windows,192.0.2.2\n", encoding="utf-16")
    problems: list[str] = []

    assert read_egress_csv(str(path), problems) == {"laptop-victim": "192.0.2.10",
                                                    "laptop-other": "2001:db8::7"}
    assert problems == [
        f"{path}:4: 'notanip' is not an IP address; host LAPTOP-TYPO has no egress address",
        f"{path}:5: no host; row left out",
        f"{path}:6: no address; row left out",
        f"{path}: host twice has 2 addresses (192.0.2.1, 192.0.2.2); none is used"]


def test_egress_that_is_no_text_or_names_a_host_twice_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "clients.csv"
    binary.write_bytes(bytes(range(256)))

    with pytest.raises(ValueError, match="clients.csv: not a UTF-8 or UTF-16 text file"):
        read_egress_csv(str(binary), [])
    with pytest.raises(ValueError, match="given twice, 192.0.2.1 and 192.0.2.2"):
        parse_egress(["PC=192.0.2.1", "pc=192.0.2.2"])
    assert parse_egress(["PC=192.0.2.1", "pc=192.0.2.1"]) == {"pc": "192.0.2.1"}


@pytest.mark.parametrize(("facts", "said"), [
    ({"creation_delta_hours": 0.0}, "made as the session ran"),
    ({"creation_delta_hours": None, "birth_delta_hours": 0.2}, "made as the session ran"),
    ({"creation_delta_hours": -1500.0}, "made before the session"),
])
def test_a_copy_not_ruled_out_is_described_by_its_own_creation_time(facts: dict,
                                                                   said: str) -> None:
    from scanner.correlate.conclusions import _made

    assert _made(facts).startswith(said)


def test_a_private_or_local_egress_address_is_not_used() -> None:
    from scanner.correlate.copies import drop_local

    problems: list[str] = []
    egress = {"a": "10.0.0.5", "b": "127.0.0.1", "c": "fe80::1", "d": "203.0.113.24",
              "e": "2001:db8::7", "f": "192.168.1.10"}

    kept = drop_local(egress, "clients.csv", problems)

    assert kept == {"d": "203.0.113.24", "e": "2001:db8::7"}
    assert problems[0] == ("clients.csv: a = 10.0.0.5 is a private or local address, not the "
                           "public one the audit log sees; not used")
    assert len(problems) == 4
