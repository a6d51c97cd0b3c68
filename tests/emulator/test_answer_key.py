"""The answer key agrees with a plain, row-by-row reading of the tenant (string matching).

The key is derived from the generator's planted situations; here a deliberately naive
reference reconcile works from the tenant's tables only (assignments, members, schema, Zoom
users). Both must agree exactly, which checks the planting, the cycle simulation and the key.
"""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from zoomaudit.emulator import answer_key as ak
from zoomaudit.emulator import schema as sch
from zoomaudit.emulator.generate import generate_tenant


def _nfc(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return unicodedata.normalize("NFC", str(value)).strip()


def _low(value) -> str | None:
    v = _nfc(value)
    return v.lower() if v else None


def _passes(user: dict, groups: list[dict]) -> bool:
    if not groups:
        return True
    for group in groups:
        ok = True
        for clause in group["clauses"]:
            value = user.get(clause["sourceOperandName"])
            empty = value is None or pd.isna(value) or value == ""
            op, vals = clause["operatorName"], clause["targetOperand"]["values"]
            if op == "IS NOT NULL":
                hit = not empty
            elif op == "EQUALS":
                hit = not empty and value in vals
            elif op == "NOT EQUALS":
                hit = not empty and value not in vals
            else:
                raise AssertionError(op)
            ok = ok and hit
        if ok:
            return True
    return False


def reference_reconcile(t) -> pd.DataFrame:
    """The issue's reconcile rules, row by row, from the tenant tables."""
    om = sch.user_mapping(t.sync_schemas[t.sync_jobs[0]["id"]])
    source = {m["targetAttributeName"]: m["source"] for m in om["attributeMappings"]}
    uname_attr = source["userName"]["name"]
    groups_filter = om["scope"]["groups"]
    role_value = {r["id"]: r["value"] for r in t.service_principal["appRoles"]}
    assigned_groups = {}
    direct_role = {}
    for a in t.assignments.to_dict("records"):
        if a["principalType"] == "Group":
            assigned_groups[a["principalId"]] = role_value[a["appRoleId"]]
        else:
            direct_role.setdefault(a["principalId"], role_value[a["appRoleId"]])
    members: dict[str, list[tuple[str, str]]] = {}
    for m in t.members.to_dict("records"):
        members.setdefault(m["group_id"], []).append((m["member_id"], m["member_type"]))
    group_role, nested = {}, set()
    for g, role in assigned_groups.items():
        stack, seen = [(g, 0)], set()
        while stack:
            cur, depth = stack.pop()
            for mid, mtype in members.get(cur, []):
                if mtype == "group" and mid not in seen:
                    seen.add(mid)
                    stack.append((mid, depth + 1))
                elif mtype == "user" and depth == 0:
                    group_role.setdefault(mid, role)
                elif mtype == "user":
                    nested.add(mid)
    zoom = t.zoom_users.to_dict("records")
    by_email = {_low(z["email"]): z for z in zoom}
    ztypes = {1: "Basic", 2: "Licensed", 3: "On-Prem"}
    rows, matched, named = [], set(), set()
    for u in t.users.to_dict("records"):
        uid = u["id"]
        assigned = uid in direct_role or uid in group_role
        alive = bool(u["accountEnabled"]) and pd.isna(u["deletedDateTime"])
        ok_filter = _passes(u, groups_filter)
        in_scope = assigned and alive and ok_filter
        expected = u[uname_attr] if not pd.isna(u[uname_attr]) else None
        z = by_email.get(_low(expected)) if expected else None
        if z is not None:
            matched.add(z["id"])
        soft = not pd.isna(u["deletedDateTime"])
        if not (assigned or uid in nested or soft or z is not None):
            continue
        cat, zid = None, z["id"] if z is not None else None
        if in_scope and z is not None:
            if z["status"] == "pending":
                cat = "pending_invite"
            elif z["status"] == "inactive":
                cat = "zoom_user_inactive"
            else:
                role = direct_role.get(uid) or group_role.get(uid)
                same = (
                    _low(z["email"]) == _low(u["mail"])
                    and _nfc(z["display_name"]) == _nfc(u["displayName"])
                    and _nfc(z["first_name"]) == _nfc(u["givenName"])
                    and _nfc(z["last_name"]) == _nfc(u["surname"])
                    and _nfc(z["dept"]) == _nfc(u["department"])
                    and ztypes.get(int(z["type"])) == role
                )
                cat = "in_sync" if same else "attribute_drift"
        elif in_scope:
            others = [u["userPrincipalName"], u["mail"], *u["otherMails"]]
            others += [p[5:] for p in u["proxyAddresses"] if p.lower().startswith("smtp:")]
            hits = [
                by_email[_low(a)]
                for a in others
                if a and _low(a) != _low(expected) and _low(a) in by_email
            ]
            if hits:
                cat, zid = "email_conflict", hits[0]["id"]
                named.add(zid)
            else:
                cat = "not_provisioned"
        elif uid in nested and not assigned and alive and ok_filter:
            cat = "nested_group_only"
        elif z is not None and z["status"] == "active":
            cat = "should_be_deactivated"
        if cat:
            rows.append(
                (
                    uid,
                    zid,
                    z["email"]
                    if zid and z is not None and zid == z["id"]
                    else (by_email.get(_low(hits[0]["email"]))["email"] if zid else None),
                    cat,
                )
            )
    for z in zoom:
        if z["id"] in matched or z["id"] in named:
            continue
        cat = {"pending": "pending_invite", "active": "unmanaged_zoom_user"}.get(z["status"])
        if cat:
            rows.append((None, z["id"], z["email"], cat))
    out = pd.DataFrame(rows, columns=["entra_id", "zoom_id", "zoom_user_name", "category"])
    out = out.astype("str").sort_values(["category", "entra_id", "zoom_id"], na_position="last")
    return out.reset_index(drop=True)


def _routes(t):
    """direct role, direct-member group role, nested-only set, members by group (tables)."""
    role_value = {r["id"]: r["value"] for r in t.service_principal["appRoles"]}
    assigned_groups, direct_role = {}, {}
    for a in t.assignments.to_dict("records"):
        if a["principalType"] == "Group":
            assigned_groups[a["principalId"]] = role_value[a["appRoleId"]]
        else:
            direct_role.setdefault(a["principalId"], role_value[a["appRoleId"]])
    members: dict[str, list[tuple[str, str]]] = {}
    for m in t.members.to_dict("records"):
        members.setdefault(m["group_id"], []).append((m["member_id"], m["member_type"]))
    group_role, below = {}, {}
    for g, role in assigned_groups.items():
        for uid, depth in _walk(members, g):
            if depth == 0:
                group_role.setdefault(uid, role)
            below.setdefault(uid, depth)
    nested = {u for u in below if u not in direct_role and u not in group_role}
    return direct_role, group_role, nested, members


def _walk(members, group):
    stack, seen = [(group, 0)], set()
    while stack:
        cur, depth = stack.pop()
        for mid, mtype in members.get(cur, []):
            if mtype == "group" and mid not in seen:
                seen.add(mid)
                stack.append((mid, depth + 1))
            elif mtype == "user":
                yield mid, depth


def reference_licences(t, reconcile: pd.DataFrame) -> pd.DataFrame:
    om = sch.user_mapping(t.sync_schemas[t.sync_jobs[0]["id"]])
    attr = {m["targetAttributeName"]: m["source"] for m in om["attributeMappings"]}
    uname_attr = attr["userName"]["name"]
    direct_role, group_role, nested, _ = _routes(t)
    by_name = {}
    for u in t.users.to_dict("records"):
        if not pd.isna(u[uname_attr]):
            by_name[_low(u[uname_attr])] = u
    cat_of = dict(zip(reconcile["entra_id"], reconcile["category"], strict=True))
    unmanaged = set(reconcile.loc[reconcile["category"] == "unmanaged_zoom_user", "zoom_id"])
    now = pd.Timestamp(t.now)
    rows = []
    for z in t.zoom_users.to_dict("records"):
        lic = z["type"] == 2
        active = z["status"] == "active"
        u = by_name.get(_low(z["email"]))
        login = pd.Timestamp(z["last_login_time"]) if not pd.isna(z["last_login_time"]) else None
        created = pd.Timestamp(z["created_at"])
        cats = []
        if (
            lic
            and active
            and (
                (login is not None and login < now - pd.Timedelta(days=90))
                or (login is None and created < now - pd.Timedelta(days=30))
            )
        ):
            cats.append("licensed_inactive")
        if lic and z["status"] == "inactive":
            cats.append("licensed_deactivated")
        if lic and active and u is not None:
            uid = u["id"]
            assigned = uid in direct_role or uid in group_role or uid in nested
            out = (
                not u["accountEnabled"]
                or not pd.isna(u["deletedDateTime"])
                or not assigned
                or cat_of.get(uid) == "should_be_deactivated"
            )
            if out and uid not in nested:
                cats.append("licensed_entra_disabled")
        if lic and active and z["id"] in unmanaged:
            cats.append("licensed_unmanaged")
        if u is not None and cat_of.get(u["id"]) in ak.IN_SCOPE_CATEGORIES:
            role = direct_role.get(u["id"]) or group_role.get(u["id"])
            want = {"Licensed": 2, "Basic": 1}.get(role)
            if want is not None and want != z["type"]:
                cats.append("licence_role_mismatch")
        rows += [(z["id"], z["email"], c) for c in cats]
    out = pd.DataFrame(rows, columns=["zoom_id", "zoom_user_name", "category"]).astype("str")
    return out.sort_values(["category", "zoom_id"]).reset_index(drop=True)


def reference_readiness(t, reconcile: pd.DataFrame) -> pd.DataFrame:
    om = sch.user_mapping(t.sync_schemas[t.sync_jobs[0]["id"]])
    uname_attr = {m["targetAttributeName"]: m["source"] for m in om["attributeMappings"]}[
        "userName"
    ]["name"]
    direct_role, group_role, nested, members = _routes(t)
    users = {u["id"]: u for u in t.users.to_dict("records")}
    verified = {d["domain"] for d in t.zoom_domains if d["status"] == "verified"}
    zoom_names = {_low(e) for e in t.zoom_users["email"]}
    in_scope = set(
        reconcile.loc[reconcile["category"].isin(ak.IN_SCOPE_CATEGORIES), "entra_id"].dropna()
    )
    sets = {
        "assigned": (
            {
                u
                for u in (set(direct_role) | set(group_role) | nested)
                if pd.isna(users[u]["deletedDateTime"])
            },
            None,
        )
    }
    for g in t.groups.to_dict("records"):
        if g["displayName"].startswith("Zoom Wave"):
            walked = list(_walk(members, g["id"]))
            sets[g["displayName"]] = ({u for u, _ in walked}, {u for u, d in walked if d == 0})

    def blank(v):
        return v is None or pd.isna(v) or not str(v).strip()

    rows = []
    for name, (cands, direct) in sets.items():
        counts: dict[str, int] = {}
        for uid in cands | in_scope:
            key = _low(users[uid][uname_attr]) if not blank(users[uid][uname_attr]) else None
            if key:
                counts[key] = counts.get(key, 0) + 1
        for uid in cands:
            u = users[uid]
            un = None if blank(u[uname_attr]) else u[uname_attr]
            role = direct_role.get(uid) or group_role.get(uid) or "Basic"
            cats = []
            if any(blank(u[a]) for a in (uname_attr, "mail", "givenName", "surname")):
                cats.append("missing_required_attribute")
            if un and not blank(u["mail"]) and _low(un) != _low(u["mail"]):
                cats.append("upn_mail_mismatch")
            if un and _low(un).rsplit("@", 1)[-1] not in verified:
                cats.append("domain_not_verified")
            if un and counts.get(_low(un), 0) > 1:
                cats.append("duplicate_expected_username")
            if u["userType"] == "Guest" or "#EXT#" in u["userPrincipalName"]:
                cats.append("guest_user")
            if not u["accountEnabled"]:
                cats.append("disabled_user")
            if (uid in nested) if direct is None else (uid not in direct):
                cats.append("nested_group_only")
            if role not in ("Basic", "Licensed", "On-Prem"):
                cats.append("invalid_user_type")
            if un and _low(un) in zoom_names:
                cats.append("existing_zoom_account")
            rows += [(name, uid, c) for c in cats or ["ready"]]
    out = pd.DataFrame(rows, columns=["candidates", "entra_id", "category"]).astype("str")
    return out.sort_values(["candidates", "category", "entra_id"]).reset_index(drop=True)


@pytest.fixture(scope="module", params=["default", "mail-username"])
def tenant(request):
    return generate_tenant(600, seed=7, scenario=request.param)


def test_reconcile_key_matches_a_row_by_row_reading(tenant):
    key = tenant.answer_key["reconcile"]
    ref = reference_reconcile(tenant)
    pd.testing.assert_frame_equal(key, ref)


def test_licence_key_matches_a_row_by_row_reading(tenant):
    ref = reference_licences(tenant, tenant.answer_key["reconcile"])
    pd.testing.assert_frame_equal(tenant.answer_key["licences"], ref)


def test_readiness_key_matches_a_row_by_row_reading(tenant):
    ref = reference_readiness(tenant, tenant.answer_key["reconcile"])
    pd.testing.assert_frame_equal(tenant.answer_key["readiness"], ref)


def test_reconcile_key_is_consistent(tenant):
    key = tenant.answer_key["reconcile"]
    assert set(key["category"]) <= set(ak.RECONCILE_CATEGORIES)
    entra = key["entra_id"].dropna()
    assert entra.is_unique
    zoom_ids = set(tenant.zoom_users["id"])
    assert set(key["zoom_id"].dropna()) <= zoom_ids
    assert set(entra) <= set(tenant.users["id"])
    only = key[key["entra_id"].isna()]
    assert set(only["category"]) <= {"pending_invite", "unmanaged_zoom_user"}
    no_zoom = key[key["category"] == "not_provisioned"]
    assert no_zoom["zoom_id"].isna().all()


def test_every_reconcile_category_is_planted(tenant):
    assert set(tenant.answer_key["reconcile"]["category"]) == set(ak.RECONCILE_CATEGORIES)


def test_every_licence_category_is_planted(tenant):
    lic = tenant.answer_key["licences"]
    assert set(lic["category"]) == set(ak.LICENCE_CATEGORIES)
    assert set(lic["zoom_id"]) <= set(tenant.zoom_users["id"])


def test_licence_inactivity_boundaries(tenant):
    z = tenant.zoom_users.set_index("id")
    flagged = set(
        tenant.answer_key["licences"].query("category == 'licensed_inactive'")["zoom_id"]
    )
    now = pd.Timestamp(tenant.now)
    login = pd.to_datetime(z["last_login_time"], utc=True)
    exact90 = z.index[(login == now - pd.Timedelta(days=90)) & (z["type"] == 2)]
    exact91 = z.index[(login == now - pd.Timedelta(days=91)) & (z["type"] == 2)]
    assert len(exact90) and len(exact91)
    assert not set(exact90) & flagged
    assert set(exact91) <= flagged
    created = pd.to_datetime(z["created_at"], utc=True)
    yesterday = z.index[login.isna() & (created == now - pd.Timedelta(days=1))]
    assert len(yesterday) and not set(yesterday) & flagged
    assert {4, 99} <= set(z["type"].dropna().astype(int))


def test_readiness_key(tenant):
    ready = tenant.answer_key["readiness"]
    assert set(ready["category"]) <= set(ak.READINESS_CATEGORIES)
    assert set(ready["candidates"]) == {"assigned", "Zoom Wave 2 - Finance", "Zoom Wave 2 - Legal"}
    for _, grp in ready.groupby(["candidates", "entra_id"]):
        cats = set(grp["category"])
        assert "ready" not in cats or cats == {"ready"}
    expected = set(ak.READINESS_CATEGORIES)
    if tenant.scenario == "default":
        expected.discard("duplicate_expected_username")  # UPNs are unique in Entra
    else:
        expected.discard("upn_mail_mismatch")  # userName and work e-mail both come from mail
    assert set(ready["category"]) == expected
    fin = ready[ready["candidates"] == "Zoom Wave 2 - Finance"]
    assert {"nested_group_only", "ready", "guest_user", "disabled_user"} <= set(fin["category"])


def test_answer_key_round_trip(tenant, tmp_path):
    folder = ak.write_answer_key(tenant, tmp_path)
    assert (folder / "summary.json").exists()
    loaded = ak.load_answer_key(tmp_path)
    for name in ak.NAMES:
        pd.testing.assert_frame_equal(loaded[name], tenant.answer_key[name])
