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
    for number, line in enumerate(itertools.chain((first,), stream), first_number):
        line = line.strip()
        if line:
            yield fast_json_record(number, line)


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


def summary_table(header_line: str) -> str | None:
    """The tool and command that wrote a CSV summary of MailItemsAccessed records, known by
    its header line; None for any other header."""
    return SUMMARY_TABLES.get(frozenset(csv_layout(header_line).header))


def csv_layout(header_line: str) -> CsvLayout:
    """Delimiter and columns of a CSV file from its header line."""
    delimiter = sniff_delimiter(header_line)
    header = [c.strip().lstrip("\ufeff").lower() for c in _split(header_line, delimiter)]
    return CsvLayout(header, delimiter)


def _whole_row(layout: CsvLayout) -> Callable[[str], bool]:
    """Whether a line is a whole row of the layout: cells without quotes around an AuditData
    cell that starts `"{`, ends `}"` and has every quote inside it doubled."""
    cell = '[^"\r\n' + re.escape(layout.delimiter) + "]*"
    sep = re.escape(layout.delimiter)
    after = len(layout.header) - layout.audit - 1
    pattern = re.compile(f'(?:{cell}{sep}){{{layout.audit}}}"\\{{[^\r\n]*\\}}"'
                         f"(?:{sep}{cell}){{{after}}}\r?\n?")

    def whole_row(line: str) -> bool:
        return (pattern.fullmatch(line) is not None
                and line.count('"') == 2 * line.count('""') + 2)

    return whole_row


def _csv_rows(stream: TextIO, number: int, first: str) -> Iterator[RawRecord]:
    layout = csv_layout(first)
    for line, text in logical_lines(stream, number + 1, layout.whole_row):
        if text.strip():
            yield layout.record(line, text)


def _split(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter), [])


def logical_lines(stream: Iterable[str], first_number: int,
                  whole_row: Callable[[str], bool] | None = None) -> Iterator[tuple[int, str]]:
    """CSV records, joining physical lines while a quoted cell is open. A line `whole_row`
    takes for a row of its own ends an open record there: that record's quotes do not pair
    (a quote lost or added), and it is given as it is, to be read as damaged, instead of
    swallowing the rows after it."""
    pending: list[str] = []
    quotes = 0
    start = first_number
    for number, line in enumerate(stream, first_number):
        if pending and whole_row is not None and whole_row(line):
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


class CsvLayout:
    """Column positions of one CSV file and the row reader that uses them."""

    def __init__(self, header: list[str], delimiter: str) -> None:
        self.header = header
        self.delimiter = delimiter
        self.audit = next((header.index(c) for c in AUDIT_COLUMNS if c in header), None)
        self.envelope = [(i, name) for i, name in enumerate(header) if name in ENVELOPE_COLUMNS]
        self.cell_start = delimiter + '"{'
        self.cell_end = '}"' + delimiter
        self.whole_row = _whole_row(self) if self.audit is not None else None

    def record(self, line: int, text: str) -> RawRecord:
        if self.audit is not None:
            fast = self._fast(line, text)
            if fast is not None:
                return fast
        try:
            cells = _split(text.rstrip("\r\n"), self.delimiter)
        except csv.Error as exc:
            return RawRecord(line, damage=f"row not readable as CSV: {exc}")
        return self._from_cells(line, text, cells)

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
        cells = _split(rest, self.delimiter)
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

