"""Verdict rules: the shipped rules pass their examples; broken rules are reported by file+line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import exitcodes
from scanner.cli import app
from scanner.correlate.rules import (
    check_examples,
    default_rules_dir,
    evaluate,
    load_rule_file,
    load_rules,
)

GOOD = """\
id: local-egress
title: Egress address matches
description: test rule
level: strong
verdict: match
confidence: 0.7
references: []
condition:
  all:
    - {fact: egress_ip_match, eq: true}
    - {fact: creation_delta_hours, abs_lte: 2}
examples:
  match:
    - {egress_ip_match: true, creation_delta_hours: -1.5}
  no_match:
    - {egress_ip_match: true, creation_delta_hours: 3}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_rule_loads_and_passes_its_examples() -> None:
    rules = load_rules([default_rules_dir()])

    assert rules.errors == []
    assert check_examples(rules) == []
    assert len(rules.rules) >= 6
    for rule in rules.rules:
        assert rule.must_match and rule.must_not_match, rule.id
        assert rule.title and rule.references, rule.id
    verdicts = {rule.verdict for rule in rules.rules}
    assert verdicts == {"match", "same-mailbox", "unrelated", "insufficient-evidence"}


def test_decisive_rules_are_tried_first() -> None:
    rules = load_rules([default_rules_dir()])
    facts = {"database_guid_match": False, "folder_overlap_ratio": 1.0,
             "creation_delta_hours": 0.1}

    rule, matched = rules.decide(facts)

    assert rule is not None and rule.verdict == "unrelated"
    assert matched == ["unrelated-different-mailbox"]


def test_a_yaml_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = GOOD.replace("level: strong", "level: [strong")
    path = _write(tmp_path, "broken.yml", broken)

    rule, errors = load_rule_file(path)

    assert rule is None
    assert len(errors) == 1
    assert errors[0].path == str(path)
    assert errors[0].line in (5, 6)      # the flow sequence opened on line 5 never closes
    assert "YAML syntax" in errors[0].message


def test_schema_errors_name_their_lines(tmp_path: Path) -> None:
    text = GOOD.replace("fact: egress_ip_match, eq: true", "fact: egress_ip, eq: true")
    text = text.replace("verdict: match", "verdict: guilty")
    path = _write(tmp_path, "bad.yml", text)

    _, errors = load_rule_file(path)

    found = {(e.line, e.message.split(" (")[0].split(":")[0]) for e in errors}
    assert (5, "verdict must be one of match, same-mailbox, unrelated, insufficient-evidence") \
        in found
    assert any(e.line == 10 and "unknown fact 'egress_ip'" in e.message for e in errors)


def test_a_value_of_the_wrong_type_is_an_error_not_a_silent_miss(tmp_path: Path) -> None:
    path = _write(tmp_path, "typo.yml", GOOD.replace("eq: true}", "eq: treu}"))

    _, errors = load_rule_file(path)

    assert [(e.line, e.message) for e in errors] == [
        (10, "egress_ip_match eq: 'treu' is not a bool, as this fact is")]


def test_no_expression_can_run_code(tmp_path: Path) -> None:
    text = GOOD.replace("{fact: creation_delta_hours, abs_lte: 2}",
                        "{fact: creation_delta_hours, eval: \"__import__('os')\"}")
    text = text.replace("references: []", "references: !!python/object/apply:os.system [id]")
    path = _write(tmp_path, "evil.yml", text)

    rule, errors = load_rule_file(path)

    assert rule is None
    assert any(e.line == 7 and "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
               "allowed" in e.message for e in errors)
    errors = load_rule_file(_write(tmp_path, "evil2.yml", GOOD.replace(
        "{fact: creation_delta_hours, abs_lte: 2}",
        "{fact: creation_delta_hours, eval: \"__import__('os')\"}")))[1]
    assert any("exactly one operator" in e.message and e.line == 11 for e in errors)


def test_missing_keys_duplicate_ids_and_missing_examples(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD)
    _write(tmp_path, "b.yml", GOOD)
    _write(tmp_path, "c.yml", GOOD.replace("title: Egress address matches\n", "")
           .replace("id: local-egress", "id: other"))
    _write(tmp_path, "d.yml", GOOD.replace("id: local-egress", "id: third").split("  no_match:")[0])

    rules = load_rules([tmp_path])

    messages = [(Path(e.path).name, e.line, e.message) for e in rules.errors]
    assert ("b.yml", 1, f"rule id 'local-egress' already defined in {tmp_path / 'a.yml'}") \
        in messages
    assert ("c.yml", 1, "missing key 'title'") in messages
    assert any(name == "d.yml" and "examples.no_match: at least one" in text
               for name, _, text in messages)


def test_a_wrong_example_is_a_failure_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("{egress_ip_match: true, creation_delta_hours: 3}",
                        "{egress_ip_match: true, creation_delta_hours: 1}")
    _write(tmp_path, "wrong.yml", text)

    failures = check_examples(load_rules([tmp_path]))

    assert [(f.line, f.message) for f in failures] == [
        (16, "local-egress: example must not match but does")]


@pytest.mark.parametrize(("condition", "facts", "expected"), [
    ("{fact: creation_delta_hours, abs_lte: 24}", {"creation_delta_hours": -23.5}, True),
    ("{fact: creation_delta_hours, abs_lte: 24}", {"creation_delta_hours": None}, False),
    ("{fact: creation_delta_hours, known: false}", {}, True),
    ("{fact: database_guid_match, eq: null}", {"database_guid_match": None}, True),
    ("{fact: database_guid_match, eq: true}", {"database_guid_match": 1}, False),
    ("{fact: folder_overlap_count, in: [1, 2]}", {"folder_overlap_count": 2}, True),
    ("{not: {fact: egress_ip_match, eq: false}}", {"egress_ip_match": None}, True),
    ("{any: [{fact: marked, eq: true}, {fact: collapsed, eq: true}]}", {"marked": True}, True),
])
def test_condition_language(tmp_path: Path, condition: str, facts: dict, expected: bool) -> None:
    text = GOOD.replace("""  all:
    - {fact: egress_ip_match, eq: true}
    - {fact: creation_delta_hours, abs_lte: 2}""", "  " + condition)
    text = text.split("examples:")[0] + "examples:\n  match: [{marked: true}]\n" \
        "  no_match: [{marked: false}]\n"
    rule, errors = load_rule_file(_write(tmp_path, "c.yml", text))

    assert not errors, errors
    assert evaluate(rule.condition, facts) is expected


def test_rules_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["rules", "check"])
    assert ok.exit_code == exitcodes.OK
    assert "0 error(s)" in ok.output

    _write(tmp_path, "broken.yml", GOOD.replace("level: strong", "level: [strong"))
    bad = runner.invoke(app, ["rules", "check", "--rules", str(tmp_path)])
    assert bad.exit_code == exitcodes.INVALID
    assert f"{tmp_path / 'broken.yml'}:" in bad.output


def test_a_rules_folder_without_rules_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("rules go here\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["correlate", "--rules", str(tmp_path), "--audit",
                                      str(Path(__file__).resolve().parent.parent
                                          / "fixtures/example-case/audit/purview-export.csv")])

    assert result.exit_code == exitcodes.INVALID
    assert "no rule files (*.yml, *.yaml) in this folder" in result.stderr


def test_rules_check_only_needs_a_rules_folder() -> None:
    result = CliRunner().invoke(app, ["rules", "check", "--only"])

    assert result.exit_code == exitcodes.USAGE
    assert "give at least one --rules DIR" in result.stderr


def test_a_rule_missing_a_key_still_has_its_other_mistakes_said(tmp_path: Path) -> None:
    broken = (GOOD.replace("references:", "sources:")
              .replace("verdict: match", "verdict: maybe")
              .replace("confidence: 0.7", "confidence: 2"))
    _write(tmp_path, "e.yml", broken)

    messages = [e.message for e in load_rules([tmp_path]).errors]

    assert "missing key 'references'" in messages
    assert any(m.startswith("verdict must be one of") for m in messages)
    assert "confidence must be a number from 0 to 1" in messages
