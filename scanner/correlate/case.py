"""The case store: one SQLite file holding the scan reports and audit events of an incident.

Collecting is idempotent (a report is keyed by the SHA-256 of its canonical JSON, an audit event
by record id, kind and folder id), each report or audit input goes in inside one transaction, so
an interrupted collection leaves every earlier input whole and no later one half-written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from scanner.audit.events import AuditEvent, BoundItem
from scanner.quiet import open_quietly
from scanner.records import ScanReport, to_jsonable
from scanner.report import (
    JSONL_REPORT,
    ReportError,
    is_jsonl_report,
    looks_like_report,
    not_json,
    parse_report,
)
from scanner.timeutil import iso, now_utc, parse_iso

CASE_SCHEMA_VERSION = "1.0"
DEFAULT_CASE = "ostscan-case.sqlite"
MAX_MEMBER_BYTES = 512 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    digest TEXT PRIMARY KEY, source TEXT NOT NULL, host TEXT, scan_id TEXT,
    started TEXT, finished TEXT, files INTEGER NOT NULL, collected TEXT NOT NULL,
    document BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_inputs (
    digest TEXT PRIMARY KEY, source TEXT NOT NULL, collected TEXT NOT NULL,
    events INTEGER NOT NULL, added INTEGER NOT NULL, summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_events (
    event_key TEXT PRIMARY KEY, kind TEXT NOT NULL, time TEXT NOT NULL, session_id TEXT,
    mailbox_upn TEXT, document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_kind ON audit_events (kind, time);
CREATE TABLE IF NOT EXISTS collections (
    at TEXT NOT NULL, source TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT
);
"""


class CaseError(RuntimeError):
    """The case file cannot be opened or is not an ostscan case."""


@dataclass
class CollectSummary:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    events_added: int = 0
    events_seen: int = 0


@dataclass
class ReportSource:
    """A report document found in a file, a folder or a zip member."""

    source: str
    data: bytes | None
    error: str | None = None


LOCK_WAIT_SECONDS = 120.0
AUDIT_REFUSED = "audit refused"      # an --audit input with no record: not a report
REPORT_REFUSED = "report refused"    # a scan report that could not be read: a host unexamined


class CaseStore:
    def __init__(self, path: str | os.PathLike[str], writable: bool = True) -> None:
        """Open a case; `writable` (collect) also makes a new one where no file is. A file
        that is no case, an empty one included, is refused and left as it is."""
        self.path = str(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise CaseError(f"{self.path}: cannot open the case: folder {folder} does not exist")
        if os.path.isfile(self.path) and os.path.getsize(self.path) == 0:
            raise CaseError(f"{self.path}: an empty file, not an ostscan case (a new case is "
                            "made where no file is)")
        new = not os.path.exists(self.path)
        try:
            # another collect or correlate may hold the case: wait for it rather than fail
            self.db = sqlite3.connect(self._address(writable), timeout=LOCK_WAIT_SECONDS,
                                      uri=True)
            if writable and (new or self._is_case()):
                self.db.executescript(_SCHEMA)
            if not self._is_case():
                raise CaseError(f"{self.path}: not an ostscan case (no case tables in it)")
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise CaseError(f"{self.path}: not an ostscan case: {exc}") from exc

    def _address(self, writable: bool) -> str:
        address = Path(os.path.abspath(self.path)).as_uri()
        return address if writable else address + "?mode=ro"

    def _is_case(self) -> bool:
        found = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'")
        return found.fetchone() is not None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                                (CASE_SCHEMA_VERSION,))
                self.db.execute("INSERT INTO meta VALUES ('created', ?)", (iso(now_utc()),))
        elif row[0].split(".")[0] != CASE_SCHEMA_VERSION.split(".")[0]:
            raise CaseError(f"{self.path}: case schema {row[0]}, this ostscan reads "
                            f"{CASE_SCHEMA_VERSION}")

    # ---- reports ------------------------------------------------------------------------------

    def add_report_bytes(self, source: str, data: bytes) -> tuple[str, str | None]:
        """('added' | 'unchanged' | 'refused', reason). Validation happens before writing."""
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return self._refuse(source, not_json(source, exc, data), data)
        try:
            report = parse_report(document, source)
        except ReportError as exc:
            return self._refuse(source, str(exc), data)
        canonical = canonical_json(document)
        digest = hashlib.sha256(canonical).hexdigest()
        with self.db:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO reports VALUES (?,?,?,?,?,?,?,?,?)",
                (digest, source, report.host.name if report.host else None, report.scan_id,
                 iso(report.started), iso(report.finished), len(report.files),
                 iso(now_utc()), zlib.compress(canonical, 6)))
            outcome = "added" if cursor.rowcount else "unchanged"
            self._log(source, outcome, None)
        return outcome, None

    def _refuse(self, source: str, reason: str, data: bytes = b"") -> tuple[str, str]:
        """Said and logged; a report that could not be read (not some other file given by
        mistake) is logged apart, as a host the case could not examine."""
        with self.db:
            self._log(source, REPORT_REFUSED if looks_like_report(data) else "refused", reason)
        return "refused", reason

    def _log(self, source: str, outcome: str, reason: str | None) -> None:
        self.db.execute("INSERT INTO collections VALUES (?,?,?,?)",
                        (iso(now_utc()), source, outcome, reason))

    def collect_reports(self, paths: Iterable[str]) -> CollectSummary:
        summary = CollectSummary()
        for found in report_sources(paths):
            if found.error is not None:
                summary.refused.append((found.source, found.error))
                self._refuse(found.source, found.error)
                continue
            outcome, reason = self.add_report_bytes(found.source, found.data or b"")
            if outcome == "refused":
                summary.refused.append((found.source, reason or ""))
            else:
                getattr(summary, outcome).append(found.source)
        return summary

    def reports(self) -> Iterator[tuple[str, ScanReport]]:
        """(digest, report) for every collected report, in collection order."""
        rows = self.db.execute("SELECT digest, source, document FROM reports ORDER BY rowid")
        for digest, source, blob in rows:
            document = json.loads(zlib.decompress(blob))
            yield digest, parse_report(document, source)

    def report_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM reports").fetchone()[0]

    def forget(self, source: str) -> bool:
        """Drop a refused report from what conclusions rest on; False when none was refused
        from there."""
        if not any(r.startswith(f"{source}:") for r in self.refused_reports()):
            return False
        with self.db:
            self._log(source, "forgotten", None)
        return True

    def refused_reports(self) -> list[str]:
        """`source: reason` of every report refused and not collected from there since: a host
        the case could not read, which conclusions must not overlook."""
        rows = self.db.execute(
            "SELECT c.source, c.reason FROM collections c WHERE c.outcome = ? AND NOT "
            "EXISTS (SELECT 1 FROM collections d WHERE d.source = c.source AND d.rowid > c.rowid"
            " AND d.outcome IN ('added', 'unchanged', 'forgotten')) ORDER BY c.rowid",
            (REPORT_REFUSED,))
        latest = {source: reason for source, reason in rows}
        return [reason if reason.startswith(source) else f"{source}: {reason}"
                for source, reason in latest.items()]

    # ---- audit events -------------------------------------------------------------------------

    def add_audit_events(
        self, source: str, digest: str, events: Iterable[AuditEvent],
        summary: Callable[[], dict[str, Any]],
    ) -> tuple[str, int, int]:
        """All events of one input in one transaction: ('added' | 'unchanged' | 'refused',
        seen, added). An input whose summary counts no distinct record is refused, not kept.

        `summary` is called after the events are read (the reader's errors are known then).
        """
        if self.audit_summary(digest) is not None:
            with self.db:
                self._log(source, "unchanged", None)
            return "unchanged", 0, 0
        seen = added = 0
        with self.db:
            for event in events:
                seen += 1
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO audit_events VALUES (?,?,?,?,?,?)",
                    (event_key(event), event.kind, iso(event.time), event.session_id,
                     event.mailbox_upn, json.dumps(to_jsonable(event), separators=(",", ":"))))
                added += cursor.rowcount
            said = summary()
            if said.get("distinct_records") == 0:
                self._log(source, AUDIT_REFUSED, "no audit record found")
                return "refused", seen, 0
            self.db.execute("INSERT INTO audit_inputs VALUES (?,?,?,?,?,?)",
                            (digest, source, iso(now_utc()), seen, added, json.dumps(said)))
            self._log(source, "added", None)
        return "added", seen, added

    def audit_summary(self, digest: str) -> dict[str, Any] | None:
        """What the reader said of an input already in the case; None when it is not."""
        row = self.db.execute("SELECT summary FROM audit_inputs WHERE digest=?",
                              (digest,)).fetchone()
        return json.loads(row[0]) if row else None

    def audit_events(self, kind: str | None = None) -> Iterator[AuditEvent]:
        query = "SELECT document FROM audit_events"
        rows = (self.db.execute(query + " WHERE kind=? ORDER BY time", (kind,)) if kind
                else self.db.execute(query + " ORDER BY time"))
        for (document,) in rows:
            yield event_from_json(json.loads(document))

    def audit_inputs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT source, events, added, summary FROM audit_inputs")
        return [{"source": s, "events": e, "added": a, "summary": json.loads(m)}
                for s, e, a, m in rows]


def event_key(event: AuditEvent) -> str:
    return f"{event.record_id}|{event.kind}|{event.folder_id or event.folder_path or ''}"


def event_from_json(data: dict[str, Any]) -> AuditEvent:
    names = {f.name for f in dataclasses.fields(AuditEvent)}
    values = {k: v for k, v in data.items() if k in names}
    values["time"] = parse_iso(values["time"])
    values["items"] = [BoundItem(**item) for item in values.get("items") or []]
    return AuditEvent(**values)


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open_quietly(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- finding report documents -----------------------------------------------------------------

def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def report_digest(document: Any) -> str:
    """A report's id: the SHA-256 of its canonical JSON (same in a case and without one)."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def report_sources(paths: Iterable[str]) -> Iterator[ReportSource]:
    """Report documents in files, folders (*.json, *.zip, recursively) and zip archives. A path
    that holds none is itself an error: a typo or the wrong folder must not pass quietly."""
    for path in paths:
        found = False
        for source in _path_sources(path):
            found = True
            yield source
        if not found:
            yield ReportSource(path, None, f"{path}: no scan report in it (*.json)")


def _path_sources(path: str) -> Iterator[ReportSource]:
    if os.path.isdir(path):
        for found in sorted(Path(path).rglob("*")):
            if found.is_file() and found.suffix.lower() in (".json", ".zip"):
                yield from _file_sources(str(found))
            elif found.suffix.lower() == ".jsonl" and _scan_report_lines(found):
                yield ReportSource(str(found), None, f"{found}: {JSONL_REPORT}")
    elif os.path.exists(path):
        yield from _file_sources(path)
    else:
        yield ReportSource(path, None, f"{path}: no such file or folder")


def _scan_report_lines(path: Path) -> bool:
    """Whether a .jsonl file is a scan report written with --format jsonl (its first line)."""
    try:
        with open_quietly(str(path)) as handle:
            return is_jsonl_report(handle.readline(1 << 16))
    except OSError:
        return False


def _file_sources(path: str) -> Iterator[ReportSource]:
    try:
        with open_quietly(path) as handle:
            if zipfile.is_zipfile(handle):
                yield from _zip_sources(path, handle)
                return
            handle.seek(0)
            data = handle.read()
    except OSError as exc:
        yield ReportSource(path, None, f"{path}: cannot read: {exc.strerror}")
        return
    yield ReportSource(path, data)


def _zip_sources(path: str, handle: BinaryIO) -> Iterator[ReportSource]:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        yield ReportSource(path, None, f"{path}: bad zip: {exc}")
        return
    with archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.lower().endswith(".json"):
                continue
            source = f"{path}!{member.filename}"
            if member.file_size > MAX_MEMBER_BYTES:
                yield ReportSource(source, None, f"{source}: larger than {MAX_MEMBER_BYTES} bytes")
                continue
            try:
                yield ReportSource(source, archive.read(member))
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                yield ReportSource(source, None, f"{source}: cannot extract: {exc}")
