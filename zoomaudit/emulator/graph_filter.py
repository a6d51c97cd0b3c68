"""The OData ``$filter`` subset the Graph emulator understands (graph.md §9 item 7).

Part of the emulator (``graph_app`` calls it); nothing in the kit's analysis path imports it.
:func:`parse` turns a filter string into a small AST; :func:`evaluate` tests one JSON-shaped row
(a dict in Graph's wire shape) against it. The parser also reports which properties the filter
touches and whether it uses an "advanced query" operator (``ne``, ``not``, ``endsWith``,
``/$count``), so the routes can answer the errors real Graph gives.

Supported: ``eq ne gt ge lt le in``, ``and or not``, parentheses, ``startsWith endsWith
contains tolower toupper``, ``eq null``, lambdas ``any(x:x/skuId eq <guid>)`` and
``any(p:startsWith(p,'smtp:'))``, ``path/$count``, nested paths (``servicePrincipal/id``),
single-quoted strings (``''`` escapes a quote), unquoted GUIDs, numbers, booleans and unquoted
ISO dates or date-times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["FilterError", "Filter", "parse", "evaluate"]


class FilterError(ValueError):
    """A filter the emulator (and Graph) cannot parse."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<guid>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?![\w-]))
    | (?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<name>\$?[A-Za-z_][\w.]*)
    | (?P<punct>[(),:/])
    )""",
    re.VERBOSE,
)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains", "tolower", "toupper"}


@dataclass
class Filter:
    """A parsed filter: the AST plus what it touches."""

    text: str
    ast: tuple
    properties: set[str] = field(default_factory=set)  # full paths, e.g. "servicePrincipal/id"
    advanced: bool = False  # needs $count=true + ConsistencyLevel: eventual on directory objects
    operators: set[str] = field(default_factory=set)

    @property
    def roots(self) -> set[str]:
        """Top-level property names (the first path segment)."""
        return {p.split("/")[0] for p in self.properties}


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.result = Filter(text=text, ast=())
        self.vars: list[str] = []

    # -- token helpers
    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FilterError(f"Unexpected end of filter '{self.text}'.")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.next()
        if tok[1] != value:
            raise FilterError(f"Expected '{value}' but found '{tok[1]}' in '{self.text}'.")

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1].lower() in words:
            self.i += 1
            return tok[1].lower()
        return None

    # -- grammar
    def parse(self) -> Filter:
        ast = self.expr()
        if self.peek() is not None:
            raise FilterError(f"Syntax error: unexpected '{self.peek()[1]}' in '{self.text}'.")
        self.result.ast = ast
        return self.result

    def expr(self) -> tuple:
        left = self.and_expr()
        while self.keyword("or"):
            left = ("or", left, self.and_expr())
        return left

    def and_expr(self) -> tuple:
        left = self.not_expr()
        while self.keyword("and"):
            left = ("and", left, self.not_expr())
        return left

    def not_expr(self) -> tuple:
        if self.keyword("not"):
            self._op("not")
            return ("not", self.not_expr())
        return self.comparison()

    def _op(self, name: str) -> None:
        self.result.operators.add(name)
        if name in ("ne", "not", "endswith", "$count"):
            self.result.advanced = True

    def comparison(self) -> tuple:
        tok = self.peek()
        if tok and tok[1] == "(":
            self.next()
            inner = self.expr()
            self.expect(")")
            return inner
        left = self.operand()
        op = self.keyword(*COMPARISONS, "in")
        if op is None:
            return ("bool", left)
        self._op(op)
        if op == "in":
            self.expect("(")
            values = [self.operand()]
            while self.peek() and self.peek()[1] == ",":
                self.next()
                values.append(self.operand())
            self.expect(")")
            return ("in", left, tuple(values))
        return ("cmp", op, left, self.operand())

    def operand(self) -> tuple:
        kind, value = self.next()
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "guid":
            return ("lit", value.lower())
        if kind == "date":
            return ("lit", _parse_date(value))
        if kind == "num":
            return ("lit", float(value) if "." in value else int(value))
        if kind == "punct":
            raise FilterError(f"Syntax error: unexpected '{value}' in '{self.text}'.")
        low = value.lower()
        if low in ("true", "false"):
            return ("lit", low == "true")
        if low == "null":
            return ("lit", None)
        if low in FUNCTIONS and self.peek() and self.peek()[1] == "(":
            self._op(low)
            self.next()
            args = [self.operand()]
            while self.peek() and self.peek()[1] == ",":
                self.next()
                args.append(self.operand())
            self.expect(")")
            return ("fn", low, tuple(args))
        return self.path(value)

    def path(self, first: str) -> tuple:
        parts = [first]
        while self.peek() and self.peek()[1] == "/":
            self.next()
            kind, seg = self.next()
            if kind != "name":
                raise FilterError(f"Syntax error in path after '{'/'.join(parts)}'.")
            if seg.lower() in ("any", "all") and self.peek() and self.peek()[1] == "(":
                return self.lambda_(parts, seg.lower())
            if seg == "$count":
                self._op("$count")
                return ("count", self._ref(parts))
            parts.append(seg)
        return self._ref(parts)

    def _ref(self, parts: list[str]) -> tuple:
        if parts[0] in self.vars:
            return ("var", parts[0], tuple(parts[1:]))
        self.result.properties.add("/".join(parts))
        return ("prop", tuple(parts))

    def lambda_(self, parts: list[str], kind: str) -> tuple:
        collection = self._ref(parts)
        self.expect("(")
        var = self.next()[1]
        self.expect(":")
        self.vars.append(var)
        body = self.expr()
        self.vars.pop()
        self.expect(")")
        self._op(kind)
        return (kind, collection, var, body)


def _parse_date(text: str) -> datetime:
    if "T" not in text:
        text += "T00:00:00Z"
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse(text: str) -> Filter:
    """Parse ``text``; raise :class:`FilterError` on a syntax error."""
    if not text or not text.strip():
        raise FilterError("The filter is empty.")
    return _Parser(text).parse()


# ---- evaluation


def _resolve(obj: object, parts: tuple[str, ...]) -> object:
    for part in parts:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _value(node: tuple, row: dict, env: dict, ci: bool) -> object:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "prop":
        return _resolve(row, node[1])
    if kind == "var":
        return _resolve(env.get(node[1]), node[2]) if node[2] else env.get(node[1])
    if kind == "count":
        items = _value(node[1], row, env, ci)
        return len(items) if isinstance(items, list) else 0
    if kind == "fn":
        name, args = node[1], [_value(a, row, env, ci) for a in node[2]]
        if name in ("tolower", "toupper"):
            s = args[0]
            return None if s is None else (str(s).lower() if name == "tolower" else str(s).upper())
        if len(args) != 2:
            raise FilterError(f"{name} takes two arguments.")
        s, t = args
        if s is None or t is None:
            return False
        s, t = str(s), str(t)
        if ci:
            s, t = s.lower(), t.lower()
        if name == "startswith":
            return s.startswith(t)
        if name == "endswith":
            return s.endswith(t)
        return t in s  # contains
    return _truth(node, row, env, ci)


def _coerce(a: object, b: object, ci: bool) -> tuple[object, object]:
    if isinstance(a, datetime) and isinstance(b, str):
        b = _maybe_date(b)
    elif isinstance(b, datetime) and isinstance(a, str):
        a = _maybe_date(a)
    elif isinstance(a, datetime) and isinstance(b, datetime):
        pass
    elif isinstance(a, str) and isinstance(b, str) and ci:
        a, b = a.lower(), b.lower()
    return a, b


def _maybe_date(text: str) -> object:
    try:
        return _parse_date(text)
    except ValueError:
        return text


def _compare(op: str, a: object, b: object, ci: bool) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    a, b = _coerce(a, b, ci)
    try:
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if op == "gt":
            return a > b
        if op == "ge":
            return a >= b
        if op == "lt":
            return a < b
        return a <= b
    except TypeError:
        return False


def _truth(node: tuple, row: dict, env: dict, ci: bool) -> bool:
    kind = node[0]
    if kind == "or":
        return _truth(node[1], row, env, ci) or _truth(node[2], row, env, ci)
    if kind == "and":
        return _truth(node[1], row, env, ci) and _truth(node[2], row, env, ci)
    if kind == "not":
        return not _truth(node[1], row, env, ci)
    if kind == "cmp":
        return _compare(node[1], _value(node[2], row, env, ci), _value(node[3], row, env, ci), ci)
    if kind == "in":
        left = _value(node[1], row, env, ci)
        return any(_compare("eq", left, _value(v, row, env, ci), ci) for v in node[2])
    if kind in ("any", "all"):
        items = _value(node[1], row, env, ci)
        if not isinstance(items, list):
            return kind == "all"
        test = (_truth(node[3], row, {**env, node[2]: item}, ci) for item in items)
        return any(test) if kind == "any" else all(test)
    if kind == "bool":
        return _value(node[1], row, env, ci) is True
    return bool(_value(node, row, env, ci))


def evaluate(flt: Filter, row: dict, *, case_insensitive: bool = True) -> bool:
    """Whether ``row`` (a Graph-shaped dict) passes ``flt``.

    Directory objects compare strings case-insensitively; the reports API (auditLogs) is
    documented as case-sensitive, so it passes ``case_insensitive=False``.
    """
    return _truth(flt.ast, row, {}, case_insensitive)
