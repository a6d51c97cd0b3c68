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
   addresses (UPN, mail, proxyAddresses smtp:, otherMails)
5. ``not_provisioned``        in scope, no match; evidence = latest provisioning event
6. ``nested_group_only``      out of scope only because membership is nested (any Zoom state)
7. ``should_be_deactivated``  otherwise out of scope while the matched Zoom user is active
8. (no row)                   otherwise out of scope without an active Zoom account

A Zoom user matched by no Entra user and named in no ``email_conflict`` row: pending ->
``pending_invite``, active -> ``unmanaged_zoom_user``, deactivated -> no row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from zoomaudit import mapping as mapping_mod
from zoomaudit.errors import SnapshotError
from zoomaudit.matching import match, normalize_key, zoom_accounts
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
        exclusion_reason. Rows are ordered by category, then user.
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
    )


def _classify(snapshot, users, scope, expected, zoom, matches) -> pd.DataFrame:
    ids = scope["entra_id"]
    zidx = zoom.set_index("zoom_key")
    m = matches.drop_duplicates("entra_id").set_index("entra_id")
    zk = ids.map(m["zoom_key"])
    status = zk.map(zidx["status"]).astype("str")
    matched = zk.notna().to_numpy()
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
    cat = np.full(len(scope), None, dtype=object)

    def setcat(mask, name):
        nonlocal cat
        cat = np.where((cat == None) & mask, name, cat)  # noqa: E711

    exp = expected.set_index("entra_id") if len(expected) else expected
    # -- attribute comparison for in-scope users matched to an active Zoom user
    cmp_mask = in_scope & matched & active
    drift_attrs = pd.Series("", index=scope.index, dtype="str")
    drift_detail = pd.Series("", index=scope.index, dtype="str")
    if cmp_mask.any():
        sub_ids = ids[cmp_mask]
        sub_zk = zk[cmp_mask]
        unevaluated = expected.attrs.get("unevaluated", {})
        mapped = {m.column for m in expected.attrs.get("mappings", [])}
        any_diff = pd.Series(False, index=sub_ids.index)
        names, details = [], []
        for ecol, zcol, ci in COMPARED:
            if ecol not in mapped or ecol in unevaluated or zcol not in zoom.columns:
                continue
            e = sub_ids.map(exp[ecol]).astype("str")
            z = sub_zk.map(zidx[zcol]).astype("str")
            en, zn = (normalize_key(e), normalize_key(z)) if ci else (_norm_text(e), _norm_text(z))
            diff = (e.notna() & ((en != zn).fillna(True) | zn.isna())).astype(bool)
            if diff.any():
                any_diff |= diff
                d = diff[diff].index
                names.append(pd.Series(ecol, index=d, dtype="str"))
                details.append(
                    ecol + ": expected '" + e[d].fillna("") + "', actual '"
                    + z[d].fillna("<none>") + "'"
                )  # fmt: skip
        drift_idx = any_diff[any_diff].index
        if len(drift_idx):
            drift_attrs = (
                _detail_join(names, drift_idx).str.replace("; ", ",").reindex(scope.index)
            )
            drift_detail = _detail_join(details, drift_idx).reindex(scope.index)
        drift = pd.Series(False, index=scope.index)
        drift[drift_idx] = True
        drift = drift.to_numpy(bool)
    else:
        drift = np.zeros(len(scope), bool)

    setcat(in_scope & matched & (status == "pending").fillna(False).to_numpy(bool),
           "pending_invite")  # fmt: skip
    setcat(in_scope & matched & (status == "inactive").fillna(False).to_numpy(bool),
           "zoom_user_inactive")  # fmt: skip
    setcat(cmp_mask & ~drift, "in_sync")
    setcat(cmp_mask & drift, "attribute_drift")

    # -- e-mail conflicts for in-scope users with no match
    unmatched = in_scope & ~matched
    conflict_zk = pd.Series(pd.NA, index=scope.index, dtype="str")
    conflict_addr = pd.Series(pd.NA, index=scope.index, dtype="str")
    if unmatched.any() and len(zoom):
        sub_users = users[users["entra_id"].isin(set(ids[unmatched]))]
        addrs = other_addresses(sub_users)
        addrs["key"] = normalize_key(addrs["address"])
        exp_key = normalize_key(addrs["entra_id"].map(exp["user_name"]))
        addrs = addrs[addrs["key"].notna() & (addrs["key"] != exp_key).fillna(True)]
        zkeys = pd.DataFrame(
            {"key": normalize_key(zoom["user_name"]), "zoom_key": zoom["zoom_key"]}
        ).dropna()
        zkeys = zkeys.assign(_r=zoom["status"].map({"active": 0, "inactive": 1, "pending": 2}))
        zkeys = zkeys.sort_values(["key", "_r", "zoom_key"]).drop_duplicates("key")
        hits = addrs.merge(zkeys[["key", "zoom_key"]], on="key")
        if len(hits):
            hits = hits.sort_values(["entra_id", "rank", "key"]).drop_duplicates("entra_id")
            pos = pd.Series(scope.index, index=ids)
            where = pos.reindex(hits["entra_id"]).to_numpy()
            conflict_zk[where] = hits["zoom_key"].to_numpy()
            conflict_addr[where] = (hits["address"] + " (" + hits["source"] + ")").to_numpy()
    has_conflict = conflict_zk.notna().to_numpy(bool)
    setcat(unmatched & has_conflict, "email_conflict")
    setcat(unmatched & ~has_conflict, "not_provisioned")
    setcat(~in_scope & (reason == "nested_group_only").fillna(False).to_numpy(bool),
           "nested_group_only")  # fmt: skip
    setcat(~in_scope & matched & active, "should_be_deactivated")
    cat = np.where(universe, cat, None)

    keep = pd.Series(cat, index=scope.index).notna().to_numpy(bool)
    f = pd.DataFrame(index=scope.index[keep])
    f["category"] = cat[keep]
    f["entra_id"] = ids[keep]
    u = users.set_index("entra_id")
    f["user_principal_name"] = f["entra_id"].map(u["user_principal_name"]).astype("str")
    row_zk = zk[keep].where(~pd.Series(has_conflict, index=scope.index)[keep],
                            conflict_zk[keep])  # fmt: skip
    f["_zoom_key"] = row_zk.astype("str")
    f["zoom_id"] = row_zk.map(zidx["zoom_id"]).astype("str")
    f["zoom_user_name"] = row_zk.map(zidx["user_name"]).astype("str")
    f["zoom_status"] = row_zk.map(zidx["status"]).astype("str")
    f["out_of_scope_reason"] = reason[keep].astype("str")
    f["expected_user_name"] = f["entra_id"].map(exp["user_name"]).astype("str")
    f["drift_attributes"] = drift_attrs[keep].replace("", pd.NA).astype("str")
    f["conflict_address"] = conflict_addr[keep].astype("str")
    sc = scope.set_index("entra_id")
    f["app_role_value"] = f["entra_id"].map(sc["app_role_value"]).astype("str")
    f["assigned_at"] = f["entra_id"].map(sc["assigned_at"])
    ev = latest_events(snapshot)
    f["last_event_at"] = f["entra_id"].map(ev["activity_at"])
    for src, dst in (("action", "last_event_action"), ("status", "last_event_status"),
                     ("error_code", "last_event_error_code"),
                     ("error_reason", "last_event_reason")):  # fmt: skip
        f[dst] = f["entra_id"].map(ev[src]).astype("str")
    f["detail"] = _details(snapshot, f, drift_detail[keep], sc)

    # -- Zoom users nobody matched and no conflict names
    claimed = set(matches["zoom_key"]) | set(conflict_zk.dropna())
    z = zoom[~zoom["zoom_key"].isin(claimed)]
    z = z[z["status"].isin(["pending", "active"])]
    zf = pd.DataFrame(
        {
            "category": np.where(
                z["status"] == "pending", "pending_invite", "unmanaged_zoom_user"
            ),
            "entra_id": pd.Series(pd.NA, index=z.index, dtype="str"),
            "user_principal_name": pd.Series(pd.NA, index=z.index, dtype="str"),
            "_zoom_key": z["zoom_key"],
            "zoom_id": z["zoom_id"],
            "zoom_user_name": z["user_name"],
            "zoom_status": z["status"],
            "detail": np.where(
                z["status"] == "pending",
                "Zoom invitation pending; no Entra user's expected userName matches it",
                "active Zoom user matched by no Entra user (created outside provisioning?)",
            ),
        }
    )
    out = pd.concat([f, zf], ignore_index=True)
    out["excluded"] = False
    out["exclusion_reason"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out["category"] = pd.Categorical(out["category"], categories=list(CATEGORIES), ordered=True)
    out = out.sort_values(
        ["category", "user_principal_name", "zoom_user_name", "entra_id", "_zoom_key"],
        kind="stable",
        na_position="last",
    )
    out["category"] = out["category"].astype("str")
    for c in FINDING_COLUMNS:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="str")
    text_cols = [c for c in FINDING_COLUMNS if c not in
                 ("assigned_at", "last_event_at", "excluded")]  # fmt: skip
    out[text_cols] = out[text_cols].astype("str")
    out["excluded"] = out["excluded"].astype(bool)
    return out[list(FINDING_COLUMNS)].reset_index(drop=True)


def _details(snapshot: Snapshot, f: pd.DataFrame, drift_detail: pd.Series, sc) -> pd.Series:
    detail = pd.Series("", index=f.index, dtype="str")
    cat = f["category"]
    d = drift_detail.reindex(f.index).fillna("")
    detail = detail.mask(cat == "attribute_drift", d)
    detail = detail.mask(cat == "in_sync", "all mapped attributes match")
    detail = detail.mask(cat == "pending_invite", "in scope; Zoom invitation not yet accepted")
    detail = detail.mask(cat == "zoom_user_inactive",
                         "in scope in Entra but the Zoom user is deactivated")  # fmt: skip
    detail = detail.mask(
        cat == "email_conflict",
        "no Zoom user with userName '" + f["expected_user_name"].fillna("") + "', but Zoom user '"
        + f["zoom_user_name"].fillna("") + "' holds " + f["conflict_address"].fillna(""),
    )  # fmt: skip
    why = (
        f["out_of_scope_reason"]
        .fillna("")
        .map(
            {
                "soft_deleted": "the user is soft-deleted in Entra",
                "disabled": "the user is disabled in Entra",
                "not_assigned": "the user is not assigned to the Zoom app",
                "scoping_filter": "the user fails the job's scoping filter",
                "nested_group_only": "only a member of a nested group of an assigned group",
            }
        )
        .fillna("out of scope")
    )
    detail = detail.mask(
        cat == "nested_group_only",
        "not provisioned: reaches an assigned group only through a nested group (Entra does "
        "not provision nested members); Zoom: " + f["zoom_status"].fillna("no account"),
    )
    detail = detail.mask(
        cat == "should_be_deactivated", "out of scope (" + why + ") but the Zoom user is active"
    )
    # not_provisioned evidence
    np_mask = cat == "not_provisioned"
    if np_mask.any():
        has_ev = f["last_event_action"].notna() | f["last_event_status"].notna()
        ev_text = (
            "latest provisioning event: " + f["last_event_action"].fillna("?") + " "
            + f["last_event_status"].fillna("?")
            + (" " + f["last_event_error_code"]).fillna("")
            + (" (" + f["last_event_reason"].str.slice(0, 200) + ")").fillna("")
            + " at " + f["last_event_at"].astype(str)
        )  # fmt: skip
        now = pd.Timestamp(snapshot.taken_at)
        age = now - pd.to_datetime(f["assigned_at"], utc=True)
        minutes = (age.dt.total_seconds() // 60).astype("Int64")
        cycle = cycle_length(snapshot)
        recent = (age <= pd.Timedelta(cycle)).fillna(False) & (age >= pd.Timedelta(0)).fillna(
            False
        )
        pending = "pending: assigned " + minutes.astype(str) + " minutes ago"
        since = (
            "no provisioning event yet; assigned "
            + (age.dt.days.astype("Int64")).astype(str)
            + " days ago"
        )
        no_ev = pd.Series("no provisioning event yet", index=f.index, dtype="str")
        no_ev = no_ev.mask(f["assigned_at"].notna(), since).mask(recent, pending)
        detail = detail.mask(np_mask, no_ev.mask(has_ev, ev_text))
    return detail.astype("str")
