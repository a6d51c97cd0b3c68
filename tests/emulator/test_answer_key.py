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


@pytest.fixture(scope="module", params=["default", "mail-username"])
def tenant(request):
    return generate_tenant(600, seed=7, scenario=request.param)


def test_reconcile_key_matches_a_row_by_row_reading(tenant):
    key = tenant.answer_key["reconcile"]
    ref = reference_reconcile(tenant)
    pd.testing.assert_frame_equal(key, ref)


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
