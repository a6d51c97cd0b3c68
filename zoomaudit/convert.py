"""Raw API payloads -> the typed tables of ``zoomaudit.frames`` (the only place JSON becomes
frames).

Place in the flow: ``pull`` and ``imports`` hand lists of items (dicts as the API sent them) to
these functions and write the results into a snapshot; analysis never sees API JSON. The bulk
pages of a pull (Graph users, SCIM users, REST users) are parsed straight into Arrow by
:func:`arrow_page` and accumulated by :class:`Chunks`; the three functions that read them take
either form and give the same table (a page Arrow refuses is parsed by orjson instead). Every
function returns a DataFrame conforming to ``frames.TABLES[<table>]`` (the columns are listed
there and in each docstring). Missing optional fields become NA; nothing here relies on a field
being present unless the API promises it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from zoomaudit import frames


def _frame(table: str, columns: dict[str, list]) -> pd.DataFrame:
    """Build the table column by column in its contract dtype (much faster than building an
    object frame and conforming it; falls back to ``frames.conform`` for odd values)."""
    n = len(next(iter(columns.values()))) if columns else 0
    out = {}
    for col in frames.TABLES[table]:
        values = columns.get(col.name)
        if values is None:
            values = [[] for _ in range(n)] if col.dtype == frames.LIST else [None] * n
        try:
            out[col.name] = _typed(values, col.dtype)
        except (TypeError, ValueError):
            plain = {k: _pylist(v) for k, v in columns.items()}
            return frames.conform(pd.DataFrame(plain), table)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


#: items of a page: dicts as the API sent them, or the Arrow items of :func:`arrow_page`
Items = list[dict] | pa.StructArray


class Chunks:
    """Items of one listing converted ``size`` at a time as they arrive, so a large pull holds
    typed columns instead of parsed JSON (~10x smaller) while its listing is checked.

    Row ``i`` of :meth:`frame` is the ``i``-th item given to :meth:`add` (``fn`` must return one
    row per item, in order: ``entra_users``, ``zoom_scim_users`` and ``zoom_users`` do). Items
    come as dicts or as the Arrow items of :func:`arrow_page`; consecutive ones of one kind are
    converted together.

    Args:
        fn: items -> DataFrame, e.g. :func:`zoom_users`.
        size: items held before they are converted.
    """

    def __init__(self, fn: Callable[[Items], pd.DataFrame], size: int = 5000):
        self.fn = fn
        self.size = size
        self.pending: list = []  # dicts, or StructArrays
        self.held = 0
        self.arrow = False
        self.frames: list[pd.DataFrame] = []
        self.rows = 0  # items added so far (= the row number of the next one)

    def add(self, items: Items) -> int:
        """Take ``items``; returns the row number of the first of them."""
        first = self.rows
        arrow = isinstance(items, pa.Array)
        if arrow != self.arrow:
            self._flush()
            self.arrow = arrow
        if arrow:
            self.pending.append(items)
        else:
            self.pending.extend(items)
        self.held += len(items)
        self.rows += len(items)
        if self.held >= self.size:
            self._flush()
        return first

    def clear(self) -> None:
        """Forget everything added (a read that starts over)."""
        self.pending, self.held, self.frames, self.rows = [], 0, [], 0

    def _flush(self) -> None:
        if self.pending:
            items = pa.concat_arrays(self.pending) if self.arrow else self.pending
            self.frames.append(self.fn(items))
            self.pending = []
            self.held = 0

    def frame(self) -> pd.DataFrame:
        """Every row added, in order."""
        self._flush()
        if len(self.frames) != 1:
            self.frames = [
                pd.concat(self.frames, ignore_index=True) if self.frames else self.fn([])
            ]
        return self.frames[0]

    def take(self, rows: Iterable[int]) -> pd.DataFrame:
        """The given rows (numbers from :meth:`add`), in that order."""
        index = np.fromiter(rows, dtype=np.int64)
        frame = self.frame()
        if len(index) == len(frame) and (index == np.arange(len(frame))).all():
            return frame
        return frame.take(index).reset_index(drop=True)


def last_by_key(keys: pd.Series) -> np.ndarray:
    """Row numbers that de-duplicate ``keys``: for each key its *last* row, in the order the
    keys first appeared (what ``{key: item for item in items}.values()`` gives)."""
    positions = pd.DataFrame({"k": keys.to_numpy(), "i": np.arange(len(keys))})
    return positions.groupby("k", sort=False, dropna=False)["i"].last().to_numpy()


def _pylist(values: list | pa.Array) -> list:
    return values.to_pylist() if isinstance(values, pa.Array) else values


#: fractions of a second beyond microseconds (Graph sends 7 digits)
_FRACTION = r"(\.\d{6})\d+"
_FRACTION_RE = re.compile(_FRACTION)
#: Graph's "never" (.NET DateTime.MinValue)
_NEVER = "0001-01-01"


def _time_text(values: list | pa.Array) -> list | pa.Array | pd.Series:
    """Times as text the same for every batch: Graph's "never" as NA and fractions cut to
    microseconds (the ``time`` dtype's unit). Otherwise pandas picks nanoseconds for a batch
    where any time has 7 digits, and a time outside that range (year 1, 9999) becomes NaT
    there but not in another batch."""
    if isinstance(values, pa.Array):
        if not pa.types.is_string(values.type):
            return pd.Series(values, dtype="str")
        values = pc.replace_substring_regex(values, _FRACTION, r"\1")
        never = pc.starts_with(values, _NEVER)
        return pc.if_else(never, pa.scalar(None, values.type), values)
    return [
        (None if v.startswith(_NEVER) else _FRACTION_RE.sub(r"\1", v) if "." in v else v)
        if isinstance(v, str)
        else v
        for v in values
    ]


_UTC_US = pa.timestamp("us", tz="UTC")


def _times(values: list | pa.Array) -> pd.Series:
    """Times in the ``time`` dtype; what is not a time becomes NaT.

    Arrow parses ISO 8601 with a zone (what Graph and Zoom send) in C++. Where it refuses any
    value of the batch (no zone, a date alone, an impossible date, not text), the batch goes
    to pandas' ISO 8601 parser, which reads the rest alike and makes NaT of what it cannot
    read. Where Arrow parses, both give the same instant (tests/sources/test_convert_times.py)."""
    text = _time_text(values)
    if not isinstance(text, pd.Series):  # a Series: Arrow values that are not text
        try:
            arrow = text if isinstance(text, pa.Array) else pa.array(text, pa.string())
            times = pd.Series(pc.cast(arrow, _UTC_US).to_pandas(coerce_temporal_nanoseconds=False))
            return times.astype(frames.TIME).dt.tz_convert(UTC)  # pandas' zone object for UTC
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeError):
            pass  # UnicodeError: a lone surrogate (json.loads of an import lets "\ud800" in)
    if isinstance(text, pa.Array):
        text = pd.Series(text, dtype="str")
    elif isinstance(text, list):  # JSON numbers are not times (pandas would make epochs)
        text = [v if isinstance(v, str) else None for v in text]
    return pd.Series(pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")).astype(
        frames.TIME
    )


def _typed(values: list | pa.Array, dtype: str) -> pd.Series:
    if dtype == frames.TIME:
        return _times(values)
    if isinstance(values, pa.Array):
        if dtype == frames.STR:
            return pd.Series(values, dtype=dtype)
        values = values.to_pylist()
    if dtype == frames.LIST:
        return pd.Series(values, dtype=object)
    if dtype == frames.BOOL:
        return pd.Series(pd.array(values, dtype="boolean"))  # TypeError on non-bools
    if dtype == frames.INT:
        return pd.Series(pd.array(values, dtype="Int64"))
    return pd.Series(values, dtype=dtype)  # str dtype turns non-strings into text


def _get(items: Items, key: str) -> list | pa.Array:
    if isinstance(items, pa.StructArray):
        return _field(items, key)
    return [i.get(key) for i in items]


def _values(items: Items, key: str) -> list:
    """``key`` of every item as Python values (lists and objects included)."""
    return _pylist(_get(items, key))


def _field(array: pa.Array, *path: str) -> pa.Array:
    """A nested field of Arrow items, null where the item or a parent is null or lacks it."""
    for key in path:
        index = array.type.get_field_index(key) if isinstance(array.type, pa.StructType) else -1
        if index < 0:
            return pa.nulls(len(array), pa.string())
        array = array.flatten()[index]  # flatten() merges the parent's nulls into the child
    return array


def ids_of(items: Items) -> list[str]:
    """``str(item["id"])`` of every item ("None" where there is none), dicts or Arrow."""
    return [str(v) for v in _values(items, "id")]


# Bulk pages (Graph users, SCIM users, REST users) are parsed straight into Arrow with these
# item types: the JSON types the services document for the fields the tables need. A page
# whose values do not fit (a number where a string belongs, an object spread over lines...)
# is parsed by orjson instead and converted by the same functions, so tables never differ.
ENTRA_USER = pa.struct(
    [
        *((k, pa.string()) for k in ("id", "userPrincipalName", "displayName", "givenName")),
        *((k, pa.string()) for k in ("surname", "mail", "mailNickname")),
        ("otherMails", pa.list_(pa.string())),
        ("proxyAddresses", pa.list_(pa.string())),
        ("accountEnabled", pa.bool_()),
        *((k, pa.string()) for k in ("department", "jobTitle", "employeeId", "country")),
        *((k, pa.string()) for k in ("usageLocation", "userType", "createdDateTime")),
        ("deletedDateTime", pa.string()),  # soft-deleted users (``soft_deleted=True``)
        ("onPremisesSyncEnabled", pa.bool_()),
        ("assignedLicenses", pa.list_(pa.struct([("skuId", pa.string())]))),
        (
            "signInActivity",
            pa.struct(
                [
                    ("lastSignInDateTime", pa.string()),
                    ("lastSuccessfulSignInDateTime", pa.string()),
                ]
            ),
        ),
    ]
)
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_ZOOMUSER = "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser"
SCIM_USER = pa.struct(
    [
        ("id", pa.string()),
        ("userName", pa.string()),
        ("displayName", pa.string()),
        ("name", pa.struct([("givenName", pa.string()), ("familyName", pa.string())])),
        (
            "emails",
            pa.list_(
                pa.struct([("value", pa.string()), ("type", pa.string()), ("primary", pa.bool_())])
            ),
        ),
        ("active", pa.bool_()),
        ("userType", pa.string()),
        (_ENTERPRISE, pa.struct([("department", pa.string())])),
        (_ZOOMUSER, pa.struct([("loginType", pa.struct([("sso", pa.bool_())]))])),
        ("meta", pa.struct([("created", pa.string()), ("lastModified", pa.string())])),
    ]
)
REST_USER = pa.struct(
    [
        *((k, pa.string()) for k in ("id", "email", "first_name", "last_name", "display_name")),
        ("type", pa.int64()),
        *((k, pa.string()) for k in ("status", "dept", "role_id", "last_login_time")),
        *((k, pa.string()) for k in ("created_at", "user_created_at", "last_client_version")),
    ]
)


class ArrowPage:
    """A page parsed by :func:`arrow_page`: ``get(items_key)`` is the items (a StructArray),
    ``get(name)`` any of the requested top-level scalars (None when absent)."""

    __slots__ = ("items_key", "items", "scalars")

    def __init__(self, items_key: str, items: pa.StructArray, scalars: dict):
        self.items_key = items_key
        self.items = items
        self.scalars = scalars

    def get(self, key: str, default=None):
        if key == self.items_key:
            return self.items
        value = self.scalars.get(key)
        return default if value is None else value


#: a page must be a JSON object (only JSON whitespace before it: no BOM, no ``null``)
_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")
# a literal search each: re finds a literal prefix with memchr, ~2x faster than bytes.find here
_NAN_INF = (re.compile(rb"NaN"), re.compile(rb"Inf"))
_BLANK = frozenset(b" \t\r\n")
_VALUE_START = frozenset(b":[,")


def _nan_or_inf(content: bytes) -> bool:
    """Whether ``content`` may hold a ``NaN``/``Inf``/``Infinity`` literal (not JSON, but
    Arrow takes it): the letters where a value starts (after ":", "[" or ",", blanks and a
    minus sign). Ids and names hold these letters often ("NaNEdK9q..." is a Zoom id), so the
    letters alone do not count; inside a string after ", " they do, which only sends the page
    to orjson."""
    for word in _NAN_INF:
        for found in word.finditer(content):
            before = found.start() - 1
            if before >= 0 and content[before] == 0x2D:  # "-"
                before -= 1
            while before >= 0 and content[before] in _BLANK:
                before -= 1
            if before >= 0 and content[before] in _VALUE_START:
                return True
    return False


def _utf8(content: bytes) -> bool:
    """Whether ``content`` is valid UTF-8 (checked by Arrow in place, without a copy)."""
    if content.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(content)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(content)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def arrow_page(
    content: bytes, items_key: str, item_type: pa.StructType, scalars: dict[str, pa.DataType]
) -> ArrowPage | None:
    """Parse one JSON page into Arrow (C++, no Python object per value); None when it does
    not fit ``item_type``/``scalars`` (the caller then parses it with orjson).

    Arrow's reader is laxer than JSON (and orjson): it takes ``NaN``/``Infinity`` and bytes
    that are not UTF-8, skips a byte order mark, and a top-level ``null`` crashes the process.
    Such pages are left to orjson, which refuses them (so they are retried as malformed).
    """
    if not _OBJECT_START.match(content) or not _utf8(content) or _nan_or_inf(content):
        return None
    schema = pa.schema([(items_key, pa.list_(item_type)), *scalars.items()])
    try:
        table = pajson.read_json(
            pa.BufferReader(content),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(content) + 1),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != 1:
        return None
    lists = table.column(items_key).combine_chunks()
    items = lists.flatten() if lists.null_count == 0 else pa.array([], type=item_type)
    if items.null_count:  # a null where an item belongs: let the dict path decide
        return None
    values = {name: table.column(name)[0].as_py() for name in scalars}
    return ArrowPage(items_key, items, values)


def page_parser(
    items_key: str, item_type: pa.StructType, scalars: dict[str, pa.DataType]
) -> Callable[[bytes], object]:
    """``content -> ArrowPage``, or the orjson-parsed page when Arrow refuses it."""

    def parse(content: bytes) -> object:
        page = arrow_page(content, items_key, item_type, scalars)
        return page if page is not None else orjson.loads(content)

    return parse


#: parsers of the bulk pages (``fetch_json(parse=...)``)
GRAPH_USERS_PAGE = page_parser(
    "value", ENTRA_USER, {"@odata.nextLink": pa.string(), "@odata.count": pa.int64()}
)
SCIM_USERS_PAGE = page_parser("Resources", SCIM_USER, {"totalResults": pa.int64()})
REST_USERS_PAGE = page_parser(
    "users", REST_USER, {"total_records": pa.int64(), "next_page_token": pa.string()}
)


class _Strings:
    """String fields of many items read in one pass by Arrow (C++), ~5x faster than a Python
    loop per column, and already in the Arrow layout of the ``str`` dtype.

    ``paths`` are the string fields, a tuple for a nested one (``("meta", "created")``). When
    any value is not a string (or a parent not an object) Arrow refuses the whole batch and
    :meth:`get`/:meth:`dig` fall back to the plain Python readers, so results never differ.
    """

    def __init__(self, items: Items, paths: Iterable[str | tuple[str, ...]]):
        self.items = items
        self.arrays: dict[tuple[str, ...], pa.Array] = {}
        if isinstance(items, pa.StructArray):  # parsed by arrow_page: get/dig read it as is
            return
        tree: dict = {}
        for path in paths:
            node = tree
            *parents, leaf = (path,) if isinstance(path, str) else path
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = None
        try:
            root = pa.array(items, type=_struct_type(tree))
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return
        self._collect(root, tree, ())

    def _collect(self, array: pa.StructArray, tree: dict, prefix: tuple[str, ...]) -> None:
        # flatten() merges the parent's nulls into the children (a missing object -> NA)
        for (key, sub), child in zip(tree.items(), array.flatten(), strict=True):
            if sub is None:
                self.arrays[(*prefix, key)] = child
            else:
                self._collect(child, sub, (*prefix, key))

    def get(self, key: str) -> list | pa.Array:
        found = self.arrays.get((key,))
        return found if found is not None else _get(self.items, key)

    def dig(self, *path: str) -> list | pa.Array:
        found = self.arrays.get(path)
        return found if found is not None else _dig(self.items, *path)


def _struct_type(tree: dict) -> pa.StructType:
    return pa.struct(
        [(k, pa.string() if sub is None else _struct_type(sub)) for k, sub in tree.items()]
    )


def _dig(items: Items, *path: str) -> list | pa.Array:
    if isinstance(items, pa.StructArray):
        return _field(items, *path)
    out = []
    for item in items:
        value = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                break
        out.append(value)
    return out


def _json(value: object) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value).decode()


def _list(value: object) -> list:
    return [str(v) for v in value] if isinstance(value, list) else []


def _lists(values: list | pa.Array) -> list[list[str]]:
    """A ``list`` column: each value's items as text, ``[]`` where there is no list.

    Arrow lists of strings without a null item are taken as they are (C++); anything else
    goes through :func:`_list` item by item (a null item becomes "None" there)."""
    if (
        isinstance(values, pa.ListArray)
        and pa.types.is_string(values.type.value_type)
        and values.values.null_count == 0
    ):
        return [v if v is not None else [] for v in values.to_pylist()]
    return [_list(v) for v in _pylist(values)]


def _sku_ids(values: list | pa.Array) -> list[list[str]]:
    """``assignedLicenses`` -> the skuId of each licence (objects without one give "None")."""
    if (
        isinstance(values, pa.ListArray)
        and pa.types.is_struct(values.type.value_type)
        and values.type.value_type.get_field_index("skuId") >= 0
    ):
        licences = pc.list_flatten(values)  # of the lists there are (a null list has none)
        skus = licences.field("skuId")
        if licences.null_count == 0 and skus.null_count == 0 and pa.types.is_string(skus.type):
            lengths = pc.fill_null(pc.list_value_length(values), 0)
            offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(lengths)])
            return _lists(pa.ListArray.from_arrays(offsets.cast(pa.int32()), skus))
    return [
        [str(x.get("skuId")) for x in (v or []) if isinstance(x, dict)] for v in _pylist(values)
    ]


def _empty_str(values: list | pa.Array) -> list | pa.Array:
    """Empty strings as NA (Graph and Zoom send "" for unset values)."""
    if isinstance(values, pa.Array):
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    return [None if v == "" else v for v in values]


# ---------------------------------------------------------------------------- Entra
_ENTRA_STRINGS = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "department",
    "jobTitle",
    "employeeId",
    "country",
    "usageLocation",
    "userType",
    "createdDateTime",
    ("signInActivity", "lastSignInDateTime"),
    ("signInActivity", "lastSuccessfulSignInDateTime"),
)


def entra_users(items: Items, *, soft_deleted: bool = False) -> pd.DataFrame:
    """Graph users -> ``entra_users`` (entra_id, user_principal_name, display_name, given_name,
    surname, mail, mail_nickname, other_mails, proxy_addresses, account_enabled, department,
    job_title, employee_id, country, usage_location, user_type, created_at,
    on_premises_sync_enabled, assigned_licenses, last_sign_in, last_successful_sign_in,
    soft_deleted, deleted_at)."""
    n = len(items)
    c = _Strings(items, (*_ENTRA_STRINGS, *(("deletedDateTime",) if soft_deleted else ())))
    cols = {
        "entra_id": c.get("id"),
        "user_principal_name": c.get("userPrincipalName"),
        "display_name": c.get("displayName"),
        "given_name": c.get("givenName"),
        "surname": c.get("surname"),
        "mail": c.get("mail"),
        "mail_nickname": c.get("mailNickname"),
        "other_mails": _lists(_get(items, "otherMails")),
        "proxy_addresses": _lists(_get(items, "proxyAddresses")),
        "account_enabled": _get(items, "accountEnabled"),
        "department": c.get("department"),
        "job_title": c.get("jobTitle"),
        "employee_id": c.get("employeeId"),
        "country": c.get("country"),
        "usage_location": c.get("usageLocation"),
        "user_type": c.get("userType"),
        "created_at": c.get("createdDateTime"),
        "on_premises_sync_enabled": _get(items, "onPremisesSyncEnabled"),
        "assigned_licenses": _sku_ids(_get(items, "assignedLicenses")),
        "last_sign_in": c.dig("signInActivity", "lastSignInDateTime"),
        "last_successful_sign_in": c.dig("signInActivity", "lastSuccessfulSignInDateTime"),
        "soft_deleted": [soft_deleted] * n,
        "deleted_at": c.get("deletedDateTime") if soft_deleted else [None] * n,
    }
    return _frame("entra_users", cols)


def entra_app(sp: dict) -> pd.DataFrame:
    """The service principal -> ``entra_app`` (sp_id, app_id, display_name,
    app_role_assignment_required, account_enabled)."""
    return _frame(
        "entra_app",
        {
            "sp_id": [sp.get("id")],
            "app_id": [sp.get("appId")],
            "display_name": [sp.get("displayName")],
            "app_role_assignment_required": [sp.get("appRoleAssignmentRequired")],
            "account_enabled": [sp.get("accountEnabled")],
        },
    )


def entra_app_roles(sp: dict) -> pd.DataFrame:
    """``appRoles`` of the service principal -> ``entra_app_roles`` (app_role_id, value,
    display_name, is_enabled, allowed_member_types)."""
    roles = [r for r in (sp.get("appRoles") or []) if isinstance(r, dict)]
    return _frame(
        "entra_app_roles",
        {
            "app_role_id": _get(roles, "id"),
            "value": _get(roles, "value"),
            "display_name": _get(roles, "displayName"),
            "is_enabled": _get(roles, "isEnabled"),
            "allowed_member_types": [_list(r.get("allowedMemberTypes")) for r in roles],
        },
    )


def entra_assignments(items: list[dict]) -> pd.DataFrame:
    """appRoleAssignedTo items -> ``entra_assignments`` (assignment_id, principal_id,
    principal_type, principal_display_name, app_role_id, created_at)."""
    return _frame(
        "entra_assignments",
        {
            "assignment_id": _get(items, "id"),
            "principal_id": _get(items, "principalId"),
            "principal_type": _get(items, "principalType"),
            "principal_display_name": _get(items, "principalDisplayName"),
            "app_role_id": _get(items, "appRoleId"),
            "created_at": _get(items, "createdDateTime"),
        },
    )


def entra_groups(
    groups: list[dict], *, assigned: Iterable[str] = (), candidate: Iterable[str] = ()
) -> pd.DataFrame:
    """Group objects -> ``entra_groups`` (group_id, display_name, security_enabled,
    mail_enabled, group_types, membership_rule, assigned, candidate)."""
    assigned, candidate = set(map(str, assigned)), set(map(str, candidate))
    return _frame(
        "entra_groups",
        {
            "group_id": _get(groups, "id"),
            "display_name": _get(groups, "displayName"),
            "security_enabled": _get(groups, "securityEnabled"),
            "mail_enabled": _get(groups, "mailEnabled"),
            "group_types": [_list(g.get("groupTypes")) for g in groups],
            "membership_rule": _get(groups, "membershipRule"),
            "assigned": [str(g.get("id")) in assigned for g in groups],
            "candidate": [str(g.get("id")) in candidate for g in groups],
        },
    )


def member_type(item: dict) -> str | None:
    """``#microsoft.graph.user`` -> ``user`` (NA when Graph sent no @odata.type)."""
    value = item.get("@odata.type")
    if not value:
        return None
    return str(value).rsplit(".", 1)[-1]


def entra_group_members(group_id: str, direct: list[dict], transitive: list[dict]) -> pd.DataFrame:
    """/members and /transitiveMembers of one group -> ``entra_group_members`` (group_id,
    member_id, member_type, direct). Members only in the transitive list are ``direct=False``."""
    rows: dict[str, tuple[str | None, bool]] = {}
    for item in direct:
        rows[str(item.get("id"))] = (member_type(item), True)
    for item in transitive:
        key = str(item.get("id"))
        if key not in rows:
            rows[key] = (member_type(item), False)
    return _frame(
        "entra_group_members",
        {
            "group_id": [group_id] * len(rows),
            "member_id": list(rows),
            "member_type": [v[0] for v in rows.values()],
            "direct": [v[1] for v in rows.values()],
        },
    )


def provisioning_events(items: list[dict]) -> pd.DataFrame:
    """provisioningObjectSummary items -> ``provisioning_events`` (event_id, activity_at,
    job_id, cycle_id, change_id, action, status, error_code, error_reason, error_category,
    source_id, source_display_name, source_identity_type, target_id, target_display_name,
    duration_ms, modified_properties, steps). Enum values are kept as sent."""
    return _frame(
        "provisioning_events",
        {
            "event_id": _get(items, "id"),
            "activity_at": _get(items, "activityDateTime"),
            "job_id": _get(items, "jobId"),
            "cycle_id": _get(items, "cycleId"),
            "change_id": _get(items, "changeId"),
            "action": _get(items, "provisioningAction"),
            "status": _dig(items, "provisioningStatusInfo", "status"),
            "error_code": _dig(items, "provisioningStatusInfo", "errorInformation", "errorCode"),
            "error_reason": _dig(items, "provisioningStatusInfo", "errorInformation", "reason"),
            "error_category": _dig(
                items, "provisioningStatusInfo", "errorInformation", "errorCategory"
            ),
            "source_id": _empty_str(_dig(items, "sourceIdentity", "id")),
            "source_display_name": _dig(items, "sourceIdentity", "displayName"),
            "source_identity_type": _dig(items, "sourceIdentity", "identityType"),
            "target_id": _empty_str(_dig(items, "targetIdentity", "id")),
            "target_display_name": _empty_str(_dig(items, "targetIdentity", "displayName")),
            "duration_ms": _get(items, "durationInMilliseconds"),
            "modified_properties": [_json(i.get("modifiedProperties")) for i in items],
            "steps": [_json(i.get("provisioningSteps")) for i in items],
        },
    )


def sync_jobs(jobs: list[dict]) -> pd.DataFrame:
    """synchronizationJob items -> ``sync_jobs`` (job_id, template_id, schedule_state,
    schedule_interval, status_code, quarantine_reason, quarantine_since, successive_failures,
    last_execution_state, last_execution_began, last_execution_ended, last_count_escrowed,
    last_count_exported, last_successful_execution, steady_state_last)."""
    return _frame(
        "sync_jobs",
        {
            "job_id": _get(jobs, "id"),
            "template_id": _get(jobs, "templateId"),
            "schedule_state": _dig(jobs, "schedule", "state"),
            "schedule_interval": _dig(jobs, "schedule", "interval"),
            "status_code": _dig(jobs, "status", "code"),
            "quarantine_reason": _dig(jobs, "status", "quarantine", "reason"),
            "quarantine_since": _empty_str(_dig(jobs, "status", "quarantine", "currentBegan")),
            "successive_failures": _dig(jobs, "status", "countSuccessiveCompleteFailures"),
            "last_execution_state": _dig(jobs, "status", "lastExecution", "state"),
            "last_execution_began": _empty_str(_dig(jobs, "status", "lastExecution", "timeBegan")),
            "last_execution_ended": _empty_str(_dig(jobs, "status", "lastExecution", "timeEnded")),
            "last_count_escrowed": _dig(jobs, "status", "lastExecution", "countEscrowed"),
            "last_count_exported": _dig(jobs, "status", "lastExecution", "countExported"),
            "last_successful_execution": _empty_str(
                _dig(jobs, "status", "lastSuccessfulExecution", "timeEnded")
            ),
            "steady_state_last": _empty_str(_dig(jobs, "status", "steadyStateLastAchievedTime")),
        },
    )


def _source_expression(source: dict | None) -> str | None:
    if not isinstance(source, dict):
        return None
    if source.get("expression"):
        return str(source["expression"])
    kind = str(source.get("type") or "")
    name = source.get("name")
    if kind == "Attribute" and name:
        return f"[{name}]"
    if kind == "Constant":
        return '"' + str(name or "") + '"'
    if kind == "Function" and name:
        # ``expression`` is only an equivalent representation: rebuild it from the
        # parameters (nested sources, in order) where a service leaves it out
        args = [
            _source_expression(p.get("value")) or ""
            for p in source.get("parameters") or []
            if isinstance(p, dict)
        ]
        return f"{name}({', '.join(args)})"
    return str(name) if name else None


def _mappings(schema: dict):
    for rule in schema.get("synchronizationRules") or []:
        for mapping in rule.get("objectMappings") or []:
            yield rule, mapping


def attribute_mappings(job_id: str, schema: dict) -> pd.DataFrame:
    """A synchronization schema -> ``attribute_mappings`` (job_id, rule_id, object_mapping,
    target_attribute, source_type, expression, default_value, flow_type, matching_priority)."""
    rows = []
    for rule, mapping in _mappings(schema):
        for am in mapping.get("attributeMappings") or []:
            source = am.get("source") or {}
            rows.append(
                {
                    "job_id": job_id,
                    "rule_id": rule.get("id"),
                    "object_mapping": mapping.get("name"),
                    "source_object": mapping.get("sourceObjectName"),
                    "target_attribute": am.get("targetAttributeName"),
                    "source_type": source.get("type"),
                    "expression": _source_expression(source),
                    "default_value": am.get("defaultValue"),
                    "flow_type": am.get("flowType"),
                    "matching_priority": am.get("matchingPriority"),
                }
            )
    return frames.conform(pd.DataFrame(rows), "attribute_mappings")


def scoping_filters(job_id: str, schema: dict) -> pd.DataFrame:
    """A synchronization schema -> ``scoping_filters`` (job_id, rule_id, object_mapping,
    source_object, group_index, group_name, source_attribute, operator, values): one row per
    clause. The user and the group object mappings each have their own scope."""
    rows = []
    for rule, mapping in _mappings(schema):
        scope = mapping.get("scope") or {}
        for index, group in enumerate(scope.get("groups") or []):
            for clause in group.get("clauses") or []:
                rows.append(
                    {
                        "job_id": job_id,
                        "rule_id": rule.get("id"),
                        "object_mapping": mapping.get("name"),
                        "source_object": mapping.get("sourceObjectName"),
                        "group_index": index,
                        "group_name": group.get("name"),
                        "source_attribute": clause.get("sourceOperandName"),
                        "operator": clause.get("operatorName"),
                        "values": _list((clause.get("targetOperand") or {}).get("values")),
                    }
                )
    return frames.conform(pd.DataFrame(rows), "scoping_filters")


# ---------------------------------------------------------------------------- Zoom
def _work_email(emails: object) -> str | None:
    emails = [e for e in (emails if isinstance(emails, list) else []) if isinstance(e, dict)]
    for e in emails:
        if str(e.get("type", "")).lower() == "work" and e.get("value"):
            return e["value"]
    for e in emails:
        if e.get("primary") in (True, "true", "True") and e.get("value"):
            return e["value"]
    return emails[0].get("value") if emails else None


def zoom_scim_users(resources: Items) -> pd.DataFrame:
    """SCIM ListResponse Resources -> ``zoom_scim_users`` (zoom_id, user_name, display_name,
    given_name, family_name, work_email, active, user_type, department, login_sso, created_at,
    last_modified)."""
    c = _Strings(
        resources,
        (
            "id",
            "userName",
            "displayName",
            ("name", "givenName"),
            ("name", "familyName"),
            "userType",
            (_ENTERPRISE, "department"),
            ("meta", "created"),
            ("meta", "lastModified"),
        ),
    )
    return _frame(
        "zoom_scim_users",
        {
            "zoom_id": c.get("id"),
            "user_name": c.get("userName"),
            "display_name": c.get("displayName"),
            "given_name": c.dig("name", "givenName"),
            "family_name": c.dig("name", "familyName"),
            "work_email": [_work_email(v) for v in _values(resources, "emails")],
            "active": _get(resources, "active"),
            "user_type": c.get("userType"),
            "department": _empty_str(c.dig(_ENTERPRISE, "department")),
            "login_sso": _dig(resources, _ZOOMUSER, "loginType", "sso"),
            "created_at": c.dig("meta", "created"),
            "last_modified": c.dig("meta", "lastModified"),
        },
    )


def zoom_users(users: Items) -> pd.DataFrame:
    """REST ``/users`` items (all statuses) -> ``zoom_users`` (zoom_id, email, first_name,
    last_name, display_name, type, status, dept, role_id, last_login_time, created_at,
    user_created_at, last_client_version). Empty strings become NA."""
    c = _Strings(
        users,
        (
            "id",
            "email",
            "first_name",
            "last_name",
            "display_name",
            "status",
            "dept",
            "last_login_time",
            "created_at",
            "user_created_at",
            "last_client_version",
        ),
    )
    role = [None if v is None else str(v) for v in _values(users, "role_id")]
    return _frame(
        "zoom_users",
        {
            "zoom_id": _empty_str(c.get("id")),
            "email": c.get("email"),
            "first_name": c.get("first_name"),
            "last_name": c.get("last_name"),
            "display_name": c.get("display_name"),
            "type": _get(users, "type"),
            "status": c.get("status"),
            "dept": _empty_str(c.get("dept")),
            "role_id": role,
            "last_login_time": _empty_str(c.get("last_login_time")),
            "created_at": _empty_str(c.get("created_at")),
            "user_created_at": _empty_str(c.get("user_created_at")),
            "last_client_version": _empty_str(c.get("last_client_version")),
        },
    )


def zoom_plans(usage: dict | None) -> pd.DataFrame:
    """``plans/usage`` -> ``zoom_plans`` (plan_key, position, plan_type, hosts, usage, pending,
    raw): one row per plan object, array-valued keys get one row per element."""
    rows = []
    for key, value in (usage or {}).items():
        items = value if isinstance(value, list) else [value]
        for pos, plan in enumerate(items):
            if not isinstance(plan, dict):
                continue
            rows.append(
                {
                    "plan_key": key,
                    "position": pos,
                    "plan_type": plan.get("type"),
                    "hosts": plan.get("hosts"),
                    "usage": plan.get("usage"),
                    "pending": plan.get("pending"),
                    "raw": _json(plan),
                }
            )
    return frames.conform(pd.DataFrame(rows), "zoom_plans")


def zoom_domains(domains: list[dict]) -> pd.DataFrame:
    """``managed_domains`` items -> ``zoom_domains`` (domain, status)."""
    return _frame(
        "zoom_domains",
        {
            "domain": _get(domains, "domain"),
            "status": _get(domains, "status"),
        },
    )


def zoom_activities(logs: list[dict]) -> pd.DataFrame:
    """``report/activities`` activity_logs -> ``zoom_activities`` (email, time, type,
    client_type, version)."""
    return _frame(
        "zoom_activities",
        {
            "email": _get(logs, "email"),
            "time": _get(logs, "time"),
            "type": _get(logs, "type"),
            "client_type": _get(logs, "client_type"),
            "version": _get(logs, "version"),
        },
    )
