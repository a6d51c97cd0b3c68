"""Mapping simulation: the SCIM attributes Entra would send to Zoom for each user.

Place in the flow: analysis. Evaluates the provisioning job's attribute mappings
(``attribute_mappings`` table; Microsoft's default Zoom mappings when the snapshot has none)
with :mod:`zoomaudit.expressions` over whole columns of ``entra_users``. ``reconcile`` compares
the result with Zoom; readiness uses it (with ``role_values``) to preview payloads.

Computed source attributes:

* ``[IsSoftDeleted]``: "True" when the user is soft-deleted, disabled or out of scope (graph.md
  §3.4: "true when the user is unassigned, out of scope, soft-deleted or blocked"); with
  ``assume_in_scope=True`` only soft-deleted/disabled count (a what-if preview).
* ``[appRoleAssignments]``: the single role :func:`zoomaudit.scope.pick_roles` chose (its
  ``value``), or the per-user override in ``role_values``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pandas as pd

from zoomaudit import expressions
from zoomaudit.errors import ExpressionError
from zoomaudit.frames import user_object_rows
from zoomaudit.scope import compute_scope, user_job_id
from zoomaudit.snapshot import Snapshot

log = logging.getLogger(__name__)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

#: Microsoft's default Zoom user mappings: (target attribute, expression, matching priority)
DEFAULT_MAPPINGS: tuple[tuple[str, str, int], ...] = (
    ("userName", "[userPrincipalName]", 1),
    ("displayName", "[displayName]", 0),
    ('emails[type eq "work"].value', "[mail]", 0),
    ("name.givenName", "[givenName]", 0),
    ("name.familyName", "[surname]", 0),
    (ENTERPRISE + "department", "[department]", 0),
    ("active", 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', 0),
    ("userType", "SingleAppRoleAssignment([appRoleAssignments])", 0),
)

#: SCIM target path (lower-cased) -> column name in the simulation output
TARGET_COLUMNS: dict[str, str] = {
    "username": "user_name",
    "displayname": "display_name",
    'emails[type eq "work"].value': "work_email",
    'emails[type eq "work"]': "work_email",
    "name.givenname": "given_name",
    "name.familyname": "family_name",
    (ENTERPRISE + "department").lower(): "department",
    "active": "active",
    "usertype": "user_type",
    "externalid": "external_id",
    "title": "title",
}

#: the columns every simulation has (NA when the job does not map them)
BASE_COLUMNS = (
    "user_name",
    "display_name",
    "work_email",
    "given_name",
    "family_name",
    "department",
    "active",
    "user_type",
)


def target_column(target: str) -> str:
    """Sanitise a SCIM target path into a column name (``name.givenName`` -> ``given_name``)."""
    key = target.strip().lower()
    if key in TARGET_COLUMNS:
        return TARGET_COLUMNS[key]
    t = target.strip()
    if t.lower().startswith("urn:"):
        t = t.rsplit(":", 1)[-1]
    t = re.sub(r'\[\s*type\s+eq\s+"([^"]*)"\s*\]', r"_\1", t)
    t = re.sub(r"\[[^\]]*\]", "", t)
    t = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", t)
    t = re.sub(r"[^A-Za-z0-9]+", "_", t).strip("_").lower()
    return t or "attribute"


@dataclass(frozen=True)
class Mapping:
    """One attribute mapping of the job (flattened)."""

    target: str
    column: str
    expression: str
    source_type: str = "Function"
    default_value: str | None = None
    flow_type: str = "Always"
    matching_priority: int = 0


def job_mappings(snapshot: Snapshot) -> list[Mapping]:
    """The user attribute mappings of the job (defaults when the snapshot has none)."""
    table = snapshot.table("attribute_mappings")
    job = user_job_id(snapshot)
    if job is not None and len(table):
        mine = table[table["job_id"] == job]
        table = mine if len(mine) else table
    if len(table):
        users = user_object_rows(table)
        if users.any():
            table = table[users]
    if not len(table):
        return [
            Mapping(t, target_column(t), e, matching_priority=p) for t, e, p in DEFAULT_MAPPINGS
        ]
    out: list[Mapping] = []
    seen: set[str] = set()
    for row in table.itertuples(index=False):
        target = str(row.target_attribute)
        col = target_column(target)
        if col in seen:
            log.warning("two mappings target %s; keeping the first", target)
            continue
        seen.add(col)
        expr = row.expression if isinstance(row.expression, str) else None
        stype = row.source_type if isinstance(row.source_type, str) else "Function"
        if expr is None or not expr.strip():
            raise ExpressionError(f"mapping to {target} has no source expression")
        if stype.lower() == "constant" and not expr.lstrip().startswith('"'):
            expr = '"' + expr.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if stype.lower() == "attribute" and not expr.lstrip().startswith("["):
            expr = f"[{expr.strip()}]"
        prio = row.matching_priority
        out.append(
            Mapping(
                target=target,
                column=col,
                expression=expr,
                source_type=stype,
                default_value=row.default_value if isinstance(row.default_value, str) else None,
                flow_type=row.flow_type if isinstance(row.flow_type, str) else "Always",
                matching_priority=int(prio) if pd.notna(prio) else 0,
            )
        )
    return out


def matching_columns(mappings: list[Mapping]) -> list[str]:
    """Output columns used for matching, by matchingPriority (lowest > 0 first)."""
    ranked = sorted((m.matching_priority, m.column) for m in mappings if m.matching_priority > 0)
    return [c for _, c in ranked] or ["user_name"]


def simulate(
    snapshot: Snapshot,
    *,
    users: pd.DataFrame | None = None,
    role_values: pd.Series | dict | None = None,
    scope: pd.DataFrame | None = None,
    sync_all: bool = False,
    assume_in_scope: bool = False,
) -> pd.DataFrame:
    """Evaluate the job's mappings for every Entra user.

    Args:
        snapshot: the snapshot (mappings, roles and users come from it).
        users: a subset/variant of ``entra_users`` to simulate (default: all of them).
        role_values: per-user app role *value* (``entra_id`` -> value) overriding the assigned
            role (readiness: users who hold none yet).
        scope: a precomputed :func:`zoomaudit.scope.compute_scope` (saves recomputing it).
        sync_all: scope setting, used when ``scope`` is not given.
        assume_in_scope: compute ``[IsSoftDeleted]`` as if every user were assigned.

    Returns:
        One row per user: entra_id, user_name, display_name, work_email, given_name,
        family_name, department (str), active (boolean), user_type (str), plus one ``str``
        column per other mapped target (sanitised path, see :func:`target_column`).
        ``attrs["mappings"]`` holds the :class:`Mapping` list, ``attrs["matching"]`` the
        matching columns, ``attrs["unevaluated"]`` ``{column: error}`` for mappings we could
        not evaluate (their column is NA and they are not compared).
    """
    base = snapshot.table("entra_users") if users is None else users
    base = base.reset_index(drop=True)
    if scope is None:
        scope = compute_scope(snapshot, sync_all=sync_all)
    sc = scope.set_index("entra_id")
    ids = base["entra_id"].astype("str")
    in_scope = ids.map(sc["in_scope"]).fillna(False).astype(bool)
    if assume_in_scope:
        in_scope = pd.Series(True, index=base.index)
    enabled = base["account_enabled"].fillna(True).astype(bool)
    deleted = base["soft_deleted"].fillna(False).astype(bool)
    soft = deleted | ~enabled | ~in_scope
    is_soft_deleted = pd.Series("False", index=base.index, dtype="str").mask(soft, "True")
    role = ids.map(sc["app_role_value"]).astype("str")
    if role_values is not None:
        override = ids.map(pd.Series(role_values)).astype("str")
        role = override.where(override.notna(), role) if len(override) else role
    computed = {"is_soft_deleted": is_soft_deleted, "app_role_value": role}
    data = base.assign(**computed)
    resolve = expressions.resolver_for(data, data.index)

    mappings = job_mappings(snapshot)
    out: dict[str, pd.Series] = {"entra_id": ids}
    unevaluated: dict[str, str] = {}
    match_cols = set(matching_columns(mappings))
    for m in mappings:
        plain = expressions.is_plain_attribute(m.expression)
        try:
            if plain is not None:
                value = resolve(plain)
                if value.dtype != object:
                    value = value.astype("str") if value.dtype != "boolean" else value
            else:
                value = expressions.evaluate(m.expression, resolve, length=len(data))
                value.index = data.index
        except (ExpressionError, KeyError) as exc:
            if m.column in match_cols:
                if isinstance(exc, KeyError):
                    raise ExpressionError(
                        f"matching attribute {m.target} reads an attribute the snapshot lacks "
                        f"({exc})",
                        expression=m.expression,
                    ) from None
                raise
            log.warning("mapping to %s not simulated: %s", m.target, exc)
            unevaluated[m.column] = str(exc)
            value = pd.Series(pd.NA, index=data.index, dtype="str")
        if m.default_value is not None and value.dtype != object:
            value = value.astype("str").fillna(m.default_value)
        out[m.column] = value
    result = pd.DataFrame(out)
    for col in BASE_COLUMNS:
        if col not in result.columns:
            result[col] = pd.Series(pd.NA, index=result.index, dtype="str")
    result["active"] = _to_boolean(result["active"])
    for col in result.columns:
        if col != "active" and result[col].dtype not in (object, "boolean"):
            result[col] = result[col].astype("str")
        elif col != "active" and result[col].dtype == "boolean":
            result[col] = result[col].map({True: "True", False: "False"}).astype("str")
    ordered = ["entra_id", *BASE_COLUMNS]
    result = result[ordered + [c for c in result.columns if c not in ordered]]
    result.attrs["mappings"] = mappings
    result.attrs["matching"] = matching_columns(mappings)
    result.attrs["unevaluated"] = unevaluated
    return result


def _to_boolean(series: pd.Series) -> pd.Series:
    if series.dtype == "boolean":
        return series
    low = series.astype("str").str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[(low == "true").fillna(False).to_numpy(bool)] = True
    out[(low == "false").fillna(False).to_numpy(bool)] = False
    return out
