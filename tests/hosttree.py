"""Builds a made-up host file tree for discovery tests: several profiles in mixed case, decoys,
a broken store, a renamed store and symlink loops. Store bodies are placeholders unless a real
OST is given; discovery decides on names and signatures only."""

from __future__ import annotations

import os
from pathlib import Path

PFF_PLACEHOLDER = b"!BDN" + bytes(508)

# (path, content) relative to the drive root; `None` content means "use the real store".
STORES = {
    "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.ost": None,
    "Users/Alice/AppData/Local/Microsoft/Outlook/alice-old.bak": PFF_PLACEHOLDER,
    "users/BOB/appdata/LOCAL/microsoft/OUTLOOK/bob@contoso.example.OST": None,
    "Users/Carol/Documents/Outlook Files/archive.pst": PFF_PLACEHOLDER,
    "Documents and Settings/olduser/Local Settings/Application Data/Microsoft/Outlook/"
    "outlook.ost": PFF_PLACEHOLDER,
    "Users/Dave/AppData/Local/Microsoft/Outlook/broken.ost": b"<html>not a store</html>",
}
DEEP_ONLY = {
    "Users/Alice/Desktop/copy.ost": PFF_PLACEHOLDER,
    "ProgramData/Backup/foo.pst": PFF_PLACEHOLDER,
}
DECOYS = {
    "Users/Alice/AppData/Local/Microsoft/Outlook/alice@contoso.example.nst": PFF_PLACEHOLDER,
    "Users/Alice/AppData/Local/Microsoft/Outlook/Offline Address Books/abc/udetails.oab":
        PFF_PLACEHOLDER,
    "Users/Alice/AppData/Local/Microsoft/Outlook/notes.txt": b"hello",
    "Users/Alice/Downloads/mail.ost.txt": PFF_PLACEHOLDER,
    "Windows/System32/config/placeholder": b"",
}


def build_host(root: Path, real_store: bytes | None = None) -> Path:
    """Write the tree under `root` and return it."""
    for relative, content in {**STORES, **DEEP_ONLY, **DECOYS}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(real_store if content is None and real_store else content or
                         PFF_PLACEHOLDER)
    outlook = root / "Users/Alice/AppData/Local/Microsoft/Outlook"
    os.symlink("..", outlook / "loop")
    os.symlink(str(root / "Users"), root / "Users" / "All Users")
    return root


def expected_default(prefix: str = "") -> set[str]:
    return {prefix + p for p in STORES}


def expected_deep(prefix: str = "") -> set[str]:
    return expected_default(prefix) | {prefix + p for p in DEEP_ONLY}
