"""Targets: where the scan reads files from. Discovery and parsing see only `Target`."""

from __future__ import annotations

from scanner.target.base import Entry, FileStat, Target, TargetError, TargetSpec
from scanner.target.open import open_target

__all__ = ["Entry", "FileStat", "Target", "TargetError", "TargetSpec", "open_target"]
