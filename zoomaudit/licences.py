"""Licence audit: which Zoom seats are wasted, mis-assigned or over-allocated (analysis step).

Place in the flow: snapshot -> frames -> **licences** (pure pandas, no network) -> CLI / notebook.
It reads the Zoom REST user list (``zoom_users``: licence ``type``, ``status``,
``last_login_time``), the plans-usage rows (``zoom_plans``), optional sign-in activity
(``zoom_activities``), the Entra side and the reconcile result (scope, matches, unmanaged Zoom
users; computed here with :func:`zoomaudit.reconcile.reconcile` when not given). It never
changes a licence: :attr:`LicenceAudit.reclaim` is a dry-run plan.

Semantics (the definitions the tests pin down):

* ``taken_at`` is the snapshot's manifest time; every age is measured from it.
* "more than N days before" means ``taken_at - t > N * 24 h`` (strict, exact to the
  microsecond). A login exactly N days before ``taken_at`` is *not* inactive; one second
  earlier is.
* ``licensed_inactive``: ``type == 2`` and ``status == "active"`` and either
  ``last_login_time`` is more than ``inactive_days`` before ``taken_at``, or it is empty and
  ``created_at`` is more than ``grace_days`` before ``taken_at`` (never logged in; an empty
  ``created_at`` cannot start the grace period, so such users are not flagged). Zoom's ~3-day
  buffer on ``last_login_time`` is reported (``login_buffer_note``) and not compensated.
* ``licensed_deactivated``: ``type == 2`` and ``status == "inactive"``.
* ``licensed_entra_disabled``: ``type == 2``, ``status == "active"``, matched to an Entra user
  who is out of provisioning scope because disabled, soft-deleted, not assigned or excluded by
  the scoping filter. Users out of scope only through nesting are the reconcile's
  ``nested_group_only`` and are not repeated here.
* ``licensed_unmanaged``: ``type == 2``, ``status == "active"``, reported by the reconcile as
  ``unmanaged_zoom_user``.
* ``licence_role_mismatch``: an in-scope user's simulated ``userType`` (from the app role) maps
  to a Zoom type (:data:`USER_TYPE_TO_ZOOM_TYPE`: Basic 1, Licensed 2) different from the Zoom
  ``type``, whatever the Zoom status (pending invites included: they are invited with a type).
  Both directions; only Zoom-Licensed/Entra-Basic is reclaimable. A user holding several app
  roles (Entra's SingleAppRoleAssignment may send any of them) is not flagged when the Zoom
  type is the type of one of them.
* A Zoom user matched by several Entra users is linked to an in-scope one when there is one
  (its seat is in use: not ``licensed_entra_disabled`` because of a stale duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit.errors import SnapshotError
from zoomaudit.snapshot import Snapshot

#: Zoom REST ``type`` values we know (others are carried as ``unknown (<n>)``)
ZOOM_TYPES: dict[int, str] = {1: "Basic", 2: "Licensed", 3: "On-Prem", 4: "Unassigned", 99: "None"}
LICENSED = 2
BASIC = 1
#: SCIM ``userType`` (the app-role value the mappings send) -> the Zoom REST ``type`` Entra
#: intends, compared by ``licence_role_mismatch``. Only Basic and Licensed are compared: how
#: Zoom records On-Prem and the legacy Pro/Corp roles is [U]; extend this map if yours is known.
USER_TYPE_TO_ZOOM_TYPE: dict[str, int] = {"basic": 1, "licensed": 2}
#: plan keys documented for plans/usage (zoom.md §2.6); others are carried as unknown
KNOWN_PLAN_KEYS = frozenset(
    {
        "plan_base",
        "plan_zoom_one",
        "plan_united",
        "plan_large_meeting",
        "plan_webinar",
        "plan_zoom_events",
        "plan_zoom_rooms",
        "plan_room_connector",
        "plan_recording",
        "plan_whiteboard",
        "plan_zoom_iq",
        "plan_workforce_management",
        "plan_zsched",
        "plan_ztransl",
        "plan_zwr",
        "plan_znode_base",
    }
)
#: Connector limitation of the Zoom gallery app (zoom.md §3.1): "maximum of 9,999 basic users".
BASIC_USER_CAP = 9999
#: Zoom documents a ~3-day buffer on ``last_login_time`` (zoom.md §2.3)
LOGIN_BUFFER_DAYS = 3

CATEGORIES = (
    "licensed_inactive",
    "licensed_deactivated",
    "licensed_entra_disabled",
    "licensed_unmanaged",
    "licence_role_mismatch",
)
#: categories whose seat could be reclaimed (role mismatch only when Zoom holds more than intended)
RECLAIMABLE = CATEGORIES

FINDING_COLUMNS = (
    "category",
    "zoom_id",
    "zoom_user_name",
    "user_principal_name",
    "entra_id",
    "licence_type",
    "zoom_type",
    "zoom_status",
    "intended_user_type",
    "department",
    "country",
    "last_login_time",
    "days_since_login",
    "zoom_created_at",
    "zoom_last_activity",
    "entra_account_enabled",
    "entra_last_sign_in",
    "out_of_scope_reason",
    "reclaimable",
    "login_buffer_note",
    "detail",
    "excluded",
    "exclusion_reason",
)


@dataclass
class LicenceAudit:
    """Result of :func:`audit`.

    Attributes:
        findings: one row per (Zoom user, category); columns :data:`FINDING_COLUMNS`.
        seats: per plan row: plan_key, position, plan_type, known, purchased, assigned,
            pending, unassigned, available, over_allocated, overcommitted,
            counted_assigned, counted_pending, detail; see :func:`seats`.
        basic_cap: one row: cap, basic_users (type 1, any status but deactivated), headroom, ok.
        by_department / by_country: one row per department (Zoom ``dept``) / country (Entra
            ``usage_location`` else ``country``) with users, one column per licence type label,
            reclaimable.
        reclaim: dry-run plan, one row per Zoom user: zoom_id, zoom_user_name,
            user_principal_name, current_type, proposed_type, action, reasons, excluded, detail.
        estimate: per reclaimable category and ``total``: users, price_per_seat, currency,
            per_month, per_year (NA without a price). Users counted once in ``total``.
        unknown_types: Zoom ``type`` values outside :data:`ZOOM_TYPES`: type, users, examples.
        unknown_plans: plan rows whose key is not in :data:`KNOWN_PLAN_KEYS` (carried in
            ``seats`` as well): plan_key, position, plan_type, raw.
        expired_exclusions: exclusion entries past their date (see ``exclusions.apply``).
        notes: inputs the snapshot lacks (plans usage, activity report) and what that means.
        parameters: the thresholds used.
    """

    findings: pd.DataFrame
    seats: pd.DataFrame
    basic_cap: pd.DataFrame
    by_department: pd.DataFrame
    by_country: pd.DataFrame
    reclaim: pd.DataFrame
    estimate: pd.DataFrame
    unknown_types: pd.DataFrame
    unknown_plans: pd.DataFrame
    expired_exclusions: pd.DataFrame | None = None
    parameters: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Counts per category (with excluded), seats and the estimate as one small table.

        Columns: item, value, excluded, detail.
        """
        rows = []
        f = self.findings
        for cat in CATEGORIES:
            sel = f[f["category"] == cat]
            rows.append((cat, len(sel), int(sel["excluded"].sum()), ""))
        for rec in self.seats.itertuples(index=False):
            if pd.notna(rec.purchased):
                rows.append(
                    (
                        f"seats:{rec.plan_key}[{rec.position}]",
                        rec.available,
                        0,
                        f"purchased {rec.purchased}, assigned {rec.assigned}, "
                        f"pending {rec.pending}, unassigned {rec.unassigned}"
                        + (" OVER-ALLOCATED" if rec.over_allocated else "")
                        + (" OVERCOMMITTED" if rec.overcommitted else ""),
                    )
                )
        cap = self.basic_cap.iloc[0]
        rows.append(
            ("basic_user_cap", cap["headroom"], 0, f"{cap['basic_users']} of {cap['cap']}")
        )
        total = self.estimate[self.estimate["category"] == "total"].iloc[0]
        rows.append(
            (
                "reclaimable_users",
                total["users"],
                0,
                ""
                if pd.isna(total["per_year"])
                else f"{total['per_month']:.2f} {total['currency']}/month, "
                f"{total['per_year']:.2f} {total['currency']}/year",
            )
        )
        rows.append(("unknown_types", len(self.unknown_types), 0, ""))
        rows.append(("unknown_plans", len(self.unknown_plans), 0, ""))
        return pd.DataFrame(rows, columns=["item", "value", "excluded", "detail"])


def isin_text(series: pd.Series, values) -> pd.Series:
    """``series.isin(values)`` for text, via Arrow (pandas' ``str`` isin loops in Python).

    NA never matches. Returns a numpy-backed bool Series aligned to ``series``.
    """
    right = _arrow(values)
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    hit = pc.fill_null(pc.is_in(_arrow(series), value_set=pc.drop_null(right)), False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=series.index, dtype=bool)


def licence_label(types: pd.Series) -> pd.Series:
    """Human label of Zoom REST ``type`` values: Basic, Licensed, ..., ``unknown (<n>)``."""
    labels = types.map(ZOOM_TYPES)
    unknown = labels.isna()
    if unknown.any():
        labels = labels.astype(object)
        labels[unknown] = "unknown (" + types[unknown].astype("str").fillna("missing") + ")"
    return labels.astype("str")


def older_than(times: pd.Series, now: pd.Timestamp, days: int) -> pd.Series:
    """True where ``now - time`` is strictly more than ``days`` * 24 h (False for NA times)."""
    return (times < (now - pd.Timedelta(days=days))).fillna(False).astype(bool)


# ---------------------------------------------------------------------------------- account level
def seats(snapshot: Snapshot) -> pd.DataFrame:
    """Seat arithmetic per plans/usage row, exactly as the payload gives it.

    Returns columns: plan_key, position, plan_type, known (documented plan key), purchased
    (``hosts``), assigned (``usage``), pending (invited, not yet active), unassigned
    (purchased - assigned: Zoom's own arithmetic, zoom.md §2.6), available (purchased -
    assigned - pending: what can be given out without overbooking outstanding invites; the
    figure readiness and rollout plan with), over_allocated (assigned > purchased),
    overcommitted (assigned + pending > purchased), counted_assigned / counted_pending
    (plan_base only: Licensed users in ``zoom_users`` active or deactivated / pending;
    deactivated users may hold a seat [U], so this is a plausibility check against
    ``assigned``), detail. Seat figures are NA for plans without ``hosts``; rows of unknown plan
    keys are kept.
    """
    plans = snapshot.table("zoom_plans")
    users = snapshot.table("zoom_users")
    out = pd.DataFrame(
        {
            "plan_key": plans["plan_key"],
            "position": plans["position"],
            "plan_type": plans["plan_type"],
            "known": plans["plan_key"].isin(KNOWN_PLAN_KEYS).astype("boolean"),
            "purchased": plans["hosts"],
            "assigned": plans["usage"],
            "pending": plans["pending"],
        }
    )
    out["unassigned"] = out["purchased"] - out["assigned"]
    out["available"] = out["unassigned"] - out["pending"].fillna(0)
    out["over_allocated"] = (out["unassigned"] < 0).astype("boolean")
    out["overcommitted"] = (out["available"] < 0).astype("boolean")
    licensed = users["type"].eq(LICENSED).fillna(False).to_numpy(bool)
    status = users["status"].str.lower()
    held = int((licensed & isin_text(status, ["active", "inactive"]).to_numpy(bool)).sum())
    invited = int((licensed & status.eq("pending").fillna(False).to_numpy(bool)).sum())
    base = (out["plan_key"] == "plan_base").to_numpy(bool)
    out["counted_assigned"] = pd.array([held if b else pd.NA for b in base], dtype="Int64")
    out["counted_pending"] = pd.array([invited if b else pd.NA for b in base], dtype="Int64")
    detail = pd.Series("", index=out.index, dtype="str")
    detail[~out["known"]] = "plan key not documented; carried as received"
    detail[out["purchased"].isna()] = "no hosts field (not a seat plan)"
    over = out["overcommitted"].fillna(False)
    detail[over] = (
        "overcommitted by " + (-out.loc[over, "available"]).astype("str")
        + " seat(s) counting pending invites"
    )  # fmt: skip
    over = out["over_allocated"].fillna(False)
    detail[over] = (
        "over-allocated: " + (-out.loc[over, "unassigned"]).astype("str")
        + " more assigned than purchased"
    )  # fmt: skip
    out["detail"] = detail
    return out.reset_index(drop=True)


def basic_cap(snapshot: Snapshot, cap: int = BASIC_USER_CAP) -> pd.DataFrame:
    """The Zoom connector's Basic-user cap (zoom.md §3.1) against the Basic users held now.

    Counts ``type == 1`` users that are active or pending (deactivated users are assumed not to
    count; [U] Zoom does not document it). Columns: cap, basic_users, headroom, ok.
    """
    users = snapshot.table("zoom_users")
    n = int(
        (
            users["type"].eq(BASIC).fillna(False)
            & isin_text(users["status"], ["active", "pending"])
        ).sum()
    )
    return pd.DataFrame(
        {"cap": [cap], "basic_users": [n], "headroom": [cap - n], "ok": [n <= cap]}
    )


def unknown_types(zoom_users: pd.DataFrame) -> pd.DataFrame:
    """Zoom ``type`` values outside :data:`ZOOM_TYPES` (NA included): type, users, examples."""
    sel = zoom_users[~zoom_users["type"].isin(list(ZOOM_TYPES)).fillna(False)]
    if sel.empty:
        return pd.DataFrame(
            {
                "type": pd.Series(dtype="Int64"),
                "users": pd.Series(dtype="int64"),
                "examples": pd.Series(dtype="str"),
            }
        )
    key = sel["email"].fillna(sel["zoom_id"])
    grouped = key.groupby(sel["type"], dropna=False)
    return pd.DataFrame(
        {
            "type": pd.Series(grouped.size().index, dtype="Int64"),
            "users": grouped.size().to_numpy(),
            "examples": grouped.agg(
                lambda s: ", ".join(s.dropna().astype(str).head(3))
            ).to_numpy(),
        }
    )


def unknown_plans(snapshot: Snapshot) -> pd.DataFrame:
    """Plan rows whose key is not documented: plan_key, position, plan_type, raw."""
    plans = snapshot.table("zoom_plans")
    sel = plans[~plans["plan_key"].isin(KNOWN_PLAN_KEYS)]
    return sel[["plan_key", "position", "plan_type", "raw"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------- user level
ENTRA_EVIDENCE = {
    "user_principal_name": "user_principal_name",
    "account_enabled": "entra_account_enabled",
    "last_sign_in": "entra_last_sign_in",
    "usage_location": "usage_location",
    "country": "country",
}


def _arrow(series) -> pa.Array | pa.ChunkedArray:
    """A text column as an Arrow array (zero-copy for pandas' ``str`` dtype)."""
    if not isinstance(series, pd.Series):
        series = pd.Series(np.asarray(series, dtype=object), dtype="str")
    return pa.array(series.astype("str").array)


def _positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Position of each of ``values`` in ``keys`` (first occurrence; -1 where absent or NA)."""
    right = _arrow(keys)
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    pos = pc.index_in(_arrow(values), value_set=pc.drop_null(right) if right.null_count else right)
    if right.null_count:  # positions refer to the null-free set: map back
        back = np.flatnonzero(~np.asarray(right.is_null().to_numpy(zero_copy_only=False)))
        out = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return np.where(out >= 0, back[np.maximum(out, 0)], -1)
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _take(series: pd.Series, pos: np.ndarray, index: pd.Index) -> pd.Series:
    """``series`` values at positions ``pos`` (NA where -1), on ``index``."""
    return pd.Series(series.array.take(pos, allow_fill=True), index=index)


@dataclass
class Links:
    """Zoom users linked to Entra (``frame``) and the de-duplicated ``entra_users`` (``entra``)."""

    frame: pd.DataFrame
    entra: pd.DataFrame


def _links(snapshot: Snapshot, result) -> Links:
    """Zoom REST users linked to their matched Entra user, scope and intended userType.

    ``result`` is a :class:`zoomaudit.reconcile.ReconcileResult`. ``frame`` has one row per
    ``zoom_users`` row (same order, RangeIndex) with the Zoom columns plus entra_id, _eu
    (position in the de-duplicated ``entra_users``, -1 when unmatched), in_scope,
    out_of_scope_reason, intended_user_type, licence_type, unmanaged. Entra evidence columns
    are taken lazily with :func:`_entra_columns` (only for the rows that need them).
    """
    zu = snapshot.table("zoom_users").reset_index(drop=True)
    idx = zu.index
    m = result.matches
    pairs = m[m["zoom_key"].notna() & m["entra_id"].notna()]
    if pairs["zoom_key"].duplicated().any():
        # a Zoom user matched by several Entra users is linked to an in-scope one if any:
        # its seat is in use, so it is not reported as held by an out-of-scope user
        sp = _positions(result.scope["entra_id"], pairs["entra_id"])
        held = np.where(sp >= 0, result.scope["in_scope"].to_numpy(bool)[np.maximum(sp, 0)], False)
        pairs = pairs.iloc[np.argsort(~held, kind="stable")]
    pairs = pairs.drop_duplicates("zoom_key")
    entra_id = _take(pairs["entra_id"], _positions(pairs["zoom_key"], _zoom_keys(zu, result)), idx)
    eu = snapshot.table("entra_users").drop_duplicates("entra_id")
    scope = result.scope.drop_duplicates("entra_id")
    sp = _positions(scope["entra_id"], entra_id)
    # (NA-safe take: a Zoom-only snapshot has no scope rows at all)
    in_scope = _take(scope["in_scope"].astype("boolean"), sp, idx).fillna(False).to_numpy(bool)
    expected = result.expected
    if "user_type" in expected.columns and len(expected):
        exp = expected.drop_duplicates("entra_id")
        intended = _take(exp["user_type"], _positions(exp["entra_id"], entra_id), idx)
    else:
        intended = pd.Series(pd.NA, index=idx, dtype="str")
    f = result.findings
    unmanaged_ids = f.loc[f["category"] == "unmanaged_zoom_user", "zoom_id"].dropna()
    out = zu.assign(
        entra_id=entra_id.astype("str"),
        _eu=_positions(eu["entra_id"], entra_id),
        in_scope=in_scope,
        out_of_scope_reason=_take(scope["out_of_scope_reason"], sp, idx).astype("str"),
        intended_user_type=intended.astype("str"),
        licence_type=licence_label(zu["type"]),
        unmanaged=isin_text(zu["zoom_id"], unmanaged_ids.unique()),
    )
    return Links(out, eu)


def _zoom_keys(zu: pd.DataFrame, result) -> pd.Series:
    """The reconcile's ``zoom_key`` of each REST row (``matching.zoom_accounts``).

    Rows with an id use it; pending invites without one (REST hides their id) take the key of
    the pending account with the same userName (case-insensitive) in ``result.zoom``.
    """
    keys = zu["zoom_id"].astype("str")
    missing = keys.isna()
    zoom = getattr(result, "zoom", None)
    if missing.any() and zoom is not None and len(zoom):
        from zoomaudit.matching import normalize_key

        pend = zoom[zoom["status"].eq("pending").fillna(False).to_numpy(bool)]
        pend = pend.assign(_k=normalize_key(pend["user_name"])).dropna(subset=["_k"])
        pend = pend.drop_duplicates("_k")
        want = normalize_key(zu.loc[missing, "email"])
        found = _take(pend["zoom_key"], _positions(pend["_k"], want), want.index)
        keys = keys.copy()
        keys[missing] = found.astype("str")
    return keys


def _entra_columns(
    z: pd.DataFrame, eu: pd.DataFrame, index: pd.Index, columns=ENTRA_EVIDENCE
) -> pd.DataFrame:
    """Entra evidence (:data:`ENTRA_EVIDENCE`) for rows of a links frame (``_eu`` positions)."""
    pos = z["_eu"].to_numpy()
    return pd.DataFrame(
        {new: _take(eu[old], pos, index) for old, new in columns.items()}, index=index
    )


def _country(links: Links) -> pd.Series:
    """Country of each Zoom user's matched Entra user: usage_location, else country."""
    z = links.frame
    ent = _entra_columns(z, links.entra, z.index, {"usage_location": "u", "country": "c"})
    return ent["u"].fillna(ent["c"])


def _last_activity(snapshot: Snapshot, keys: pd.Series) -> pd.Series:
    """Latest ``Sign in`` from the activity report for lower-cased e-mails ``keys``.

    Returns a Series aligned to ``keys`` (NaT where the report has none).
    """
    act = snapshot.table("zoom_activities")
    out = np.full(len(keys), np.iinfo(np.int64).min, dtype=np.int64)
    if len(act) and len(keys):
        uniq = pd.Series(keys.dropna().unique(), dtype="str")
        pos = _positions(uniq, act["email"].str.lower())
        ok = (pos >= 0) & act["type"].str.lower().eq("sign in").fillna(False).to_numpy(bool)
        ok &= act["time"].notna().to_numpy(bool)
        best = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
        times = act["time"].to_numpy("datetime64[us]").astype(np.int64)
        np.maximum.at(best, pos[ok], times[ok])
        kp = _positions(uniq, keys)
        out = np.where(kp >= 0, best[np.maximum(kp, 0)], out)
    values = pd.to_datetime(
        np.where(out == np.iinfo(np.int64).min, np.iinfo(np.int64).min, out).astype(
            "datetime64[us]"
        ),
        utc=True,
    )
    return pd.Series(values, index=keys.index).astype("datetime64[us, UTC]")


def _several_roles_accepted(snapshot: Snapshot, result, z: pd.DataFrame, mismatch) -> pd.Series:
    """``mismatch`` cleared for users holding several app roles when the Zoom type is the type
    of one of them (Entra's SingleAppRoleAssignment may send any of several roles)."""
    from zoomaudit.reconcile import held_role_values, user_type_is_role

    if not mismatch.any() or not user_type_is_role(result.expected):
        return mismatch
    sc = result.scope.drop_duplicates("entra_id").set_index("entra_id")
    count = z["entra_id"].map(sc["role_count"]).astype("Int64").fillna(0).astype(int)
    several = mismatch & (count > 1)
    if not several.any():
        return mismatch
    pairs = {
        (eid, USER_TYPE_TO_ZOOM_TYPE[v]) for eid, v in held_role_values(snapshot)
        if v in USER_TYPE_TO_ZOOM_TYPE
    }  # fmt: skip
    out = mismatch.copy()
    for i in several[several].index:
        if (z.at[i, "entra_id"], int(z.at[i, "type"])) in pairs:
            out[i] = False
    return out


def findings(
    snapshot: Snapshot,
    result,
    *,
    inactive_days: int = 90,
    grace_days: int = 30,
    links: Links | None = None,
) -> pd.DataFrame:
    """The per-user licence findings (without exclusions); columns :data:`FINDING_COLUMNS`.

    ``links`` is a precomputed ``_links(snapshot, result)`` (saves recomputing it).
    """
    now = pd.Timestamp(snapshot.taken_at)
    links = _links(snapshot, result) if links is None else links
    z = links.frame
    licensed = z["type"].eq(LICENSED).fillna(False).astype(bool)
    status = z["status"].str.lower()
    active = status.eq("active").fillna(False).astype(bool)
    deactivated = status.eq("inactive").fillna(False).astype(bool)
    never = z["last_login_time"].isna()
    stale_login = older_than(z["last_login_time"], now, inactive_days)
    stale_never = never & older_than(z["created_at"], now, grace_days)
    in_scope = z["in_scope"].fillna(False).astype(bool)
    matched = z["entra_id"].notna()
    nested_only = z["out_of_scope_reason"].eq("nested_group_only").fillna(False).astype(bool)
    intended = z["intended_user_type"].str.lower().map(USER_TYPE_TO_ZOOM_TYPE)
    intended = pd.to_numeric(intended, errors="coerce").astype("Int64")
    mismatch = (
        matched
        & in_scope
        & intended.notna()
        & z["type"].notna()
        & intended.ne(z["type"]).fillna(False).astype(bool)
    )
    mismatch = _several_roles_accepted(snapshot, result, z, mismatch)
    masks = {
        "licensed_inactive": licensed & active & (stale_login | stale_never),
        "licensed_deactivated": licensed & deactivated,
        "licensed_entra_disabled": licensed & active & matched & ~in_scope & ~nested_only,
        "licensed_unmanaged": licensed & active & z["unmanaged"],
        "licence_role_mismatch": mismatch,
    }
    age_days = (now - z["last_login_time"]) / pd.Timedelta(days=1)
    created_days = (now - z["created_at"]) / pd.Timedelta(days=1)
    label = z["licence_type"] if "licence_type" in z.columns else licence_label(z["type"])
    parts = []
    for cat, mask in masks.items():
        idx = mask[mask].index
        if not len(idx):
            continue
        sel = z.loc[idx, ["out_of_scope_reason", "intended_user_type", "type"]]
        if cat == "licensed_inactive":
            detail = pd.Series(
                "last Zoom login "
                + age_days[idx].round(1).astype("str")
                + f" days before the snapshot (> {inactive_days})",
                index=idx,
                dtype="str",
            )
            nv = never[idx]
            detail[nv] = (
                "never logged in; created "
                + created_days[idx][nv].round(1).astype("str")
                + f" days before the snapshot (> {grace_days})"
            )
        elif cat == "licensed_deactivated":
            detail = pd.Series(
                "Licensed but deactivated in Zoom; the seat may still be held",
                index=idx,
                dtype="str",
            )
            detail = detail + ("; Entra: " + sel["out_of_scope_reason"]).fillna("")
        elif cat == "licensed_entra_disabled":
            detail = "matched Entra user is not in provisioning scope: " + sel[
                "out_of_scope_reason"
            ].fillna("out of scope")
        elif cat == "licensed_unmanaged":
            detail = pd.Series(
                "Licensed, active and not managed by Entra provisioning (unmanaged_zoom_user)",
                index=idx,
                dtype="str",
            )
        else:
            detail = (
                "Entra intends userType "
                + sel["intended_user_type"]
                + " (type "
                + intended[idx].astype("str")
                + "), Zoom has "
                + label[idx]
                + " (type "
                + sel["type"].astype("str")
                + ")"
            )
        frame = pd.DataFrame({"category": cat, "detail": detail.astype("str")}, index=idx)
        reclaim = pd.Series(cat != "licence_role_mismatch", index=idx)
        if cat == "licence_role_mismatch":
            reclaim = sel["type"].eq(LICENSED) & intended[idx].ne(LICENSED)
        frame["reclaimable"] = reclaim.fillna(False).astype(bool)
        parts.append(frame)
    if not parts:
        empty_hits = pd.DataFrame(
            {"category": pd.Series(dtype="str"), "detail": pd.Series(dtype="str"),
             "reclaimable": pd.Series(dtype=bool)}
        )  # fmt: skip
        return _shape(empty_hits, links, age_days, snapshot, inactive_days)
    hits = pd.concat(parts)
    return _shape(hits, links, age_days, snapshot, inactive_days)


def _shape(hits, links, age_days, snapshot, inactive_days) -> pd.DataFrame:
    pos = hits.index.to_numpy()
    hits = hits.reset_index(drop=True)
    idx = hits.index
    cols = [
        "zoom_id",
        "email",
        "entra_id",
        "licence_type",
        "type",
        "status",
        "dept",
        "intended_user_type",
        "last_login_time",
        "created_at",
        "out_of_scope_reason",
        "_eu",
    ]
    sel = links.frame[cols].take(pos).reset_index(drop=True)
    ent = _entra_columns(sel, links.entra, idx)
    last_act = _last_activity(snapshot, sel["email"].str.lower())
    dsl = pd.Series(age_days.to_numpy()[pos], index=idx).round(1)
    near = (dsl - inactive_days).abs() <= LOGIN_BUFFER_DAYS
    note = pd.Series("", index=idx, dtype="str")
    note[near.fillna(False).astype(bool)] = (
        f"within Zoom's ~{LOGIN_BUFFER_DAYS}-day last_login_time buffer of the threshold"
    )
    country = ent["usage_location"].fillna(ent["country"])
    out = pd.DataFrame(
        {
            "category": hits["category"].astype("str"),
            "zoom_id": sel["zoom_id"],
            "zoom_user_name": sel["email"],
            "user_principal_name": ent["user_principal_name"].astype("str"),
            "entra_id": sel["entra_id"],
            "licence_type": sel["licence_type"],
            "zoom_type": sel["type"],
            "zoom_status": sel["status"],
            "intended_user_type": sel["intended_user_type"].astype("str"),
            "department": sel["dept"],
            "country": country.astype("str"),
            "last_login_time": sel["last_login_time"],
            "days_since_login": dsl.astype("Float64"),
            "zoom_created_at": sel["created_at"],
            "zoom_last_activity": last_act,
            "entra_account_enabled": ent["entra_account_enabled"].astype("boolean"),
            "entra_last_sign_in": ent["entra_last_sign_in"],
            "out_of_scope_reason": sel["out_of_scope_reason"].astype("str"),
            "reclaimable": hits["reclaimable"].astype(bool),
            "login_buffer_note": note,
            "detail": hits["detail"].astype("str"),
        },
        index=idx,
    )
    order = {c: i for i, c in enumerate(CATEGORIES)}
    out["_o"] = out["category"].map(order)
    out = out.sort_values(["_o", "zoom_user_name", "zoom_id"], kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)


def _breakdown(z: pd.DataFrame, key: pd.Series, reclaim_ids: pd.Series, name: str) -> pd.DataFrame:
    """Users per licence label for each value of ``key`` (NA -> ``(none)``)."""
    k = key.fillna("(none)").astype("str")
    table = pd.crosstab(k, z["licence_type"])
    table.columns = [str(c) for c in table.columns]
    for col in ("Basic", "Licensed"):
        if col not in table.columns:
            table[col] = 0
    table.insert(0, "users", table.sum(axis=1))
    rec = isin_text(z["zoom_id"], reclaim_ids)
    table["reclaimable"] = rec.groupby(k).sum().reindex(table.index, fill_value=0).astype(int)
    table.index.name = name
    return table.reset_index().sort_values(
        ["users", name], ascending=[False, True], ignore_index=True
    )


def reclaim_plan(found: pd.DataFrame) -> pd.DataFrame:
    """Dry-run plan: one row per Zoom user with a reclaimable finding. Changes nothing.

    Columns: zoom_id, zoom_user_name, user_principal_name, current_type, proposed_type, action,
    reasons (categories in :data:`CATEGORIES` order, ``;``-joined), excluded (any of the
    user's findings excluded), detail (the findings' details, `` | ``-joined).
    """
    rec = found[found["reclaimable"].to_numpy(bool)]
    cols = ["zoom_id", "zoom_user_name", "user_principal_name", "current_type",
            "proposed_type", "action", "reasons", "excluded", "detail"]  # fmt: skip
    key = rec["zoom_id"].fillna("email:" + rec["zoom_user_name"].fillna(""))
    codes, uniques = pd.factorize(key)
    n = len(uniques)
    _, first = np.unique(codes, return_index=True)
    head = rec.iloc[first] if n else rec
    cat = rec["category"].to_numpy(object)
    det = rec["detail"].fillna("").to_numpy(object)
    bits = np.zeros(n, dtype=np.int64)
    for k, c in enumerate(CATEGORIES):
        sel = cat == c
        bits[codes[sel]] |= 1 << k
    combos = {b: ";".join(c for k, c in enumerate(CATEGORIES) if b >> k & 1)
              for b in np.unique(bits).tolist()}  # fmt: skip
    reasons = pd.Series(bits).map(combos).to_numpy(object)
    counts = np.bincount(codes, minlength=n)
    detail = det[first] if n else np.array([], dtype=object)
    if n and counts.max() > 1:  # rows are in category order: append 2nd, 3rd, ... details
        detail = detail.copy()
        occurrence = pd.Series(codes).groupby(codes).cumcount().to_numpy()
        for k in range(1, int(counts.max())):
            rows = occurrence == k
            detail[codes[rows]] = detail[codes[rows]] + " | " + det[rows]
    excluded = np.bincount(codes, weights=rec["excluded"].to_numpy(float), minlength=n) > 0
    out = pd.DataFrame(
        {
            "zoom_id": head["zoom_id"].to_numpy(),
            "zoom_user_name": head["zoom_user_name"].to_numpy(),
            "user_principal_name": head["user_principal_name"].to_numpy(),
            "current_type": head["licence_type"].to_numpy(),
            "proposed_type": "Basic",
            "action": np.where(excluded, "none: excluded",
                               "would change type Licensed (2) -> Basic (1)"),
            "reasons": reasons,
            "excluded": excluded,
            "detail": detail,
        },
        columns=cols,
    )  # fmt: skip
    text = [c for c in cols if c != "excluded"]
    out[text] = out[text].astype("str")
    return out.astype({"excluded": bool})


def estimate(found: pd.DataFrame, price_per_seat: float | None, currency: str) -> pd.DataFrame:
    """Reclaim estimate per category and ``total`` (unique users), excluded users left out.

    Columns: category, users, price_per_seat, currency, per_month, per_year.
    """
    rec = found[found["reclaimable"] & ~found["excluded"]]
    rows = [(c, int((rec["category"] == c).sum())) for c in RECLAIMABLE]
    key = rec["zoom_id"].fillna("email:" + rec["zoom_user_name"].fillna(""))
    rows.append(("total", int(key.nunique())))
    out = pd.DataFrame(rows, columns=["category", "users"])
    price = float("nan") if price_per_seat is None else float(price_per_seat)
    out["price_per_seat"] = pd.array([price] * len(out), dtype="Float64")
    out["currency"] = currency
    out["per_month"] = (out["users"] * out["price_per_seat"]).astype("Float64")
    out["per_year"] = (out["per_month"] * 12).astype("Float64")
    if price_per_seat is None:
        out[["price_per_seat", "per_month", "per_year"]] = pd.NA
    return out


def audit(
    snapshot: Snapshot,
    *,
    inactive_days: int = 90,
    grace_days: int = 30,
    price_per_seat: float | None = None,
    currency: str = "EUR",
    exclusions=None,
    reconcile_result=None,
) -> LicenceAudit:
    """Run the licence audit over one snapshot (pure; changes nothing anywhere).

    Args:
        snapshot: the snapshot to audit; ages are measured from ``snapshot.taken_at``.
        inactive_days: a Licensed user whose last Zoom login is more than this many days
            before ``taken_at`` is ``licensed_inactive``.
        grace_days: a Licensed user who never logged in and was created more than this many
            days before ``taken_at`` is ``licensed_inactive``.
        price_per_seat: monthly price of one Licensed seat, for the estimate (None: no amounts).
        currency: currency label of ``price_per_seat``.
        exclusions: exclusion rules (a path or what :func:`zoomaudit.exclusions.load` returns);
            excluded findings are kept, marked (``excluded``, ``exclusion_reason``) and counted,
            and left out of the estimate and the reclaim actions.
        reconcile_result: a :class:`zoomaudit.reconcile.ReconcileResult` of the same snapshot
            (computed here when None).

    Returns:
        A :class:`LicenceAudit`.
    """
    if inactive_days < 0 or grace_days < 0:
        raise ValueError("inactive_days and grace_days must be >= 0")
    if not snapshot.has("zoom_users"):
        raise SnapshotError(
            f"snapshot {snapshot.id} holds no Zoom REST users (zoom_users); the licence audit "
            "needs them: pull with Zoom REST credentials (user:read:admin)"
        )
    if reconcile_result is None:
        from zoomaudit.reconcile import reconcile

        reconcile_result = reconcile(snapshot)
    links = _links(snapshot, reconcile_result)
    z = links.frame
    found = findings(
        snapshot, reconcile_result, inactive_days=inactive_days, grace_days=grace_days, links=links
    )

    found, expired = _apply_exclusions(found, exclusions, snapshot.taken_at.date())
    found = found[list(FINDING_COLUMNS)]
    rec_ids = found.loc[found["reclaimable"] & ~found["excluded"], "zoom_id"].dropna()
    return LicenceAudit(
        findings=found,
        seats=seats(snapshot),
        basic_cap=basic_cap(snapshot),
        by_department=_breakdown(z, z["dept"], rec_ids, "department"),
        by_country=_breakdown(z, _country(links), rec_ids, "country"),
        reclaim=reclaim_plan(found),
        estimate=estimate(found, price_per_seat, currency),
        unknown_types=unknown_types(snapshot.table("zoom_users")),
        unknown_plans=unknown_plans(snapshot),
        expired_exclusions=expired,
        notes=_notes(snapshot),
        parameters={
            "inactive_days": inactive_days,
            "grace_days": grace_days,
            "price_per_seat": price_per_seat,
            "currency": currency,
            "taken_at": snapshot.taken_at.isoformat(),
        },
    )


def _notes(snapshot: Snapshot) -> list[str]:
    notes = []
    if not snapshot.has("zoom_plans"):
        notes.append("plans usage not in the snapshot: no seat arithmetic (seats is empty)")
    if not snapshot.has("zoom_activities"):
        notes.append("activity report not pulled: zoom_last_activity is empty")
    if not snapshot.table("entra_users")["last_sign_in"].notna().any():
        notes.append("Entra sign-in activity not pulled: entra_last_sign_in is empty")
    return notes


def _apply_exclusions(found: pd.DataFrame, exclusions, today) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark excluded findings (kept and counted); returns (findings, expired exclusions)."""
    found = found.copy()
    found["excluded"] = False
    found["exclusion_reason"] = pd.Series(pd.NA, index=found.index, dtype="str")
    if exclusions is None:
        return found, pd.DataFrame(
            columns=["user_or_pattern", "reason", "expires", "line", "would_match"]
        )
    from zoomaudit import exclusions as excl

    if not isinstance(exclusions, excl.Exclusions):
        exclusions = excl.load(exclusions)
    return excl.apply(found, exclusions, today)
