"""Zoom emulator SCIM Users: paging, filters, projections, writes and Zoom's quirks (real HTTP)."""

from __future__ import annotations

import pytest

try:
    from . import zoom_support as zs
except ImportError:
    import zoom_support as zs

ZOOM_EXT = "urn:ietf:params:scim:schemas:extension:zoom:1.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ZOOM_USER = "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser"
ANA = "ANAid00000000000000000a"
NO_ACTIVE = "The request json did not contains valid active field."


@pytest.fixture
def zoom():
    with zs.serve(zs.make_state(zs.small_tenant(extra_users=25))) as served:
        yield served


@pytest.fixture
def client(zoom):
    with zoom.client() as c:
        yield c


def _all_scim(client, prefix="/scim2", count=7) -> list[dict]:
    out, start = [], 1
    while True:
        page = client.get(f"{prefix}/Users", params={"startIndex": start, "count": count}).json()
        out += page["Resources"]
        if start + page["itemsPerPage"] > page["totalResults"] or not page["Resources"]:
            return out
        start += page["itemsPerPage"]


def test_list_defaults_and_reduced_projection(client):
    page = client.get("/scim2/Users").json()
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert page["totalResults"] == 30  # 31 users minus the pending invite
    assert page["startIndex"] == 1 and page["itemsPerPage"] == 10 == len(page["Resources"])
    item = page["Resources"][0]
    assert ZOOM_EXT not in item and "roles" not in item
    assert item[ENTERPRISE] == {"department": "Sales"}
    assert item[ZOOM_USER] == {"loginType": {"workEmail": False, "sso": True}}
    assert item["meta"]["location"].endswith(f"/scim2/Users/{item['id']}")


def test_list_start_index_below_one_and_count_cap(client):
    page = client.get("/scim2/Users", params={"startIndex": 0, "count": 1000}).json()
    assert page["startIndex"] == 1
    assert page["itemsPerPage"] == 30  # capped at 100, only 30 exist
    beyond = client.get("/scim2/Users", params={"startIndex": 31, "count": 5}).json()
    assert beyond["Resources"] == [] and beyond["totalResults"] == 30


def test_list_pages_cover_every_user_once_under_both_prefixes(client):
    scim2 = _all_scim(client, "/scim2")
    scim = _all_scim(client, "/scim")
    assert len({u["id"] for u in scim2}) == 30
    assert [u["id"] for u in scim2] == [u["id"] for u in scim]
    assert scim[0]["meta"]["location"].split("/")[-3] == "scim"


def test_pending_users_are_listed_only_with_the_option():
    state = zs.make_state(scim_list_pending=True)
    with zs.serve(state) as served, served.client() as c:
        emails = {
            u["userName"] for u in c.get("/scim2/Users", params={"count": 50}).json()["Resources"]
        }
        assert "pia.pending@contoso.example" in emails


@pytest.mark.parametrize(
    "expression",
    [
        'userName eq "ana.ruiz@contoso.example"',
        "userName eq ana.ruiz@contoso.example",
        'USERNAME EQ "Ana.Ruiz@Contoso.Example"',
        f"externalId eq {ANA}",
    ],
)
def test_filter_user_name_and_external_id(client, expression):
    page = client.get("/scim2/Users", params={"filter": expression}).json()
    assert page["totalResults"] == 1 and page["Resources"][0]["id"] == ANA


def test_filter_unknown_email_is_an_empty_list(client):
    page = client.get("/scim2/Users", params={"filter": 'userName eq "nobody@x.example"'}).json()
    assert page == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_filter_pending_user_is_400(client):
    r = client.get("/scim2/Users", params={"filter": 'userName eq "pia.pending@contoso.example"'})
    assert r.status_code == 400
    assert r.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "User pia.pending@contoso.example not exist or not belong to this account.",
        "status": 400,
    }


@pytest.mark.parametrize(
    "expression",
    [
        'displayName eq "Ana Ruiz"',
        'userName sw "ana"',
        f'id eq "{ANA}"',
        'emails[type eq "work"].value eq "a@b"',
    ],
)
def test_unsupported_filters_are_400(client, expression):
    r = client.get("/scim2/Users", params={"filter": expression})
    assert r.status_code == 400 and r.json()["status"] == 400


def test_email_filter_and_and_behind_the_option():
    with zs.serve(zs.make_state(scim_email_filter=True)) as served, served.client() as c:
        e = 'emails[type eq "work"].value eq "ana.ruiz@contoso.example"'
        assert c.get("/scim2/Users", params={"filter": e}).json()["totalResults"] == 1
        both = f'userName eq "ana.ruiz@contoso.example" and externalId eq "{ANA}"'
        assert c.get("/scim2/Users", params={"filter": both}).json()["totalResults"] == 1
        neither = 'userName eq "ana.ruiz@contoso.example" and externalId eq "other"'
        assert c.get("/scim2/Users", params={"filter": neither}).json()["totalResults"] == 0


def test_get_one_full_projection(client):
    user = client.get(f"/scim2/Users/{ANA}").json()
    assert user["schemas"][-1] == ZOOM_EXT
    assert user["userType"] == "Licensed" and user["active"] is True
    assert isinstance(user[ENTERPRISE]["manager"], str)
    assert user[ZOOM_EXT]["zoomWhiteboard"] is False
    assert user["roles"][0]["value"] == "2"


def test_attributes_and_excluded_attributes(client):
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    params = {"attributes": f"{core}:userName,{ENTERPRISE}:department"}
    user = client.get(f"/scim2/Users/{ANA}", params=params).json()
    assert set(user) == {"id", "schemas", "meta", "userName", ENTERPRISE}
    assert user[ENTERPRISE] == {"department": "Finance"}
    page = client.get("/scim2/Users", params={"excludedAttributes": "emails,name"}).json()
    assert all("emails" not in u and "name" not in u for u in page["Resources"])


def test_get_unknown_or_pending_id_is_404(client):
    for uid in ("nope", "PENDid00000000000000pen"):
        r = client.get(f"/scim2/Users/{uid}")
        assert r.status_code == 404
        assert r.json()["status"] == 404 and "scimType" not in r.json()


def test_ids_in_paths_are_percent_decoded():
    tenant = zs.small_tenant()
    tenant.zoom_users.loc[0, "id"] = "k&KdKr6TLWuxdDtk0hjSzL"
    with zs.serve(zs.make_state(tenant)) as served, served.client() as c:
        r = c.get("/scim2/Users/k%26KdKr6TLWuxdDtk0hjSzL")
        assert r.status_code == 200 and r.json()["id"] == "k&KdKr6TLWuxdDtk0hjSzL"
        assert r.json()["meta"]["location"].endswith("/Users/k%26KdKr6TLWuxdDtk0hjSzL")


def test_string_status_option():
    with zs.serve(zs.make_state(scim_error_status_int=False)) as served, served.client() as c:
        assert c.get("/scim2/Users/nope").json()["status"] == "404"


# ---- POST ----------------------------------------------------------------------------------
def _new(email="new.one@contoso.example", **extra) -> dict:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": "New", "familyName": "One"},
        "emails": [{"type": "work", "value": email, "primary": True}],
        "active": True,
        "userType": "Basic",
        ENTERPRISE: {"department": "Legal"},
    }
    body.update(extra)
    return body


def test_post_creates_a_user_visible_in_rest(client):
    r = client.post("/scim2/Users", json=_new())
    assert r.status_code == 201
    user = r.json()
    assert r.headers["location"] == user["meta"]["location"]
    assert user["userType"] == "Basic" and user["displayName"] == "New One"
    rest = client.get("/v2/users/new.one@contoso.example").json()
    assert rest["id"] == user["id"] and rest["type"] == 1 and rest["dept"] == "Legal"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_new("x@fabrikam.example"), 400),  # managed domain still pending
        (_new("x@elsewhere.example"), 400),  # not a managed domain
        (_new(userType="None"), 400),
        (_new(userType="Collaboration"), 400),
        (_new("ana.ruiz@contoso.example"), 409),
        (_new("pia.pending@contoso.example"), 409),
    ],
)
def test_post_rejections(client, body, status):
    r = client.post("/scim2/Users", json=body)
    assert r.status_code == status
    assert r.json()["status"] == status


def test_post_licensed_needs_a_free_seat():
    # hosts=4: owner, ana, ben and the deactivated dora already hold the four seats
    with zs.serve(zs.make_state(zs.small_tenant(hosts=4))) as served, served.client() as c:
        r = c.post("/scim2/Users", json=_new(userType="Licensed"))
        assert r.status_code == 400
        c.delete("/scim2/Users/DEACTid00000000000000dd")
        assert c.post("/scim2/Users", json=_new(userType="Licensed")).status_code == 201


def test_post_accepts_on_prem(client):
    r = client.post("/scim2/Users", json=_new(userType="On-Prem"))
    assert r.status_code == 201 and r.json()["userType"] == "On-Prem"


# ---- PUT -----------------------------------------------------------------------------------
def test_put_is_a_partial_update_and_needs_schemas(client):
    r = client.put(f"/scim2/Users/{ANA}", json={"name": {"givenName": "Anita"}})
    assert r.status_code == 400
    r = client.put(
        f"/scim2/Users/{ANA}",
        json={"schemas": [], "name": {"givenName": "Anita"}, "userType": "Basic"},
    )
    assert r.status_code == 200
    user = r.json()
    assert user["name"] == {"givenName": "Anita", "familyName": "Ruiz"}
    assert user[ENTERPRISE]["department"] == "Finance"  # untouched
    assert client.get(f"/v2/users/{ANA}").json()["type"] == 1


def test_put_legacy_quirk_ignores_user_name_and_display_name():
    with zs.serve(zs.make_state(legacy_put_quirk=True)) as served, served.client() as c:
        body = {
            "schemas": [],
            "userName": "ana.new@contoso.example",
            "displayName": "Someone Else",
            "name": {"familyName": "Ruiz-Diaz"},
        }
        user = c.put(f"/scim2/Users/{ANA}", json=body).json()
        assert user["userName"] == "ana.ruiz@contoso.example"
        assert user["displayName"] == "Ana Ruiz"
        assert user["name"]["familyName"] == "Ruiz-Diaz"


# ---- PATCH ---------------------------------------------------------------------------------
def test_patch_needs_operations_with_capital_o(client):
    body = {"schemas": [], "operations": [{"op": "replace", "path": "active", "value": False}]}
    r = client.patch(f"/scim2/Users/{ANA}", json=body)
    assert r.status_code == 400
    assert r.json()["detail"] == NO_ACTIVE


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": False},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "REPLACE", "value": {"active": False}},
    ],
)
def test_patch_deactivates_and_keeps_type(client, operation):
    r = client.patch(f"/scim2/Users/{ANA}", json={"Operations": [operation]})
    assert r.status_code == 200 and r.json()["active"] is False
    rest = client.get(f"/v2/users/{ANA}").json()
    assert rest["status"] == "inactive" and rest["type"] == 2
    inactive = client.get("/v2/users", params={"status": "inactive"}).json()["users"]
    assert ANA in {u["id"] for u in inactive}


def test_patch_reactivates(client):
    client.patch(
        f"/scim2/Users/{ANA}", json={"Operations": [{"op": "replace", "value": {"active": False}}]}
    )
    r = client.patch(
        f"/scim2/Users/{ANA}",
        json={"Operations": [{"op": "replace", "path": "active", "value": "True"}]},
    )
    assert r.json()["active"] is True


def test_patch_entra_attribute_paths_are_accepted_by_default(client):
    ops = [
        {"op": "Replace", "path": "name.familyName", "value": "Ruiz-Diaz"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Risk"},
        {"op": "Add", "path": "userType", "value": "Basic"},
        {"op": "replace", "value": {"displayName": "Ana R.", "name.givenName": "Anabel"}},
    ]
    user = client.patch(f"/scim2/Users/{ANA}", json={"Operations": ops}).json()
    assert user["name"] == {"givenName": "Anabel", "familyName": "Ruiz-Diaz"}
    assert user["displayName"] == "Ana R." and user[ENTERPRISE]["department"] == "Risk"
    rest = client.get(f"/v2/users/{ANA}").json()
    assert (rest["type"], rest["dept"], rest["first_name"]) == (1, "Risk", "Anabel")


def test_patch_strict_mode_rejects_attribute_paths():
    with zs.serve(zs.make_state(scim_strict_patch=True)) as served, served.client() as c:
        op = {"op": "replace", "path": "name.familyName", "value": "X"}
        r = c.patch(f"/scim2/Users/{ANA}", json={"Operations": [op]})
        assert r.status_code == 400 and r.json()["detail"] == NO_ACTIVE
        op = {"op": "replace", "path": "active", "value": False}
        assert c.patch(f"/scim2/Users/{ANA}", json={"Operations": [op]}).status_code == 200


def test_patch_admin_deactivation_quirk():
    with zs.serve(zs.make_state(admin_deactivate_quirk=True)) as served, served.client() as c:
        op = {"op": "replace", "path": "active", "value": False}
        r = c.patch("/scim2/Users/OWNERid0000000000000000", json={"Operations": [op]})
        assert r.status_code == 400
        assert c.patch(f"/scim2/Users/{ANA}", json={"Operations": [op]}).status_code == 200


def test_patch_zoom_licence_attribute_shows_in_settings(client):
    op = {"op": "replace", "path": f"{ZOOM_EXT}:zoomWhiteboard", "value": True}
    assert client.patch(f"/scim2/Users/{ANA}", json={"Operations": [op]}).status_code == 200
    assert client.get(f"/scim2/Users/{ANA}").json()[ZOOM_EXT]["zoomWhiteboard"] is True
    feature = client.get(f"/v2/users/{ANA}/settings").json()["feature"]
    assert feature["zoom_whiteboard"] is True


def test_licence_flag_moves_the_add_on_plan_usage():
    tenant = zs.small_tenant()
    tenant.zoom_plans["plan_whiteboard"] = {"type": "zwb_yearly", "hosts": 10, "usage": 6}
    with zs.serve(zs.make_state(tenant)) as served, served.client() as c:

        def usage():
            return c.get("/v2/accounts/me/plans/usage").json()["plan_whiteboard"]["usage"]

        assert usage() == 6
        for value in (True, False):
            op = {"op": "replace", "path": f"{ZOOM_EXT}:zoomWhiteboard", "value": value}
            c.patch(f"/scim2/Users/{ANA}", json={"Operations": [op]})
            assert usage() == (7 if value else 6)


# ---- DELETE --------------------------------------------------------------------------------
def test_delete_is_204_then_404_and_gone_from_rest(client):
    r = client.delete(f"/scim2/Users/{ANA}")
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/scim2/Users/{ANA}").status_code == 404
    assert client.delete(f"/scim2/Users/{ANA}").status_code == 404
    assert client.get(f"/v2/users/{ANA}").status_code == 404
    everyone = client.get("/v2/users", params={"page_size": 300}).json()["users"]
    assert ANA not in {u["id"] for u in everyone}
    assert client.get("/scim2/Users").json()["totalResults"] == 29


def test_writes_touch_the_tenant(zoom, client):
    before = zoom.state.tenant.version
    client.post("/scim2/Users", json=_new())
    assert zoom.state.tenant.version > before
    assert "new.one@contoso.example" in set(zoom.state.tenant.zoom_users["email"])


def test_external_tenant_changes_are_seen(zoom, client):
    tenant = zoom.state.tenant
    with tenant.lock:
        tenant.zoom_users.loc[tenant.zoom_users["id"] == ANA, "dept"] = "Audit"
        tenant.touch()
    assert client.get(f"/scim2/Users/{ANA}").json()[ENTERPRISE]["department"] == "Audit"
