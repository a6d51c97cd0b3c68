"""Provisioning scope as Entra computes it: who the Zoom job should provision, and why not.

Place in the flow: analysis (pure, over a :class:`~zoomaudit.snapshot.Snapshot`). ``mapping``
uses the scope for ``[IsSoftDeleted]`` and the app role; ``reconcile`` classifies on it; the
readiness area reuses it for "who would be in scope if ...".

Rules (graph.md §4, Microsoft's how-provisioning-works / known-issues):

* "Sync only assigned users and groups" (the default): a user is in scope when assigned
  directly, or when a **direct** member of an assigned group (``entra_group_members.direct``).
  Users reached only through nested groups are not provisioned.
* Disabled users (``account_enabled == False``) and soft-deleted users are out of scope.
* The job's scoping filters (``scoping_filters``) must pass: clauses ANDed within a group,
  groups ORed; no filter groups = pass.
* ``sync_all=True``: assignments do not matter.

Scoping-filter reading (Microsoft: "Scoping filters will return false if the value is
null / empty"): every operator is false on a null or empty attribute **except** the two that
exist to test emptiness: ``IS NULL`` is true on null/empty, ``IS NOT NULL`` is false on
null/empty. So ``department NOT EQUALS Sales`` does *not* admit a user with no department,
and ``NOT REGEX MATCH`` is false on null (as documented). Several target values: positive
operators match any of them; ``NOT EQUALS``/``NOT REGEX MATCH``/``!&`` require none to match.
String comparisons are case-sensitive; regexes are unanchored searches (.NET ``IsMatch``).
Operator names are accepted in any case with spaces, underscores or no separator at all
(``NOT EQUALS``, ``Not_Equals``, ``NotEquals``; ``Greater_Than``, ``GREATER THAN``).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from zoomaudit.errors import ExpressionError
from zoomaudit.expressions import net_regex, source_column
from zoomaudit.frames import user_object_rows
from zoomaudit.matching import arrow, positions
from zoomaudit.snapshot import Snapshot

log = logging.getLogger(__name__)


def isin(values: pd.Series, members) -> np.ndarray:
    """Vectorised membership of string values in a collection (Arrow hash set; NA -> False)."""
    if not isinstance(members, pd.Series):
        members = pd.Series(list(members), dtype="str")
    value_set = pc.unique(pc.drop_null(arrow(members)))
    hit = pc.is_in(arrow(values), value_set=value_set)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"

#: out_of_scope_reason values, in the order they are chosen when several apply
REASONS = ("soft_deleted", "disabled", "not_assigned", "scoping_filter", "nested_group_only")

SCOPE_COLUMNS = (
    "entra_id",
    "assigned_direct",
    "assigned_via_group",
    "reachable_nested",
    "app_role_id",
    "app_role_value",
    "role_count",
    "role_note",
    "assigned_at",
    "enabled",
    "soft_deleted",
    "passes_filter",
    "in_scope",
    "out_of_scope_reason",
)


# --------------------------------------------------------------------------- job selection


def user_job_id(snapshot: Snapshot) -> str | None:
    """The provisioning job whose mappings/filters apply (the first active job, by id)."""
    jobs = snapshot.table("sync_jobs")
    ids: list[str] = []
    if len(jobs):
        ordered = jobs.assign(_active=(jobs["schedule_state"] == "Active").fillna(False))
        ordered = ordered.sort_values(["_active", "job_id"], ascending=[False, True])
        ids = [j for j in ordered["job_id"].dropna().tolist()]
    for table in ("attribute_mappings", "scoping_filters"):
        if not ids:
            ids = sorted(snapshot.table(table)["job_id"].dropna().unique().tolist())
    return ids[0] if ids else None


# --------------------------------------------------------------------------- scoping filters


#: operator spelled without separators (upper case) -> canonical name used below
_OPERATORS = {
    re.sub(r"_", "", name): name
    for name in (
        "EQUALS", "NOT_EQUALS", "IS_NULL", "IS_NOT_NULL", "IS_TRUE", "IS_FALSE",
        "REGEX_MATCH", "NOT_REGEX_MATCH", "INCLUDES", "ENDS_WITH", "STARTS_WITH",
        "GREATER_THAN", "GREATER_THAN_OR_EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS",
    )
} | {"&": "AMP", "!&": "NOT_AMP", "CONTAINS": "INCLUDES"}  # fmt: skip


def _norm_operator(op: str) -> str:
    """Canonical operator name: any case, with spaces, underscores or none ("NOT EQUALS",
    "Not_Equals", "NotEquals" -> NOT_EQUALS). Unknown names are returned upper-cased."""
    o = re.sub(r"[\s_-]+", "", str(op).strip().upper())
    return _OPERATORS.get(o, o)


def attribute_as_text(users: pd.DataFrame, name: str) -> pd.Series:
    """A source attribute as text (booleans as "True"/"False"; lists -> NA: not filterable)."""
    col = source_column(name)
    if col not in users.columns:
        log.warning("scoping filter attribute %r is not in the snapshot: treated as null", name)
        return pd.Series(pd.NA, index=users.index, dtype="str")
    s = users[col]
    if s.dtype == "boolean" or s.dtype == bool:
        b = s.astype("boolean")
        out = pd.Series(pd.NA, index=users.index, dtype="str")
        out[b.fillna(False).to_numpy(bool)] = "True"
        out[(~b).fillna(False).to_numpy(bool)] = "False"
        return out
    if s.dtype == object:  # multi-valued: "Filtering is not supported for multi-valued"
        return pd.Series(pd.NA, index=users.index, dtype="str")
    return s.astype("str")


def clause_mask(values: pd.Series, operator: str, targets: list[str]) -> pd.Series:
    """Evaluate one scoping clause over a text column; returns a bool numpy-backed Series."""
    op = _norm_operator(operator)
    present = (values.notna() & (values != "")).fillna(False).astype(bool)
    if op == "IS_NULL":
        return ~present
    if op == "IS_NOT_NULL":
        return present
    v = values.fillna("")
    targets = [str(t) for t in (targets or [])]
    first = targets[0] if targets else ""

    def any_of(fn) -> pd.Series:
        out = pd.Series(False, index=values.index)
        for t in targets or [""]:
            out |= fn(t).fillna(False).astype(bool)
        return out

    if op == "EQUALS":
        res = any_of(lambda t: v == t)
    elif op == "NOT_EQUALS":
        res = ~any_of(lambda t: v == t)
    elif op == "IS_TRUE":
        res = v.str.lower() == "true"
    elif op == "IS_FALSE":
        res = v.str.lower() == "false"
    elif op in ("REGEX_MATCH", "NOT_REGEX_MATCH"):
        try:
            rx = [re.compile(net_regex(t)) for t in (targets or [""])]
        except re.error as exc:
            raise ExpressionError(
                f"invalid scoping-filter regex ({exc})", expression=first
            ) from None
        hit = pd.Series(False, index=values.index)
        for r in rx:
            hit |= v.str.contains(r, regex=True).fillna(False).astype(bool)
        res = hit if op == "REGEX_MATCH" else ~hit
    elif op == "INCLUDES":
        res = any_of(lambda t: v.str.contains(t, regex=False))
    elif op == "AMP":  # "attribute exists in the input string value"
        res = any_of(lambda t: v.map(lambda x, t=t: x in t))
    elif op == "NOT_AMP":
        res = ~any_of(lambda t: v.map(lambda x, t=t: x in t))
    elif op == "ENDS_WITH":
        res = any_of(lambda t: v.str.endswith(t))
    elif op == "STARTS_WITH":
        res = any_of(lambda t: v.str.startswith(t))
    elif op in ("GREATER_THAN", "GREATER_THAN_OR_EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS"):
        num = pd.to_numeric(v.where(v.str.fullmatch(r"-?\d+").fillna(False)), errors="coerce")
        try:
            target = int(first)
        except ValueError:
            raise ExpressionError(
                f"scoping operator {operator} needs an integer value, got {first!r}"
            ) from None
        f = {"GREATER_THAN": np.greater, "GREATER_THAN_OR_EQUALS": np.greater_equal,
             "LESS_THAN": np.less, "LESS_THAN_OR_EQUALS": np.less_equal}[op]  # fmt: skip
        res = pd.Series(f(num.to_numpy(float, na_value=np.nan), target), index=values.index)
    else:
        raise ExpressionError(f"unknown scoping-filter operator {operator!r}")
    return pd.Series(res.to_numpy(bool), index=values.index) & present


def passes_scoping_filters(
    users: pd.DataFrame, filters: pd.DataFrame, *, job_id: str | None = None
) -> pd.Series:
    """True where a user passes the job's scoping filters (all True when there are none)."""
    if job_id is not None and "job_id" in filters.columns:
        mine = filters[filters["job_id"] == job_id]
        filters = mine if len(mine) else filters[filters["job_id"].isna()]
    if len(filters):
        filters = filters[user_object_rows(filters)]  # the group mapping's scope is not ours
    if not len(filters):
        return pd.Series(True, index=users.index)
    cache: dict[str, pd.Series] = {}
    result = pd.Series(False, index=users.index)
    keys = ["rule_id", "group_index", "group_name"]
    grouped = filters.assign(**{k: filters[k].astype("str").fillna("") for k in keys}).groupby(
        keys, sort=True, dropna=False
    )
    for _, clauses in grouped:
        ok = pd.Series(True, index=users.index)
        for row in clauses.itertuples(index=False):
            name = row.source_attribute
            if name not in cache:
                cache[name] = attribute_as_text(users, name)
            ok &= clause_mask(cache[name], row.operator, list(row.values or []))
        result |= ok
    return result


# --------------------------------------------------------------------------- roles


def user_roles(snapshot: Snapshot, *, sync_all: bool = False) -> pd.DataFrame:
    """Every (user, app role) pair that counts for provisioning, with its provenance.

    Columns: entra_id, app_role_id, via ("direct" | "group"), created_at.
    """
    a = snapshot.table("entra_assignments")
    direct = a[a["principal_type"].str.lower() == "user"]
    rows = [
        pd.DataFrame(
            {
                "entra_id": direct["principal_id"].to_numpy(),
                "app_role_id": direct["app_role_id"].to_numpy(),
                "via": "direct",
                "created_at": direct["created_at"].to_numpy(),
            }
        )
    ]
    g = a[a["principal_type"].str.lower() == "group"]
    if len(g):
        m = snapshot.table("entra_group_members")
        m = m[(m["direct"].fillna(False).astype(bool)) & (m["member_type"].str.lower() == "user")]
        j = g[["principal_id", "app_role_id", "created_at"]].merge(
            m[["group_id", "member_id"]], left_on="principal_id", right_on="group_id"
        )
        rows.append(
            pd.DataFrame(
                {
                    "entra_id": j["member_id"].to_numpy(),
                    "app_role_id": j["app_role_id"].to_numpy(),
                    "via": "group",
                    "created_at": j["created_at"].to_numpy(),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    return out.astype({"entra_id": "str", "app_role_id": "str", "via": "str"})


def pick_roles(snapshot: Snapshot, roles: pd.DataFrame) -> pd.DataFrame:
    """One role per user, chosen deterministically.

    Entra's ``SingleAppRoleAssignment`` "isn't supported" with several roles; we prefer a
    direct user assignment over one through a group, then the smallest app-role *value*
    (ordinal string order; default access, which has no value, comes last), so the result
    does not depend on row order. ``role_note`` says
    when a choice was made. Columns: entra_id, app_role_id, app_role_value, role_count,
    role_note, assigned_at (earliest assignment, direct or via a group).
    """
    defs = snapshot.table("entra_app_roles")[["app_role_id", "value"]].drop_duplicates(
        "app_role_id"
    )
    r = roles.merge(defs, on="app_role_id", how="left")
    r["value"] = r["value"].astype("str")
    r["_nv"] = r["value"].isna()
    r["_group"] = r["via"] != "direct"
    r = r.sort_values(["entra_id", "_group", "_nv", "value", "app_role_id"], kind="stable")
    distinct = r.drop_duplicates(["entra_id", "app_role_id"])
    counts = distinct.groupby("entra_id", sort=False).size()
    first = r.drop_duplicates("entra_id", keep="first").set_index("entra_id")
    assigned_at = r.groupby("entra_id", sort=False)["created_at"].min()
    out = pd.DataFrame(
        {
            "app_role_id": first["app_role_id"],
            "app_role_value": first["value"],
        }
    )
    out["role_count"] = counts.reindex(out.index).astype("Int64")
    out["assigned_at"] = assigned_at.reindex(out.index)
    multi = out["role_count"] > 1
    out["role_note"] = pd.Series(pd.NA, index=out.index, dtype="str")
    if multi.any():
        out.loc[multi, "role_note"] = (
            "several app roles ("
            + out.loc[multi, "role_count"].astype(str)
            + "); picked "
            + out.loc[multi, "app_role_value"].fillna("default access")
        )
    return out.rename_axis("entra_id").reset_index()


# --------------------------------------------------------------------------- scope


def _roles_by_user(snapshot, ids, members, user_assign, assignments) -> pd.DataFrame:
    """pick_roles' choice computed positionally (fast path of compute_scope)."""
    n = len(ids)
    defs = snapshot.table("entra_app_roles")[["app_role_id", "value"]].drop_duplicates(
        "app_role_id"
    )
    groups = assignments[(assignments["principal_type"].str.lower() == "group").to_numpy(bool)]
    direct_m = members[members["direct"].fillna(False).astype(bool).to_numpy()]
    gpos = positions(direct_m["group_id"], groups["principal_id"])
    ok = gpos >= 0
    upos = np.concatenate([positions(user_assign["principal_id"], ids),
                           positions(direct_m["member_id"], ids)[ok]])  # fmt: skip
    role_ids = np.concatenate([user_assign["app_role_id"].to_numpy(object),
                               groups["app_role_id"].to_numpy(object)[gpos[ok]]])  # fmt: skip
    created = np.concatenate([
        user_assign["created_at"].to_numpy("datetime64[us]"),
        groups["created_at"].to_numpy("datetime64[us]")[gpos[ok]],
    ])  # fmt: skip
    via_group = np.concatenate([np.zeros(len(user_assign), bool), np.ones(int(ok.sum()), bool)])
    keep = upos >= 0
    upos, role_ids, created, via_group = upos[keep], role_ids[keep], created[keep], via_group[keep]
    out = pd.DataFrame({
        "app_role_id": pd.Series(pd.NA, index=range(n), dtype="str"),
        "app_role_value": pd.Series(pd.NA, index=range(n), dtype="str"),
        "role_count": pd.array(np.zeros(n, np.int64), dtype="Int64"),
        "role_note": pd.Series(pd.NA, index=range(n), dtype="str"),
        "assigned_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
    })  # fmt: skip
    if not len(upos):
        return out
    # rank the (few) distinct roles: value present first, then value, then id (ordinal)
    uniq = pd.Series(pd.unique(pd.Series(role_ids, dtype="str").dropna()), dtype="str")
    value_of = uniq.map(defs.set_index("app_role_id")["value"]).astype("str")
    table = pd.DataFrame({"id": uniq, "value": value_of, "nv": value_of.isna()})
    table = table.sort_values(["nv", "value", "id"], na_position="last").reset_index(drop=True)
    rank = positions(pd.Series(role_ids, dtype="str"), table["id"])
    key = via_group.astype(np.int64) * (len(table) + 1) + rank
    best = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(best, upos, key)
    has = best < np.iinfo(np.int64).max
    best_rank = np.where(has, best % (len(table) + 1), 0)
    # distinct roles per user
    pair = pd.unique(upos.astype(np.int64) * (len(table) + 1) + rank)
    counts = np.bincount(pair // (len(table) + 1), minlength=n)
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    c64 = created.astype(np.int64)
    mins = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(mins, upos, np.where(np.isnat(created), np.iinfo(np.int64).max, c64))
    valid = mins < np.iinfo(np.int64).max
    first[valid] = mins[valid].astype("datetime64[us]")
    ids_arr = table["id"].to_numpy(object)
    vals_arr = table["value"].to_numpy(object)
    out["app_role_id"] = pd.Series(np.where(has, ids_arr[best_rank], None), dtype="str")
    out["app_role_value"] = pd.Series(np.where(has, vals_arr[best_rank], None), dtype="str")
    out["role_count"] = pd.array(counts, dtype="Int64")
    out["assigned_at"] = pd.Series(first).dt.tz_localize("UTC")
    multi = np.flatnonzero(counts > 1)
    if len(multi):
        picked = out["app_role_value"].iloc[multi].fillna("default access")
        note = ("several app roles (" + pd.Series(counts[multi]).astype(str) + "); picked "
                + picked.reset_index(drop=True))  # fmt: skip
        notes = np.full(n, None, dtype=object)
        notes[multi] = note.to_numpy(object)
        out["role_note"] = pd.Series(notes, dtype="str")
    return out


def compute_scope(snapshot: Snapshot, *, sync_all: bool = False) -> pd.DataFrame:
    """Who is in the Zoom job's provisioning scope, for every Entra user in the snapshot.

    One row per ``entra_users`` row (live and soft-deleted; callers narrow to their universe).

    Columns:
        entra_id; assigned_direct (bool: a User appRoleAssignment); assigned_via_group (bool:
        direct member of an assigned group); reachable_nested (bool: reaches an assigned group
        only through nested groups); app_role_id, app_role_value (the role provisioning would
        send, see :func:`pick_roles`); role_count (Int64); role_note; assigned_at (earliest
        assignment time); enabled (bool, NA counts as enabled); soft_deleted (bool);
        passes_filter (bool); in_scope (bool); out_of_scope_reason (NA | "soft_deleted" |
        "disabled" | "not_assigned" | "scoping_filter" | "nested_group_only", first of
        ``REASONS`` that applies; "nested_group_only" only when nesting is the sole reason).
    """
    users = snapshot.table("entra_users")
    ids = users["entra_id"].astype("str")
    assignments = snapshot.table("entra_assignments")
    user_assign = assignments[assignments["principal_type"].str.lower() == "user"]
    groups = snapshot.table("entra_groups")
    assigned_groups = set(groups.loc[groups["assigned"].fillna(False).astype(bool), "group_id"])
    assigned_groups |= set(
        assignments.loc[assignments["principal_type"].str.lower() == "group", "principal_id"]
    )
    members = snapshot.table("entra_group_members")
    members = members[
        isin(members["group_id"], assigned_groups)
        & (members["member_type"].str.lower() == "user").fillna(False).to_numpy(bool)
    ]
    is_direct = members["direct"].fillna(False).astype(bool)
    direct_members = members.loc[is_direct, "member_id"]
    nested_members = members.loc[~is_direct, "member_id"]

    assigned_direct = isin(ids, user_assign["principal_id"])
    via_group = isin(ids, direct_members)
    reachable_nested = isin(ids, nested_members) & ~assigned_direct & ~via_group

    enabled = users["account_enabled"].fillna(True).astype(bool).to_numpy()
    soft_deleted = users["soft_deleted"].fillna(False).astype(bool).to_numpy()
    passes = passes_scoping_filters(
        users, snapshot.table("scoping_filters"), job_id=user_job_id(snapshot)
    ).to_numpy(bool)
    assigned = np.ones(len(users), bool) if sync_all else (assigned_direct | via_group)
    in_scope = assigned & enabled & ~soft_deleted & passes

    conditions = [
        ("soft_deleted", soft_deleted),
        ("disabled", ~enabled),
        ("nested_group_only", ~assigned & reachable_nested & passes),
        ("not_assigned", ~assigned),
        ("scoping_filter", ~passes),
    ]

    reason_codes = np.full(len(users), -1, dtype=np.int8)
    for name, cond in conditions:
        reason_codes[(reason_codes < 0) & cond & ~in_scope] = REASONS.index(name)
    reason_text = np.asarray(REASONS + (None,), dtype=object)[reason_codes]
    out = pd.DataFrame(
        {
            "entra_id": ids.array,
            "assigned_direct": assigned_direct,
            "assigned_via_group": via_group,
            "reachable_nested": reachable_nested,
            "enabled": enabled,
            "soft_deleted": soft_deleted,
            "passes_filter": passes,
            "in_scope": in_scope,
            "out_of_scope_reason": pd.Series(reason_text, dtype="str").array,
        }
    )
    roles = _roles_by_user(snapshot, ids, members, user_assign, assignments)
    for col in ("app_role_id", "app_role_value", "role_count", "role_note", "assigned_at"):
        out[col] = roles[col]
    return out[list(SCOPE_COLUMNS)]
