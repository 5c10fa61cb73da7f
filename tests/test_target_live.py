"""The live host seen from Linux: one tree at `/`, no Windows profiles, nothing walked."""

from __future__ import annotations

import sys

import pytest

from scanner import registry
from scanner.target.open import open_target

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the Linux view of a live host")


def test_the_live_linux_host_is_one_tree_without_profiles(
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = open_target(None)
    listed: list[str] = []
    list_dir = target.list_dir
    monkeypatch.setattr(target, "list_dir", lambda path: listed.append(path) or list_dir(path))

    profiles = registry.profile_folders(target)
    events, errors = registry.outlook_stores(target, profiles)

    assert (target.kind, target.volumes()) == ("live", [""])
    assert (profiles, events) == ([], [])
    assert [e.stage for e in errors] in ([], ["registry"])   # ["registry"]: no dissect.regf
    assert listed == [""], "the registry step looks for Windows/ at the root, never walks"
