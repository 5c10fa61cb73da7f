"""Shared test fixtures. Tests that read ../shared skip with a reason when it is absent."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OSTSCAN_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, the public fixtures and audit logs; skip when this checkout has none."""
    if not (SHARED / "fixtures-public").is_dir():
        pytest.skip(f"{SHARED} is absent: the public OST/PST fixtures and audit logs live there")
    return SHARED


@pytest.fixture(scope="session")
def fe01_ost(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Exchange Online OST (wVer 36), unzipped into a temporary folder."""
    out = tmp_path_factory.mktemp("fe01")
    with zipfile.ZipFile(shared_dir / "fixtures-public/ncs2021-fe01/fe01.zip") as archive:
        archive.extract("fe01.ost", out)
    return out / "fe01.ost"
