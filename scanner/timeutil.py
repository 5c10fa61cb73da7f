"""UTC time helpers. Every time ostscan writes is ISO 8601 with an explicit zone."""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=UTC)


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive datetime is taken as UTC; an aware one is converted to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`; microseconds only where present."""
    value = as_utc(value)
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z")


def from_epoch(seconds: float | None) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, UTC)


def from_filetime(ticks: int) -> dt.datetime | None:
    """Windows FILETIME (100 ns since 1601) to UTC; 0 and absurd values give None."""
    if ticks <= 0 or ticks >= 0x7FFFFFFFFFFFFFFF:
        return None
    return FILETIME_EPOCH + dt.timedelta(microseconds=ticks // 10)


def parse_iso(text: str | None) -> dt.datetime | None:
    """Parse an ISO 8601 time as written by ostscan or by Microsoft exports; naive means UTC."""
    if not text:
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}" if digits else head + zone
    return as_utc(dt.datetime.fromisoformat(text))
