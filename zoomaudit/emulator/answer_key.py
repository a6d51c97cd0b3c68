"""The answer key: what the analysis must find in a generated tenant, known by construction.

``generate`` plants each Entra user in a *situation* (in sync, drift, nested only, disabled
after the last cycle, ...) and records which Zoom row holds whose address; :func:`build` turns
those facts into the expected findings, independently of ``zoomaudit.reconcile`` (which works
from snapshot tables by string matching). ``tests/emulator`` and the analysis tests compare
the kit's output with these frames.

Frames (``tenant.answer_key``), written by :func:`write_answer_key` as
``<dir>/answer_key/<name>.parquet`` plus ``summary.json`` (counts per category):

* ``reconcile``: entra_id (NA for Zoom-only rows), zoom_id (NA when no Zoom user),
  zoom_user_name (the Zoom e-mail/userName), category (:data:`RECONCILE_CATEGORIES`).
* ``licences``: zoom_id, zoom_user_name, category (:data:`LICENCE_CATEGORIES`); several rows per
  Zoom user allowed.
* ``situations``: entra_id, situation (the generator's planted situation of every Entra
  user, e.g. ``drift``, ``np_domain``, ``nested_none``; for targeted tests and debugging).
* ``readiness``: candidates ("assigned" or a candidate group's displayName), entra_id, category
  (:data:`READINESS_CATEGORIES`); one row per applicable category, ``ready`` when none.

Interpretations fixed here: ``upn_mail_mismatch`` needs both values present (an empty one is
``missing_required_attribute``); ``domain_not_verified`` needs a userName; readiness of the
assigned set covers users reachable from an assignment at any nesting depth (soft-deleted
users are not candidates); duplicates are counted over the candidate set plus in-scope users.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit.emulator import cycle as cyc

RECONCILE_CATEGORIES = (
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
IN_SCOPE_CATEGORIES = frozenset(RECONCILE_CATEGORIES[:6])
LICENCE_CATEGORIES = (
    "licensed_inactive",
    "licensed_deactivated",
    "licensed_entra_disabled",
    "licensed_unmanaged",
    "licence_role_mismatch",
)
READINESS_CATEGORIES = (
    "missing_required_attribute",
    "upn_mail_mismatch",
    "domain_not_verified",
    "duplicate_expected_username",
    "guest_user",
    "disabled_user",
    "nested_group_only",
    "invalid_user_type",
    "existing_zoom_account",
    "ready",
)
ACCEPTED_USER_TYPES = ("Basic", "Licensed", "On-Prem")
INACTIVE_DAYS, GRACE_DAYS = 90, 30
ROLLOUT_ROLE = "Basic"
NAMES = ("reconcile", "licences", "readiness", "situations")

#: situation -> reconcile category (None = no finding, unless the user owns an active Zoom
#: account, which makes them ``should_be_deactivated``)
BY_SITUATION = {
    "sync": "in_sync",
    "sync_recent": "in_sync",
    "throttled": "in_sync",
    "champion": "in_sync",
    "champion_lc": "in_sync",
    "filter_post": "in_sync",
    "filter_never": "in_sync",
    "drift": "attribute_drift",
    "mailalt": "attribute_drift",
    "pending": "pending_invite",
    "zinactive": "zoom_user_inactive",
    "econflict": "email_conflict",
    "np_new": "not_provisioned",
    "np_domain": "not_provisioned",
    "np_guest": "not_provisioned",
    "np_foreign": "not_provisioned",
    "np_license": "not_provisioned",
    "np_badrole": "not_provisioned",
    "nested_none": "nested_group_only",
    "nested_active": "nested_group_only",
    "nested_inactive": "nested_group_only",
    "nested_disabled": "should_be_deactivated",
    "dis_post": "should_be_deactivated",
    "sdel_post": "should_be_deactivated",
    "unasg_post": "should_be_deactivated",
    "free_zoom_active": "should_be_deactivated",
}
#: the mail-username scenario: userName = mail (mail != UPN is no drift) and a scoping filter
MAIL_USERNAME = {
    "mailalt": "in_sync",
    "filter_post": "should_be_deactivated",
    "filter_never": None,
    "champion_lc": None,
}


def _keys(values) -> pd.Series:
    """NFC, trimmed, lower-cased keys (NA for empty), one arrow pass."""
    arr = pa.array(pd.Series(values, dtype="str"), type=pa.large_string())
    arr = pc.utf8_lower(pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFC")))
    arr = pc.if_else(pc.equal(pc.utf8_length(arr), 0), pa.scalar(None, pa.large_string()), arr)
    return pd.Series(arr, dtype="str")


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``keys`` ascending, NA last (arrow sort: cheaper than pandas)."""
    table = pa.table({k: pa.array(frame[k], type=pa.large_string()) for k in keys})
    order = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_end") for k in keys])
    return frame.take(order.to_numpy()).reset_index(drop=True)


def _empty(values) -> np.ndarray:
    s = pd.Series(values, dtype="str")
    return (s.isna() | (s.str.strip().str.len() == 0)).to_numpy(bool)


def build(tenant, facts: dict) -> dict[str, pd.DataFrame]:
    """The answer key of a tenant from the generator's ``facts`` (see ``generate.facts``)."""
    rec, owner_cat = _reconcile(tenant, facts)
    return {
        "situations": pd.DataFrame(
            {"entra_id": facts["entra_id"], "situation": facts["situation"]}, dtype="str"
        ),
        "reconcile": rec,
        "licences": _licences(tenant, facts, owner_cat),
        "readiness": _readiness(tenant, facts, owner_cat),
    }


def _reconcile(tenant, facts: dict) -> tuple[pd.DataFrame, np.ndarray]:
    z = tenant.zoom_users
    zstatus = z["status"].to_numpy(object)
    zemail = z["email"].to_numpy(object)
    table = dict(BY_SITUATION)
    if facts["scenario"] == "mail-username":
        table.update(MAIL_USERNAME)
    sit = facts["situation"]
    cat = pd.Series(sit, dtype=object).map(table).to_numpy(object)
    row = facts["zoom_row"]
    rpos = cyc.positions(row, z["id"])
    owns_active = (rpos >= 0) & (zstatus[np.maximum(rpos, 0)] == "active")
    cat[pd.isna(cat) & owns_active] = "should_be_deactivated"
    zoom = np.where(cat == "email_conflict", facts["conflict_row"], row)
    zoom[cat == "not_provisioned"] = None
    keep = ~pd.isna(cat)
    entra = pd.DataFrame(
        {
            "entra_id": facts["entra_id"][keep],
            "zoom_id": zoom[keep],
            "category": cat[keep],
        }
    )
    named = set(pd.Series(zoom[keep], dtype=object).dropna())
    matched = set(pd.Series(row, dtype=object).dropna())
    only = [
        (zid, {"unmanaged": "unmanaged_zoom_user", "pending": "pending_invite"}.get(kind))
        for zid, kind in facts["zoom_only_kind"].items()
        if zid not in named and zid not in matched
    ]
    extra = pd.DataFrame(
        [(None, zid, c) for zid, c in only if c], columns=["entra_id", "zoom_id", "category"]
    )
    out = pd.concat([entra, extra], ignore_index=True)
    epos = cyc.positions(out["zoom_id"], z["id"])
    out["zoom_user_name"] = np.where(epos >= 0, zemail[np.maximum(epos, 0)], None)
    out = out[["entra_id", "zoom_id", "zoom_user_name", "category"]].astype("str")
    return _sorted(out, ["category", "entra_id", "zoom_id"]), cat


def _licences(tenant, facts: dict, owner_cat: np.ndarray) -> pd.DataFrame:
    z = tenant.zoom_users
    now = pd.Timestamp(tenant.now)
    lic = (z["type"] == 2).fillna(False).to_numpy(bool)
    active = (z["status"] == "active").to_numpy(bool)
    login = pd.to_datetime(z["last_login_time"], utc=True, format="ISO8601")
    created = pd.to_datetime(z["created_at"], utc=True, format="ISO8601")
    stale = (login < now - timedelta(days=INACTIVE_DAYS)).fillna(False).to_numpy(bool)
    never = login.isna().to_numpy(bool) & (created < now - timedelta(days=GRACE_DAYS)).to_numpy(
        bool
    )
    pos = pd.Series(cyc.positions(z["id"], facts["zoom_row"]))
    has = (pos >= 0).to_numpy(bool)
    ocat = np.full(len(z), None, object)
    ocat[has] = owner_cat[pos[has].astype(int).to_numpy()]
    role = np.full(len(z), None, object)
    role[has] = np.asarray(facts["role"], object)[pos[has].astype(int).to_numpy()]
    kinds = facts["zoom_only_kind"]
    kpos = cyc.positions(z["id"], list(kinds))
    kind = np.where(kpos >= 0, np.array(list(kinds.values()) + [None], object)[kpos], None)
    want = pd.Series(role).map({"Licensed": 2, "Basic": 1}).to_numpy(object)
    ztype = z["type"].astype("Int64").fillna(-1).to_numpy(np.int64)
    in_scope = pd.Series(ocat, dtype=object).isin(IN_SCOPE_CATEGORIES).to_numpy(bool)
    mismatch = in_scope & ~pd.isna(want) & (np.where(pd.isna(want), -1, want) != ztype)
    flags = {
        "licensed_inactive": lic & active & (stale | never),
        "licensed_deactivated": lic & (z["status"] == "inactive").to_numpy(bool),
        "licensed_entra_disabled": lic & active & (ocat == "should_be_deactivated"),
        "licensed_unmanaged": lic & active & (kind == "unmanaged"),
        "licence_role_mismatch": mismatch,
    }
    parts = [
        pd.DataFrame({"zoom_id": z["id"][f], "zoom_user_name": z["email"][f], "category": c})
        for c, f in flags.items()
    ]
    out = pd.concat(parts, ignore_index=True).astype("str")
    return _sorted(out, ["category", "zoom_id"])


def _readiness(tenant, facts: dict, owner_cat: np.ndarray) -> pd.DataFrame:
    users = tenant.users.reset_index(drop=True)
    n = len(users)
    live = users["deletedDateTime"].isna().to_numpy(bool)
    uname = facts["user_name"]
    keys = _keys(uname)
    verified = {d["domain"].lower() for d in tenant.zoom_domains if d.get("status") == "verified"}
    missing = (
        _empty(uname)
        | _empty(users["mail"])
        | _empty(users["givenName"])
        | _empty(users["surname"])
    )
    mail_key = _keys(users["mail"])
    mismatch = (
        ~_empty(uname) & ~_empty(users["mail"]) & (keys != mail_key).fillna(False).to_numpy(bool)
    )
    domain = cyc.domain_of(keys)
    domain_bad = (~domain.isin(verified) & domain.notna()).to_numpy(bool)
    guest = (users["userType"] == "Guest").fillna(False) | users["userPrincipalName"].str.contains(
        "#EXT#", regex=False
    ).fillna(False)
    guest = guest.to_numpy(bool)
    disabled = ~users["accountEnabled"].astype("boolean").fillna(False).to_numpy(bool)
    role = pd.Series(facts["role"], dtype=object).fillna(ROLLOUT_ROLE).to_numpy(object)
    invalid = ~np.isin(role, ACCEPTED_USER_TYPES)
    existing = ~pd.isna(facts["zoom_row"])
    in_scope = pd.Series(owner_cat, dtype=object).isin(IN_SCOPE_CATEGORIES).to_numpy(bool)
    sets = {
        "assigned": (
            np.flatnonzero(live & (facts["direct"] | facts["group_direct"] | facts["nested"])),
            None,
        )
    }
    for name, (members, direct) in facts["candidate_sets"].items():
        sets[name] = (members[live[members]], direct)
    frames = []
    for name, (members, direct) in sets.items():
        if direct is None:
            nested = facts["nested"]
        else:
            nested = np.ones(n, bool)
            nested[direct] = False
            # already provisioned through an assignment: nesting here does not block it
            nested &= ~np.asarray(facts["direct"], bool)
            nested &= ~np.asarray(facts["group_direct"], bool)
        pool = in_scope.copy()
        pool[members] = True
        counts = keys[pool].value_counts()
        dup = np.zeros(n, bool)
        dup[members] = keys.iloc[members].map(counts).fillna(0).to_numpy(float) > 1
        flags = {
            "missing_required_attribute": missing,
            "upn_mail_mismatch": mismatch,
            "domain_not_verified": domain_bad,
            "duplicate_expected_username": dup,
            "guest_user": guest,
            "disabled_user": disabled,
            "nested_group_only": nested,
            "invalid_user_type": invalid,
            "existing_zoom_account": existing,
        }
        any_flag = np.zeros(n, bool)
        for cat, f in flags.items():
            hit = members[f[members]]
            any_flag[hit] = True
            frames.append(
                pd.DataFrame(
                    {"candidates": name, "entra_id": users["id"].iloc[hit], "category": cat}
                )
            )
        ready = members[~any_flag[members]]
        frames.append(
            pd.DataFrame(
                {"candidates": name, "entra_id": users["id"].iloc[ready], "category": "ready"}
            )
        )
    out = pd.concat(frames, ignore_index=True).astype("str")
    return _sorted(out, ["candidates", "category", "entra_id"])


# ------------------------------------------------------------------ files
def summary(key: dict[str, pd.DataFrame]) -> dict:
    """Counts per category of each frame (readiness: per candidate set too)."""
    out = {
        name: {
            str(k): int(v) for k, v in key[name]["category"].value_counts().sort_index().items()
        }
        for name in ("reconcile", "licences")
    }
    ready = key["readiness"].groupby(["candidates", "category"]).size()
    out["readiness"] = {}
    for (cand, cat), v in ready.items():
        out["readiness"].setdefault(str(cand), {})[str(cat)] = int(v)
    return out


def write_answer_key(tenant, directory: str | Path) -> Path:
    """Write ``tenant.answer_key`` to ``<directory>/answer_key/`` (parquet + summary.json)."""
    folder = Path(directory) / "answer_key"
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        tenant.answer_key[name].to_parquet(folder / f"{name}.parquet", index=False)
    meta = {
        "seed": tenant.seed,
        "scenario": tenant.scenario,
        "now": tenant.now.isoformat(),
        "users": int(len(tenant.users)),
        "counts": summary(tenant.answer_key),
    }
    (folder / "summary.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return folder


def load_answer_key(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Read an answer key written by :func:`write_answer_key` (``directory`` or its parent)."""
    folder = Path(directory)
    if not (folder / "reconcile.parquet").exists():
        folder = folder / "answer_key"
    return {name: pd.read_parquet(folder / f"{name}.parquet").astype("str") for name in NAMES}
