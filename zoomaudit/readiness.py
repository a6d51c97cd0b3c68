"""Rollout readiness: would these users provision cleanly into Zoom? (analysis step).

Place in the flow: snapshot -> frames -> **readiness** (pure pandas, no network) -> CLI,
notebook, and ``rollout`` (which classifies wave members with :func:`evaluate`).

Two levels:

* :func:`check` builds the candidate set (candidate groups pulled with
  ``pull --candidate-groups``, a CSV of UPNs, or by default the users assigned to the app),
  runs :func:`evaluate` and the account-level :func:`gates`.
* :func:`evaluate` classifies an explicit candidate frame (``entra_id``, ``via`` and optionally
  ``nested_only``) with the mapping simulation (:func:`zoomaudit.mapping.simulate`); candidates
  without an app role are simulated with ``role`` (or their entry in ``role_values``).

Categories (one row per applicable category per candidate; ``ready`` only when none applies):
see :data:`CATEGORIES`. Definitions:

* ``missing_required_attribute``: the simulated userName, work e-mail, givenName or familyName
  is empty (NA or blank), or one of the source attributes its mapping reads is empty (e.g.
  ``Join("@", [givenName], "contoso.example")`` with no givenName sends "contoso.example"),
  unless the expression handles nulls itself (Coalesce, IIF, IsNull, IsNullOrEmpty,
  IsPresent, Switch, IgnoreFlowIfNullOrEmpty); the detail names the target and the empty
  source attribute(s).
* ``upn_mail_mismatch``: simulated userName and work e-mail are both set and differ
  case-insensitively.
* ``domain_not_verified``: the userName's domain (after the last ``@``) is not a Zoom managed
  domain with status ``verified`` (case-insensitive). Not checked when the snapshot holds no
  ``zoom_domains`` table (``ReadinessResult.notes`` says so).
* ``duplicate_expected_username``: another candidate or an in-scope user would send the same
  userName (case-insensitive).
* ``guest_user``: ``user_type`` Guest, or ``#EXT#`` in the UPN.
* ``disabled_user``: ``account_enabled`` False or soft-deleted.
* ``nested_group_only``: reachable only through a group nested in a candidate (or assigned) group,
  and not already assigned to the app directly or as a direct member of an assigned group
  (such a user is provisioned whatever the candidate group's nesting).
* ``invalid_user_type``: the simulated userType (from the held or to-be-assigned app role) is not
  one of ``accepted_user_types`` (case-insensitive). A role without a value sends no userType
  and is not flagged.
* ``existing_zoom_account``: a Zoom account of any status (SCIM ``userName`` or REST ``email``)
  already has the simulated userName (case-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zoomaudit import licences, mapping
from zoomaudit.errors import LookupFailedError, SnapshotError
from zoomaudit.expressions import source_column
from zoomaudit.matching import normalize_key
from zoomaudit.scope import compute_scope, user_job_id
from zoomaudit.snapshot import Snapshot

CATEGORIES = (
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
#: simulation column -> SCIM target, for the per-user required attributes
REQUIRED_ATTRIBUTES = {
    "user_name": "userName",
    "work_email": 'emails[type eq "work"].value',
    "given_name": "name.givenName",
    "family_name": "name.familyName",
}
#: simulation columns the job must map (the required_mappings gate)
REQUIRED_MAPPINGS = {**REQUIRED_ATTRIBUTES, "active": "active"}
FINDING_COLUMNS = (
    "category",
    "entra_id",
    "user_principal_name",
    "display_name",
    "via",
    "role_value",
    "user_type",
    "user_name",
    "detail",
)
GATE_COLUMNS = ("gate", "ok", "detail")


@dataclass
class ReadinessResult:
    """Result of :func:`check`.

    Attributes:
        findings: one row per (candidate, category); columns :data:`FINDING_COLUMNS`.
        gates: account-level gates; columns gate, ok (bool), detail.
        candidates: the candidate set: entra_id, via, nested_only.
        simulated: the mapping simulation of the candidates (see ``mapping.simulate``).
        parameters: the options used.
        notes: checks that could not run on this snapshot (e.g. managed domains not pulled).
    """

    findings: pd.DataFrame
    gates: pd.DataFrame
    candidates: pd.DataFrame
    simulated: pd.DataFrame
    parameters: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> pd.DataFrame:
        """Candidates whose only row is ``ready``."""
        return self.findings[self.findings["category"] == "ready"]

    def summary(self) -> pd.DataFrame:
        """Candidates per category, then each gate. Columns: item, value, ok, detail."""
        f = self.findings
        rows = [("candidates", int(self.candidates["entra_id"].nunique()), pd.NA, "")]
        rows += [(c, int((f["category"] == c).sum()), pd.NA, "") for c in CATEGORIES]
        rows += [
            (f"gate:{g.gate}", pd.NA, bool(g.ok), g.detail)
            for g in self.gates.itertuples(index=False)
        ]
        out = pd.DataFrame(rows, columns=["item", "value", "ok", "detail"])
        return out.astype({"value": "Int64", "ok": "boolean"})


# ------------------------------------------------------------------------------- candidates
def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entra_id": pd.Series(dtype="str"),
            "via": pd.Series(dtype="str"),
            "nested_only": pd.Series(dtype=bool),
        }
    )


def candidates_from_groups(snapshot: Snapshot, names: Iterable[str]) -> pd.DataFrame:
    """Users reachable from candidate groups (by display name or id, case-insensitive).

    Direct members and members of nested groups (``entra_group_members.direct`` False) count.
    Returns entra_id, via (the group's display name), nested_only (reached only via nesting).

    Raises:
        LookupFailedError: a name matches no group pulled with ``--candidate-groups``, or
            several groups.
    """
    groups = snapshot.table("entra_groups")
    members = snapshot.table("entra_group_members")
    parts = []
    for name in names:
        key = str(name).strip().casefold()
        hit = groups[
            (groups["display_name"].str.casefold() == key)
            | (groups["group_id"].str.casefold() == key)
        ]
        if hit.empty or not hit["candidate"].fillna(False).any():
            raise LookupFailedError(
                f"candidate group {name!r} is not in snapshot {snapshot.id}; re-pull with "
                f"`zoomaudit pull --candidate-groups {name!r}`"
            )
        hit = hit[hit["candidate"].fillna(False).astype(bool)]
        if hit["group_id"].nunique() > 1:
            raise LookupFailedError(
                f"candidate group name {name!r} matches {hit['group_id'].nunique()} groups "
                f"({', '.join(hit['group_id'].head(3))}); name it by its object id"
            )
        gid = hit["group_id"].iloc[0]
        label = hit["display_name"].fillna(gid).iloc[0]
        m = members[
            (members["group_id"] == gid)
            & members["member_type"].str.casefold().eq("user").fillna(False)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "entra_id": m["member_id"].to_numpy(),
                    "via": label,
                    "nested_only": ~m["direct"].fillna(False).astype(bool).to_numpy(),
                }
            )
        )
    if not parts:
        return _empty_candidates()
    return _combine(pd.concat(parts, ignore_index=True))


def candidates_from_file(snapshot: Snapshot, path: Path | str) -> pd.DataFrame:
    """Users named in a CSV with a ``user_principal_name`` column (matched case-insensitively).

    Returns entra_id, via (``file:<name>``), nested_only (False).

    Raises:
        LookupFailedError: the file lacks the column, or names UPNs not in the snapshot.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype="str")
    except (OSError, ValueError) as exc:
        raise LookupFailedError(f"cannot read candidates file {path}: {exc}") from None
    cols = {c.strip().casefold(): c for c in table.columns}
    if "user_principal_name" not in cols:
        raise LookupFailedError(f"candidates file {path} has no user_principal_name column")
    upns = table[cols["user_principal_name"]].dropna().str.strip()
    upns = upns[upns != ""].str.casefold().drop_duplicates()
    users = snapshot.table("entra_users")
    live = users[~users["soft_deleted"].fillna(False).astype(bool)]
    index = dict(zip(live["user_principal_name"].str.casefold(), live["entra_id"], strict=True))
    missing = [u for u in upns if u not in index]
    if missing:
        raise LookupFailedError(
            f"{len(missing)} UPN(s) in {path.name} are not Entra users in snapshot "
            f"{snapshot.id}: {', '.join(missing[:5])}"
        )
    return pd.DataFrame(
        {"entra_id": [index[u] for u in upns], "via": f"file:{path.name}", "nested_only": False}
    ).astype({"entra_id": "str", "via": "str"})


def assigned_candidates(snapshot: Snapshot, scope: pd.DataFrame | None = None) -> pd.DataFrame:
    """The live users assigned to the app (directly, via a group, or only via nesting).

    Soft-deleted users are not candidates (they cannot be provisioned).
    """
    scope = compute_scope(snapshot) if scope is None else scope
    reach = scope["assigned_direct"] | scope["assigned_via_group"] | scope["reachable_nested"]
    sel = scope[reach & ~scope["soft_deleted"]]
    return pd.DataFrame(
        {
            "entra_id": sel["entra_id"].astype("str").to_numpy(),
            "via": "assigned",
            "nested_only": sel["reachable_nested"].to_numpy(bool)
            & ~(sel["assigned_direct"] | sel["assigned_via_group"]).to_numpy(bool),
        }
    ).astype({"via": "str"})


def _join_by_key(keys, values, sep: str) -> pd.Series:
    """``values`` joined with ``sep`` per key, in row order (vectorised; no per-group Python).

    Returns a ``str`` Series indexed by the unique keys in order of first appearance.
    """
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    vals = np.asarray(values, dtype=object)
    n = len(uniques)
    if not n:
        return pd.Series(dtype="str")
    _, first = np.unique(codes, return_index=True)
    out = vals[first].copy()
    occurrence = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    for k in range(1, int(occurrence.max()) + 1):
        rows = occurrence == k
        out[codes[rows]] = out[codes[rows]] + sep + vals[rows]
    return pd.Series(out, index=pd.Index(uniques, dtype=object)).astype("str")


def _combine(cands: pd.DataFrame) -> pd.DataFrame:
    """One row per user: vias joined (``;``), nested_only when every path is nested."""
    if cands.empty:
        return _empty_candidates()
    if "nested_only" not in cands.columns:
        cands = cands.assign(nested_only=False)
    cands = cands.astype({"entra_id": "str", "via": "str"})
    cands = cands.assign(nested_only=cands["nested_only"].fillna(False).astype(bool))
    nested = cands.groupby("entra_id", sort=False)["nested_only"].all()
    vias = cands.dropna(subset=["via"]).drop_duplicates(["entra_id", "via"])
    via = _join_by_key(vias["entra_id"].to_numpy(object), vias["via"].to_numpy(object), ";")
    out = pd.DataFrame({"entra_id": nested.index.astype("str"),
                        "via": nested.index.map(via).astype("str"),
                        "nested_only": nested.to_numpy(bool)})  # fmt: skip
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------- evaluation
def _blank(s: pd.Series) -> pd.Series:
    return (s.isna() | s.astype("str").str.strip().eq("")).fillna(True).astype(bool)


#: functions with which an expression handles a null source attribute itself
_FALLBACK = re.compile(
    r"\b(Coalesce|IIF|IsNull|IsNullOrEmpty|IsPresent|Switch|IgnoreFlowIfNullOrEmpty)\s*\(",
    re.IGNORECASE,
)


def _source_attributes(expression: str) -> list[str]:
    return re.findall(r"\[([^\]]+)\]", expression or "")


def candidate_roles(
    scope: pd.DataFrame,
    entra_ids: pd.Series,
    role: str | None,
    role_values: pd.Series | dict | None = None,
) -> pd.Series:
    """The app-role value each candidate holds, else ``role_values[id]``, else ``role``.

    A user who holds an assignment keeps it (its value may be NA: default access).
    Returns a ``str`` Series aligned to ``entra_ids``; ``attrs["held"]`` marks held roles.
    """
    sc = scope.drop_duplicates("entra_id").set_index("entra_id")
    held = entra_ids.map(sc["app_role_id"]).notna()
    value = entra_ids.map(sc["app_role_value"]).astype("str")
    new = pd.Series(role, index=entra_ids.index, dtype="str")
    if role_values is not None:
        override = entra_ids.map(pd.Series(role_values, dtype="str")).astype("str")
        new = override.where(override.notna(), new)
    out = value.where(held, new)
    out.attrs["held"] = held.to_numpy(bool)
    return out


def _evaluate_with_simulation(
    snapshot: Snapshot,
    candidates: pd.DataFrame,
    role_values: pd.Series | dict | None = None,
    *,
    role: str | None = "Basic",
    accepted_user_types: Sequence[str] = ACCEPTED_USER_TYPES,
    scope: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`evaluate`, also returning the mapping simulation of the candidates."""
    scope = compute_scope(snapshot) if scope is None else scope
    cands = _combine(candidates)
    users = snapshot.table("entra_users").drop_duplicates("entra_id")
    unknown = ~licences.isin_text(cands["entra_id"], users["entra_id"])
    if unknown.any():
        raise LookupFailedError(
            f"{int(unknown.sum())} candidate(s) are not Entra users in snapshot {snapshot.id}: "
            + ", ".join(cands.loc[unknown, "entra_id"].head(5))
        )
    sim, roles = _simulate(snapshot, scope, cands["entra_id"], role, role_values)
    base = cands.merge(
        users[
            [
                "entra_id",
                "user_principal_name",
                "display_name",
                "user_type",
                "account_enabled",
                "soft_deleted",
            ]
        ],
        on="entra_id",
        how="left",
    )
    base = base.merge(sim.drop(columns=["display_name"]), on="entra_id", how="left")
    base["role_value"] = cands["entra_id"].map(roles).to_numpy()
    # reached only through nesting *here*, but already assigned directly or as a direct member
    # of an assigned group: Entra provisions it anyway, so nesting does not block it
    sc = scope.drop_duplicates("entra_id").set_index("entra_id")
    provisioned_anyway = (sc["assigned_direct"] | sc["assigned_via_group"]).astype(bool)
    already = base["entra_id"].map(provisioned_anyway).fillna(False).astype(bool)
    base["nested_only"] = base["nested_only"].fillna(False).astype(bool) & ~already
    hits: list[pd.DataFrame] = []

    def add(cat: str, mask: pd.Series, detail: pd.Series | str) -> None:
        mask = pd.Series(mask, index=base.index).fillna(False).astype(bool)
        if mask.any():
            d = detail if isinstance(detail, str) else detail[mask]
            hits.append(pd.DataFrame({"category": cat, "row": base.index[mask], "detail": d}))

    # missing_required_attribute
    mappings = {m.column: m for m in sim.attrs.get("mappings", [])}
    missing = pd.Series("", index=base.index, dtype="str")
    by_id = users.set_index("entra_id")
    for col, target in REQUIRED_ATTRIBUTES.items():
        if col not in mappings:
            continue  # reported by the required_mappings gate
        expression = mappings[col].expression
        empty = _blank(base[col])
        if empty.any():
            srcs = _source_attributes(expression) or [expression]
            note = f"{target} is empty (source {', '.join(srcs)})"
            missing[empty] = (missing[empty] + "; " + note).str.lstrip("; ")
        if _FALLBACK.search(expression or ""):
            continue  # the expression handles a null source itself (Coalesce, IIF, ...)
        for src in _source_attributes(expression):
            column = source_column(src)
            if column not in by_id.columns or column in ("entra_id",):
                continue  # computed ([IsSoftDeleted], [appRoleAssignments]) or unknown
            values = base["entra_id"].map(by_id[column])
            if values.dtype == object:
                continue  # multi-valued
            blank = _blank(values.astype("str")) & ~empty
            if blank.any():
                note = f"{target}: source attribute {src} is empty"
                missing[blank] = (missing[blank] + "; " + note).str.lstrip("; ")
    add("missing_required_attribute", missing != "", missing)
    un, mail = base["user_name"].astype("str"), base["work_email"].astype("str")
    both = ~_blank(un) & ~_blank(mail)
    add(
        "upn_mail_mismatch",
        both & (normalize_key(un) != normalize_key(mail)).fillna(False),  # NFC, case, trim
        "userName " + un.fillna("") + " differs from work e-mail " + mail.fillna(""),
    )
    domains = snapshot.table("zoom_domains")
    verified = set(
        domains.loc[
            domains["status"].str.casefold().eq("verified").fillna(False), "domain"
        ].str.casefold()
    )
    dom = un.str.extract(r"@([^@]*)$", expand=False).astype("str").str.casefold()
    add(
        "domain_not_verified",
        ~_blank(un) & ~licences.isin_text(dom, list(verified)) & snapshot.has("zoom_domains"),
        ("domain " + dom + " of userName is not a verified Zoom managed domain").fillna(
            "userName " + un.fillna("") + " has no domain"
        ),
    )
    add("duplicate_expected_username", *_duplicates(snapshot, scope, base, role, role_values))
    guest = base["user_type"].str.casefold().eq("guest").fillna(False) | base[
        "user_principal_name"
    ].str.casefold().str.contains("#ext#", regex=False).fillna(False)
    add(
        "guest_user",
        guest,
        "guest account (userType "
        + base["user_type"].fillna("?")
        + ", UPN "
        + base["user_principal_name"].fillna("?")
        + ")",
    )
    deleted = base["soft_deleted"].fillna(False).astype(bool)
    disabled = base["account_enabled"].eq(False).fillna(False).astype(bool)
    add(
        "disabled_user",
        deleted | disabled,
        pd.Series("account disabled in Entra (accountEnabled false)", index=base.index).mask(
            deleted, "soft-deleted in Entra"
        ),
    )
    add(
        "nested_group_only",
        base["nested_only"],
        "reachable only through a nested group of "
        + base["via"]
        + " (Entra does not provision nested members)",
    )
    accepted = {t.casefold() for t in accepted_user_types}
    ut = base["user_type_sim"].astype("str")
    add(
        "invalid_user_type",
        ~_blank(ut) & ~licences.isin_text(ut.str.casefold(), list(accepted)),
        "userType "
        + ut.fillna("")
        + " (app role "
        + base["role_value"].fillna("default access")
        + ") is not accepted by Zoom ("
        + ", ".join(accepted_user_types)
        + ")",
    )
    key = normalize_key(un)
    existing = _existing_accounts(snapshot, key)
    add(
        "existing_zoom_account",
        licences.isin_text(key, existing.index) & ~_blank(un),
        "a Zoom account already has userName "
        + un.fillna("")
        + " ("
        + key.map(existing).astype("str").fillna("")
        + ")",
    )
    found = (
        pd.concat(hits, ignore_index=True)
        if hits
        else pd.DataFrame(
            {
                "category": pd.Series(dtype="str"),
                "row": pd.Series(dtype="int64"),
                "detail": pd.Series(dtype="str"),
            }
        )
    )
    ready = base.index[~base.index.isin(found["row"])]
    found = pd.concat(
        [
            found,
            pd.DataFrame(
                {"category": "ready", "row": ready, "detail": "no blocking condition found"}
            ),
        ],
        ignore_index=True,
    )
    rows = base.loc[found["row"]].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "category": found["category"].astype("str"),
            "entra_id": rows["entra_id"].astype("str"),
            "user_principal_name": rows["user_principal_name"].astype("str"),
            "display_name": rows["display_name"].astype("str"),
            "via": rows["via"].astype("str"),
            "role_value": rows["role_value"].astype("str"),
            "user_type": rows["user_type_sim"].astype("str"),
            "user_name": rows["user_name"].astype("str"),
            "detail": found["detail"].astype("str"),
        }
    )
    order = out["category"].map({c: i for i, c in enumerate(CATEGORIES)})
    out = out.assign(_o=order).sort_values(
        ["user_principal_name", "entra_id", "_o"], kind="stable"
    )
    return out.drop(columns="_o").reset_index(drop=True), sim


def evaluate(
    snapshot: Snapshot,
    candidates: pd.DataFrame,
    role_values: pd.Series | dict | None = None,
    *,
    role: str | None = "Basic",
    accepted_user_types: Sequence[str] = ACCEPTED_USER_TYPES,
    scope: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Classify explicit candidates (the lower-level entry point the rollout planner uses).

    Args:
        snapshot: the snapshot.
        candidates: entra_id, via (where the candidate came from) and optionally nested_only
            (bool, default False). Several rows per user are combined.
        role_values: per-user app-role value (``entra_id`` -> value) for candidates that hold
            no app role yet (the role the wave will assign); falls back to ``role``.
        role: the app-role value for candidates without a role and without ``role_values``.
        accepted_user_types: userType values Zoom accepts (case-insensitive).
        scope: a precomputed :func:`zoomaudit.scope.compute_scope` of the snapshot.

    Returns:
        One row per (candidate, category), ordered by UPN then category: columns
        :data:`FINDING_COLUMNS` (role_value: the app-role value used; user_type: the userType
        the mappings would send; user_name: the simulated userName). Pass it to :func:`gates`
        for the account-level gates. Candidates unknown to ``entra_users`` raise
        :class:`~zoomaudit.errors.LookupFailedError`.
    """
    found, _ = _evaluate_with_simulation(
        snapshot, candidates, role_values, role=role,
        accepted_user_types=accepted_user_types, scope=scope,
    )  # fmt: skip
    return found


def _simulate(snapshot, scope, entra_ids, role, role_values):
    """Mapping simulation of ``entra_ids`` as if assigned; returns (sim, roles by id)."""
    users = snapshot.table("entra_users").drop_duplicates("entra_id")
    ids = pd.Series(entra_ids.unique(), dtype="str")
    roles = candidate_roles(scope, ids, role, role_values)
    sub = users[licences.isin_text(users["entra_id"], ids).to_numpy(bool)]
    by_id = pd.Series(roles.to_numpy(), index=ids.to_numpy())
    overrides = by_id[~roles.attrs["held"]]
    sim = mapping.simulate(
        snapshot, users=sub, role_values=overrides.to_dict(), scope=scope, assume_in_scope=True
    )
    sim = sim.rename(columns={"user_type": "user_type_sim"})
    return sim, by_id


def _duplicates(snapshot, scope, base, role, role_values):
    """Candidates whose userName another candidate or an in-scope user would also send."""
    others = scope.loc[
        scope["in_scope"] & ~licences.isin_text(scope["entra_id"], base["entra_id"]), "entra_id"
    ]
    key = normalize_key(base["user_name"])
    pool = pd.DataFrame(
        {"entra_id": base["entra_id"], "key": key, "upn": base["user_principal_name"]}
    )
    if len(others):
        users = snapshot.table("entra_users")
        sim = mapping.simulate(
            snapshot,
            users=users[licences.isin_text(users["entra_id"], others).to_numpy(bool)],
            scope=scope,
        )
        upn = sim["entra_id"].map(
            users.drop_duplicates("entra_id").set_index("entra_id")["user_principal_name"]
        )
        pool = pd.concat(
            [
                pool,
                pd.DataFrame(
                    {
                        "entra_id": sim["entra_id"],
                        "key": normalize_key(sim["user_name"]),
                        "upn": upn,
                    }
                ),
            ],
            ignore_index=True,
        )
    pool = pool[~_blank(pool["key"])].drop_duplicates("entra_id")
    counts = pool.groupby("key")["entra_id"].transform("size")
    dup = pool[counts > 1]
    names = dup.groupby("key")["upn"].agg(lambda s: ", ".join(sorted(s.dropna().astype(str))[:5]))
    mask = licences.isin_text(key, dup["key"]) & ~_blank(key)
    detail = (
        "userName "
        + base["user_name"].fillna("")
        + " would also be sent for: "
        + key.map(names).astype("str").fillna("")
    )
    return mask, detail


def _existing_accounts(snapshot: Snapshot, keys: pd.Series) -> pd.Series:
    """Normalised userName -> the Zoom account(s) holding it, for the given ``keys`` only."""
    rest = snapshot.table("zoom_users")
    scim = snapshot.table("zoom_scim_users")
    wanted = keys.dropna().unique()
    rk = normalize_key(rest["email"])
    sk = normalize_key(scim["user_name"])
    r = rest[licences.isin_text(rk, wanted).to_numpy(bool)]
    c = scim[licences.isin_text(sk, wanted).to_numpy(bool)]
    a = pd.Series(
        ("REST status " + r["status"].fillna("?") + ", type "
         + r["type"].astype("str").fillna("?")).to_numpy(object),
        index=rk[r.index].to_numpy(object),
    )  # fmt: skip
    b = pd.Series(
        ("SCIM active " + c["active"].astype("str").fillna("?")).to_numpy(object),
        index=sk[c.index].to_numpy(object),
    )
    both = pd.concat([a, b])
    return _join_by_key(both.index.to_numpy(object), both.to_numpy(object), "; ")


# ------------------------------------------------------------------------------- gates
def gates(
    snapshot: Snapshot,
    findings: pd.DataFrame,
    *,
    basic_cap: int = licences.BASIC_USER_CAP,
    max_cycle_age_hours: float = 24.0,
    escrow_storm: int = 10,
) -> pd.DataFrame:
    """Account-level gates for provisioning the candidates in ``findings``.

    * ``seats``: Licensed seats needed (candidates whose userType maps to Licensed and who hold
      no Licensed Zoom account) <= available seats of ``plan_base`` (hosts - usage - pending).
    * ``basic_user_cap``: Basic users now + candidates that would become new Basic users
      <= ``basic_cap`` (the Zoom connector's 9,999).
    * ``required_mappings``: the job maps userName, the work e-mail, givenName, familyName and
      active (fails when the snapshot holds no attribute mappings).
    * ``provisioning_job_healthy``: the user job is not quarantined, its schedule is Active, its
      last cycle ended within ``max_cycle_age_hours`` of ``taken_at`` and escrowed fewer than
      ``escrow_storm`` objects. Thresholds are our choice ([U]: Microsoft publishes none).

    Returns columns gate, ok (bool), detail.
    """
    rows = []
    people = findings.drop_duplicates("entra_id")
    intended = people["role_value"].str.casefold().map(licences.USER_TYPE_TO_ZOOM_TYPE)
    if "user_type" in people.columns:  # what the mappings send; the role value otherwise
        sent = (
            people["user_type"].astype("str").str.casefold().map(licences.USER_TYPE_TO_ZOOM_TYPE)
        )
        intended = sent.where(people["user_type"].notna(), intended)
    zu = snapshot.table("zoom_users")
    want = normalize_key(people["user_name"])
    zk = normalize_key(zu["email"])
    mine = licences.isin_text(zk, want.dropna().unique()).to_numpy(bool)
    held = pd.Series(zu["type"][mine].to_numpy(), index=zk[mine].to_numpy(object))
    held = held[~held.index.duplicated()]
    held_type = want.map(held)
    need_licensed = int(
        ((intended == licences.LICENSED) & held_type.ne(licences.LICENSED).fillna(True)).sum()
    )
    seats = licences.seats(snapshot)
    base = seats[seats["plan_key"] == "plan_base"]
    if base.empty or base["available"].isna().all():
        rows.append(
            (
                "seats",
                need_licensed == 0,
                f"{need_licensed} Licensed seat(s) needed; no plan_base in plans/usage",
            )
        )
    else:
        avail = int(base["available"].fillna(0).sum())
        rows.append(
            (
                "seats",
                need_licensed <= avail,
                f"{need_licensed} Licensed seat(s) needed, {avail} available",
            )
        )
    cap = licences.basic_cap(snapshot, basic_cap).iloc[0]
    new_basic = int(((intended == licences.BASIC) & held_type.isna()).sum())
    total = int(cap["basic_users"]) + new_basic
    rows.append(
        (
            "basic_user_cap",
            total <= basic_cap,
            f"{cap['basic_users']} Basic users now + {new_basic} new = {total} "
            f"(connector cap {basic_cap})",
        )
    )
    table = snapshot.table("attribute_mappings")
    if table.empty:
        rows.append(
            (
                "required_mappings",
                False,
                "the snapshot holds no attribute mappings (synchronization schema not pulled)",
            )
        )
    else:
        have = {m.column for m in mapping.job_mappings(snapshot)}
        lack = [t for c, t in REQUIRED_MAPPINGS.items() if c not in have]
        rows.append(
            (
                "required_mappings",
                not lack,
                "missing: " + ", ".join(lack) if lack else "all required targets mapped",
            )
        )
    rows.append(
        ("provisioning_job_healthy", *_job_health(snapshot, max_cycle_age_hours, escrow_storm))
    )
    return pd.DataFrame(rows, columns=list(GATE_COLUMNS)).astype({"ok": bool, "detail": "str"})


def _job_health(snapshot: Snapshot, max_age_h: float, storm: int) -> tuple[bool, str]:
    jobs = snapshot.table("sync_jobs")
    job_id = user_job_id(snapshot)
    job = jobs[jobs["job_id"] == job_id]
    if job.empty:
        return False, "no provisioning job in the snapshot"
    j = job.iloc[0]
    problems = []
    if str(j["status_code"]).casefold() == "quarantine":
        problems.append(f"quarantined ({j['quarantine_reason']})")
    if str(j["schedule_state"]).casefold() != "active":
        problems.append(f"schedule {j['schedule_state']}")
    ended = j["last_execution_ended"]
    if pd.isna(ended):
        ended = j["last_execution_began"]
    now = pd.Timestamp(snapshot.taken_at)
    if pd.isna(ended):
        problems.append("no cycle has run")
    elif now - ended > pd.Timedelta(hours=max_age_h):
        problems.append(
            f"last cycle {(now - ended) / pd.Timedelta(hours=1):.1f} h ago (> {max_age_h:g} h)"
        )
    escrowed = j["last_count_escrowed"]
    if pd.notna(escrowed) and escrowed >= storm:
        problems.append(f"escrow storm: {escrowed} escrowed in the last cycle (>= {storm})")
    if problems:
        return False, f"job {job_id}: " + "; ".join(problems)
    return True, f"job {job_id}: active schedule, recent cycle, no escrow storm"


# ------------------------------------------------------------------------------- entry point
def check(
    snapshot: Snapshot,
    *,
    candidate_groups: Sequence[str] = (),
    candidates_file: Path | str | None = None,
    role: str = "Basic",
    accepted_user_types: Sequence[str] = ACCEPTED_USER_TYPES,
    allow_incomplete: bool = False,
    **gate_options,
) -> ReadinessResult:
    """Readiness of a rollout's candidates (pure; changes nothing).

    Args:
        snapshot: the snapshot (candidate groups must have been pulled with
            ``--candidate-groups``).
        candidate_groups: display names or ids of candidate groups.
        candidates_file: CSV with a ``user_principal_name`` column.
        role: the app-role value the rollout will assign to candidates holding none.
        accepted_user_types: userType values Zoom accepts.
        allow_incomplete: analyse a snapshot marked incomplete (otherwise SnapshotError).
        **gate_options: passed to :func:`gates` (basic_cap, max_cycle_age_hours,
            escrow_storm).

    Returns:
        A :class:`ReadinessResult`. Without groups and file, the candidates are the users
        assigned to the app.
    """
    if not snapshot.complete and not allow_incomplete:
        raise SnapshotError(
            f"snapshot {snapshot.id} is incomplete; re-pull before a readiness check"
        )
    scope = compute_scope(snapshot)
    parts = []
    if candidate_groups:
        parts.append(candidates_from_groups(snapshot, candidate_groups))
    if candidates_file is not None:
        parts.append(candidates_from_file(snapshot, candidates_file))
    cands = (
        _combine(pd.concat(parts, ignore_index=True))
        if parts
        else assigned_candidates(snapshot, scope)
    )
    found, sim = _evaluate_with_simulation(
        snapshot, cands, role=role, accepted_user_types=accepted_user_types, scope=scope
    )
    return ReadinessResult(
        findings=found,
        gates=gates(snapshot, found, **gate_options),
        candidates=cands,
        simulated=sim,
        notes=[]
        if snapshot.has("zoom_domains")
        else ["zoom_domains not in the snapshot: domain_not_verified was not checked"],
        parameters={
            "candidate_groups": list(candidate_groups),
            "candidates_file": None if candidates_file is None else str(candidates_file),
            "role": role,
            "accepted_user_types": list(accepted_user_types),
        },
    )
