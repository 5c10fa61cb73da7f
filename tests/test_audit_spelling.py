"""Records spelt as Microsoft writes them are read as they are (normalize.spelt_as_microsoft);
every other record through its canonical form. Both ways must give the same events."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest

from scanner.audit import auditdata
from scanner.audit import ingest as ingest_module
from scanner.audit.ingest import ingest
from scanner.audit.normalize import LOWER, MICROSOFT, build_events, parse_time, spelt_as_microsoft
from tests import auditgen
from tests.auditgen import compact


def _events(record: dict, text: str | None = None) -> list:
    """Events of a record read as it is (only when allowed) and through `canonical`."""
    text = compact(record) if text is None else text
    time = parse_time(record.get("CreationTime"))
    canonical = auditdata.canonical(orjson.loads(text), [])
    slow = build_events(canonical, time, "id", None, "f", 1, LOWER)
    if not spelt_as_microsoft(orjson.loads(text), text):
        return [None, slow]
    return [build_events(orjson.loads(text), time, "id", None, "f", 1, MICROSOFT), slow]


def _bind() -> dict:
    return auditgen.sample_records()[5]


def _sync_item() -> dict:
    return auditgen.sample_records()[1]


@pytest.mark.parametrize("index", range(1, 7))
def test_sample_records_are_read_as_they_are_and_give_the_canonical_events(index: int) -> None:
    record = auditgen.sample_records()[index]

    fast, slow = _events(record)

    assert fast == slow
    assert fast and all(event.folder_id for event in fast)


def test_a_braced_client_request_id_keeps_the_fast_way() -> None:
    record = _sync_item()
    record["ClientRequestId"] = "{D822FB8B-6C90-4ACD-AFBB-325F5B9F1856}"

    fast, slow = _events(record)

    assert fast == slow


def _with_key(record: dict, path: tuple, old: str, new: str) -> dict:
    record = copy.deepcopy(record)
    entry = record
    for step in path:
        entry = entry[step]
    entry[new] = entry.pop(old)
    return record


@pytest.mark.parametrize(("path", "old", "new"), [
    ((), "SessionId", "sessionId"),
    ((), "Folders", "folders"),
    (("Folders", 0), "Path", "path"),
    (("Folders", 1, "FolderItems", 0), "InternetMessageId", "internetMessageId"),
    (("Folders", 0, "FolderItems", 1), "SizeInBytes", "SIZEINBYTES"),
    (("OperationProperties", 0), "Value", "value"),
])
def test_another_spelling_anywhere_is_read_through_canonical(path: tuple, old: str,
                                                             new: str) -> None:
    record = _with_key(_bind(), path, old, new)

    fast, slow = _events(record)

    assert fast is None
    assert slow == _events(_bind())[1]       # the value under the other spelling was read


def test_another_spelling_inside_item_and_parent_folder() -> None:
    for path, old, new in (((), "Item", "item"), (("Item",), "ParentFolder", "parentFolder"),
                           (("Item", "ParentFolder"), "Name", "NAME")):
        record = _with_key(_sync_item(), path, old, new)
        fast, slow = _events(record)
        assert fast is None
        assert slow == _events(_sync_item())[1]


def test_a_wrapper_key_is_not_read_as_a_record() -> None:
    record = _sync_item()
    record["auditData"] = {"x": 1}

    assert not spelt_as_microsoft(record, compact(record))


@pytest.mark.parametrize("change", ["folders as text", "a folder as text", "hashtable",
                                    "flattened"])
def test_values_canonical_changes_are_read_through_canonical(change: str) -> None:
    record = _bind()
    if change == "folders as text":
        record["Folders"] = json.dumps(record["Folders"])
    elif change == "a folder as text":
        record["Folders"][1] = json.dumps(record["Folders"][1])
    elif change == "hashtable":
        record["OperationProperties"] = ["@{Name=MailAccessType; Value=Bind}"]
    else:
        record["OrganizationName"] = "System.Object[]"

    fast, slow = _events(record)

    assert fast is None
    assert len(slow) == 2                   # both folders


def _read_counting(path: str, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """The log of an input, and how many records were read as they are."""
    answers: list[bool] = []

    def answering(record: dict, text: str) -> bool:
        answers.append(spelt_as_microsoft(record, text))
        return answers[-1]

    with monkeypatch.context() as patch:
        patch.setattr(ingest_module, "spelt_as_microsoft", answering)
        return ingest([path]), answers.count(True)


def test_every_format_gives_the_same_log_either_way(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    read_as_they_are = {}
    for name in sorted(auditgen.FORMATS):
        (tmp_path / name).mkdir()
        path = str(auditgen.write_format(tmp_path / name, name))
        either, read_as_they_are[name] = _read_counting(path, monkeypatch)
        with monkeypatch.context() as patch:
            patch.setattr(ingest_module, "spelt_as_microsoft", lambda record, text: False)
            canonical_only = ingest([path])
        assert either == canonical_only, name

    assert read_as_they_are["f2-json-lines"] == 6
    assert read_as_they_are["f8-sentinel-officeactivity"] == 0
