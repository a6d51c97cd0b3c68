"""Reconciliation: what Entra should have provisioned to Zoom versus what Zoom has.

Place in the flow: analysis (pure; snapshot in, findings out). Builds on ``scope`` (who is in
scope), ``mapping`` (what Entra would send), ``matching`` (who is who) and the provisioning
events (evidence). The CLI (``cli_reconcile``), the notebooks and the licence audit use
:func:`reconcile` and :data:`CATEGORIES`.

Universe: every Entra user who is assigned (directly or through any level of nesting),
soft-deleted, in scope, or matched by a Zoom user, plus every Zoom user. Each Entra user gets at
most one row, the first category that applies:

1. ``pending_invite``         in scope, matched Zoom user pending
2. ``zoom_user_inactive``     in scope, matched Zoom user deactivated
3. ``in_sync`` / ``attribute_drift``   in scope, matched Zoom user active; every mapped
   attribute equal or not (userName/e-mail case-insensitively, others exactly after NFC+trim;
   attributes Entra would send as null are skipped, as Entra skips them)
4. ``email_conflict``         in scope, unmatched, a Zoom user holds one of the user's other
   addresses (UPN, mail, proxyAddresses smtp:, otherMails) as its userName or, failing
   that, as its e-mail
5. ``not_provisioned``        in scope, no match; evidence = latest provisioning event
6. ``nested_group_only``      out of scope only because membership is nested (any Zoom state)
7. ``should_be_deactivated``  otherwise out of scope while the matched Zoom user is active
8. (no row)                   otherwise out of scope without an active Zoom account

A Zoom user matched by no Entra user and named in no ``email_conflict`` row: pending ->
``pending_invite``, active -> ``unmanaged_zoom_user``, deactivated -> no row.

Readings chosen where issue 5 is silent (tested in ``tests/semantics``):

* Expected values that are null *or blank* are not compared (Entra does not send them), so an
  expression such as ``Left([department], 10)`` on a null department (Entra's documented result
  is "") is no drift.
* A user holding several app roles: Entra's ``SingleAppRoleAssignment`` "isn't supported" with
  several roles and may send any of them, so with the plain
  ``SingleAppRoleAssignment([appRoleAssignments])`` mapping a Zoom ``userType`` equal to *any*
  held role is not drift (the expected value shown is our deterministic pick).
* An out-of-scope user whose matched Zoom user is also matched by an in-scope user (a rehire
  whose old, disabled account shares the mail the userName comes from) stays
  ``should_be_deactivated`` as the text says, but the detail names the in-scope holder and
  warns that deactivating would cut that user off.
* Mappings applied "only during object creation" (``flowType`` ObjectAddOnly) are not
  compared: Entra never updates them, so a difference is not drift it would correct.
* Several Zoom users sharing an expected userName (possible only in hand-made data: Zoom
  e-mails are unique) are all "matched by that userName": the active one is compared, the
  others get no Zoom-only row, and the Entra user's detail says how many share it.
* An empty expected userName (null source attribute) never matches; the ``not_provisioned`` /
  ``email_conflict`` detail says so.
* A Zoom status other than active/inactive/pending is not "active": a matched in-scope user is
  ``zoom_user_inactive``; an unmatched Zoom user with such a status gets no row (it stays in
  ``ReconcileResult.zoom``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit import mapping as mapping_mod
from zoomaudit.errors import SnapshotError
from zoomaudit.matching import (
    arrow,
    best_first,
    key_array,
    match,
    normalize_key,
    positions,
    status_rank,
    zoom_accounts,
)
from zoomaudit.scope import compute_scope
from zoomaudit.snapshot import Snapshot

CATEGORIES: tuple[str, ...] = (
    "pending_invite",
    "zoom_user_inactive",
    "in_sync",
    "attribute_drift",
    "email_conflict",
    "not_provisioned",
    "nested_group_only",
    "should_be_deactivated",
    "unmanaged_zoom_user",
)

#: attributes compared for drift: (simulation column, zoom column, case-insensitive)
COMPARED: tuple[tuple[str, str, bool], ...] = (
    ("user_name", "user_name", True),
    ("display_name", "display_name", False),
    ("work_email", "work_email", True),
    ("given_name", "given_name", False),
    ("family_name", "family_name", False),
    ("department", "department", False),
    ("user_type", "user_type", False),
)

FINDING_COLUMNS = (
    "category",
    "entra_id",
    "user_principal_name",
    "zoom_id",
    "zoom_user_name",
    "zoom_status",
    "detail",
    "out_of_scope_reason",
    "expected_user_name",
    "drift_attributes",
    "conflict_address",
    "app_role_value",
    "assigned_at",
    "last_event_at",
    "last_event_action",
    "last_event_status",
    "last_event_error_code",
    "last_event_reason",
    "excluded",
    "exclusion_reason",
)

DEFAULT_CYCLE = timedelta(minutes=40)
_DELETED_UPN_PREFIX = re.compile(r"^[0-9a-fA-F]{32}")


@dataclass
class ReconcileResult:
    """Findings plus the intermediate frames that explain them."""

    findings: pd.DataFrame
    scope: pd.DataFrame
    expected: pd.DataFrame
    matches: pd.DataFrame
    zoom: pd.DataFrame
    snapshot_id: str = ""
    expired_exclusions: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Counts per category (all categories, in order): category, count, excluded."""
        f = self.findings
        counts = f.groupby("category", observed=True).size()
        excl = (
            f[f["excluded"].fillna(False).astype(bool)].groupby("category", observed=True).size()
        )
        return pd.DataFrame(
            {
                "category": list(CATEGORIES),
                "count": [int(counts.get(c, 0)) for c in CATEGORIES],
                "excluded": [int(excl.get(c, 0)) for c in CATEGORIES],
            }
        )

    def by_category(self, category: str) -> pd.DataFrame:
        return self.findings[self.findings["category"] == category]


# --------------------------------------------------------------------------- helpers


def _norm_text(s: pd.Series) -> pd.Series:
    s = s.astype("str")
    non_ascii = ~s.str.isascii().fillna(True).astype(bool)
    if non_ascii.any():
        s = s.copy()
        s[non_ascii] = s[non_ascii].str.normalize("NFC")
    return s.str.strip()


def cycle_length(snapshot: Snapshot) -> timedelta:
    """The job's schedule interval (PT40M style), or 40 minutes."""
    jobs = snapshot.table("sync_jobs")
    for value in jobs["schedule_interval"].dropna():
        m = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", str(value))
        if m and any(m.groups()):
            d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
            if d < 1000:
                return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    return DEFAULT_CYCLE


def latest_events(snapshot: Snapshot) -> pd.DataFrame:
    """The latest provisioning event per source user (indexed by entra_id)."""
    ev = snapshot.table("provisioning_events")
    ev = ev[ev["source_id"].notna()]
    if not len(ev):
        return pd.DataFrame(
            columns=["activity_at", "action", "status", "error_code", "error_reason"]
        ).rename_axis("entra_id")
    ev = ev.sort_values(["source_id", "activity_at", "event_id"], kind="stable")
    last = ev.drop_duplicates("source_id", keep="last").set_index("source_id")
    return last[["activity_at", "action", "status", "error_code", "error_reason"]].rename_axis(
        "entra_id"
    )


def other_addresses(users: pd.DataFrame) -> pd.DataFrame:
    """Each user's addresses in precedence order: entra_id, address, source, rank.

    Sources: UPN, mail, proxyAddresses (``smtp:`` values, primary first), otherMails.
    """
    parts = [
        pd.DataFrame({"entra_id": users["entra_id"], "address": users["user_principal_name"],
                      "source": "userPrincipalName", "rank": 0}),
        pd.DataFrame({"entra_id": users["entra_id"], "address": users["mail"],
                      "source": "mail", "rank": 1}),
    ]  # fmt: skip
    px = users[["entra_id", "proxy_addresses"]].explode("proxy_addresses").dropna()
    if len(px):
        v = px["proxy_addresses"].astype("str")
        smtp = v.str.lower().str.startswith("smtp:")
        primary = v.str.startswith("SMTP:")
        parts.append(
            pd.DataFrame({"entra_id": px["entra_id"][smtp], "address": v[smtp].str[5:],
                          "source": "proxyAddresses", "rank": np.where(primary[smtp], 2, 3)})
        )  # fmt: skip
    om = users[["entra_id", "other_mails"]].explode("other_mails").dropna()
    if len(om):
        parts.append(pd.DataFrame({"entra_id": om["entra_id"], "address": om["other_mails"],
                                   "source": "otherMails", "rank": 4}))  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["address"] = out["address"].astype("str")
    return out.dropna(subset=["address"])


def _detail_join(pieces: list[pd.Series], index: pd.Index) -> pd.Series:
    out = pd.Series("", index=index, dtype="str")
    for p in pieces:
        p = p.reindex(index).fillna("")
        out = out.where(p == "", (out + "; ").where(out != "", "") + p)
    return out


# --------------------------------------------------------------------------- main


def reconcile(
    snapshot: Snapshot,
    *,
    sync_all: bool = False,
    exclusions=None,
    allow_incomplete: bool = False,
    today=None,
) -> ReconcileResult:
    """Classify every Entra and Zoom user of the snapshot into :data:`CATEGORIES`.

    Args:
        snapshot: the snapshot to analyse.
        sync_all: the job's scope is "Sync all users and groups".
        exclusions: an :class:`~zoomaudit.exclusions.Exclusions` (or a path to load).
        allow_incomplete: analyse a snapshot marked incomplete (otherwise SnapshotError).
        today: the date exclusions are checked against (default: the snapshot date).

    Returns:
        A :class:`ReconcileResult`. ``findings`` columns (one row per finding):
        category, entra_id, user_principal_name, zoom_id, zoom_user_name, zoom_status,
        detail, out_of_scope_reason, expected_user_name, drift_attributes (comma-separated),
        conflict_address, app_role_value, assigned_at, last_event_at, last_event_action,
        last_event_status, last_event_error_code, last_event_reason, excluded (bool),
        exclusion_reason. Rows are ordered by category (see :func:`_order`).
    """
    if not snapshot.complete and not allow_incomplete:
        raise SnapshotError(
            f"snapshot {snapshot.id} is marked incomplete; pass allow_incomplete=True "
            "(--allow-incomplete) to reconcile it anyway"
        )
    users = snapshot.table("entra_users")
    scope = compute_scope(snapshot, sync_all=sync_all)
    expected = mapping_mod.simulate(snapshot, scope=scope)
    zoom = zoom_accounts(snapshot)

    # soft-deleted users carry "<objectid-hex>upn" in Graph: match on the original name
    match_input = expected
    deleted = users["soft_deleted"].fillna(False).astype(bool).to_numpy()
    if deleted.any() and "user_name" in expected.columns:
        match_input = expected.copy()
        un = match_input["user_name"]
        match_input.loc[deleted, "user_name"] = un[deleted].str.replace(
            _DELETED_UPN_PREFIX, "", regex=True
        )
        match_input.attrs = expected.attrs
    matches = match(match_input, zoom)
    findings = _classify(snapshot, users, scope, expected, zoom, matches)

    from zoomaudit import exclusions as excl_mod

    expired = None
    if exclusions is not None:
        if not isinstance(exclusions, excl_mod.Exclusions):
            exclusions = excl_mod.load(exclusions)
        day = today or snapshot.taken_at.date()
        findings, expired = excl_mod.apply(findings, exclusions, day)
    return ReconcileResult(
        findings=findings,
        scope=scope,
        expected=expected,
        matches=matches,
        zoom=zoom,
        snapshot_id=snapshot.id,
        expired_exclusions=expired,
        notes=_notes(snapshot, expected),
    )


def _notes(snapshot: Snapshot, expected: pd.DataFrame) -> list[str]:
    """What the reader should know about how far the comparison goes (nothing silent)."""
    notes = []
    if not len(snapshot.table("attribute_mappings")):
        notes.append("no synchronization schema in the snapshot: Microsoft's default Zoom "
                     "mappings were simulated")  # fmt: skip
    for column, error in expected.attrs.get("unevaluated", {}).items():
        notes.append(f"mapping to {column} could not be simulated and was not compared: {error}")
    for mp in expected.attrs.get("mappings", []):
        if str(mp.flow_type or "").strip().lower() == "objectaddonly":
            notes.append(f"mapping to {mp.target} applies only at creation (ObjectAddOnly): "
                         "not compared")  # fmt: skip
    return notes


_ROLE_MAPPING = re.compile(
    r"^\s*SingleAppRoleAssignment\(\s*\[appRoleAssignments\]\s*\)\s*$", re.IGNORECASE
)


def user_type_is_role(expected: pd.DataFrame) -> bool:
    """True when the simulation's userType mapping is the plain
    ``SingleAppRoleAssignment([appRoleAssignments])`` (userType = the app role's value)."""
    maps = [m for m in expected.attrs.get("mappings", []) if m.column == "user_type"]
    return bool(maps) and bool(_ROLE_MAPPING.match(maps[0].expression or ""))


def held_role_values(snapshot: Snapshot) -> set[tuple[str, str]]:
    """Every (entra_id, casefolded app-role value) a user holds, directly or as a direct
    member of an assigned group (roles without a value are left out)."""
    from zoomaudit.scope import user_roles

    defs = snapshot.table("entra_app_roles")[["app_role_id", "value"]].drop_duplicates(
        "app_role_id"
    )
    held = user_roles(snapshot).merge(defs, on="app_role_id", how="left").dropna(subset=["value"])
    return set(zip(held["entra_id"], held["value"].str.strip().str.casefold(), strict=True))


def _any_role_accepted(snapshot, expected, scope, ids, rows, diff, actual) -> np.ndarray:
    """``diff`` of userType, cleared for users holding several app roles when Zoom's userType
    is one of them: Entra's SingleAppRoleAssignment "isn't supported" with several roles and
    may send any of them, so our pick is not evidence of drift. Only for the plain
    ``SingleAppRoleAssignment([appRoleAssignments])`` mapping (a Switch over the role would
    send other values)."""
    if not user_type_is_role(expected):
        return diff
    multi = (scope["role_count"].fillna(0).to_numpy(np.int64)[rows] > 1) & diff
    if not multi.any():
        return diff
    pairs = held_role_values(snapshot)
    out = diff.copy()
    values = actual.to_pylist()
    for i in np.flatnonzero(multi):
        v = values[i]
        if isinstance(v, str) and (ids.iloc[rows[i]], v.strip().casefold()) in pairs:
            out[i] = False
    return out


def _take(series: pd.Series, pos: np.ndarray) -> pd.Series:
    """Rows of ``series`` at positions ``pos`` (-1 -> NA), as a fresh RangeIndex Series."""
    arr = series.array
    if len(arr) == 0:
        return pd.Series(pd.NA, index=pd.RangeIndex(len(pos)), dtype=series.dtype)
    return pd.Series(arr.take(pos, allow_fill=True))


def _is_aligned(frame: pd.DataFrame, ids: pd.Series) -> bool:
    return len(frame) == len(ids) and bool(
        pc.all(pc.equal(arrow(frame["entra_id"]), arrow(ids))).as_py() is not False
    )


def _align(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """``frame`` reordered so its entra_id column follows ``ids`` (no-op when it does)."""
    if _is_aligned(frame, ids):
        out = frame.reset_index(drop=True)
        return out
    pos = positions(ids, frame["entra_id"])
    out = frame.iloc[np.where(pos < 0, 0, pos)].reset_index(drop=True)
    return out.where(pd.Series(pos >= 0), other=pd.NA) if (pos < 0).any() else out


def _classify(snapshot, users, scope, expected, zoom, matches) -> pd.DataFrame:
    scope = scope.reset_index(drop=True)
    ids = scope["entra_id"]
    n = len(scope)
    users = _align(users, ids)
    aligned = _is_aligned(expected, ids)
    exp = _align(expected, ids)
    exp.attrs = {}  # pandas deep-copies attrs on every operation: keep them out of the way
    # positions: Entra row -> matched Zoom row (-1: none)
    m = matches.drop_duplicates("entra_id")
    zrow = np.full(n, -1, dtype=np.int64)
    if len(m):
        if aligned and "expected_row" in m.columns and "zoom_row" in m.columns:
            ep, zp = m["expected_row"].to_numpy(np.int64), m["zoom_row"].to_numpy(np.int64)
        else:
            ep = positions(m["entra_id"], ids)
            zp = positions(m["zoom_key"], zoom["zoom_key"])
        ok = (ep >= 0) & (zp >= 0)
        zrow[ep[ok]] = zp[ok]
    sharing = np.ones(n, dtype=np.int64)  # Zoom users sharing the matched key
    if len(m) and "candidates" in m.columns:
        sharing[ep[ok]] = m["candidates"].fillna(1).to_numpy(np.int64)[ok]
    matched = zrow >= 0
    status = _take(zoom["status"], zrow)
    in_scope = scope["in_scope"].to_numpy(bool)
    reason = scope["out_of_scope_reason"]
    active = (status == "active").fillna(False).to_numpy(bool)
    universe = (
        in_scope
        | scope["assigned_direct"].to_numpy(bool)
        | scope["assigned_via_group"].to_numpy(bool)
        | scope["reachable_nested"].to_numpy(bool)
        | scope["soft_deleted"].to_numpy(bool)
        | matched
    )
    code = np.full(n, -1, dtype=np.int16)

    def setcat(mask, name):
        code[(code < 0) & mask] = CATEGORIES.index(name)

    # -- attribute comparison for in-scope users matched to an active Zoom user
    cmp_mask = in_scope & matched & active
    drift = np.zeros(n, bool)
    drift_attrs = np.full(n, None, dtype=object)
    drift_detail = np.full(n, None, dtype=object)
    if cmp_mask.any():
        rows = np.flatnonzero(cmp_mask)
        rows_pa, zsub_pa = pa.array(rows), pa.array(zrow[rows])
        unevaluated = expected.attrs.get("unevaluated", {})
        # "only during object creation" mappings are never updated by Entra: not drift
        mapped = {
            mp.column
            for mp in expected.attrs.get("mappings", [])
            if str(mp.flow_type or "Always").strip().lower() != "objectaddonly"
        }
        all_on_user_name = len(m) and (m["matched_on"] == "user_name").all()
        diffs: list[tuple[str, np.ndarray, pa.Array, pa.Array]] = []
        for ecol, zcol, ci in COMPARED:
            if ecol not in mapped or ecol in unevaluated or zcol not in zoom.columns:
                continue
            if ecol == "user_name" and all_on_user_name:
                continue  # equal by construction: the match key is the normalised userName
            e = arrow(exp[ecol]).take(rows_pa)
            z = arrow(zoom[zcol]).take(zsub_pa)
            if ci:
                en, zn = key_array(e), key_array(z)
            else:
                en = pc.utf8_trim_whitespace(pc.utf8_normalize(e, "NFC"))
                zn = pc.utf8_trim_whitespace(pc.utf8_normalize(z, "NFC"))
            same = pc.fill_null(pc.equal(en, zn), False)
            # null (or blank) expected values are not sent: Entra skips them, so no drift
            sent = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(e)), 0), False)
            diff = pc.and_(sent, pc.invert(same)).to_numpy(zero_copy_only=False)
            if ecol == "user_type" and diff.any():
                diff = _any_role_accepted(snapshot, expected, scope, ids, rows, diff, z)
            if diff.any():
                diffs.append((ecol, diff, e, z))
        if diffs:
            any_diff = np.logical_or.reduce([d for _, d, _, _ in diffs])
            drift[rows[any_diff]] = True
            sel = np.flatnonzero(any_diff)
            names, details = [], []
            for ecol, diff, e, z in diffs:
                d = diff[sel]
                es = pd.Series(e.take(pa.array(sel)), dtype="str").fillna("")
                zs = pd.Series(z.take(pa.array(sel)), dtype="str").fillna("<none>")
                names.append(pd.Series(np.where(d, ecol, ""), dtype="str"))
                text = ecol + ": expected '" + es + "', actual '" + zs + "'"
                details.append(text.where(d, ""))
            idx = pd.RangeIndex(len(sel))
            drift_attrs[rows[sel]] = (
                _detail_join(names, idx).str.replace("; ", ",").to_numpy(object)
            )
            drift_detail[rows[sel]] = _detail_join(details, idx).to_numpy(object)

    setcat(in_scope & matched & (status == "pending").fillna(False).to_numpy(bool),
           "pending_invite")  # fmt: skip
    # any other status (inactive, or a status we do not know) is not an active account
    setcat(in_scope & matched & ~active, "zoom_user_inactive")
    setcat(cmp_mask & ~drift, "in_sync")
    setcat(cmp_mask & drift, "attribute_drift")

    # -- e-mail conflicts for in-scope users with no match
    unmatched = in_scope & ~matched
    conflict_row = np.full(n, -1, dtype=np.int64)
    conflict_addr = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="str")
    if unmatched.any() and len(zoom):
        urows = np.flatnonzero(unmatched)
        addrs = other_addresses(users.iloc[urows].assign(entra_id=urows))
        addrs = addrs.rename(columns={"entra_id": "_row"})
        addrs["key"] = normalize_key(addrs["address"])
        exp_key = normalize_key(_take(exp["user_name"], addrs["_row"].to_numpy()))
        addrs = addrs[(addrs["key"].notna() & (addrs["key"] != exp_key.to_numpy()).fillna(True))
                      .to_numpy(bool)]  # fmt: skip
        zkey = (
            zoom["user_name_key"] if "user_name_key" in zoom else normalize_key(zoom["user_name"])
        )
        order, _ = best_first(zkey.reset_index(drop=True), status_rank(zoom["status"]),
                              zoom["zoom_key"].reset_index(drop=True))  # fmt: skip
        zk_arr = arrow(zkey).take(pa.array(order))
        zpos = positions(addrs["key"], zk_arr)
        hits = addrs[zpos >= 0].assign(_zrow=order[zpos[zpos >= 0]])
        rest = addrs[~addrs["_row"].isin(hits["_row"]).to_numpy(bool)]
        if len(rest) and "work_email" in zoom.columns:
            # a Zoom user also "holds" its e-mail when it differs from its userName
            wkey = normalize_key(zoom["work_email"]).reset_index(drop=True)
            worder, _ = best_first(wkey, status_rank(zoom["status"]),
                                   zoom["zoom_key"].reset_index(drop=True))  # fmt: skip
            wpos = positions(rest["key"], arrow(wkey).take(pa.array(worder)))
            more = rest[wpos >= 0].assign(_zrow=worder[wpos[wpos >= 0]])
            if len(more):
                more = more.assign(source=more["source"] + ", Zoom e-mail")
                hits = pd.concat([hits, more], ignore_index=True)
        if len(hits):
            hits = hits.sort_values(["_row", "rank", "key"]).drop_duplicates("_row")
            where = hits["_row"].to_numpy()
            conflict_row[where] = hits["_zrow"].to_numpy()
            conflict_addr.iloc[where] = (hits["address"] + " (" + hits["source"] + ")").array
    has_conflict = conflict_row >= 0
    setcat(unmatched & has_conflict, "email_conflict")
    setcat(unmatched & ~has_conflict, "not_provisioned")
    setcat(~in_scope & (reason == "nested_group_only").fillna(False).to_numpy(bool),
           "nested_group_only")  # fmt: skip
    setcat(~in_scope & matched & active, "should_be_deactivated")
    code[~universe] = -1
    # a Zoom user an in-scope Entra user also matches is in use: say so in the detail
    holder = np.full(max(len(zoom), 1), -1, dtype=np.int64)
    held_rows = np.flatnonzero(in_scope & matched)
    wanted = zrow[~in_scope & matched & active]  # only these Zoom rows need a holder
    held_rows = held_rows[np.isin(zrow[held_rows], wanted)] if len(wanted) else held_rows[:0]
    if len(held_rows) > 1:  # the holder named is the smallest UPN (independent of row order)
        upn = users["user_principal_name"].astype("str").to_numpy(object)[held_rows]
        held_rows = held_rows[np.argsort(np.where(pd.isna(upn), "", upn).astype(str))]
    holder[zrow[held_rows[::-1]]] = held_rows[::-1]  # the first one wins
    shared = np.where(matched, holder[np.maximum(zrow, 0)], -1)
    shared = np.where(in_scope, -1, shared)

    keep = np.flatnonzero(code >= 0)
    row_z = np.where(has_conflict, conflict_row, zrow)[keep]
    f = pd.DataFrame({
        "category": np.asarray(CATEGORIES, dtype=object)[code[keep]],
        "entra_id": ids.iloc[keep].array,
        "user_principal_name": users["user_principal_name"].iloc[keep].astype("str").array,
        "_zoom_key": _take(zoom["zoom_key"], row_z).array,
        "zoom_id": _take(zoom["zoom_id"], row_z).array,
        "zoom_user_name": _take(zoom["user_name"], row_z).array,
        "zoom_status": _take(zoom["status"], row_z).array,
        "out_of_scope_reason": reason.iloc[keep].astype("str").array,
        "expected_user_name": exp["user_name"].iloc[keep].astype("str").array,
        "drift_attributes": pd.Series(drift_attrs[keep], dtype="str").array,
        "conflict_address": conflict_addr.iloc[keep].array,
        "app_role_value": scope["app_role_value"].iloc[keep].astype("str").array,
        "assigned_at": scope["assigned_at"].iloc[keep].array,
        "_held_by": _take(users["user_principal_name"].astype("str"), shared[keep]).array,
        "_sharing": sharing[keep],
    })  # fmt: skip
    ev = latest_events(snapshot)
    if len(ev):
        epos = pd.Index(ev.index).get_indexer(f["entra_id"])
        f["last_event_at"] = _take(ev["activity_at"], epos).array
        for src, dst in (("action", "last_event_action"), ("status", "last_event_status"),
                         ("error_code", "last_event_error_code"),
                         ("error_reason", "last_event_reason")):  # fmt: skip
            f[dst] = _take(ev[src].astype("str"), epos).array
    else:
        f["last_event_at"] = pd.Series(pd.NaT, index=f.index, dtype="datetime64[us, UTC]")
        for dst in ("last_event_action", "last_event_status", "last_event_error_code",
                    "last_event_reason"):  # fmt: skip
            f[dst] = pd.Series(pd.NA, index=f.index, dtype="str")
    f["detail"] = pd.Series(
        _details(snapshot, f, pd.Series(drift_detail[keep], dtype="str")), dtype="str"
    ).array

    # -- Zoom users nobody matched and no conflict names
    claimed = np.zeros(len(zoom), bool)
    claimed[zrow[matched]] = True
    if len(matches):
        zr = (
            matches["zoom_row"].to_numpy(np.int64)
            if "zoom_row" in matches.columns
            else positions(matches["zoom_key"], zoom["zoom_key"])
        )
        claimed[zr[zr >= 0]] = True
    claimed[conflict_row[has_conflict]] = True
    if len(m) and (sharing > 1).any():
        # Zoom users sharing a matched userName are matched by that expected userName too
        keys = m.loc[m["matched_on"] == "user_name", "match_key"]
        if len(keys) and "user_name_key" in zoom.columns:
            claimed |= positions(zoom["user_name_key"], keys.drop_duplicates()) >= 0
    zst = zoom["status"].to_numpy(object)
    zsel = np.flatnonzero(~claimed & ((zst == "pending") | (zst == "active")))
    z = zoom.iloc[zsel]
    pend = (z["status"] == "pending").to_numpy(bool)
    zf = pd.DataFrame(
        {
            "category": np.where(pend, "pending_invite", "unmanaged_zoom_user"),
            "_zoom_key": z["zoom_key"].array,
            "zoom_id": z["zoom_id"].array,
            "zoom_user_name": z["user_name"].array,
            "zoom_status": z["status"].array,
            "detail": np.where(
                pend,
                "Zoom invitation pending; no Entra user's expected userName matches it",
                "active Zoom user matched by no Entra user (created outside provisioning?)",
            ),
        }
    )
    out = pd.concat([f, zf], ignore_index=True)
    for c in FINDING_COLUMNS:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="str")
    text_cols = [c for c in FINDING_COLUMNS if c not in
                 ("assigned_at", "last_event_at", "excluded")]  # fmt: skip
    for c in text_cols:
        if out[c].dtype != "str":
            out[c] = out[c].astype("str")
    out["excluded"] = False
    order = _order(out)
    return out[list(FINDING_COLUMNS)].take(order).reset_index(drop=True)


def _order(out: pd.DataFrame) -> np.ndarray:
    """Row order: category (vocabulary order); within a category, Entra users in the order of
    ``entra_users`` then Zoom-only users in Zoom order (a string sort of a million names
    would cost more than the whole classification; sort the file if you need it sorted)."""
    cats = out["category"].to_numpy(object)
    codes = np.full(len(out), len(CATEGORIES), dtype=np.int16)
    for i, c in enumerate(CATEGORIES):
        codes[cats == c] = i
    return np.argsort(codes, kind="stable")


_WHY = {
    "soft_deleted": "the user is soft-deleted in Entra",
    "disabled": "the user is disabled in Entra",
    "not_assigned": "the user is not assigned to the Zoom app",
    "scoping_filter": "the user fails the job's scoping filter",
    "nested_group_only": "only a member of a nested group of an assigned group",
}
_NULL_USER_NAME = (
    "the expected userName is empty (its source attribute is null: Entra skips the user, it "
    "cannot match or create it)"
)
_FIXED_DETAIL = {
    "in_sync": "all mapped attributes match",
    "pending_invite": "in scope; Zoom invitation not yet accepted",
    "zoom_user_inactive": "in scope in Entra but the Zoom user is deactivated",
}


def _details(snapshot: Snapshot, f: pd.DataFrame, drift_detail: pd.Series) -> np.ndarray:
    """The human-readable detail of each Entra finding (string work only on the rows needing
    it)."""
    cat = f["category"].to_numpy(object)
    detail = np.full(len(f), "", dtype=object)
    for name, text in _FIXED_DETAIL.items():
        detail[cat == name] = text

    def rows(name: str) -> np.ndarray:
        return np.flatnonzero(cat == name)

    def sub(col: str, idx: np.ndarray) -> pd.Series:
        return f[col].iloc[idx].reset_index(drop=True)

    idx = rows("attribute_drift")
    detail[idx] = drift_detail.iloc[idx].fillna("").to_numpy(object)
    idx = rows("email_conflict")
    if len(idx):
        expected = sub("expected_user_name", idx)
        head = ("no Zoom user with userName '" + expected + "'").fillna(_NULL_USER_NAME)
        detail[idx] = (
            head + ", but Zoom user '" + sub("zoom_user_name", idx).fillna("") + "' holds "
            + sub("conflict_address", idx).fillna("")
        ).to_numpy(object)  # fmt: skip
    idx = rows("nested_group_only")
    if len(idx):
        detail[idx] = (
            "not provisioned: reaches an assigned group only through a nested group (Entra does "
            "not provision nested members); Zoom: " + sub("zoom_status", idx).fillna("no account")
        ).to_numpy(object)
    idx = rows("should_be_deactivated")
    if len(idx):
        why = sub("out_of_scope_reason", idx).map(_WHY).fillna("out of scope")
        text = "out of scope (" + why + ") but the Zoom user is active"
        if "_held_by" in f.columns:
            held = sub("_held_by", idx)
            text = text + (
                "; the same Zoom user is also matched by in-scope Entra user " + held
                + ": deactivating it would cut that user off, resolve the duplicate instead"
            ).fillna("")  # fmt: skip
        detail[idx] = text.to_numpy(object)
    idx = np.flatnonzero(f["_sharing"].to_numpy(np.int64) > 1) if "_sharing" in f else []
    if len(idx):
        detail[idx] = (
            pd.Series(detail[idx], dtype="str") + "; " + sub("_sharing", idx).astype(str)
            + " Zoom users share this userName (Entra reports DuplicateTargetEntries); the "
            "active one is shown"
        ).to_numpy(object)  # fmt: skip
    idx = rows("not_provisioned")
    if len(idx):
        text = pd.Series(_not_provisioned_detail(snapshot, f.iloc[idx].reset_index(drop=True)))
        null_name = sub("expected_user_name", idx).isna().to_numpy(bool)
        text[null_name] = _NULL_USER_NAME + "; " + text[null_name]
        detail[idx] = text.to_numpy(object)
    return detail


def _not_provisioned_detail(snapshot: Snapshot, g: pd.DataFrame) -> np.ndarray:
    has_ev = (g["last_event_action"].notna() | g["last_event_status"].notna()).to_numpy(bool)
    ev_text = (
        "latest provisioning event: " + g["last_event_action"].fillna("?") + " "
        + g["last_event_status"].fillna("?")
        + (" " + g["last_event_error_code"]).fillna("")
        + (" (" + g["last_event_reason"].str.slice(0, 200) + ")").fillna("")
        + " at " + g["last_event_at"].astype(str)
    )  # fmt: skip
    now = pd.Timestamp(snapshot.taken_at)
    # an assignment stamped after the snapshot (clock skew) counts as just now
    age = (now - pd.to_datetime(g["assigned_at"], utc=True)).clip(lower=pd.Timedelta(0))
    minutes = (age.dt.total_seconds() // 60).astype("Int64")
    cycle = pd.Timedelta(cycle_length(snapshot))
    recent = ((age <= cycle) & (age >= pd.Timedelta(0))).fillna(False).to_numpy(bool)
    pending = "pending: assigned " + minutes.astype(str) + " minutes ago"
    since = (
        "no provisioning event yet; assigned "
        + age.dt.days.astype("Int64").astype(str) + " days ago"
    )  # fmt: skip
    out = np.where(g["assigned_at"].notna().to_numpy(bool), since.to_numpy(object),
                   "no provisioning event yet")  # fmt: skip
    out = np.where(recent, pending.to_numpy(object), out)
    return np.where(has_ev, ev_text.to_numpy(object), out)
