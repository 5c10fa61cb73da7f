"""Verdict rules: one YAML file per rule, a small declarative condition language, no code.

A condition is `{all: [...]}`, `{any: [...]}`, `{not: {...}}` or a leaf
`{fact: NAME, OP: VALUE}` with OP one of eq, ne, gt, gte, lt, lte, abs_lt, abs_lte, abs_gt,
abs_gte, in, known. A fact that is unknown (None) fails every comparison except `known: false`
and `eq: null`. Rules are tried by level (decisive, strong, moderate, weak, fallback), then
`precedence`, then id; the first that matches gives the verdict.

Files are read with PyYAML's safe composer only; every error carries the file and line.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scanner.correlate.evidence import FACT_TYPES
from scanner.correlate.model import VERDICTS

LEVELS = {"decisive": 0, "strong": 1, "moderate": 2, "weak": 3, "fallback": 4}
COMPARE_OPS = ("gt", "gte", "lt", "lte", "abs_lt", "abs_lte", "abs_gt", "abs_gte")
OPS = ("eq", "ne", "in", "known", *COMPARE_OPS)
RULE_KEYS = {"id", "title", "description", "level", "verdict", "confidence", "references",
             "condition", "examples", "precedence", "author", "tags"}
REQUIRED_KEYS = ("id", "title", "description", "level", "verdict", "confidence", "references",
                 "condition", "examples")
_YAML_TAGS = frozenset(f"tag:yaml.org,2002:{name}"
                       for name in ("str", "int", "float", "bool", "null", "seq", "map"))
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def default_rules_dir() -> Path:
    """The rules shipped with ostscan: the repository's `rules/`, installed as
    `scanner.builtin_rules`."""
    beside = Path(__file__).resolve().parents[2] / "rules"
    if beside.is_dir():
        return beside
    return Path(str(importlib.resources.files("scanner.builtin_rules")))


@dataclass
class RuleError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Leaf:
    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    kind: str                      # all | any | not
    children: tuple[Condition, ...]


Condition = Leaf | Group


@dataclass
class Example:
    facts: dict[str, Any]
    line: int


@dataclass
class Rule:
    id: str
    title: str
    description: str
    level: str
    verdict: str
    confidence: float
    references: list[str]
    condition: Condition
    must_match: list[Example]
    must_not_match: list[Example]
    path: str
    line: int
    precedence: int = 50
    test: Callable[[dict[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        self.test = predicate(self.condition)

    @property
    def order(self) -> tuple[int, int, str]:
        return (LEVELS[self.level], self.precedence, self.id)

    def matches(self, facts: dict[str, Any]) -> bool:
        return self.test(facts)


@dataclass
class RuleSet:
    rules: list[Rule]
    errors: list[RuleError] = field(default_factory=list)

    def decide(self, facts: dict[str, Any]) -> tuple[Rule | None, list[str]]:
        """The first matching rule, and the ids of every rule that matched."""
        matched = [rule for rule in self.rules if rule.matches(facts)]
        return (matched[0] if matched else None), [rule.id for rule in matched]


# ---- evaluation -------------------------------------------------------------------------------

def evaluate(condition: Condition, facts: dict[str, Any]) -> bool:
    if isinstance(condition, Leaf):
        return _leaf(condition, facts.get(condition.fact))
    if condition.kind == "all":
        return all(evaluate(child, facts) for child in condition.children)
    if condition.kind == "any":
        return any(evaluate(child, facts) for child in condition.children)
    return not evaluate(condition.children[0], facts)


def predicate(condition: Condition) -> Callable[[dict[str, Any]], bool]:
    """The condition as nested closures over the same `_leaf` semantics: evaluation without
    walking the tree each time. Plain functions only; nothing is parsed or evaluated as code."""
    if isinstance(condition, Leaf):
        fact = condition.fact
        return lambda facts: _leaf(condition, facts.get(fact))
    children = tuple(predicate(child) for child in condition.children)
    if condition.kind == "all":
        return lambda facts: all(test(facts) for test in children)
    if condition.kind == "any":
        return lambda facts: any(test(facts) for test in children)
    only = children[0]
    return lambda facts: not only(facts)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (True is not 1 here)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _leaf(leaf: Leaf, value: Any) -> bool:
    if leaf.op == "known":
        return (value is not None) == leaf.value
    if leaf.op == "eq":
        return _same(value, leaf.value)
    if value is None:
        return False
    if leaf.op == "ne":
        return not _same(value, leaf.value)
    if leaf.op == "in":
        return any(_same(value, option) for option in leaf.value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if leaf.op.startswith("abs_"):
        return _compare(leaf.op[4:], abs(value), leaf.value)
    return _compare(leaf.op, value, leaf.value)


def _compare(op: str, value: float, limit: float) -> bool:
    return {"gt": value > limit, "gte": value >= limit,
            "lt": value < limit, "lte": value <= limit}[op]


# ---- loading ----------------------------------------------------------------------------------

class _Errors:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[RuleError] = []

    def add(self, node: Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        error = RuleError(self.path, line, message)
        if error not in self.items:      # a node looked at twice is reported once
            self.items.append(error)


def load_rules(folders: Iterable[str | Path]) -> RuleSet:
    """Every `*.yml` / `*.yaml` file of the folders; all errors kept, good rules still loaded."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            errors.append(RuleError(str(folder), 0, "not a folder of rules"))
            continue
        files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
        if not files:
            errors.append(RuleError(str(folder), 0, "no rule files (*.yml, *.yaml) in this folder"))
        for path in files:
            rule, found = load_rule_file(path)
            errors.extend(found)
            if rule is not None:
                rules.append(rule)
    errors.extend(_duplicates(rules))
    return RuleSet(sorted(rules, key=lambda r: r.order), errors)


def _duplicates(rules: list[Rule]) -> list[RuleError]:
    seen: dict[str, Rule] = {}
    errors = []
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            errors.append(RuleError(rule.path, rule.line,
                                    f"rule id {rule.id!r} already defined in {first.path}"))
        seen[rule.id] = rule
    return errors


def load_rule_file(path: str | Path) -> tuple[Rule | None, list[RuleError]]:
    errors = _Errors(str(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [RuleError(str(path), line, f"YAML syntax: {exc.problem or exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleError(str(path), 0, f"cannot read: {exc}")]
    rule = _rule(node, errors) if node is not None else None
    if node is None:
        errors.add(None, "empty file")
    return (rule if not errors.items else None), errors.items


def _plain_tag(node: Node, errors: _Errors) -> bool:
    """Only YAML's own types: a `!!python/...` or custom tag is refused, never constructed."""
    if node.tag in _YAML_TAGS:
        return True
    errors.add(node, f"tag {node.tag!r} is not allowed in a rule")
    return False


def _mapping(node: Node, errors: _Errors, what: str) -> dict[str, tuple[Node, Node]] | None:
    """A mapping node as {key: (key node, value node)}; duplicate keys are errors."""
    if not _plain_tag(node, errors):
        return None
    if not isinstance(node, MappingNode):
        errors.add(node, f"{what} must be a mapping")
        return None
    found: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            errors.add(key_node, f"{what}: keys must be plain names")
            continue
        if key_node.value in found:
            errors.add(key_node, f"{what}: duplicate key {key_node.value!r}")
        found[key_node.value] = (key_node, value_node)
    return found


def _scalar(node: Node, errors: _Errors, what: str) -> Any:
    if not isinstance(node, ScalarNode):
        errors.add(node, f"{what} must be a single value")
        return None
    if not _plain_tag(node, errors):
        return None
    return SafeConstructor().construct_object(node)


def _plain(node: Node, errors: _Errors, what: str) -> Any:
    """Scalars, lists and mappings of scalars, as Python values (examples, `in` lists)."""
    if isinstance(node, SequenceNode):
        if not _plain_tag(node, errors):
            return None
        return [_plain(child, errors, what) for child in node.value]
    if isinstance(node, MappingNode):
        items = _mapping(node, errors, what) or {}
        return {k: _plain(v, errors, f"{what}.{k}") for k, (_, v) in items.items()}
    return _scalar(node, errors, what)


def _rule(node: Node, errors: _Errors) -> Rule | None:
    fields = _mapping(node, errors, "rule")
    if fields is None:
        return None
    for key, (key_node, _) in fields.items():
        if key not in RULE_KEYS:
            errors.add(key_node, f"unknown key {key!r} (allowed: {', '.join(sorted(RULE_KEYS))})")
    missing = [key for key in REQUIRED_KEYS if key not in fields]
    for key in missing:
        errors.add(node, f"missing key {key!r}")
    header = _header(fields, errors)
    condition = compile_condition(fields["condition"][1], errors) if "condition" in fields \
        else None
    must, must_not = _examples(fields["examples"][1], errors) if "examples" in fields \
        else ([], [])
    if missing or header is None or condition is None:
        return None
    return Rule(**header, condition=condition, must_match=must, must_not_match=must_not,
                path=errors.path, line=node.start_mark.line + 1)


_HEADER_CHECKS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("id", lambda v: isinstance(v, str) and bool(_ID.match(v)),
     "id must be lower-case letters, digits, '-' or '.'"),
    ("title", lambda v: isinstance(v, str) and bool(v.strip()), "title is empty"),
    ("description", lambda v: isinstance(v, str), "description must be text"),
    ("level", lambda v: v in LEVELS, f"level must be one of {', '.join(LEVELS)}"),
    ("verdict", lambda v: v in VERDICTS, f"verdict must be one of {', '.join(VERDICTS)}"),
    ("confidence", lambda v: _is_number(v) and 0 <= v <= 1,
     "confidence must be a number from 0 to 1"),
    ("references", lambda v: isinstance(v, list) and all(isinstance(r, str) for r in v),
     "references: a list of text"),
    ("precedence", lambda v: isinstance(v, int), "precedence: an integer"),
)


def _header(fields: dict[str, tuple[Node, Node]], errors: _Errors) -> dict[str, Any] | None:
    """The rule's plain fields; each one present is checked, so that a rule missing a key
    still has its other mistakes said in the same run."""
    value = {key: _plain(fields[key][1], errors, key) for key in fields if key in RULE_KEYS}
    failed = False
    for key, ok, message in _HEADER_CHECKS:
        if key in value and not ok(value[key]):
            errors.add(fields[key][1], message)
            failed = True
    keep = ("id", "title", "description", "level", "verdict", "references")
    if failed or any(key not in value for key in (*keep, "confidence")):
        return None
    return {**{k: value[k] for k in keep}, "confidence": float(value["confidence"]),
            "precedence": value.get("precedence", 50)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compile_condition(node: Node, errors: _Errors) -> Condition | None:
    fields = _mapping(node, errors, "condition")
    if fields is None:
        return None
    if "fact" in fields:
        return _compile_leaf(node, fields, errors)
    groups = [key for key in fields if key in ("all", "any", "not")]
    if len(groups) != 1 or len(fields) != 1:
        errors.add(node, "a condition is one of {all: [...]}, {any: [...]}, {not: {...}} "
                         "or {fact: NAME, OP: VALUE}")
        return None
    kind = groups[0]
    body = fields[kind][1]
    if kind == "not":
        child = compile_condition(body, errors)
        return Group("not", (child,)) if child is not None else None
    return _compile_group(kind, body, errors)


def _compile_group(kind: str, body: Node, errors: _Errors) -> Condition | None:
    if not isinstance(body, SequenceNode) or not body.value:
        errors.add(body, f"{kind}: needs a non-empty list of conditions")
        return None
    children = [compile_condition(child, errors) for child in body.value]
    if any(child is None for child in children):
        return None
    return Group(kind, tuple(children))


def _compile_leaf(
    node: Node, fields: dict[str, tuple[Node, Node]], errors: _Errors
) -> Leaf | None:
    fact = _scalar(fields["fact"][1], errors, "fact")
    ops = [key for key in fields if key != "fact"]
    if fact not in FACT_TYPES:
        errors.add(fields["fact"][1], f"unknown fact {fact!r} (known: {', '.join(FACT_TYPES)})")
        return None
    if len(ops) != 1 or ops[0] not in OPS:
        errors.add(node, f"fact {fact!r} needs exactly one operator of {', '.join(OPS)}")
        return None
    op = ops[0]
    value = _plain(fields[op][1], errors, op)
    problem = _operand_problem(op, value) or _type_problem(op, value, FACT_TYPES[fact])
    if problem:
        errors.add(fields[op][1], f"{fact} {op}: {problem}")
        return None
    return Leaf(fact, op, tuple(value) if op == "in" else value)


def _type_problem(op: str, value: Any, types: tuple[type, ...]) -> str | None:
    """`eq: treu` on a true/false fact can never hold: say so, rather than let it fail quietly."""
    if op in ("known",) + tuple(COMPARE_OPS):
        return None
    values = value if op == "in" else [value]
    wrong = [v for v in values if v is not None and not _fits(v, types)]
    if wrong:
        return f"{wrong[0]!r} is not a {types[0].__name__}, as this fact is"
    return None


def _operand_problem(op: str, value: Any) -> str | None:
    if op == "known":
        return None if isinstance(value, bool) else "known takes true or false"
    if op in COMPARE_OPS:
        return None if _is_number(value) else "takes a number"
    if op == "in":
        if isinstance(value, list) and value and all(not isinstance(v, (list, dict))
                                                     for v in value):
            return None
        return "takes a non-empty list of values"
    return None if not isinstance(value, (list, dict)) else "takes a single value"


def _examples(node: Node, errors: _Errors) -> tuple[list[Example], list[Example]]:
    fields = _mapping(node, errors, "examples") or {}
    lists: dict[str, list[Example]] = {"match": [], "no_match": []}
    for key, (key_node, value_node) in fields.items():
        if key not in lists:
            errors.add(key_node, f"examples: unknown key {key!r} (use match, no_match)")
            continue
        if not isinstance(value_node, SequenceNode):
            errors.add(value_node, f"examples.{key} must be a list of fact mappings")
            continue
        lists[key] = [_example(child, errors) for child in value_node.value]
    for key in lists:
        if not lists[key] and fields:
            errors.add(node, f"examples.{key}: at least one example is required")
    return lists["match"], lists["no_match"]


def _example(node: Node, errors: _Errors) -> Example:
    facts = _plain(node, errors, "example")
    if not isinstance(facts, dict):
        errors.add(node, "an example is a mapping of fact: value")
        return Example({}, node.start_mark.line + 1)
    for name, value in facts.items():
        if name not in FACT_TYPES:
            errors.add(node, f"example names unknown fact {name!r}")
        elif value is not None and not _fits(value, FACT_TYPES[name]):
            kind = FACT_TYPES[name][0].__name__
            errors.add(node, f"example fact {name}={value!r} is not a {kind}")
    return Example(facts, node.start_mark.line + 1)


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


# ---- checking ---------------------------------------------------------------------------------

def check_examples(rules: RuleSet) -> list[RuleError]:
    """Every rule against its own examples: each `match` must match, each `no_match` must not."""
    failures = []
    for rule in rules.rules:
        for example in rule.must_match:
            if not rule.matches(example.facts):
                failures.append(RuleError(rule.path, example.line,
                                          f"{rule.id}: example must match but does not"))
        for example in rule.must_not_match:
            if rule.matches(example.facts):
                failures.append(RuleError(rule.path, example.line,
                                          f"{rule.id}: example must not match but does"))
    return failures
