"""Inputs that are not plain files: pipes, standard input, folders that cannot be listed."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

import pytest

from scanner.audit import bulk, sources
from scanner.audit.ingest import ingest
from tests import auditgen

EXPECTED = auditgen.EXPECTED["distinct_records"]


def _export() -> bytes:
    writer, _ = auditgen.FORMATS["f3-purview-classic-csv"]
    return writer(auditgen.sample_records()).encode()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_named_pipe_is_read_whole(tmp_path: Path) -> None:
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(_export(),))
    writer.start()

    log = ingest([str(fifo)])
    writer.join(5)

    assert log.errors == []
    assert log.distinct_records == EXPECTED
    assert not list(Path(sources.tempfile.gettempdir()).glob("ostscan-*"))


def test_standard_input_is_read_as_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(auditgen.gzip_bytes(_export()))))

    log = ingest(["-"])

    assert log.errors == []
    assert log.distinct_records == EXPECTED
    assert log.coverage[0].source_file == "-!gunzip"


def test_a_folder_that_cannot_be_listed_is_an_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok.csv").write_bytes(_export())
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "attacker.csv").write_bytes(_export())
    real_listing = sources._listing

    def listing(folder: str) -> tuple[list[str], list[str]]:   # root may list anything
        if Path(folder) == locked:
            raise PermissionError(13, "Permission denied", folder)
        return real_listing(folder)

    monkeypatch.setattr(sources, "_listing", listing)
    log = ingest([str(tmp_path)])

    assert [(e.source_file, e.reason) for e in log.errors] == [
        (str(locked), "folder not read: Permission denied")]
    assert log.distinct_records == EXPECTED


def test_an_empty_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    log = ingest([str(tmp_path / "empty")])

    assert [e.reason for e in log.errors] == ["no file in this folder or below it"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le-bom"])
def test_export_csv_with_its_type_line_is_read(tmp_path: Path, encoding: str) -> None:
    type_line = "#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks." \
                "UnifiedAuditLogResult\r\n"
    text = type_line + auditgen.f6_export_csv(auditgen.sample_records())
    path = auditgen.write_bytes(tmp_path, "export.csv", auditgen.encode(text, encoding))

    log = ingest([str(path)])

    assert log.errors == []
    assert log.distinct_records == EXPECTED
    assert log.coverage[0].rows == EXPECTED


@pytest.mark.parametrize("reader", ["blocks", "lines"])
def test_an_export_saved_as_windows_1252_keeps_its_folder_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    records = auditgen.sample_records()
    for record in records:
        if "Item" in record:
            record["Item"]["ParentFolder"]["Name"] = "Boîte de réception"
    text = auditgen.f3_purview_classic(records)
    path = auditgen.write_bytes(tmp_path, "excel.csv", text.encode("cp1252"))
    if reader == "lines":
        monkeypatch.setattr(bulk, "open_records", lambda raw, end=None: None)

    log = ingest([str(path)])

    assert {e.folder_name for e in log.sync_events} == {"Boîte de réception", None}
    assert log.distinct_records == EXPECTED


def test_a_workbook_is_named_as_one(tmp_path: Path) -> None:
    workbook = auditgen.write_bytes(tmp_path, "export.xlsx", auditgen.zip_bytes({
        "[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": b"<worksheet/>"}))

    log = ingest([str(workbook)])

    assert [e.reason for e in log.errors] == [
        "an Office document, not an export: save the sheet as CSV"]
