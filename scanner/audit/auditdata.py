"""AuditData objects: parsing, recovering damaged ones, and finding them inside wrappers.

A wrapper is whatever an exporter put around AuditData: a Search-UnifiedAuditLog object
(`AuditData` as a string), a Graph auditLogRecord (`auditData` object), a Defender
CloudAppEvents row (`RawEventData`), a streaming-API envelope (`properties.RawEventData`), a
test fixture holding the raw event as a JSON string. Sentinel OfficeActivity rows are AuditData
with renamed columns and are taken as records themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

MAX_WRAPPER_DEPTH = 5
MAX_REPAIR_TRIES = 64
FLATTENED_ARRAY = "System.Object[]"
SPECIAL_TEXT_START = ("@", "S", "{", "[")

TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]')
PS_HASHTABLE = re.compile(r"^@\{(.*)\}$", re.S)

WRAPPER_KEYS = ("auditdata", "raweventdata")
WRAPPER_ID_KEYS = ("id", "identity", "recordid")
WRAPPER_TIME_KEYS = ("createddatetime", "creationdate", "timestamp")
ID_KEYS = ("id", "officeid", "sourcerecordid")
TIME_KEYS = ("creationtime", "timegenerated", "createddatetime", "timestamp")
RECORD_MARKERS = ("creationtime", "id", "officeid", "recordtype")


def loads(text: str) -> Any:
    """json.loads, by orjson; text orjson refuses (NaN, huge numbers) goes to json itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def parse_json(text: str) -> tuple[Any, str | None]:
    """The JSON value of a text and a damage note; a cut or broken text is repaired if it can be."""
    try:
        return loads(text), None
    except ValueError as exc:
        position = getattr(exc, "pos", len(text))

    stripped = text.rstrip()
    value = repair_truncated(stripped)
    if value is not None:
        return value, (f"truncated: the record's JSON ends after {len(stripped)} characters; "
                       "kept what precedes")
    value = repair_truncated(stripped[:position])
    if value is not None:
        return value, f"bad JSON at character {position}; kept what precedes the damage"
    return None, f"unreadable JSON (error at character {position}); nothing recoverable"


def repair_truncated(text: str) -> Any:
    """Close the brackets a cut JSON text left open, backing off to the last complete value."""
    stack: list[str] = []
    ends: list[tuple[int, str]] = []
    for match in TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            stack.append(token)
        elif token in "}]":
            if stack:
                stack.pop()
            ends.append((match.end(), "".join(stack)))
        else:
            ends.append((match.end(), "".join(stack)))

    for end, open_brackets in reversed(ends[-MAX_REPAIR_TRIES:]):
        closers = "".join("}" if b == "{" else "]" for b in reversed(open_brackets))
        try:
            value = loads(text[:end] + closers)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def key_map(record: dict) -> dict[str, str]:
    """Lower-case key to the key as spelt in the record."""
    return {key.lower(): key for key in record}


def lookup(record: dict, names: tuple[str, ...], keys: dict[str, str] | None = None) -> Any:
    """The first present, non-empty value among case-insensitive names."""
    keys = key_map(record) if keys is None else keys
    for name in names:
        if name in keys:
            value = record[keys[name]]
            if value not in (None, ""):
                return value
    return None


def find_records(value: Any, depth: int = 0) -> Iterator[dict]:
    """Every AuditData object inside a parsed JSON value (itself, array elements, wrappers)."""
    if isinstance(value, str):
        value = _maybe_json(value)
    if isinstance(value, list):
        for element in value:
            yield from find_records(element, depth + 1)
        return
    if not isinstance(value, dict) or depth > MAX_WRAPPER_DEPTH:
        return

    keys = key_map(value)
    for name in WRAPPER_KEYS:
        if name in keys:
            yield from _unwrap(value, keys, name, depth)
            return
    if "operation" in keys and any(marker in keys for marker in RECORD_MARKERS):
        yield value
        return
    for inner in value.values():
        if isinstance(inner, (dict, list)) or _looks_like_json(inner):
            yield from find_records(inner, depth + 1)


def _unwrap(wrapper: dict, keys: dict[str, str], name: str, depth: int) -> Iterator[dict]:
    for record in find_records(wrapper[keys[name]], depth + 1):
        record_keys = key_map(record)
        if lookup(record, ID_KEYS, record_keys) is None:
            fallback = lookup(wrapper, WRAPPER_ID_KEYS, keys)
            if fallback is not None:
                record["Id"] = fallback
        if lookup(record, TIME_KEYS, record_keys) is None:
            fallback = lookup(wrapper, WRAPPER_TIME_KEYS, keys)
            if fallback is not None:
                record["CreationTime"] = fallback
        yield record


def _looks_like_json(value: Any) -> bool:
    return isinstance(value, str) and value[:1] in ("{", "[") and value.rstrip()[-1:] in ("}", "]")


def _maybe_json(text: str) -> Any:
    if not _looks_like_json(text):
        return text
    try:
        return loads(text)
    except ValueError:
        return text


def canonical(value: Any, flattened: list[str], name: str = "") -> Any:
    """Keys lower-cased at every level, JSON-in-a-string parsed, PowerShell flattening undone.

    Names of values lost to PowerShell's depth-limited serialisation are added to `flattened`.
    """
    if isinstance(value, list):
        return [canonical(v, flattened, name) for v in value]
    if not isinstance(value, dict):
        return _canonical_text(value, flattened, name) if isinstance(value, str) else value

    result = {}
    for key, inner in value.items():
        kind = inner.__class__
        if kind is dict or kind is list:
            inner = canonical(inner, flattened, key)
        elif kind is str and inner[:1] in SPECIAL_TEXT_START:
            inner = _canonical_text(inner, flattened, key)
        result[key.lower()] = inner
    return result


def _canonical_text(value: str, flattened: list[str], name: str) -> Any:
    if value in (FLATTENED_ARRAY, "System.Object"):
        flattened.append(f"{name} (lost)")
        return None
    if value.startswith("@{") and value.endswith("}"):
        flattened.append(name)
        return canonical(ps_hashtable(value), flattened, name)
    if _looks_like_json(value):
        parsed = _maybe_json(value)
        if parsed is not value:
            return canonical(parsed, flattened, name)
    return value


def ps_hashtable(text: str) -> dict[str, str]:
    """`@{Name=MailAccessType; Value=Sync}` (PowerShell's text for a nested object) as a dict."""
    match = PS_HASHTABLE.match(text.strip())
    body = match.group(1) if match else text
    result: dict[str, str] = {}
    for part in body.split("; "):
        name, sep, value = part.partition("=")
        if sep:
            result[name.strip()] = value
    return result
