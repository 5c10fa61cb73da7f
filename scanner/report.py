"""Scan report documents: build, write (JSON or flat JSONL), read back and validate."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from scanner.records import (
    SCAN_DOCUMENT,
    SCAN_SCHEMA_VERSION,
    STATUS_MISSING,
    STATUSES,
    ScanReport,
    StoreFile,
    from_jsonable,
    to_jsonable,
)
from scanner.zipcut import CUT_ZIP, starts_as_zip


class ReportError(ValueError):
    """A document that is not a scan report ostscan can read; the text says why."""



JSONL_REPORT = ("a scan report in JSON lines (scan --format jsonl): collect and correlate read "
                "the JSON document that `ostscan scan` writes by default (--format json)")


def looks_like_report(data: bytes) -> bool:
    """Whether bytes that could not be read as a report were meant to be one (a report cut
    short or damaged), not some other file given by mistake."""
    head = data[:1 << 16]
    return SCAN_DOCUMENT.encode() in head or b'"ostscan.scan_id"' in head


def is_jsonl_report(first_line: bytes) -> bool:
    """Whether the first line of a file is a record of a scan report written as JSON lines."""
    return b'"ostscan.scan_id"' in first_line and first_line.lstrip().startswith(b"{")


def not_json(source: str, error: Exception, data: bytes = b"") -> str:
    """Why an input given as a scan report is not one, and which command reads what it is."""
    if not data.strip():
        return f"{source}: an empty file, not a scan report"
    if is_jsonl_report(data[:data.find(b"\n") + 1 or 1 << 16]):
        return f"{source}: {JSONL_REPORT}"
    if data[:4] == b"!BDN":
        return (f"{source}: an Outlook data file (OST/PST), not a scan report: run "
                "`ostscan scan` on it and collect the report that writes")
    if starts_as_zip(data):
        return f"{source}: a zip archive that cannot be opened ({CUT_ZIP})"
    if isinstance(error, UnicodeDecodeError) or b"\0" in data[:4096]:
        return f"{source}: binary data, not a scan report (a JSON document)"
    audit_like = any(key in data[:1 << 16] for key in (b"CreationTime", b"AuditData"))
    if not audit_like and isinstance(error, json.JSONDecodeError) \
            and data.lstrip()[:1] in (b"{", b"["):
        return f"{source}: JSON cut short or broken ({error}): not a whole scan report"
    return (f"{source}: not JSON: {error} (not a scan report; an audit export is given with "
            "--audit, once for each file or folder)")


def report_document(report: ScanReport) -> dict[str, Any]:
    body = to_jsonable(report)
    return {"schema_version": SCAN_SCHEMA_VERSION, "document": SCAN_DOCUMENT, **body}


def parse_report(document: Any, source: str) -> ScanReport:
    """Validate a decoded JSON document and rebuild the report."""
    if not isinstance(document, dict):
        raise ReportError(f"{source}: not a JSON object")
    if document.get("document") != SCAN_DOCUMENT:
        kind = document.get("document")
        raise ReportError(f"{source}: not an ostscan scan report (document={kind!r})")
    version = str(document.get("schema_version", ""))
    if version.split(".")[0] != SCAN_SCHEMA_VERSION.split(".")[0]:
        raise ReportError(f"{source}: schema_version {version!r} is not {SCAN_SCHEMA_VERSION}")
    for required in ("started", "target", "files"):
        if required not in document:
            raise ReportError(f"{source}: missing field {required!r}")
    try:
        report = from_jsonable(ScanReport, document)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ReportError(f"{source}: malformed report: {exc}") from exc
    problems = report_problems(report)
    if problems:
        raise ReportError(f"{source}: malformed report: {'; '.join(problems[:5])}")
    return report


SHA256 = re.compile(r"^[0-9a-f]{64}$")


def report_problems(report: ScanReport) -> list[str]:
    """Values a scan never writes: a hand-edited or damaged report is refused, not believed."""
    problems = []
    paths = [f.path for f in report.files]
    problems += [f"file {p!r} listed twice" for p in sorted({p for p in paths
                                                             if paths.count(p) > 1})]
    for index, store in enumerate(report.files):
        where = f"files[{index}]"
        if store.status not in STATUSES:
            problems.append(f"{where}.status: unknown status {store.status!r}")
        if store.sha256 is not None and not SHA256.match(store.sha256):
            problems.append(f"{where}.sha256: not a SHA-256 in hex")
        problems += _negative(where, store)
        problems += _guids(where, store)
    return problems


def _negative(where: str, store: StoreFile) -> list[str]:
    found = [f"{where}.size: negative"] if (store.size or 0) < 0 else []
    for index, folder in enumerate(store.folders):
        for name in ("item_count", "unread_count", "message_count", "global_counter"):
            if (getattr(folder, name) or 0) < 0:
                found.append(f"{where}.folders[{index}].{name}: negative")
    return found


def _guids(where: str, store: StoreFile) -> list[str]:
    values = []
    if store.store is not None:
        values += [("store.provider_uid", store.store.provider_uid),
                   ("store.database_guid", store.store.database_guid)]
    values += [(f"folders[{i}].database_guid", f.database_guid)
               for i, f in enumerate(store.folders)]
    found = []
    for name, value in values:
        try:
            if value is not None:
                uuid.UUID(value)
        except ValueError:
            found.append(f"{where}.{name}: not a GUID: {value!r}")
    return found


def load_report(path: str) -> ScanReport:
    """Read a scan report written by `ostscan scan` (JSON document)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ReportError(not_json(path, exc)) from exc
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_report(document, path)


def flat_records(report: ScanReport) -> Iterator[dict[str, Any]]:
    """One flat record per file and per folder, ECS names where ECS has them."""
    document = to_jsonable(report)
    host = document.get("host") or {}
    base = {
        "schema_version": SCAN_SCHEMA_VERSION,
        "host.name": host.get("name"),
        "host.os.full": host.get("os"),
        "ostscan.scan_id": document["scan_id"],
        "ostscan.target": document["target"]["description"],
    }
    for store in document["files"]:
        yield {**base, **_file_fields(store, document)}
        for folder in store.get("folders") or []:
            yield {**base, **_folder_fields(store, folder)}


def _file_fields(store: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    identity = store.get("store") or {}
    return {
        "@timestamp": store.get("modified") or document["started"],
        "event.kind": "event",
        "event.category": "file",
        "ostscan.record": "file",
        "file.path": store["path"],
        "file.name": store["path"].rsplit("/", 1)[-1],
        "file.size": store.get("size"),
        "file.created": store.get("created"),
        "file.mtime": store.get("modified"),
        "file.accessed": store.get("accessed"),
        "file.ctime": store.get("changed"),
        "file.hash.sha256": store.get("sha256"),
        "user.name": store.get("profile_user"),
        "ostscan.status": store.get("status"),
        "ostscan.reason": store.get("reason"),
        "ostscan.found_by": store.get("found_by"),
        "ostscan.kind": store.get("kind"),
        "ostscan.format_version": store.get("format_version"),
        "ostscan.encryption": store.get("encryption"),
        "ostscan.provider_uid": identity.get("provider_uid"),
        "ostscan.database_guid": identity.get("database_guid"),
        "ostscan.root_created": identity.get("root_created"),
        "ostscan.owner_clues": [c["value"] for c in store.get("owner_clues") or []],
        "ostscan.folder_count": len(store.get("folders") or []),
    }


def _folder_fields(store: dict[str, Any], folder: dict[str, Any]) -> dict[str, Any]:
    counter = folder.get("global_counter")
    return {
        "@timestamp": folder.get("modified") or folder.get("created"),
        "event.kind": "event",
        "event.category": "file",
        "ostscan.record": "folder",
        "file.path": store["path"],
        "file.hash.sha256": store.get("sha256"),
        "ostscan.folder.path": folder["path"],
        "ostscan.folder.container_class": folder.get("container_class"),
        "ostscan.folder.item_count": folder.get("item_count"),
        "ostscan.folder.unread_count": folder.get("unread_count"),
        "ostscan.folder.created": folder.get("created"),
        "ostscan.folder.modified": folder.get("modified"),
        "ostscan.folder.local_id": folder.get("local_id"),
        "ostscan.folder.replica_id": folder.get("replica_id"),
        "ostscan.folder.global_counter": counter,
        "ostscan.folder.global_counter_hex": None if counter is None else f"0x{counter:X}",
        "ostscan.folder.id_scope": folder.get("id_scope"),
        "ostscan.folder.database_guid": folder.get("database_guid"),
    }


WHOLE_FOLDER = "every file searched"     # said by a target folder without a drive layout


def searched_whole(report: ScanReport) -> bool:
    """Every folder of the target walked (--deep, or a folder without a drive layout, which
    is searched whole), not only Outlook's folders."""
    return bool(report.options.get("deep")) or WHOLE_FOLDER in (report.target.description or "")


def nothing_in_outlook_folders(report: ScanReport) -> bool:
    """A host searched in Outlook's folders only, and no Outlook data file there."""
    return (report.target.kind != "file" and not searched_whole(report)
            and all(store.status == STATUS_MISSING for store in report.files))
