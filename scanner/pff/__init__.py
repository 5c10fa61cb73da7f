"""Outlook data files (PST/OST): a header sniffer and a libpff-based store reader."""

from __future__ import annotations

from scanner.pff.header import PffHeader, read_header
from scanner.pff.store import StoreReading, read_store

__all__ = ["PffHeader", "StoreReading", "read_header", "read_store"]
