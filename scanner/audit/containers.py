"""Container formats: how records sit in a text file, recognised from its first line.

* CSV (`,` `;` or tab): a header, then one row per record. AuditData, when a column holds it,
  is JSON in a quoted cell; rows without such a column (Sentinel, Sparrow, flattened exports)
  are records themselves.
* JSON lines: one JSON value per line; blank lines are skipped; a cut line is one damaged record.
* JSON documents: arrays (also several concatenated), single or pretty-printed objects.

Readers hand out `RawRecord`s without parsing JSON where they can: the first keys of AuditData
(`CreationTime`, `Id`) are read with a regular expression and a row that does not mention
MailItemsAccessed is only counted and de-duplicated.
"""

from __future__ import annotations

import csv
import itertools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

import orjson

MAIL_ITEMS_ACCESSED = "MailItemsAccessed"
FORMAT_CSV = "csv"
FORMAT_JSON_LINES = "json-lines"
FORMAT_JSON = "json"

FAST_JSON = re.compile(r'\s*\{\s*"CreationTime"\s*:\s*"([^"]*)"\s*,\s*"Id"\s*:\s*"([^"]*)"'
                       r'(?:\s*,\s*"Operation"\s*:\s*"([^"]*)")?')
FAST_CSV = re.compile(r'\{""CreationTime"":""([^"]*)"",""Id"":""([^"]*)""'
                      r'(?:,""Operation"":""([^"]*)"")?')
JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]')
TYPE_INFORMATION = "#TYPE "
MAX_PIECE = 1 << 20         # characters of a line read at once by the JSON document reader

AUDIT_COLUMNS = ("auditdata", "raweventdata")
ENVELOPE_COLUMNS = ("resultcount", "resultindex", "runspaceid", "identity", "recordid",
                    "operations", "operation", "creationdate")
DELIMITERS = (",", ";", "\t")
CELL_MARK = "\x1f"

csv.field_size_limit(sys.maxsize)


@dataclass(slots=True)
class RawRecord:
    """One record as found in a container, before its JSON is parsed."""

    line: int
    text: str | None = None                # JSON text: AuditData or a wrapper around it
    row: dict[str, str] | None = None      # a CSV row that is itself a (flattened) record
    record_id: str | None = None           # read without parsing (fast path)
    creation_time: str | None = None
    operation: str | None = None
    envelope: dict[str, str] | None = None  # small CSV columns beside AuditData
    candidate: bool = True                  # may be MailItemsAccessed: parse it
    empty: bool = False                     # the AuditData cell is empty
    damage: str | None = None               # why the row could not be read at all
    cut_short: bool = False                 # no record: the input ends inside the one of `line`


def detect(first_line: str) -> str:
    """The container format from the first non-blank line."""
    head = first_line.lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return FORMAT_JSON
    if head.startswith("{"):
        return FORMAT_JSON if head.rstrip() == "{" else FORMAT_JSON_LINES
    return FORMAT_CSV


def read_records(stream: TextIO) -> tuple[str, Iterator[RawRecord]]:
    """The format of a text stream and its records, read lazily."""
    number, first = _first_line(stream)
    if first is None:
        return "empty", iter(())

    fmt = detect(first)
    if fmt == FORMAT_JSON:
        return fmt, _json_document(stream, number, first)
    if first[-1] not in "\r\n":                  # a long first line: the rest of it
        first += stream.readline()
    if fmt == FORMAT_JSON_LINES:
        return fmt, _json_lines(stream, number, first)
    return fmt, _csv_rows(stream, number, first)


def _first_line(stream: TextIO) -> tuple[int, str | None]:
    """The first non-blank line, or its first MAX_PIECE characters when it is longer."""
    number = 0
    for number, piece in _pieces(stream, 1, stream.readline(MAX_PIECE)):
        piece = piece.lstrip("\ufeff")
        if piece.strip() and not type_information(piece):
            return number, piece
    return number, None


def type_information(line: str) -> bool:
    """PowerShell 5.1's first line of Export-Csv without -NoTypeInformation
    (`#TYPE Deserialized.Microsoft.Exchange...UnifiedAuditLogResult`): not the header."""
    return line.startswith(TYPE_INFORMATION)


def fast_json_record(line: int, text: str) -> RawRecord:
    return _with_fast_fields(RawRecord(line), text, FAST_JSON.match(text))


def _with_fast_fields(record: RawRecord, text: str, match: re.Match | None) -> RawRecord:
    """The first keys of a standard AuditData, read without parsing it."""
    record.text = text
    if match is None:
        record.candidate = MAIL_ITEMS_ACCESSED in text
        return record
    record.creation_time, record.record_id, record.operation = match.groups()
    if record.operation is None:
        record.candidate = MAIL_ITEMS_ACCESSED in text
    else:
        record.candidate = record.operation == MAIL_ITEMS_ACCESSED
    return record


def _json_lines(stream: TextIO, first_number: int, first: str) -> Iterator[RawRecord]:
    last: tuple[int, str] | None = None
    for number, line in enumerate(itertools.chain((first,), stream), first_number):
        line = line.strip()
        if line:
            last = number, line
            yield fast_json_record(number, line)
    if last is not None and not whole_json(last[1]):
        yield RawRecord(last[0], cut_short=True)


def whole_json(text: str | bytes) -> bool:
    """Whether a text is one whole JSON value (the last line of an input that was not cut)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _json_document(stream: TextIO, first_number: int, first: str) -> Iterator[RawRecord]:
    """Top-level objects, also inside (nested, concatenated) arrays, one at a time. Read in
    pieces of a line at most (see _pieces), so that an array on one long line is streamed."""
    stack: list[str] = []
    parts: list[str] = []
    level: int | None = None
    start = first_number
    carry = ""
    for number, piece in _pieces(stream, first_number, first):
        text = carry + piece
        end = len(text) if text[-1] in "\r\n" else _end_outside_string(text)
        text, carry = text[:end], text[end:]
        begin = 0 if level is not None else None
        for match in JSON_TOKEN.finditer(text):
            token = match.group()
            if token[0] == '"':
                continue
            if token in "[{":
                if level is None and token == "{":
                    level, begin, start = len(stack), match.start(), number
                stack.append(token)
                continue
            if stack:
                stack.pop()
            if level is not None and len(stack) == level:
                parts.append(text[begin:match.end()])
                yield fast_json_record(start, "".join(parts))
                parts, level, begin = [], None, None
        if level is not None:
            parts.append(text[begin:])
    if carry and level is not None:
        parts.append(carry)
    if level is not None:
        yield fast_json_record(start, "".join(parts))
    if level is not None or stack:
        yield RawRecord(start if level is not None else number, cut_short=True)


def _pieces(stream: TextIO, number: int, first: str) -> Iterator[tuple[int, str]]:
    """The lines of a text, numbered; a line longer than MAX_PIECE characters comes in pieces,
    each numbered as its line, so that no more than that is held at once."""
    piece = first
    while piece:
        yield number, piece
        if piece[-1] in "\r\n":
            number += 1
        piece = stream.readline(MAX_PIECE)


def _end_outside_string(text: str) -> int:
    """Where a piece cut from a longer line can end without cutting a JSON string: at the
    opening quote of a string that does not end within it, else at its end. (Between the
    tokens JSON_TOKEN finds, valid JSON has no quote.)"""
    position = 0
    for match in JSON_TOKEN.finditer(text):
        quote = text.find('"', position, match.start())
        if quote >= 0:
            return quote
        position = match.end()
    quote = text.find('"', position)
    return quote if quote >= 0 else len(text)


def sniff_delimiter(header: str) -> str:
    return max(DELIMITERS, key=header.count)


# CSV tables some tools derive from MailItemsAccessed records, which cannot be read back into
# records: no record Id, no MailAccessType (Sync cannot be told from Bind), no folder
SUMMARY_TABLES = {
    frozenset(("timestamp", "user", "action", "sessionid", "clientip", "operationcount")):
        "Microsoft-Extractor-Suite Get-Sessions",
    frozenset(("timestamp", "user", "ipaddress", "sessionid", "internetmessageid",
               "sizeinbytes")):
        "Microsoft-Extractor-Suite Get-MessageIDs",
}


# Columns of which an audit export's header names at least one (any of the known layouts).
HEADER_HINTS = frozenset((*AUDIT_COLUMNS, *ENVELOPE_COLUMNS, "operation", "operations",
                          "operationname", "creationdate", "creationtime", "recordtype",
                          "userids", "userid", "timegenerated", "timestamp", "actiontype",
                          "mailaccesstype", "workload"))


def names_audit_columns(header_line: str) -> bool:
    """Whether a CSV header names any column an audit export has."""
    return bool(HEADER_HINTS.intersection(csv_layout(header_line).header))


def summary_table(header_line: str) -> str | None:
    """The tool and command that wrote a CSV summary of MailItemsAccessed records, known by
    its header line; None for any other header."""
    return SUMMARY_TABLES.get(frozenset(csv_layout(header_line).header))


def csv_layout(header_line: str) -> CsvLayout:
    """Delimiter and columns of a CSV file from its header line."""
    delimiter = sniff_delimiter(header_line)
    header = [c.strip().lstrip("\ufeff").lower() for c in _split(header_line, delimiter)]
    return CsvLayout(header, delimiter)


def _row_start(layout: CsvLayout) -> Callable[[str], bool]:
    """Whether a line starts a row of the layout: cells without quotes, then an AuditData cell
    that opens `"{""` and a key. A line inside a quoted cell does not start so."""
    cell = '[^"\r\n' + re.escape(layout.delimiter) + "]*"
    sep = re.escape(layout.delimiter)
    pattern = re.compile(f'(?:{cell}{sep}){{{layout.audit}}}"\\{{""\\w')

    def row_start(line: str) -> bool:
        return pattern.match(line) is not None

    return row_start


def _csv_rows(stream: TextIO, number: int, first: str) -> Iterator[RawRecord]:
    layout = csv_layout(first)
    last: tuple[int, str] | None = None
    for line, text in logical_lines(stream, number + 1, layout.row_start):
        if text.strip():
            last = line, text
            yield layout.record(line, text)
    if last is not None and layout.row_cut(last[1]):
        yield RawRecord(last[0], cut_short=True)


def _split(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter), [])


def logical_lines(stream: Iterable[str], first_number: int,
                  row_start: Callable[[str], bool] | None = None) -> Iterator[tuple[int, str]]:
    """CSV records, joining physical lines while a quoted cell is open. A line `row_start`
    takes for the start of a row ends an open record there: that record's quotes do not pair
    (a quote lost or added), and it is given as it is, to be read as damaged, instead of
    swallowing the rows after it."""
    pending: list[str] = []
    quotes = 0
    start = first_number
    for number, line in enumerate(stream, first_number):
        if pending and row_start is not None and row_start(line):
            yield start, "".join(pending)
            pending, quotes = [], 0
        count = line.count('"')
        if not pending and not count % 2:
            yield number, line
            continue
        if not pending:
            start = number
        pending.append(line)
        quotes += count
        if quotes % 2 == 0:
            yield start, "".join(pending)
            pending, quotes = [], 0
    if pending:
        yield start, "".join(pending)


def _csv_damage(exc: csv.Error, text: str) -> str:
    """Why a row is not CSV, without the csv module's advice on opening files."""
    reason = str(exc).partition(" - ")[0]
    lines = text.rstrip("\r\n").count("\n") + 1
    if lines > 1:
        reason += f"; a quote that does not pair joined {lines} lines into this row"
    return f"row not readable as CSV: {reason}"


class CsvLayout:
    """Column positions of one CSV file and the row reader that uses them."""

    def __init__(self, header: list[str], delimiter: str) -> None:
        self.header = header
        self.delimiter = delimiter
        self.audit = next((header.index(c) for c in AUDIT_COLUMNS if c in header), None)
        self.envelope = [(i, name) for i, name in enumerate(header) if name in ENVELOPE_COLUMNS]
        self.cell_start = delimiter + '"{'
        self.cell_end = '}"' + delimiter
        self.row_start = _row_start(self) if self.audit is not None else None

    def record(self, line: int, text: str) -> RawRecord:
        if self.audit is not None:
            fast = self._fast(line, text)
            if fast is not None:
                return fast
        try:
            cells = _split(text.rstrip("\r\n"), self.delimiter)
        except csv.Error as exc:
            return RawRecord(line, damage=_csv_damage(exc, text))
        return self._from_cells(line, text, cells)

    def row_cut(self, text: str) -> bool:
        """Whether the last row of an input was cut: a quoted cell left open, or fewer cells
        than the header names."""
        if text.count('"') % 2:
            return True
        try:
            return len(_split(text.rstrip("\r\n"), self.delimiter)) < len(self.header)
        except csv.Error:
            return True

    def _fast(self, line: int, text: str) -> RawRecord | None:
        """Cut the AuditData cell out by its quotes; parse only the small rest as CSV.

        Inside a quoted JSON cell every quote is doubled, so the first `}"` followed by the
        delimiter or the line end closes the cell.
        """
        if text.startswith('"{'):
            begin = 1
        else:
            begin = text.find(self.cell_start) + len(self.cell_start) - 1
            if begin < len(self.cell_start) - 1:
                return None
        end = text.find(self.cell_end, begin)
        if end < 0:
            stripped = text.rstrip("\r\n")
            if not stripped.endswith('}"'):
                return None
            end = len(stripped) - 2
        rest = text[:begin - 1] + CELL_MARK + text[end + 2:].rstrip("\r\n")
        try:
            cells = _split(rest, self.delimiter)
        except csv.Error:
            return None                          # record() says why
        if len(cells) != len(self.header) or cells[self.audit] != CELL_MARK:
            return None

        record = RawRecord(line, envelope=self._envelope(cells) if self.envelope else None)
        match = FAST_CSV.match(text, begin)
        if match is None:
            return _with_fast_fields(record, text[begin:end + 1].replace('""', '"'), None)
        record.creation_time, record.record_id, record.operation = match.groups()
        record.candidate = (record.operation == MAIL_ITEMS_ACCESSED if record.operation
                            else MAIL_ITEMS_ACCESSED in text)
        if record.candidate:
            record.text = text[begin:end + 1].replace('""', '"')
        return record

    def _from_cells(self, line: int, text: str, cells: list[str]) -> RawRecord:
        candidate = MAIL_ITEMS_ACCESSED in text
        if self.audit is None:
            row = dict(zip(self.header, cells, strict=False))
            return RawRecord(line, row=row, candidate=candidate)
        audit_text = cells[self.audit].strip() if self.audit < len(cells) else ""
        record = RawRecord(line, envelope=self._envelope(cells))
        if not audit_text:
            record.empty = True
            return record
        return _with_fast_fields(record, audit_text, FAST_JSON.match(audit_text))

    def _envelope(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[i] for i, name in self.envelope if i < len(cells) and cells[i]}

