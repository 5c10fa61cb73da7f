"""The whole scan on a made-up host: real OSTs written by the fixture writer, decoys, a broken
file, placeholders and symlink loops; and the worker that keeps a bad parse from stopping it."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path

import pytest
from hosttree import build_host, expected_default
from typer.testing import CliRunner

from fixtures.ostwriter import write_ost
from fixtures.ostwriter.mailbox import Mailbox, exchange_ost
from scanner import exitcodes
from scanner.cli import app
from scanner.scan import ScanOptions, scan_path

UTC = dt.timezone.utc
OST_CREATED = dt.datetime(2026, 10, 5, 8, 30, 12, tzinfo=UTC)
ALICE = Mailbox(
    smtp="alice@contoso.example",
    display_name="Alice Example",
    legacy_dn="/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
              "cn=0f1e2d3c4b5a69788796a5b4c3d2e1f0-alice",
    provider_uid=uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    database_guid=uuid.UUID("9b2e1c44-7d0a-4c51-8e3f-5a6b7c8d9e0f"),
    created=dt.datetime(2024, 1, 15, 9, 0, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("host")
    ost = folder / "alice.ost"
    write_ost(exchange_ost(ALICE, OST_CREATED, {"Inbox": 12, "Sent Items": 3}, version=36), ost)
    return build_host(folder / "drive", real_store=ost.read_bytes())


@pytest.fixture(scope="module")
def report(host: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["scan", str(host), "-q"])
    return result.exit_code, json.loads(result.stdout)


def test_exactly_the_expected_files(report: tuple[int, dict]) -> None:
    code, document = report

    assert {f["path"] for f in document["files"]} == expected_default()
    assert code == exitcodes.PARTIAL


def test_real_ost_read_with_owner_and_creation(report: tuple[int, dict]) -> None:
    alice = next(f for f in report[1]["files"] if f["path"].endswith("alice@contoso.example.ost"))

    assert alice["status"] == "ok" and alice["profile_user"] == "Alice"
    assert alice["store"]["root_created"] == "2026-10-05T08:30:12Z"
    assert alice["store"]["database_guid"] == str(ALICE.database_guid)
    assert {"alice@contoso.example"} <= {c["value"] for c in alice["owner_clues"]}
    inbox = next(f for f in alice["folders"] if f["path"].endswith("IPM_SUBTREE/Inbox"))
    assert inbox["item_count"] == 12


def test_broken_and_placeholder_files_have_reasons(report: tuple[int, dict]) -> None:
    files = {f["path"].rsplit("/", 1)[-1]: f for f in report[1]["files"]}

    assert files["broken.ost"]["status"] == "not-pff"
    assert files["archive.pst"]["status"] == "damaged"
    assert files["archive.pst"]["reason"]
    assert files["alice-old.bak"]["found_by"] == "default-location"


def test_a_hanging_parser_costs_one_file(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scanner.pff.store as store_module

    def hang(*args: object, **kwargs: object) -> None:
        time.sleep(30)

    monkeypatch.setattr(store_module, "read_store", hang)
    ost = host / "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost"

    started = time.monotonic()
    result = scan_path(str(ost), ScanOptions(timeout=1.0, hash=False))

    assert time.monotonic() - started < 10
    assert result.files[0].status == "timeout"
    assert "within 1 s" in result.files[0].reason


def test_a_crashing_parser_costs_one_file(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scanner.pff.store as store_module

    monkeypatch.setattr(store_module, "read_store", lambda *a, **k: os._exit(139))
    ost = host / "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost"

    result = scan_path(str(ost), ScanOptions(timeout=20.0, hash=False))

    assert result.files[0].status == "timeout"
    assert "crashed" in result.files[0].reason


def test_target_is_never_written(host: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in host.rglob("*") if p.is_file()}

    CliRunner().invoke(app, ["scan", str(host), "-q", "--deep"])

    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in host.rglob("*") if p.is_file()}
    assert after == before


def test_missing_target_cannot_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nowhere"), "-q"])

    assert result.exit_code == exitcodes.FAILED
    assert "nowhere: no such file or folder" in result.stderr


@pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is Linux-only")
def test_reading_leaves_access_times_alone(host: Path) -> None:
    ost = host / "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost"
    mtime = ost.stat().st_mtime_ns
    os.utime(ost, ns=(946684800 * 10**9, mtime))      # access time 2000-01-01, before mtime
    folder = ost.parent
    os.utime(folder, ns=(946684800 * 10**9, folder.stat().st_mtime_ns))

    scan_path(str(host), ScanOptions())

    assert ost.stat().st_atime_ns == 946684800 * 10**9
    assert folder.stat().st_atime_ns == 946684800 * 10**9


def test_an_unlistable_folder_is_reported_not_skipped(host: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.commands.scan import exit_code
    from scanner.target.local import LocalTarget

    listed = LocalTarget.list_dir

    def refuse_carol(self: LocalTarget, path: str) -> list:
        if path.endswith("Carol/Documents"):
            raise PermissionError(13, "Permission denied")
        return listed(self, path)

    monkeypatch.setattr(LocalTarget, "list_dir", refuse_carol)
    report = scan_path(str(host), ScanOptions(hash=False))

    assert [(e.path, e.stage, e.reason) for e in report.errors if e.stage != "link"] == [
        ("Users/Carol/Documents", "discover", "cannot list folder: Permission denied")]
    assert exit_code(report) == exitcodes.PARTIAL


def test_without_the_hive_reader_only_real_hives_are_reported(
    host: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner import registry

    monkeypatch.setattr(registry, "regf_available", lambda: False)
    assert [e for e in scan_path(str(host), ScanOptions(hash=False)).errors
            if e.stage != "link"] == []

    hived = tmp_path / "hived"
    build_host(hived)
    (hived / "Users/Alice/NTUSER.DAT").write_bytes(b"regf" + bytes(4092))
    errors = [e for e in scan_path(str(hived), ScanOptions(hash=False)).errors
              if e.stage != "link"]

    assert [(e.path, e.stage) for e in errors] == [("Users/Alice/NTUSER.DAT", "registry")]
    assert "ostscan[images]" in errors[0].reason


@pytest.mark.skipif(os.name != "posix", reason="names that are not UTF-8 are a POSIX matter")
def test_a_name_that_is_not_utf8_is_reported_not_fatal(host: Path, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    outlook = drive / "Users/a/AppData/Local/Microsoft/Outlook"
    outlook.mkdir(parents=True)
    source = host / "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost"
    (Path(os.fsdecode(bytes(outlook) + b"/\xff\xfebad.ost"))).write_bytes(source.read_bytes())
    out = tmp_path / "report.json"

    result = CliRunner().invoke(app, ["scan", str(drive), "-o", str(out), "-q"])

    assert result.exit_code == exitcodes.OK
    [store] = json.loads(out.read_text(encoding="utf-8"))["files"]
    assert store["path"].endswith("/\udcff\udcfebad.ost") and store["status"] == "ok"


def test_links_are_not_followed_but_said(report: tuple[int, dict]) -> None:
    links = [(e["path"], e["reason"]) for e in report[1]["errors"] if e["stage"] == "link"]

    assert links == [("Users/Alice/AppData/Local/Microsoft/Outlook/loop",
                      "link not followed (points to ..)")]
