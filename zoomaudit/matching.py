"""Matching Entra users to Zoom users the way the provisioning service does.

Place in the flow: analysis. ``reconcile`` and the licence audit both call :func:`match`, so
"who is who" is decided in one place. Entra matches on the mapping with the lowest
``matchingPriority`` (userName for Zoom), comparing the value it would send with the target's
value, and trying the next matching attribute when one finds nothing; Zoom treats userName
(an e-mail) case-insensitively. Our key is
``NFC(value).lower().strip()``. Null values are skipped (no match), as Entra does. A user's
other addresses never produce a match here: ``reconcile`` only uses them to explain conflicts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit.errors import SnapshotError
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
    "user_name_key",
)

_STATUS_RANK = {"active": 0, "inactive": 1, "pending": 2}


def arrow(values: pd.Series) -> pa.Array:
    """A text column as one Arrow large_string array (zero-copy for ``str`` columns)."""
    if values.dtype != "str":
        values = values.astype("str")
    arr = pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return arr


def key_array(arr: pa.Array) -> pa.Array:
    """Arrow form of :func:`normalize_key` (empty -> null)."""
    k = pc.utf8_trim_whitespace(pc.utf8_lower(pc.utf8_normalize(arr, "NFC")))
    return pc.if_else(pc.equal(k, ""), pa.scalar(None, pa.large_string()), k)


def normalize_key(values: pd.Series) -> pd.Series:
    """The matching key: Unicode NFC, lower-cased, surrounding whitespace stripped.

    Empty strings become NA. Returns a ``str`` Series with the index of ``values``.
    """
    return pd.Series(key_array(arrow(values)), dtype="str", index=values.index)


def positions(keys: pa.Array | pd.Series, table: pa.Array | pd.Series) -> np.ndarray:
    """For each key, the position of its first occurrence in ``table`` (-1: absent or null).

    Hashes whichever side is smaller (Arrow ``index_in``), so looking a few thousand keys up
    in a million-row table does not rebuild a million-entry hash table.
    """
    k = keys if isinstance(keys, pa.Array) else arrow(keys)
    t = table if isinstance(table, pa.Array) else arrow(table)
    if len(t) > 4 * len(k) and len(t) > 10_000:
        uniq = pc.unique(pc.drop_null(k))
        inv = pc.fill_null(pc.index_in(t, value_set=uniq, skip_nulls=True), -1)
        inv = inv.to_numpy(zero_copy_only=False).astype(np.int64)
        rows = np.flatnonzero(inv >= 0)[::-1]  # reversed: the first occurrence wins
        first = np.full(len(uniq), -1, dtype=np.int64)
        first[inv[rows]] = rows
        ku = pc.fill_null(pc.index_in(k, value_set=uniq, skip_nulls=True), -1)
        ku = ku.to_numpy(zero_copy_only=False).astype(np.int64)
        return np.where(ku >= 0, first[np.maximum(ku, 0)], -1)
    pos = pc.index_in(k, value_set=t, skip_nulls=True)
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def status_rank(status: pd.Series) -> np.ndarray:
    """Preference of a Zoom status when several users share a key: active 0, inactive 1,
    pending 2, anything else 3 (vectorised)."""
    arr = arrow(status)
    out = np.full(len(status), 3, dtype=np.int64)
    for name, rank in _STATUS_RANK.items():
        out[pc.fill_null(pc.equal(arr, name), False).to_numpy(zero_copy_only=False)] = rank
    return out


def best_first(keys: pd.Series, rank: np.ndarray, tie: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An order of rows in which, for every duplicated key, the preferred row (lowest
    ``rank``, then smallest ``tie``) comes first; and the number of rows sharing each key.

    Only the duplicated rows are sorted, so the common case (unique keys) costs one hash pass.
    """
    n = len(keys)
    order = np.arange(n)
    candidates = np.ones(n, dtype=np.int64)
    dup = keys.duplicated(keep=False).to_numpy(bool) & keys.notna().to_numpy(bool)
    if dup.any():
        d = pd.DataFrame({"k": keys[dup].to_numpy(), "r": rank[dup], "z": tie[dup].to_numpy(),
                          "i": order[dup]})  # fmt: skip
        d = d.sort_values(["k", "r", "z"], kind="stable")
        candidates[d["i"].to_numpy()] = d.groupby("k")["i"].transform("size").to_numpy()
        order = np.concatenate([d["i"].to_numpy(), order[~dup]])
    return order, candidates


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
    rpos = positions(s["zoom_id"], with_id["zoom_id"])
    taken = with_id.drop(columns="zoom_id").reset_index(drop=True)
    taken = taken.take(np.where(rpos < 0, 0, rpos)) if len(taken) else taken.reindex(range(len(s)))
    taken = (
        taken.reset_index(drop=True).mask(pd.Series(rpos < 0), pd.NA)
        if (rpos < 0).any() and len(taken)
        else taken.reset_index(drop=True)
    )
    claimed = np.zeros(len(with_id), bool)
    claimed[rpos[rpos >= 0]] = True
    rest_only = with_id[~claimed]
    joined = pd.concat(
        [pd.concat([s.reset_index(drop=True), taken], axis=1), rest_only], ignore_index=True
    )
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
    scim_active = joined["scim_active"].astype("boolean")
    scim_status = pd.Series(
        np.where(scim_active.fillna(False).to_numpy(bool), "active", "inactive"), dtype="str"
    ).where(scim_active.notna().to_numpy(bool))
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
    out["user_name_key"] = normalize_key(out["user_name"])
    return out[list(ZOOM_COLUMNS)].reset_index(drop=True)


def match(
    expected: pd.DataFrame, zoom: pd.DataFrame, *, on: list[str] | tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Pair Entra users with Zoom users by the matching attribute(s).

    Args:
        expected: ``mapping.simulate`` output (needs ``entra_id`` and the ``on`` columns).
        zoom: :func:`zoom_accounts` output (or any frame with ``user_name`` and ``zoom_id``;
            ``zoom_key``/``status``/``<col>_key`` are used when present).
        on: matching columns in precedence order (default ``expected.attrs["matching"]`` or
            ``["user_name"]``). A user whose value of one attribute is null or finds no
            Zoom user is tried on the next (Graph ``matchingPriority``). Raises
            :class:`~zoomaudit.errors.SnapshotError` when no matching attribute exists on
            the Zoom side (e.g. a job matching on externalId only).

    Returns:
        One row per matched Entra user: entra_id, zoom_key, zoom_id, match_key, matched_on,
        candidates (Int64: Zoom users sharing the key; >1 means Entra would report
        DuplicateTargetEntries; we pick active, then inactive, then pending, then zoom_key),
        expected_row and zoom_row (int positions in ``expected`` and ``zoom``).
    """
    on = list(on or expected.attrs.get("matching") or ["user_name"])
    zoom_key = zoom["zoom_key"] if "zoom_key" in zoom.columns else zoom["zoom_id"]
    rank = status_rank(zoom["status"]) if "status" in zoom.columns else np.zeros(len(zoom))
    eid, zka, zid = arrow(expected["entra_id"]), arrow(zoom_key), arrow(zoom["zoom_id"])
    usable = [c for c in on if c in expected.columns and c in zoom.columns]
    if on and not usable and len(expected) and len(zoom):
        raise SnapshotError(
            f"the provisioning job matches on {', '.join(on)}, which the snapshot's Zoom data "
            "does not carry (only userName, e-mail and names are pulled); cannot match users"
        )
    parts: list[pd.DataFrame] = []
    todo = np.arange(len(expected))
    for col in on:
        if col not in expected.columns or col not in zoom.columns or not len(todo):
            continue
        keys = key_array(arrow(expected[col]).take(pa.array(todo)))
        zk = (
            arrow(zoom[f"{col}_key"])
            if f"{col}_key" in zoom.columns
            else key_array(arrow(zoom[col]))
        )
        order, candidates = best_first(pd.Series(zk, dtype="str"), rank, zoom_key)
        if len(order) and (order != np.arange(len(order))).any():
            zk = zk.take(pa.array(order))
        pos = positions(keys, zk)
        hit = pos >= 0
        zrow = order[pos[hit]]
        erow = todo[hit]
        zrow_pa, erow_pa = pa.array(zrow), pa.array(erow)
        parts.append(
            pd.DataFrame(
                {
                    "entra_id": pd.Series(eid.take(erow_pa), dtype="str"),
                    "zoom_key": pd.Series(zka.take(zrow_pa), dtype="str"),
                    "zoom_id": pd.Series(zid.take(zrow_pa), dtype="str"),
                    "match_key": pd.Series(keys.filter(pa.array(hit)), dtype="str"),
                    "matched_on": col,
                    "candidates": candidates[zrow],
                    "expected_row": erow,
                    "zoom_row": zrow,
                }
            )
        )
        # Graph's attributeMapping.matchingPriority: "If not found, the attribute with the
        # next matching priority will be used, and so on until a match is found": users
        # whose value is null *or* found no Zoom user are tried on the next attribute
        todo = todo[~hit]
    cols = ("entra_id", "zoom_key", "zoom_id", "match_key", "matched_on")
    if not parts:
        out = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
        out["candidates"] = pd.Series(dtype="Int64")
        out["expected_row"] = pd.Series(dtype=np.int64)
        out["zoom_row"] = pd.Series(dtype=np.int64)
        return out
    out = pd.concat(parts, ignore_index=True)
    out["candidates"] = out["candidates"].astype("Int64")
    for c in cols:
        if out[c].dtype != "str":
            out[c] = out[c].astype("str")
    return out


_STATUS_RANK = {"active": 0, "inactive": 1, "pending": 2}
