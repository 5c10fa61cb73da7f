"""The summary line on stderr says what was examined: a file that is no Outlook data file (no
PFF signature, empty) is not counted as one found."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from typer.testing import CliRunner

from fixtures.ostwriter import write_ost
from fixtures.ostwriter.mailbox import Mailbox, exchange_ost
from scanner.cli import app

UTC = dt.timezone.utc
BOB = Mailbox(
    smtp="bob@contoso.example",
    display_name="Bob Example",
    legacy_dn="/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
              "cn=1a2b3c4d5e6f70819293a4b5c6d7e8f9-bob",
    provider_uid=uuid.UUID("5d1c0a2e-8b3f-4e6a-9c7d-2f1e0b3a4c5d"),
    database_guid=uuid.UUID("c4b3a291-0e8f-4d7c-b6a5-948372615f0e"),
    created=dt.datetime(2024, 2, 1, 10, 0, tzinfo=UTC),
)


def summary(target: Path, out: Path) -> str:
    result = CliRunner().invoke(app, ["scan", str(target), "--no-hash", "--host-name", "PC",
                                      "-o", str(out)])
    return result.stderr.splitlines()[0]


def test_a_text_file_given_alone_is_not_said_to_be_found(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence/README.md").write_text("# notes\n", encoding="utf-8")

    line = summary(tmp_path / "evidence/README.md", tmp_path / "report.json")

    assert line == "1 file examined: not an Outlook data file (not-pff)"


def test_an_empty_ost_given_alone_is_not_said_to_be_found(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence/empty.ost").write_bytes(b"")

    line = summary(tmp_path / "evidence/empty.ost", tmp_path / "report.json")

    assert line == "1 file examined: not an Outlook data file (empty)"


def test_a_folder_counts_stores_and_other_files_by_status(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    write_ost(exchange_ost(BOB, BOB.created, {"Inbox": 2}, version=36), folder / "bob.ost")
    (folder / "page.ost").write_text("<html>not a store</html>", encoding="utf-8")
    (folder / "empty.pst").write_bytes(b"")

    line = summary(folder, tmp_path / "report.json")

    assert line == (f"1 Outlook data file(s) found (1 ok) in folder {folder} (no system-drive "
                    "layout: every file searched); 2 other file(s) examined, not Outlook data "
                    "files (1 not-pff, 1 empty)")
