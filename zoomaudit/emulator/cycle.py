"""A simulated Entra provisioning cycle: Entra users -> Zoom users, with provisioning logs.

Applies graph.md §4 and zoom.md §3 to the live :class:`~zoomaudit.emulator.model.Tenant`:
scope = direct user assignment or DIRECT member of an assigned group, enabled, not soft-deleted,
passing the schema's scoping filter (nested-only members are not provisioned). In-scope users
are matched to Zoom users by ``userName`` (case-insensitive, NFC) and created or updated;
users the job provisioned before (its "anchors") that left scope are disabled, hard-deleted
ones deleted. Every export writes a ``provisioningObjectSummary`` in Graph's JSON shape.
``generate`` runs a few cycles in the past; the rollout tests call :func:`run_cycle` after
assigning users through the Graph emulator. Deterministic: ids derive from hashes, not RNG.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit.emulator import schema as sch
from zoomaudit.emulator.model import ZOOM_USER_COLUMNS, Tenant

_NS = uuid.UUID("6f2d0c1e-8a4b-4c3d-9e5f-0a1b2c3d4e5f")
ENTERPRISE_DEPT = f"{sch.ENTERPRISE}:department"
#: SCIM target attribute -> Zoom store column (the attributes a cycle compares and writes)
TARGET_COLUMNS = {
    "displayName": "display_name",
    "name.givenName": "first_name",
    "name.familyName": "last_name",
    ENTERPRISE_DEPT: "dept",
}
DEFAULT_SETTINGS = {
    "error_prefix": "Zoom",  # gallery apps prefix some codes with the app name (ZoomEntryConflict)
    "prefixed_codes": ("EntryConflict",),  # [U] which codes carry the prefix
    "retention_days": 30,  # provisioning logs kept (7 on a free tenant)
    "throttle_limit": None,  # exports per cycle before Zoom answers 429 (None = unlimited)
    "foreign_emails": frozenset(),  # lower-case e-mails owned by another Zoom account (409)
}


def settings(tenant: Tenant) -> dict:
    """The tenant's cycle settings and state, created on first use (``tenant.cycle_state``).

    Keys: ``error_prefix`` (default "Zoom"), ``prefixed_codes`` (codes that get the prefix,
    default EntryConflict -> ZoomEntryConflict), ``retention_days`` (30; 7 = free tenant),
    ``throttle_limit`` (exports per cycle before Zoom answers 429; None = unlimited),
    ``foreign_emails`` (lower-case e-mails owned by another Zoom account: creates fail with a
    conflict), ``anchors`` (DataFrame entra_id, zoom_id: the users the job provisioned or
    matched; only anchored users are disabled when they leave scope). Edit them in place.
    """
    state = getattr(tenant, "cycle_state", None)
    if state is None:
        state = {}
        tenant.cycle_state = state
    for key, value in DEFAULT_SETTINGS.items():
        state.setdefault(key, value)
    if "anchors" not in state:
        state["anchors"] = pd.DataFrame({"entra_id": [], "zoom_id": []}, dtype="str")
    return state


# ------------------------------------------------------------------ expected state (scope)
def norm_key(values) -> pd.Series:
    """Matching key: NFC, lower case (NA stays NA)."""
    arr = pa.array(pd.Series(values, dtype="str"), type=pa.large_string())
    return pd.Series(pc.utf8_lower(pc.utf8_normalize(arr, "NFC")), dtype="str")


def _arrow(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    elif isinstance(values, pd.Series) and values.dtype == "str":
        arr = pa.array(values)
    else:
        arr = pa.array(pd.Series(values, dtype="str"))
    return arr.cast(pa.large_string())


def positions(values, universe) -> np.ndarray:
    """Position in ``universe`` of each value (first occurrence), -1 when absent or null."""
    idx = pc.index_in(
        _arrow(values), options=pc.SetLookupOptions(_arrow(universe), skip_nulls=True)
    )
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def domain_of(values) -> pd.Series:
    """The part after the last '@' (NA stays NA)."""
    arr = pa.array(pd.Series(values, dtype="str"), type=pa.large_string())
    out = pc.replace_substring_regex(arr, pattern=r"^.*@", replacement="")
    return pd.Series(out, dtype="str", index=getattr(values, "index", None))


def norm_text(values) -> pd.Series:
    """Comparison form of text attributes: NFC and trimmed."""
    arr = pa.array(pd.Series(values, dtype="str"), type=pa.large_string())
    return pd.Series(pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFC")), dtype="str")


def _empty(series: pd.Series) -> np.ndarray:
    return (series.isna() | (series.astype("str").str.len() == 0)).to_numpy(bool)


def _clause(users: pd.DataFrame, clause: dict) -> np.ndarray:
    col = clause["sourceOperandName"]
    op = clause["operatorName"].upper().replace("_", " ")
    values = list((clause.get("targetOperand") or {}).get("values") or [])
    series = users[col] if col in users.columns else pd.Series(pd.NA, index=users.index)
    empty = _empty(series)
    text = series.astype("str")
    if op == "IS NULL":
        return empty
    if op == "IS NOT NULL":
        return ~empty
    if op in ("IS TRUE", "IS FALSE"):
        truth = series.astype("str").str.lower().eq("true").fillna(False).to_numpy(bool)
        return truth if op == "IS TRUE" else (~truth & ~empty)
    if op == "EQUALS":
        hit = text.isin(values).fillna(False).to_numpy(bool)
    elif op == "NOT EQUALS":
        hit = ~text.isin(values).fillna(False).to_numpy(bool)
    elif op == "REGEX MATCH":
        hit = text.str.contains(values[0], regex=True).fillna(False).to_numpy(bool)
    elif op == "NOT REGEX MATCH":
        hit = ~text.str.contains(values[0], regex=True).fillna(False).to_numpy(bool)
    else:
        raise ValueError(f"scoping operator {clause['operatorName']!r} is not emulated")
    return hit & ~empty  # a clause on a null/empty value is false


def filter_pass(users: pd.DataFrame, groups: list[dict]) -> np.ndarray:
    """Scoping filter: clauses ANDed within a group, groups ORed; no groups = everyone."""
    if not groups:
        return np.ones(len(users), bool)
    out = np.zeros(len(users), bool)
    for group in groups:
        hit = np.ones(len(users), bool)
        for clause in group.get("clauses", []):
            hit &= _clause(users, clause)
        out |= hit
    return out


def roles(tenant: Tenant) -> pd.DataFrame:
    """Per user: ``direct_role`` and ``group_role`` (appRole value; NA when none or null) and
    flags ``direct``, ``group_direct`` (direct member of an assigned group), ``nested``
    (reachable from an assigned group only through nesting). Index = tenant.users index."""
    users, asg, mem = tenant.users, tenant.assignments, tenant.members
    ids = _arrow(users["id"])
    n = len(users)
    role_of = asg["appRoleId"].map(sch.ROLE_VALUE)
    direct = asg[asg["principalType"] == "User"]
    dpos = positions(direct["principalId"], ids)
    ok = dpos >= 0
    direct_role = pd.Series(pd.NA, index=range(n), dtype="str")
    direct_flag = np.zeros(n, bool)
    direct_flag[dpos[ok]] = True
    first = pd.Series(role_of[direct.index].to_numpy()[ok], index=dpos[ok])
    first = first[~first.index.duplicated()]
    direct_role.iloc[first.index.to_numpy()] = first.to_numpy()
    groups = asg[asg["principalType"] == "Group"]
    group_role_by_id = dict(zip(groups["principalId"], role_of[groups.index], strict=True))
    in_group = mem[mem["group_id"].isin(group_role_by_id.keys()) & (mem["member_type"] == "user")]
    gpos = positions(in_group["member_id"], ids)
    gok = gpos >= 0
    group_flag = np.zeros(n, bool)
    group_flag[gpos[gok]] = True
    grole = pd.Series(in_group["group_id"].map(group_role_by_id).to_numpy()[gok], index=gpos[gok])
    grole = grole[~grole.index.duplicated()]
    group_role = pd.Series(pd.NA, index=range(n), dtype="str")
    group_role.iloc[grole.index.to_numpy()] = grole.to_numpy()
    # nesting: groups reachable below assigned groups (any depth), their user members
    sub = mem[mem["member_type"] == "group"]
    children: dict[str, list[str]] = {}
    for g, c in zip(sub["group_id"], sub["member_id"], strict=True):
        children.setdefault(g, []).append(c)
    seen: set[str] = set()
    frontier = [c for g in group_role_by_id for c in children.get(g, [])]
    while frontier:
        g = frontier.pop()
        if g not in seen:
            seen.add(g)
            frontier.extend(children.get(g, []))
    nested_members = mem[mem["group_id"].isin(seen) & (mem["member_type"] == "user")]
    npos = positions(nested_members["member_id"], ids)
    nested_flag = np.zeros(n, bool)
    nested_flag[npos[npos >= 0]] = True
    nested_flag &= ~(direct_flag | group_flag)
    return pd.DataFrame(
        {
            "direct": direct_flag,
            "group_direct": group_flag,
            "nested": nested_flag,
            "direct_role": direct_role.to_numpy(),
            "group_role": group_role.to_numpy(),
        }
    )


def _source(users: pd.DataFrame, src: dict, role: pd.Series) -> pd.Series:
    kind = src.get("type")
    name = src.get("name")
    if kind == "Attribute":
        if name == "appRoleAssignments":
            return role
        return (
            users[name].astype("str")
            if name in users.columns
            else pd.Series(pd.NA, index=users.index, dtype="str")
        )
    if kind == "Constant":
        return pd.Series(src.get("name") or pd.NA, index=users.index, dtype="str")
    params = [p["value"] for p in src.get("parameters", [])]
    if name == "SingleAppRoleAssignment":
        return role
    if name == "Coalesce":
        out = pd.Series(pd.NA, index=users.index, dtype="str")
        for p in params:
            value = _source(users, p, role)
            out = out.where(~_empty(out), value.where(~_empty(value)))
        return out
    if name == "ToLower":
        return _source(users, params[0], role).str.lower()
    if name == "Switch":  # the active mapping; the cycle derives it from scope
        return pd.Series(pd.NA, index=users.index, dtype="str")
    raise ValueError(f"mapping function {name!r} is not emulated")


def expected(tenant: Tenant) -> pd.DataFrame:
    """What Entra computes for every user (index = tenant.users index).

    Columns: in_scope, nested_only, enabled, soft_deleted, filter_pass, assigned (directly or at
    any nesting depth), role (SingleAppRoleAssignment value), and the SCIM targets userName,
    displayName, work_email, givenName, familyName, department, userType.
    """
    users = tenant.users.reset_index(drop=True)
    job = tenant.sync_jobs[0]
    om = sch.user_mapping(tenant.sync_schemas[job["id"]])
    r = roles(tenant)
    role = pd.Series(r["direct_role"], dtype="str").fillna(pd.Series(r["group_role"], dtype="str"))
    enabled = users["accountEnabled"].astype("boolean").fillna(False).to_numpy(bool)
    deleted = users["deletedDateTime"].notna().to_numpy(bool)
    fpass = filter_pass(users, (om.get("scope") or {}).get("groups") or [])
    live = enabled & ~deleted & fpass
    out = pd.DataFrame(
        {
            "id": users["id"],
            "in_scope": (r["direct"] | r["group_direct"]).to_numpy() & live,
            "nested_only": r["nested"].to_numpy() & live,
            "assigned": (r["direct"] | r["group_direct"] | r["nested"]).to_numpy(),
            "enabled": enabled,
            "soft_deleted": deleted,
            "filter_pass": fpass,
            "role": role,
        }
    )
    names = {
        "userName": "userName",
        "displayName": "displayName",
        'emails[type eq "work"].value': "work_email",
        "name.givenName": "givenName",
        "name.familyName": "familyName",
        ENTERPRISE_DEPT: "department",
        "userType": "userType",
    }
    for col in names.values():
        out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
    for m in om["attributeMappings"]:
        col = names.get(m["targetAttributeName"])
        if col:
            out[col] = pd.Series(_source(users, m["source"], role), dtype="str").set_axis(
                out.index
            )
    return out


# ------------------------------------------------------------------ helpers
def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).digest()


def _random_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8).tobytes()
    return np.array(
        [base64.urlsafe_b64encode(raw[i : i + 16]).decode()[:22] for i in range(0, 16 * n, 16)],
        dtype=object,
    )


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _code(state: dict, code: str) -> str:
    prefix = state.get("error_prefix") or ""
    return prefix + code if code in state.get("prefixed_codes", ()) else code


class _Events:
    def __init__(self, tenant: Tenant, now: datetime, cycle_id: str, enabled: bool):
        self.tenant, self.now, self.cycle_id, self.enabled = tenant, now, cycle_id, enabled
        self.items: list[dict] = []
        sp = tenant.service_principal
        self.sp = {"id": sp["id"], "displayName": sp["displayName"]}
        self.job_id = tenant.sync_jobs[0]["id"]

    def add(
        self,
        action: str,
        status: str,
        src: dict,
        target_id: str,
        target_name: str,
        props: list[tuple[str, object, object]],
        error: tuple[str, str] | None = None,
        step_fail: str = "export",
    ) -> None:
        if not self.enabled:
            return
        k = len(self.items)
        h = _digest(self.cycle_id, src["id"], action, str(k))
        when = self.now + timedelta(milliseconds=150 * k + h[0] % 100)
        names = {
            "create": ("EntryImportAdd", "EntrySynchronizationAdd", "EntryExportAdd", "Add"),
            "update": ("EntryImport", "EntrySynchronizationUpdate", "EntryExportUpdate", "Update"),
            "disable": (
                "EntryImport",
                "EntrySynchronizationUpdate",
                "EntryExportUpdate",
                "Update",
            ),
            "delete": (
                "EntryImportDelete",
                "EntrySynchronizationDelete",
                "EntryExportDelete",
                "Delete",
            ),
        }[action]
        upn = src.get("upn") or ""
        in_scope = action in ("create", "update")
        steps = [
            {
                "name": names[0],
                "provisioningStepType": "import",
                "status": "success",
                "description": f"Received User '{upn}' change of type ({names[3]}) from Azure "
                "Active Directory",
                "details": {
                    "accountEnabled": str(src.get("enabled", True)),
                    "appRoleAssignments": src.get("role") or "",
                    "IsSoftDeleted": str(not in_scope),
                },
            },
            {
                "name": "EntrySynchronizationScoping",
                "provisioningStepType": "scoping",
                "status": "success",
                "description": "Determine if User in scope by evaluating against each scoping "
                "filter",
                "details": {
                    "Active in the source system": str(src.get("enabled", True)),
                    "Assigned to the application": str(in_scope),
                    "ScopeEvaluationResult": "{}",
                },
            },
            {
                "name": names[1],
                "provisioningStepType": "matching",
                "status": "failure" if error and step_fail == "matching" else "success",
                "description": f"User '{upn}' will be {action}d in Zoom"
                if action != "create"
                else f"User '{upn}' will be created in Zoom (User is active and assigned in Azure "
                "Active Directory, but no matching User was found in Zoom)",
                "details": {},
            },
        ]
        if not (error and step_fail == "matching"):
            steps.append(
                {
                    "name": names[2],
                    "provisioningStepType": "export",
                    "status": status,
                    "description": (
                        f"Failed to {action} User '{upn}' in Zoom"
                        if error
                        else f"User '{upn}' was {action}d in Zoom"
                    ),
                    "details": {"ReportableIdentifier": upn},
                }
            )
        info = None
        if error:
            info = {
                "errorCode": error[0],
                "reason": error[1],
                "additionalDetails": None,
                "errorCategory": "nonServiceFailure",
                "recommendedAction": None,
            }
        tenant = self.tenant
        self.items.append(
            {
                "id": _uid(self.cycle_id, src["id"], action, str(k)),
                "activityDateTime": _iso(when),
                "tenantId": tenant.tenant_id,
                "jobId": self.job_id,
                "cycleId": self.cycle_id,
                "changeId": _uid("change", self.cycle_id, src["id"], str(k)),
                "provisioningAction": action,
                "durationInMilliseconds": 200 + h[1] * 8,
                "servicePrincipal": dict(self.sp),
                "initiatedBy": {
                    "id": "",
                    "displayName": "Azure AD Provisioning Service",
                    "initiatorType": "system",
                },
                "sourceSystem": {
                    "id": _uid("source", tenant.tenant_id),
                    "displayName": "Azure Active Directory",
                    "details": {},
                },
                "targetSystem": {
                    "id": _uid("target", self.sp["id"]),
                    "displayName": "Zoom",
                    "details": {
                        "ApplicationId": sch.ZOOM_APP_ID,
                        "ServicePrincipalId": self.sp["id"],
                        "ServicePrincipalDisplayName": self.sp["displayName"],
                    },
                },
                "sourceIdentity": {
                    "id": src["id"],
                    "displayName": src.get("name") or "",
                    "identityType": "User",
                    "details": {"UserPrincipalName": upn},
                },
                "targetIdentity": {
                    "id": target_id or "",
                    "displayName": target_name or "",
                    "identityType": "User",
                    "details": {},
                },
                "provisioningStatusInfo": {"status": status, "errorInformation": info},
                "provisioningSteps": steps,
                "modifiedProperties": [
                    {
                        "displayName": p,
                        "oldValue": None if o is None else str(o),
                        "newValue": None if v is None else str(v),
                    }
                    for p, o, v in props
                ],
            }
        )


class _Cols:
    """Cell access by (row position, column) through cached numpy arrays (fast ``.at``)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.cache: dict[str, pa.Array] = {}

    def __getitem__(self, key: tuple[int, str]) -> object:
        i, col = key
        arr = self.cache.get(col)
        if arr is None:  # arrow arrays: no full conversion to Python objects
            arr = self.cache[col] = pa.array(self.frame[col])
        return arr[int(i)].as_py()


def _val(x) -> object:
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else x


# ------------------------------------------------------------------ the cycle
_BAD = "SystemForCrossDomainIdentityManagementBadResponse"
_HTTP400 = "Zoom returned an error response with the HTTP status code 400. Response: "
_SCIM = {
    "display_name": "displayName",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "dept": ENTERPRISE_DEPT,
    "type": "userType",
    "status": "active",
}


def _differs(want: pd.Series, have: pd.Series) -> np.ndarray:
    """Expected value present and different from Zoom's (null expected values are not sent)."""
    w = pa.array(want, type=pa.large_string())
    h = pa.array(have, type=pa.large_string())
    same = pc.fill_null(pc.equal(w, h), False)
    differs = pc.and_(pc.is_valid(w), pc.invert(same))
    return differs.to_numpy(zero_copy_only=False).astype(bool)


def run_cycle(tenant: Tenant, now: datetime, *, events: bool = True) -> list[dict]:
    """Run one provisioning cycle at ``now``; return the events it wrote (newest last).

    Mutates ``tenant.zoom_users``, appends to ``tenant.provisioning_events`` (dropping events
    older than the retention), updates the job's status and calls ``tenant.touch()``.
    ``events=False`` applies the changes without writing logs (cycles older than retention).
    A paused job (schedule state Paused/Disabled or status code Paused) runs nothing.
    Exports run in user order: updates, then creates, then disables; with a throttle limit
    set, exports beyond it fail with ``TooManyRequests`` and are retried next cycle.
    """
    with tenant.lock:
        state = settings(tenant)
        now = now.astimezone(UTC)
        job = tenant.sync_jobs[0]
        paused = (job.get("schedule") or {}).get("state") in ("Paused", "Disabled")
        if paused or (job.get("status") or {}).get("code") == "Paused":
            return []  # a paused job runs no cycles
        cycle_id = _uid("cycle", job["id"], _iso(now))
        log = _Events(tenant, now, cycle_id, events)
        exp = expected(tenant)
        users = tenant.users.reset_index(drop=True)
        zu = tenant.zoom_users.reset_index(drop=True)
        U, E, Z = _Cols(users), _Cols(exp), _Cols(zu)
        match = positions(norm_key(exp["userName"]), norm_key(zu["email"]))
        status = zu["status"].to_numpy(object).copy()
        ztype = zu["type"].astype("Int64").fillna(0).to_numpy(np.int64).copy()
        zids = zu["id"].to_numpy(object)
        verified = {
            d["domain"].lower() for d in tenant.zoom_domains if d.get("status") == "verified"
        }
        hosts = int((tenant.zoom_plans.get("plan_base") or {}).get("hosts") or 0)
        free = hosts - int(((ztype == 2) & (status != "pending")).sum())
        limit = state.get("throttle_limit")
        budget = [np.inf if limit is None else int(limit)]
        foreign = state.get("foreign_emails") or frozenset()
        stamp = _iso(now)
        changes: dict[str, dict[int, object]] = {c: {} for c in ZOOM_USER_COLUMNS}
        new_anchor_users: list[np.ndarray] = []
        new_anchor_zoom: list[np.ndarray] = []
        in_scope = exp["in_scope"].to_numpy(bool)

        def src_of(i: int) -> dict:
            return {
                "id": U[i, "id"],
                "upn": U[i, "userPrincipalName"],
                "name": _val(U[i, "displayName"]),
                "enabled": bool(E[i, "enabled"]),
                "role": _val(E[i, "role"]),
            }

        def take() -> bool:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

        def too_many(i: int, action: str, zid: str, zname: object) -> None:
            log.add(
                action,
                "failure",
                src_of(i),
                zid,
                _val(zname),
                [],
                (
                    _code(state, "TooManyRequests"),
                    "Zoom returned HTTP 429 Too Many Requests. The export will be retried "
                    "in the next cycle.",
                ),
            )

        # --- in scope, matched: update drift, reactivate, or fail on pending invites
        mi = np.flatnonzero(in_scope & (match >= 0))
        mp = match[mi]
        diffs = {}
        for col, ecol in (
            ("display_name", "displayName"),
            ("first_name", "givenName"),
            ("last_name", "familyName"),
            ("dept", "department"),
        ):
            want = norm_text(exp[ecol].iloc[mi])
            have = norm_text(zu[col].iloc[mp])
            diffs[col] = _differs(want, have)
        user_type = exp["userType"].iloc[mi]
        want_type = user_type.map(sch.USER_TYPE_TO_ZOOM).to_numpy(object)
        bad_type = (user_type.notna() & pd.isna(want_type)).to_numpy(bool)
        type_diff = ~pd.isna(want_type) & (np.where(pd.isna(want_type), 0, want_type) != ztype[mp])
        inactive = status[mp] == "inactive"
        pending = status[mp] == "pending"
        touched = pending | bad_type | type_diff | inactive
        for d in diffs.values():
            touched |= d
        anchored_ok = ~pending & ~bad_type
        new_anchor_users.append(users["id"].to_numpy(object)[mi[anchored_ok & ~touched]])
        new_anchor_zoom.append(zids[mp[anchored_ok & ~touched]])
        for k in np.flatnonzero(touched):
            i, p = int(mi[k]), int(mp[k])
            zid, zname = zids[p], Z[p, "display_name"]
            if pending[k]:
                log.add(
                    "create",
                    "failure",
                    src_of(i),
                    "",
                    "",
                    [],
                    (
                        _code(state, _BAD),
                        _HTTP400 + f"User {Z[p, 'email']} not exist "
                        "or not belong to this account.",
                    ),
                    step_fail="matching",
                )
                continue
            if bad_type[k]:
                log.add(
                    "update",
                    "failure",
                    src_of(i),
                    zid,
                    _val(zname),
                    [],
                    (_code(state, _BAD), _HTTP400 + f"Invalid userType: {user_type.iat[k]}"),
                )
                continue
            props = [
                (c, _val(Z[p, c]), _val(E[i, e]))
                for c, e in (
                    ("display_name", "displayName"),
                    ("first_name", "givenName"),
                    ("last_name", "familyName"),
                    ("dept", "department"),
                )
                if diffs[c][k]
            ]
            if type_diff[k]:
                props.append(("type", int(ztype[p]), int(want_type[k])))
            if inactive[k]:
                props.append(("status", "inactive", "active"))
            if not take():
                too_many(i, "update", zid, zname)
                continue
            gains = type_diff[k] and want_type[k] == 2 and ztype[p] != 2
            if gains and free <= 0:
                log.add(
                    "update",
                    "failure",
                    src_of(i),
                    zid,
                    _val(zname),
                    [],
                    (
                        _code(state, "LicenseLimitExceeded"),
                        "Zoom returned HTTP 400: no Licensed seats are available",
                    ),
                )
                continue
            for col, old, new in props:
                changes[col][p] = new
                if col == "type":
                    free += int(old == 2) - int(new == 2)
                    ztype[p] = new
                if col == "status":
                    status[p] = new
            changes["last_modified"][p] = stamp
            log.add(
                "update",
                "success",
                src_of(i),
                zid,
                _val(zname),
                [(_SCIM[c], o, "True" if c == "status" else v) for c, o, v in props],
            )
            new_anchor_users.append(np.array([U[i, "id"]], object))
            new_anchor_zoom.append(np.array([zid], object))
        # --- in scope, unmatched: create (or fail)
        ci = np.flatnonzero(in_scope & (match < 0) & exp["userName"].notna().to_numpy())
        names = exp["userName"].iloc[ci].astype("str")
        lower = names.str.lower()
        domain = domain_of(lower)
        utype = exp["userType"].iloc[ci].fillna("Basic")
        ctype = utype.map(sch.USER_TYPE_TO_ZOOM)
        err = np.full(len(ci), "", object)
        err[~domain.isin(verified).to_numpy(bool)] = "domain"
        err[(err == "") & lower.isin(foreign).to_numpy(bool)] = "foreign"
        err[(err == "") & ctype.isna().to_numpy(bool)] = "type"
        lic = (err == "") & (ctype == 2).to_numpy(bool)
        over = lic & (np.cumsum(lic) > max(free, 0))
        err[over] = "seats"
        go = err == ""
        room = budget[0] if budget[0] != np.inf else len(ci)
        throttled = go & (np.cumsum(go) > room)
        go &= ~throttled
        budget[0] -= int(go.sum())
        created = ci[go]
        id_rng = np.random.default_rng(int.from_bytes(_digest("ids", cycle_id)[:8]))
        zid_new = _random_ids(id_rng, len(created))
        free -= int((go & lic).sum())
        if len(created):
            pmi = id_rng.integers(2_000_000_000, 9_999_999_999, len(created))
            start = np.datetime64(now.replace(tzinfo=None), "ms")
            made = start + (np.arange(len(created)) * 200).astype("timedelta64[ms]")
            made = np.datetime_as_string(made.astype("datetime64[s]"), unit="s", timezone="UTC")
            frame = pd.DataFrame(
                {
                    "id": zid_new,
                    "email": lower.to_numpy(object)[go],
                    "first_name": exp["givenName"].iloc[created].to_numpy(object),
                    "last_name": exp["familyName"].iloc[created].to_numpy(object),
                    "display_name": exp["displayName"].iloc[created].to_numpy(object),
                    "type": ctype.to_numpy(object)[go],
                    "status": "active",
                    "dept": exp["department"].iloc[created].to_numpy(object),
                    "role_id": "2",
                    "last_login_time": None,
                    "created_at": made,
                    "user_created_at": made,
                    "last_modified": made,
                    "login_sso": True,
                    "last_client_version": None,
                    "timezone": "",
                    "pmi": pmi,
                }
            )
            new_anchor_users.append(users["id"].to_numpy(object)[created])
            new_anchor_zoom.append(zid_new)
        else:
            frame = None
        if events:
            zid_of = dict(zip(created.tolist(), zid_new.tolist(), strict=True))
            for k, i in enumerate(ci.tolist()):
                e = err[k]
                props = [
                    ("userName", None, names.iat[k]),
                    ("active", None, "True"),
                    ("displayName", None, _val(E[i, "displayName"])),
                    ('emails[type eq "work"].value', None, _val(E[i, "work_email"])),
                    ("name.givenName", None, _val(E[i, "givenName"])),
                    ("name.familyName", None, _val(E[i, "familyName"])),
                    (ENTERPRISE_DEPT, None, _val(E[i, "department"])),
                    ("userType", None, utype.iat[k]),
                ]
                if throttled[k]:
                    too_many(i, "create", "", "")
                elif e == "":
                    log.add(
                        "create",
                        "success",
                        src_of(i),
                        zid_of[i],
                        _val(E[i, "displayName"]),
                        props,
                    )
                else:
                    reason = {
                        "domain": (
                            _BAD,
                            _HTTP400 + "Domain name doesn't match the managed "
                            f"domains of the account: {domain.iat[k]}",
                        ),
                        "foreign": (
                            "EntryConflict",
                            "Zoom returned HTTP 409 Conflict: User "
                            f"already exists in another account: {names.iat[k]}",
                        ),
                        "type": (_BAD, _HTTP400 + f"Invalid userType: {utype.iat[k]}"),
                        "seats": (
                            "LicenseLimitExceeded",
                            "Zoom returned HTTP 400: no Licensed seats are available",
                        ),
                    }[e]
                    log.add(
                        "create",
                        "failure",
                        src_of(i),
                        "",
                        "",
                        props,
                        (_code(state, reason[0]), reason[1]),
                    )
        # --- anchored users out of scope: disable; anchors of hard-deleted users: delete
        anchors = state["anchors"]
        apos = positions(anchors["entra_id"], users["id"])
        azp = positions(anchors["zoom_id"], zu["id"])
        keep = azp >= 0
        drop_zoom: list[int] = []
        for k in np.flatnonzero((apos < 0) & (azp >= 0)):  # hard-deleted in Entra
            p = int(azp[k])
            src = {
                "id": anchors["entra_id"].iat[k],
                "upn": Z[p, "email"],
                "name": _val(Z[p, "display_name"]),
                "enabled": False,
            }
            if not take():
                log.add(
                    "delete",
                    "failure",
                    src,
                    zids[p],
                    _val(Z[p, "display_name"]),
                    [],
                    (_code(state, "TooManyRequests"), "Zoom returned HTTP 429."),
                )
                continue
            keep[k] = False
            drop_zoom.append(p)
            log.add("delete", "success", src, zids[p], _val(Z[p, "display_name"]), [])
        live = (apos >= 0) & (azp >= 0)
        out = np.zeros(len(anchors), bool)
        out[live] = ~in_scope[apos[live]] & (status[azp[live]] == "active")
        for k in np.flatnonzero(out):
            i, p = int(apos[k]), int(azp[k])
            if not take():
                too_many(i, "disable", zids[p], Z[p, "display_name"])
                continue
            status[p] = "inactive"
            changes["status"][p] = "inactive"
            changes["last_modified"][p] = stamp
            log.add(
                "disable",
                "success",
                src_of(i),
                zids[p],
                _val(Z[p, "display_name"]),
                [("active", "True", "False")],
            )
        # --- write back
        for col, vals in changes.items():
            if vals:
                pos = np.fromiter(vals.keys(), np.int64)
                values = pd.Series(list(vals.values()), index=pos).astype(zu[col].dtype)
                zu.loc[pos, col] = values
        if drop_zoom:
            zu = zu.drop(index=drop_zoom)
        if frame is not None:
            zu = pd.concat([zu, zoom_dtypes(frame)], ignore_index=True)
        tenant.zoom_users = zu.reset_index(drop=True)
        anchors = pd.concat(
            [
                anchors[keep],
                pd.DataFrame(
                    {
                        "entra_id": np.concatenate(new_anchor_users),
                        "zoom_id": np.concatenate(new_anchor_zoom),
                    },
                    dtype="str",
                ),
            ],
            ignore_index=True,
        ).drop_duplicates("entra_id", keep="last")
        state["anchors"] = anchors.reset_index(drop=True)
        _finish(tenant, state, log, now, exp, state["anchors"])
        tenant.touch()
        return log.items


def zoom_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Give ``zoom_users`` its dtypes: text ``str``, type/pmi ``Int64``, login_sso ``boolean``."""
    out = frame.copy()
    for col in ZOOM_USER_COLUMNS:
        if col in ("type", "pmi"):
            out[col] = pd.to_numeric(out[col]).astype("Int64")
        elif col == "login_sso":
            out[col] = out[col].astype("boolean")
        else:
            out[col] = out[col].astype("str")
    return out[list(ZOOM_USER_COLUMNS)]


def _finish(
    tenant: Tenant,
    state: dict,
    log: _Events,
    now: datetime,
    exp: pd.DataFrame,
    anchors: pd.DataFrame,
) -> None:
    items = log.items
    failures = sum(1 for e in items if e["provisioningStatusInfo"]["status"] == "failure")
    exported = len(items) - failures
    ended = now + timedelta(seconds=30 + len(items) // 20)
    job = tenant.sync_jobs[0]
    status = job["status"]
    execution = dict(status.get("lastExecution") or {})
    execution.update(
        {
            "activityIdentifier": _uid("activity", log.cycle_id),
            "countEntitled": int(exp["in_scope"].sum()),
            "countEntitledForProvisioning": int(exp["in_scope"].sum()),
            "countEscrowed": failures,
            "countEscrowedRaw": failures,
            "countExported": exported,
            "countExports": len(items),
            "countImported": len(exp),
            "countImportedDeltas": len(items),
            "countImportedReferenceDeltas": 0,
            "error": {"code": "None", "message": "", "tenantActionable": False},
            "state": "EntryLevelErrors" if failures else "Succeeded",
            "timeBegan": _iso(now),
            "timeEnded": _iso(ended),
        }
    )
    status["lastExecution"] = execution
    if not failures:
        status["lastSuccessfulExecution"] = dict(execution)
        status["steadyStateLastAchievedTime"] = _iso(ended)
        if status.get("steadyStateFirstAchievedTime", "0001").startswith("0001"):
            status["steadyStateFirstAchievedTime"] = _iso(ended)
    if exported:
        status["lastSuccessfulExecutionWithExports"] = dict(execution)
    status["synchronizedEntryCountByType"] = [{"key": "User to User", "value": len(anchors)}]
    cutoff = _iso(now - timedelta(days=int(state.get("retention_days", 30))))
    kept = [e for e in tenant.provisioning_events if e["activityDateTime"] >= cutoff]
    kept.extend(items)
    tenant.provisioning_events = kept
