"""Matching Entra users to Zoom users the way the provisioning service does.

Place in the flow: analysis. ``reconcile`` and the licence audit both call :func:`match`, so
"who is who" is decided in one place. Entra matches on the mapping with the lowest
``matchingPriority`` (userName for Zoom), comparing the value it would send with the target's
value; Zoom treats userName (an e-mail) case-insensitively. Our key is
``NFC(value).lower().strip()``. Null values are skipped (no match), as Entra does. A user's
other addresses never produce a match here: ``reconcile`` only uses them to explain conflicts.
"""

from __future__ import annotations

import pandas as pd

from zoomaudit.snapshot import Snapshot

#: Zoom REST licence type -> SCIM userType (used when a SCIM record is missing)
REST_TYPE_TO_USER_TYPE = {1: "Basic", 2: "Licensed", 3: "On-Prem"}

ZOOM_COLUMNS = (
    "zoom_key",
    "zoom_id",
    "user_name",
    "status",
    "display_name",
    "given_name",
    "family_name",
    "work_email",
    "department",
    "user_type",
    "license_type",
    "in_scim",
)

_STATUS_RANK = {"active": 0, "inactive": 1, "pending": 2}


def normalize_key(values: pd.Series) -> pd.Series:
    """The matching key: Unicode NFC, lower-cased, surrounding whitespace stripped."""
    s = values.astype("str")
    non_ascii = ~s.str.isascii().fillna(True).astype(bool)
    if non_ascii.any():
        s = s.copy()
        s[non_ascii] = s[non_ascii].str.normalize("NFC")
    s = s.str.lower().str.strip()
    return s.mask(s == "")


def zoom_accounts(snapshot: Snapshot) -> pd.DataFrame:
    """Every Zoom user once: SCIM records joined to REST records.

    SCIM and REST rows join on ``zoom_id``. REST rows without an id (pending invites) join a
    SCIM row with the same userName when one exists, else stand alone keyed by e-mail.

    Columns: zoom_key (zoom_id, or ``"pending:" + lower(email)``), zoom_id, user_name (SCIM
    userName, else REST email), status ("active" | "inactive" | "pending": REST status, else
    from SCIM ``active``), display_name, given_name, family_name, work_email, department,
    user_type (SCIM userType, else derived from the REST licence type), license_type (Int64,
    REST ``type``), in_scim (bool).
    """
    scim = snapshot.table("zoom_scim_users")
    rest = snapshot.table("zoom_users")
    s = pd.DataFrame(
        {
            "zoom_id": scim["zoom_id"],
            "user_name": scim["user_name"],
            "display_name": scim["display_name"],
            "given_name": scim["given_name"],
            "family_name": scim["family_name"],
            "work_email": scim["work_email"],
            "department": scim["department"],
            "user_type": scim["user_type"],
            "scim_active": scim["active"],
            "in_scim": True,
        }
    ).drop_duplicates("zoom_id")
    r = pd.DataFrame(
        {
            "zoom_id": rest["zoom_id"],
            "email": rest["email"],
            "status": rest["status"].str.lower(),
            "license_type": rest["type"],
            "r_display_name": rest["display_name"],
            "r_given_name": rest["first_name"],
            "r_family_name": rest["last_name"],
            "r_department": rest["dept"],
        }
    )
    with_id = r[r["zoom_id"].notna()].drop_duplicates("zoom_id")
    no_id = r[r["zoom_id"].isna()].copy()
    joined = s.merge(with_id, on="zoom_id", how="outer")
    # pending invites without an id: attach to a SCIM row of the same userName if any
    if len(no_id):
        no_id["_k"] = normalize_key(no_id["email"])
        no_id = no_id.dropna(subset=["_k"]).drop_duplicates("_k")
        lone = joined["status"].isna() & joined["in_scim"].fillna(False).astype(bool)
        if lone.any():
            keys = normalize_key(joined.loc[lone, "user_name"])
            hit = keys.map(no_id.set_index("_k")["status"])
            joined.loc[hit.dropna().index, "status"] = hit.dropna()
            used = set(keys[hit.notna()])
            no_id = no_id[~no_id["_k"].isin(used)]
        joined = pd.concat([joined, no_id.drop(columns="_k")], ignore_index=True)
    out = pd.DataFrame(index=joined.index)
    out["zoom_id"] = joined["zoom_id"].astype("str")
    out["user_name"] = joined["user_name"].astype("str").fillna(joined["email"].astype("str"))
    scim_status = joined["scim_active"].map({True: "active", False: "inactive"})
    out["status"] = joined["status"].astype("str").fillna(scim_status.astype("str"))
    out["zoom_key"] = out["zoom_id"].fillna("pending:" + normalize_key(out["user_name"]))
    for col in ("display_name", "given_name", "family_name", "department"):
        out[col] = joined[col].astype("str")
        if f"r_{col}" in joined and not joined["in_scim"].fillna(False).all():
            fill = joined[f"r_{col}"].astype("str")
            out[col] = out[col].where(joined["in_scim"].fillna(False).astype(bool), fill)
    out["work_email"] = (
        joined["work_email"]
        .astype("str")
        .fillna(joined["email"].astype("str").where(~joined["in_scim"].fillna(False).astype(bool)))
    )
    lic = pd.to_numeric(joined["license_type"], errors="coerce").astype("Int64")
    derived = lic.map(REST_TYPE_TO_USER_TYPE).astype("str")
    out["user_type"] = joined["user_type"].astype("str").fillna(derived)
    out["license_type"] = lic
    out["in_scim"] = joined["in_scim"].fillna(False).astype(bool)
    return out[list(ZOOM_COLUMNS)].reset_index(drop=True)


def match(
    expected: pd.DataFrame, zoom: pd.DataFrame, *, on: list[str] | tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Pair Entra users with Zoom users by the matching attribute(s).

    Args:
        expected: ``mapping.simulate`` output (needs ``entra_id`` and the ``on`` columns).
        zoom: :func:`zoom_accounts` output (or any frame with ``user_name`` and ``zoom_id``;
            ``zoom_key``/``status`` are used when present).
        on: matching columns in precedence order (default ``expected.attrs["matching"]`` or
            ``["user_name"]``). A user whose first attribute is null is tried on the next.

    Returns:
        One row per matched Entra user: entra_id, zoom_key, zoom_id, match_key, matched_on,
        candidates (Int64: Zoom users sharing the key; >1 means Entra would report
        DuplicateTargetEntries; we pick active, then inactive, then pending, then zoom_key).
    """
    on = list(on or expected.attrs.get("matching") or ["user_name"])
    z = zoom.copy()
    if "zoom_key" not in z.columns:
        z["zoom_key"] = z["zoom_id"].astype("str")
    rank = z["status"].map(_STATUS_RANK).fillna(3) if "status" in z.columns else 0
    z = z.assign(_rank=rank)
    parts: list[pd.DataFrame] = []
    todo = expected[["entra_id", *[c for c in on if c in expected.columns]]]
    for col in on:
        if col not in todo.columns or col not in z.columns or not len(todo):
            continue
        keys = normalize_key(todo[col])
        left = pd.DataFrame(
            {"entra_id": todo["entra_id"].to_numpy(), "match_key": keys.to_numpy()}
        )
        left = left[left["match_key"].notna()]
        zk = pd.DataFrame(
            {
                "match_key": normalize_key(z[col]).to_numpy(),
                "zoom_key": z["zoom_key"].to_numpy(),
                "zoom_id": z["zoom_id"].to_numpy(),
                "_rank": pd.Series(z["_rank"]).to_numpy(),
            }
        ).dropna(subset=["match_key"])
        zk = zk.sort_values(["match_key", "_rank", "zoom_key"], kind="stable")
        counts = zk.groupby("match_key", sort=False).size().rename("candidates")
        zk = zk.drop_duplicates("match_key").set_index("match_key")
        zk = zk.join(counts)
        m = left.join(zk, on="match_key", how="inner")
        m["matched_on"] = col
        parts.append(m)
        # a user is tried on the next attribute only when this one was null
        todo = todo[keys.isna().to_numpy()]
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="str")
                for c in ("entra_id", "zoom_key", "zoom_id", "match_key", "matched_on")
            }
        ).assign(candidates=pd.Series(dtype="Int64"))
    out = pd.concat(parts, ignore_index=True)
    out = out[["entra_id", "zoom_key", "zoom_id", "match_key", "matched_on", "candidates"]]
    out["candidates"] = out["candidates"].astype("Int64")
    for c in ("entra_id", "zoom_key", "zoom_id", "match_key", "matched_on"):
        out[c] = out[c].astype("str")
    return out.reset_index(drop=True)
