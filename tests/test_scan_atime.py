"""A scan leaves the access times of every folder and file of the evidence as they were, the
top-level folders (the case, each host tree) as much as the Outlook folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app

pytestmark = pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is Linux-only")

ACCESSED = 1577836800 * 10**9      # 2020-01-01: older than the modification time, so that
MODIFIED = 1609459200 * 10**9      # 2021-01-01   a relatime mount would update it on a read


def build_case(root: Path) -> list[Path]:
    """A case folder of two host trees, an audit export beside them and a loose store."""
    for host in ("PC-1", "PC-2"):
        outlook = root / "hosts" / host / "Users/alice/AppData/Local/Microsoft/Outlook"
        outlook.mkdir(parents=True)
        (outlook / "alice.ost").write_bytes(b"!BDN" + bytes(508))
    (root / "audit").mkdir()
    (root / "audit/export.csv").write_text("CreationDate,UserIds,Operations\n", encoding="utf-8")
    (root / "loose.ost").write_bytes(b"!BDN" + bytes(508))
    return [root, *sorted(root.rglob("*"))]


def set_old_access_times(paths: list[Path]) -> None:
    for path in reversed(paths):       # children first: setting times does not touch a parent
        os.utime(path, ns=(ACCESSED, MODIFIED))


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_no_folder_or_file_of_the_case_gets_a_new_access_time(
    tmp_path: Path, deep: bool
) -> None:
    paths = build_case(tmp_path / "case")
    set_old_access_times(paths)

    args = ["scan", str(tmp_path / "case"), "-q", "-o", str(tmp_path / "out.json")]
    result = CliRunner().invoke(app, args + (["--deep"] if deep else []))

    assert (tmp_path / "out.json").is_file(), result.stderr
    touched = [str(p.relative_to(tmp_path)) for p in paths if p.stat().st_atime_ns != ACCESSED]
    assert touched == []


@pytest.mark.parametrize("name", ["suspect.ost", "renamed.bin"])
def test_a_file_given_alone_keeps_its_access_time(tmp_path: Path, name: str) -> None:
    store = tmp_path / "evidence" / name
    store.parent.mkdir()
    store.write_bytes(b"!BDN" + bytes(508))
    set_old_access_times([store.parent, store])

    CliRunner().invoke(app, ["scan", str(store), "-q", "-o", str(tmp_path / "out.json")])

    assert (tmp_path / "out.json").is_file()
    assert (store.stat().st_atime_ns, store.parent.stat().st_atime_ns) == (ACCESSED, ACCESSED)


def test_a_loose_folder_probed_by_dissect_keeps_its_access_times(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    (loose / "sub").mkdir(parents=True)
    (loose / "sub/suspect.ost").write_bytes(b"!BDN" + bytes(508))
    paths = [loose, loose / "sub", loose / "sub/suspect.ost"]
    set_old_access_times(paths)

    CliRunner().invoke(app, ["scan", str(loose), "-q", "-o", str(tmp_path / "out.json")])

    assert (tmp_path / "out.json").is_file()
    assert [p.stat().st_atime_ns for p in paths] == [ACCESSED] * 3
