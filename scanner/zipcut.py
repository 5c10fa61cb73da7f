"""A zip archive whose end is missing: known and said the same way wherever one is met."""

from __future__ import annotations

ZIP_MAGIC = b"PK\x03\x04"
CUT_ZIP = "it starts as a zip: cut short, its index at the end is missing"


def starts_as_zip(head: bytes) -> bool:
    return head[:4] == ZIP_MAGIC
