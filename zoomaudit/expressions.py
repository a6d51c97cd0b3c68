"""Entra's attribute-mapping expression language: tokenizer, parser and vectorised evaluator.

Place in the flow: analysis. ``mapping.simulate`` evaluates the provisioning job's attribute
mappings with this module over whole columns of ``entra_users`` (one pandas operation per
function call, not one Python call per user); ``scope`` reuses the attribute resolver.

The grammar (Microsoft's "Reference for writing expressions for attribute mappings")::

    expr     := compare
    compare  := primary [ ("=" | "<>" | ">" | ">=" | "<" | "<=") primary ]
    primary  := call | "[" attribute "]" | "\\"string\\"" | number | name | <empty argument>
    call     := Name "(" [ arg ("," arg)* ] ")"

String escapes use a backslash (``"a \\"b\\" c"``). Function names are matched without regard to
case (the documentation itself writes ``switch(...)`` once). An empty argument (``Switch(x, ,
"a", "b")``) is *missing*, which is different from the literal ``""``.

Values during evaluation are pandas Series aligned to the input rows (``str`` for strings,
``boolean`` for conditions, ``object`` holding lists for multi-valued attributes) or Python
scalars that are broadcast lazily. Null is ``NA``. Anything we cannot evaluate (unknown
function, non-deterministic function such as ``Guid()``, syntax error) raises
:class:`~zoomaudit.errors.ExpressionError` naming the expression and the character position.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from zoomaudit.errors import ExpressionError

# --------------------------------------------------------------------------- source attributes

#: Entra source attribute name (lower-cased) -> ``entra_users`` column (see ``frames``)
SOURCE_ATTRIBUTES: dict[str, str] = {
    "objectid": "entra_id",
    "id": "entra_id",
    "userprincipalname": "user_principal_name",
    "displayname": "display_name",
    "givenname": "given_name",
    "surname": "surname",
    "mail": "mail",
    "mailnickname": "mail_nickname",
    "othermails": "other_mails",
    "proxyaddresses": "proxy_addresses",
    "accountenabled": "account_enabled",
    "department": "department",
    "jobtitle": "job_title",
    "employeeid": "employee_id",
    "country": "country",
    "usagelocation": "usage_location",
    "usertype": "user_type",
    "onpremisessyncenabled": "on_premises_sync_enabled",
    "createddatetime": "created_at",
    # computed by the simulation (see mapping.simulate)
    "issoftdeleted": "is_soft_deleted",
    "approleassignments": "app_role_value",
}


def source_column(name: str) -> str:
    """The ``entra_users`` column (or computed column) for an Entra source attribute name."""
    return SOURCE_ATTRIBUTES.get(name.strip().lower(), name)


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Attr(Node):
    name: str


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Num(Node):
    value: int | float


@dataclass(frozen=True)
class Name(Node):
    """A bare word that is not a call (e.g. ``vbBinaryCompare``): evaluates to its text."""

    value: str


@dataclass(frozen=True)
class Missing(Node):
    """An empty argument: ``Switch([a], , "k", "v")``."""


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the source text, its AST and the attributes it reads."""

    text: str
    ast: Node
    attributes: tuple[str, ...] = field(default=())

    def evaluate(self, data, *, length: int | None = None) -> pd.Series:
        return evaluate(self, data, length=length)


# --------------------------------------------------------------------------- tokenizer

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<attr>\[[^\]]*\])
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op><>|>=|<=|=|>|<)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; raises ExpressionError at the first unknown character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(
                f"unexpected character {text[pos]!r}", expression=text, position=pos
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1], flags=re.DOTALL)


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.attributes: list[str] = []

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token) -> ExpressionError:
        return ExpressionError(message, expression=self.text, position=tok.pos)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression", self.peek())
        node = self.compare(top=True)
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r}", self.peek())
        return node

    def compare(self, *, top: bool = False) -> Node:
        left = self.primary(top=top)
        if self.peek().kind == "op":
            op = self.take()
            right = self.primary(top=top)
            return Compare(op.pos, op.text, left, right)
        return left

    def primary(self, *, top: bool = False) -> Node:
        tok = self.peek()
        if tok.kind == "attr":
            self.take()
            name = tok.text[1:-1].strip()
            if not name:
                raise self.error("empty attribute name []", tok)
            self.attributes.append(name)
            return Attr(tok.pos, name)
        if tok.kind == "str":
            self.take()
            return Str(tok.pos, _unescape(tok.text))
        if tok.kind == "num":
            self.take()
            value = float(tok.text) if "." in tok.text else int(tok.text)
            return Num(tok.pos, value)
        if tok.kind == "name":
            self.take()
            if self.peek().text == "(":
                self.take()
                args = self.arguments()
                return Call(tok.pos, tok.text, tuple(args))
            return Name(tok.pos, tok.text)
        if not top and tok.text in (",", ")"):
            return Missing(tok.pos)  # an empty argument
        raise self.error(f"unexpected {tok.text or 'end of expression'!r}", tok)

    def arguments(self) -> list[Node]:
        args: list[Node] = []
        if self.peek().text == ")":
            self.take()
            return args
        while True:
            args.append(self.compare())
            tok = self.take()
            if tok.text == ")":
                return args
            if tok.text != ",":
                raise self.error(f"expected ',' or ')' but found {tok.text or 'end'!r}", tok)


@lru_cache(maxsize=1024)
def parse(text: str) -> Expression:
    """Parse an expression into an :class:`Expression` (cached by text)."""
    if text is None:
        raise ExpressionError("no expression given")
    p = _Parser(text)
    ast = p.parse()
    return Expression(text=text, ast=ast, attributes=tuple(dict.fromkeys(p.attributes)))


# --------------------------------------------------------------------------- evaluation


class _Ctx:
    def __init__(self, expr: Expression, resolve: Callable[[str], pd.Series], index: pd.Index):
        self.expr = expr
        self.resolve = resolve
        self.index = index
        self.n = len(index)

    def error(self, message: str, node: Node) -> ExpressionError:
        return ExpressionError(message, expression=self.expr.text, position=node.pos)

    # -- broadcasting helpers
    def series(self, value) -> pd.Series:
        """Any value as a ``str`` Series (lists joined are not produced here)."""
        if isinstance(value, pd.Series):
            if value.dtype == "boolean" or value.dtype == bool:
                return _bool_to_text(value)
            if value.dtype == object and _has_lists(value):
                return value.map(lambda v: v[0] if isinstance(v, list) and v else pd.NA).astype(
                    "str"
                )
            if value.dtype != "str":
                return value.astype("str")
            return value
        if value is None:
            return pd.Series(pd.NA, index=self.index, dtype="str")
        if isinstance(value, bool):
            value = "True" if value else "False"
        return pd.Series(str(value), index=self.index, dtype="str")


def _has_lists(series: pd.Series) -> bool:
    for v in series.head(50):
        if isinstance(v, list):
            return True
    return False


def _bool_to_text(series: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=series.index, dtype="str")
    b = series.astype("boolean")
    out[b.fillna(False).to_numpy(bool)] = "True"
    out[(~b).fillna(False).to_numpy(bool)] = "False"
    return out


def _text_to_bool(series: pd.Series) -> pd.Series:
    """Strings "True"/"False" (any case) -> boolean; other values -> NA."""
    if series.dtype == "boolean" or series.dtype == bool:
        return series.astype("boolean")
    low = series.astype("str").str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[(low == "true").fillna(False).to_numpy(bool)] = True
    out[(low == "false").fillna(False).to_numpy(bool)] = False
    return out


def _scalar(node: Node):
    if isinstance(node, Str | Name):
        return node.value
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Missing):
        return None
    return _NOT_SCALAR


_NOT_SCALAR = object()


def _int_arg(ctx: _Ctx, node: Node, what: str) -> int:
    value = _scalar(node)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ctx.error(f"{what} must be a whole number constant", node) from None


def _eval(ctx: _Ctx, node: Node):
    if isinstance(node, Str | Name):
        return node.value
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, Missing):
        return None
    if isinstance(node, Attr):
        try:
            return ctx.resolve(node.name)
        except KeyError:
            raise ctx.error(f"unknown source attribute [{node.name}]", node) from None
    if isinstance(node, Compare):
        return _compare(ctx, node)
    if isinstance(node, Call):
        fn = FUNCTIONS.get(node.name.lower())
        if fn is None:
            if node.name.lower() in UNSUPPORTED:
                raise ctx.error(
                    f"function {node.name} cannot be simulated ({UNSUPPORTED[node.name.lower()]})",
                    node,
                )
            raise ctx.error(f"unknown function {node.name}", node)
        return fn(ctx, node)
    raise ctx.error(f"cannot evaluate {type(node).__name__}", node)  # pragma: no cover


def _compare(ctx: _Ctx, node: Compare) -> pd.Series:
    left = ctx.series(_eval(ctx, node.left))
    right = ctx.series(_eval(ctx, node.right))
    valid = left.notna() & right.notna() & (left != "") & (right != "")
    if node.op in ("=", "<>"):
        eq = (left == right).fillna(False)
        res = eq if node.op == "=" else ~eq
    else:
        ln = pd.to_numeric(left, errors="coerce")
        rn = pd.to_numeric(right, errors="coerce")
        numeric = ln.notna() & rn.notna()
        ops = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
        f = ops[node.op]
        num_res = pd.Series(
            f(ln.to_numpy(float, na_value=np.nan), rn.to_numpy(float, na_value=np.nan)),
            index=ctx.index,
        )
        str_res = pd.Series(
            f(left.fillna("").to_numpy(object), right.fillna("").to_numpy(object)),
            index=ctx.index,
        )
        res = num_res.where(numeric, str_res)
    # "If the source attribute used within the IIF function is empty or null, the condition
    # check fails": a comparison on a null/empty operand is false.
    return (res.astype(bool) & valid.astype(bool)).astype("boolean")


def _args(ctx: _Ctx, node: Call, lo: int, hi: int | None = None) -> tuple[Node, ...]:
    n = len(node.args)
    hi = lo if hi is None else hi
    if n < lo or (hi >= 0 and n > hi):
        want = str(lo) if lo == hi else f"{lo}..{hi if hi >= 0 else 'n'}"
        raise ctx.error(f"{node.name} takes {want} arguments, got {n}", node)
    return node.args


def _str_arg(ctx: _Ctx, node: Node) -> pd.Series:
    return ctx.series(_eval(ctx, node))


# -- the functions ---------------------------------------------------------------------------


def f_append(ctx, node):
    src, suffix = (_str_arg(ctx, a) for a in _args(ctx, node, 2))
    both_null = src.isna() & suffix.isna()
    out = src.fillna("") + suffix.fillna("")
    return out.mask(both_null)


def f_coalesce(ctx, node):
    args = _args(ctx, node, 1, -1)
    out = pd.Series(pd.NA, index=ctx.index, dtype="str")
    for a in args:
        out = out.fillna(_str_arg(ctx, a)) if out.isna().any() else out
    return out


def _truthy(ctx: _Ctx, value) -> pd.Series:
    if isinstance(value, pd.Series) and value.dtype in ("boolean", bool):
        return value.astype("boolean").fillna(False).astype(bool)
    return _text_to_bool(ctx.series(value)).fillna(False).astype(bool)


def f_iif(ctx, node):
    c, t, f = _args(ctx, node, 3)
    cond = _truthy(ctx, _eval(ctx, c))
    return _str_arg(ctx, t).where(cond, _str_arg(ctx, f))


def f_isnull(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    if isinstance(v, pd.Series) and v.dtype == object:
        return v.map(lambda x: x is None or x is pd.NA or (isinstance(x, list) and not x)).astype(
            "boolean"
        )
    return ctx.series(v).isna().astype("boolean")


def f_isnullorempty(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    if isinstance(v, pd.Series) and v.dtype == object and _has_lists(v):
        return v.map(lambda x: not x).astype("boolean")
    s = ctx.series(v)
    return (s.isna() | (s == "")).fillna(True).astype("boolean")


def f_ispresent(ctx, node):
    return (~f_isnullorempty(ctx, node).astype(bool)).astype("boolean")


def f_isstring(ctx, node):
    return (~f_isnull(ctx, node).astype(bool)).astype("boolean")


def _as_lists(ctx: _Ctx, value) -> pd.Series | None:
    if isinstance(value, pd.Series) and value.dtype == object and _has_lists(value):
        return value
    return None


def f_join(ctx, node):
    args = _args(ctx, node, 1, -1)
    sep = _scalar(args[0])
    if sep is _NOT_SCALAR:
        raise ctx.error("Join separator must be a constant", args[0])
    sep = "" if sep is None else str(sep)
    out = pd.Series(pd.NA, index=ctx.index, dtype="str")
    for a in args[1:]:
        v = _eval(ctx, a)
        lists = _as_lists(ctx, v)
        if lists is not None:
            part = lists.map(
                lambda xs: sep.join(str(x) for x in xs if x not in (None, "")) or None
            ).astype("str")
        else:
            part = ctx.series(v)
        ok = part.notna() & (part != "")
        joined = (out + sep + part).where(out.notna(), part)
        out = joined.where(ok.fillna(False), out)
    return out


def f_left(ctx, node):
    s, n = _args(ctx, node, 2)
    src = _str_arg(ctx, s)
    k = _int_arg(ctx, n, "Left NumChars")
    if k < 0:
        return src
    return src.fillna("").str.slice(0, k)


def f_mid(ctx, node):
    s, start, length = _args(ctx, node, 3)
    src = _str_arg(ctx, s)
    b = max(_int_arg(ctx, start, "Mid start") - 1, 0)
    n = _int_arg(ctx, length, "Mid length")
    return src.str.slice(b, b + max(n, 0))


#: letters NormalizeDiacritics maps that Unicode decomposition does not
_SPECIAL_FOLD = str.maketrans(
    {
        "æ": "ae", "Æ": "AE", "ǣ": "ae", "Ǣ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE",
        "ß": "ss", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D",
    }
)  # fmt: skip


def normalize_diacritics(text: str) -> str:
    """Entra's NormalizeDiacritics for one string (table in Microsoft's function reference)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL_FOLD))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def _map_unique(series: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """Apply a Python string function once per distinct value (vectorised over repeats)."""
    s = series.astype("str")
    mask = s.notna()
    if not mask.any():
        return s
    codes, uniques = pd.factorize(s[mask])
    mapped = np.array([fn(u) for u in uniques], dtype=object)
    out = s.copy()
    out[mask] = mapped[codes]
    return out.astype("str")


def f_normalizediacritics(ctx, node):
    (a,) = _args(ctx, node, 1)
    src = _str_arg(ctx, a)
    non_ascii = ~src.fillna("").str.isascii()
    if not non_ascii.any():
        return src
    out = src.copy()
    out[non_ascii] = _map_unique(src[non_ascii], normalize_diacritics)
    return out


def f_not(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    b = _truthy(ctx, v)
    # documented: "If source value is True, returns False. Otherwise, returns True."
    return _bool_to_text(pd.Series(~b, index=ctx.index))


_NET_GROUP = re.compile(r"\(\?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>")


def net_regex(pattern: str) -> str:
    """Translate .NET regex syntax we meet in mappings to Python's (named groups)."""
    return _NET_GROUP.sub(r"(?P<\1>", pattern)


def _net_replacement(repl: str) -> str:
    repl = repl.replace("\\", "\\\\")
    repl = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"\\g<\1>", repl)
    return re.sub(r"\$(\d+)", r"\\g<\1>", repl)


def f_replace(ctx, node):
    args = list(_args(ctx, node, 2, 7)) + [Missing(node.pos)] * (7 - len(node.args))
    source, old, pattern, group, repl, repl_attr, template = args
    src = _str_arg(ctx, source)
    has = {
        k: not isinstance(a, Missing)
        for k, a in zip(
            ("old", "pattern", "group", "repl", "repl_attr", "template"), args[1:], strict=True
        )
    }

    def const(a: Node, what: str) -> str:
        v = _scalar(a)
        if v is _NOT_SCALAR or v is None:
            raise ctx.error(f"Replace {what} must be a constant string", a)
        return str(v)

    if has["old"] and has["template"]:
        old_v, tmpl = const(old, "oldValue"), const(template, "template")
        parts = tmpl.split(old_v)
        out = pd.Series(parts[0], index=ctx.index, dtype="str")
        for p in parts[1:]:
            out = out + src + p
        return out.mask(src.isna())
    if has["old"] and has["repl"]:
        old_v = const(old, "oldValue")
        repl_v = _str_arg(ctx, repl)
        if isinstance(repl, Str | Missing | Name):
            return src.str.replace(old_v, repl_v.iloc[0] if len(repl_v) else "", regex=False)
        return pd.Series(
            [
                s.replace(old_v, r or "") if isinstance(s, str) else pd.NA
                for s, r in zip(src, repl_v.fillna(""), strict=True)
            ],
            index=ctx.index,
            dtype="str",
        )
    if has["pattern"]:
        try:
            rx = re.compile(net_regex(const(pattern, "regexPattern")))
        except re.error as exc:
            raise ctx.error(f"invalid regexPattern ({exc})", pattern) from None
        if has["group"] and has["repl_attr"]:
            name = const(group, "regexGroupName")
            other = _str_arg(ctx, repl_attr)
            extracted = other.str.extract(rx, expand=True)
            if name not in extracted.columns:
                raise ctx.error(f"regexGroupName {name!r} is not a group of the pattern", group)
            present = src.notna() & (src != "")
            return src.where(present, extracted[name].astype("str"))
        if has["group"] and has["repl"]:
            name = const(group, "regexGroupName")
            if name not in rx.groupindex:
                raise ctx.error(f"regexGroupName {name!r} is not a group of the pattern", group)
            value = const(repl, "replacementValue")

            def sub_group(m: re.Match) -> str:
                whole, (gs, ge) = m.group(0), m.span(name)
                if gs < 0:
                    return whole
                off = m.start()
                return whole[: gs - off] + value + whole[ge - off :]

            return _map_unique(src, lambda s: rx.sub(sub_group, s))
        if has["repl"]:
            repl_v = _net_replacement(const(repl, "replacementValue"))
            return _map_unique(src, lambda s: rx.sub(repl_v, s))
    raise ctx.error("unsupported combination of Replace parameters", node)


def f_singleapproleassignment(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    lists = _as_lists(ctx, v)
    if lists is not None:  # several roles: the simulation pre-selects one (see scope)
        return lists.map(lambda xs: xs[0] if xs else pd.NA).astype("str")
    return ctx.series(v)


def f_split(ctx, node):
    s, d = _args(ctx, node, 2)
    src = _str_arg(ctx, s)
    delim = _scalar(d)
    if delim is _NOT_SCALAR or not delim:
        raise ctx.error("Split delimiter must be a non-empty constant", d)
    # Microsoft's example shows items without the space after the comma: items are trimmed.
    return src.map(
        lambda v: [p.strip() for p in v.split(str(delim))] if isinstance(v, str) else []
    ).astype(object)


def f_stripspaces(ctx, node):
    (a,) = _args(ctx, node, 1)
    return _str_arg(ctx, a).str.replace(" ", "", regex=False)


def f_switch(ctx, node):
    args = _args(ctx, node, 2, -1)
    if len(args) % 2:
        raise ctx.error(
            "Switch needs a source, a default and key/value pairs (an even number of arguments)",
            node,
        )
    src = _str_arg(ctx, args[0]).fillna("")  # a null source matches the key ""
    out = _str_arg(ctx, args[1])
    pairs = [(args[i], args[i + 1]) for i in range(2, len(args), 2)]
    for key, value in reversed(pairs):  # first matching key wins
        k = _str_arg(ctx, key).fillna("")
        hit = (src == k).fillna(False)
        if hit.any():
            out = _str_arg(ctx, value).where(hit, out)
    return out


def f_tolower(ctx, node):
    a = _args(ctx, node, 1, 2)
    return _str_arg(ctx, a[0]).str.lower()


def f_toupper(ctx, node):
    a = _args(ctx, node, 1, 2)
    return _str_arg(ctx, a[0]).str.upper()


def f_trim(ctx, node):
    (a,) = _args(ctx, node, 1)
    return _str_arg(ctx, a).str.strip()


def f_word(ctx, node):
    s, num, delims = _args(ctx, node, 3)
    src = _str_arg(ctx, s)
    k = _int_arg(ctx, num, "Word WordNumber")
    d = _scalar(delims)
    if d is _NOT_SCALAR or not d:
        raise ctx.error("Word delimiters must be a non-empty constant", delims)
    if k < 1:
        return pd.Series("", index=ctx.index, dtype="str")
    cls = "[" + "".join(re.escape(c) for c in str(d)) + "]+"
    words = src.fillna("").str.replace("^" + cls, "", regex=True).str.split(cls, regex=True)
    return words.str.get(k - 1).astype("str").fillna("")


def f_ignoreflowifnullorempty(ctx, node):
    (a,) = _args(ctx, node, 1)
    s = _str_arg(ctx, a)
    return s.mask(s == "")


def f_item(ctx, node):
    a, i = _args(ctx, node, 2)
    k = _int_arg(ctx, i, "Item index")
    v = _eval(ctx, a)
    lists = _as_lists(ctx, v)
    if lists is None:
        return ctx.series(v) if k == 1 else pd.Series(pd.NA, index=ctx.index, dtype="str")
    return lists.map(lambda xs: xs[k - 1] if 0 < k <= len(xs) else pd.NA).astype("str")


def f_count(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    lists = _as_lists(ctx, v)
    if lists is None:
        s = ctx.series(v)
        return s.notna().astype(int).astype("str")
    return lists.map(len).astype("str")


def f_cstr(ctx, node):
    (a,) = _args(ctx, node, 1)
    return _str_arg(ctx, a)


def f_removeduplicates(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    lists = _as_lists(ctx, v)
    if lists is None:
        return ctx.series(v)
    return lists.map(lambda xs: list(dict.fromkeys(xs))).astype(object)


def f_pcase(ctx, node):
    a = _args(ctx, node, 1, 2)
    src = _str_arg(ctx, a[0])
    if len(a) == 2:
        seps = _scalar(a[1])
        if seps is _NOT_SCALAR:
            raise ctx.error("PCase wordSeparators must be a constant", a[1])
        cls = "([" + "".join(re.escape(c) for c in str(seps or "")) + "])"

        def title(s: str) -> str:
            parts = re.split(cls, s) if seps else [s]
            return "".join(
                p[:1].upper() + p[1:].lower() if i % 2 == 0 else p for i, p in enumerate(parts)
            )

        return _map_unique(src, title)
    return _map_unique(
        src, lambda s: re.sub(r"\w+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), s)
    )


def f_instr(ctx, node):
    args = _args(ctx, node, 2, 4)
    src = _str_arg(ctx, args[0])
    needle = _str_arg(ctx, args[1])
    start = (
        _int_arg(ctx, args[2], "InStr start")
        if len(args) > 2 and not isinstance(args[2], Missing)
        else 1
    )
    mode = _scalar(args[3]) if len(args) > 3 else None
    text = mode is not None and str(mode).lower() == "vbtextcompare"

    def find(h, n):
        if not isinstance(h, str) or not isinstance(n, str):
            return pd.NA
        if text:
            h, n = h.lower(), n.lower()
        return str(h.find(n, max(start - 1, 0)) + 1)

    return pd.Series([find(h, n) for h, n in zip(src, needle, strict=True)], index=ctx.index,
                     dtype="str")  # fmt: skip


def f_cbool(ctx, node):
    (a,) = _args(ctx, node, 1)
    v = _eval(ctx, a)
    if isinstance(v, pd.Series) and v.dtype in ("boolean", bool):
        return _bool_to_text(v)
    s = ctx.series(v)
    num = pd.to_numeric(s, errors="coerce")
    as_bool = _text_to_bool(s)
    out = as_bool.where(as_bool.notna(), (num != 0).where(num.notna()))
    return _bool_to_text(out.astype("boolean"))


def f_converttobase64(ctx, node):
    import base64

    (a,) = _args(ctx, node, 1)
    return _map_unique(
        _str_arg(ctx, a), lambda v: base64.b64encode(v.encode("utf-16-le")).decode("ascii")
    )


def f_converttoutf8hex(ctx, node):
    (a,) = _args(ctx, node, 1)
    return _map_unique(_str_arg(ctx, a), lambda v: v.encode("utf-8").hex().upper())


FUNCTIONS: dict[str, Callable[[_Ctx, Call], object]] = {
    "append": f_append,
    "cbool": f_cbool,
    "converttobase64": f_converttobase64,
    "converttoutf8hex": f_converttoutf8hex,
    "instr": f_instr,
    "coalesce": f_coalesce,
    "count": f_count,
    "cstr": f_cstr,
    "iif": f_iif,
    "ignoreflowifnullorempty": f_ignoreflowifnullorempty,
    "isnull": f_isnull,
    "isnullorempty": f_isnullorempty,
    "ispresent": f_ispresent,
    "isstring": f_isstring,
    "item": f_item,
    "join": f_join,
    "left": f_left,
    "mid": f_mid,
    "normalizediacritics": f_normalizediacritics,
    "not": f_not,
    "pcase": f_pcase,
    "removeduplicates": f_removeduplicates,
    "replace": f_replace,
    "singleapproleassignment": f_singleapproleassignment,
    "split": f_split,
    "stripspaces": f_stripspaces,
    "switch": f_switch,
    "tolower": f_tolower,
    "toupper": f_toupper,
    "trim": f_trim,
    "word": f_word,
}

#: documented functions we refuse to simulate, with the reason
UNSUPPORTED: dict[str, str] = {
    "guid": "random per call",
    "randomstring": "random per call",
    "now": "depends on the time of the provisioning cycle",
    "selectuniquevalue": "needs a live uniqueness check in the target",
    "approleassignmentscomplex": "multi-role export is not simulated",
    "redact": "only affects logs",
    "datefromnum": "date functions are not simulated",
    "numfromdate": "date functions are not simulated",
    "formatdatetime": "date functions are not simulated",
    "dateadd": "date functions are not simulated",
    "datediff": "date functions are not simulated",
    "cdate": "date functions are not simulated",
    "bitand": "not simulated",
}


# --------------------------------------------------------------------------- entry point


def resolver_for(data, index: pd.Index) -> Callable[[str], pd.Series]:
    """Attribute lookup over a DataFrame or a mapping of columns.

    A name is looked up as given, then case-insensitively, then through ``SOURCE_ATTRIBUTES``
    (``userPrincipalName`` -> ``user_principal_name``). Raises KeyError when absent.
    """
    columns = data.columns if isinstance(data, pd.DataFrame) else list(data.keys())
    lower = {str(c).lower(): c for c in columns}

    def resolve(name: str) -> pd.Series:
        for key in (name, lower.get(name.lower()), source_column(name)):
            if key is not None and key in columns:
                col = data[key]
                if not isinstance(col, pd.Series):
                    col = pd.Series(col, index=index)
                if col.dtype == object and not _has_lists(col):
                    col = col.astype("str")
                return col
        raise KeyError(name)

    return resolve


def evaluate(expression: Expression | str, data, *, length: int | None = None) -> pd.Series:
    """Evaluate an expression over every row of ``data`` at once.

    Args:
        expression: the expression text or a parsed :class:`Expression`.
        data: a DataFrame, a mapping ``attribute -> sequence`` (all the same length), or a
            callable ``name -> Series`` (then ``length`` is required).
        length: number of rows when ``data`` is a callable.

    Returns:
        A Series (``str`` for text, ``boolean`` for conditions, ``object`` of lists for
        multi-valued results) with one value per row.
    """
    expr = parse(expression) if isinstance(expression, str) else expression
    if callable(data) and not isinstance(data, pd.DataFrame | Mapping):
        if length is None:
            raise ValueError("length is required with a resolver function")
        index = pd.RangeIndex(length)
        resolve = data
    else:
        if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
            lengths = {len(v) for v in data.values() if not isinstance(v, str | bytes)}
            n = lengths.pop() if lengths else (length or 1)
            data = {
                k: v if isinstance(v, pd.Series) else pd.Series(list(v), dtype=object)
                for k, v in data.items()
            }
            index = pd.RangeIndex(n)
            data = {k: v.reset_index(drop=True) for k, v in data.items()}
        else:
            index = data.index
        resolve = resolver_for(data, index)
    ctx = _Ctx(expr, resolve, index)
    value = _eval(ctx, expr.ast)
    if isinstance(value, pd.Series):
        return value
    return ctx.series(value)


def is_plain_attribute(expression: str) -> str | None:
    """``"[mail]"`` -> ``"mail"``; anything else -> None (lets callers take a fast path)."""
    m = re.fullmatch(r"\s*\[([^\]]+)\]\s*", expression or "")
    return m.group(1).strip() if m else None
