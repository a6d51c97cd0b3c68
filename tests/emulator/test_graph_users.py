"""Graph emulator: /users paging, $select, $top, $count, $filter and single-user rules (§9 1-7)."""

from __future__ import annotations

import httpx
import pytest
from graph_tenant import SKU_E5, client, gid, start

from zoomaudit.emulator.core import EmulatorOptions

EVENTUAL = {"ConsistencyLevel": "eventual"}


def pull(graph: httpx.Client, url: str, **kwargs) -> tuple[list[dict], list[dict]]:
    """All items and all pages of a collection, following nextLinks."""
    pages = [graph.get(url, **kwargs).json()]
    while "@odata.nextLink" in pages[-1]:
        pages.append(graph.get(pages[-1]["@odata.nextLink"], headers=kwargs.get("headers")).json())
    return [item for p in pages for item in p["value"]], pages


def test_pages_link_back_to_the_emulator_with_the_original_query(emu, graph):
    items, pages = pull(graph, "/users", params={"$top": "4", "$select": "id,mail"})
    assert len(pages) == 3  # 11 live users by 4
    assert len({u["id"] for u in items}) == 11
    link = pages[0]["@odata.nextLink"]
    assert link.startswith(emu.graph_url + "/users?")
    assert "skiptoken=" in link and "select" in link and "top" in link
    assert all(set(u) == {"id", "mail"} for u in items)


def test_live_users_exclude_the_soft_deleted(graph):
    items, _ = pull(graph, "/users", params={"$top": "999"})
    assert gid("u11") not in {u["id"] for u in items}


def test_empty_page_fault_keeps_the_next_link(fresh, fgraph):
    fresh.state.faults.add("graph", "/users$", "empty-page")
    items, pages = pull(fgraph, "/users", params={"$top": "5"})
    assert pages[0]["value"] == [] and "@odata.nextLink" in pages[0]
    assert len(items) == 11


def test_short_page_fault_loses_items_but_count_stays(fresh, fgraph):
    fresh.state.faults.add("graph", "/users$", "short")
    items, pages = pull(fgraph, "/users", params={"$top": "6", "$count": "true"}, headers=EVENTUAL)
    assert pages[0]["@odata.count"] == 11
    assert len(items) < 11


def test_count_needs_consistency_level_and_appears_on_first_page_only(graph):
    plain = graph.get("/users", params={"$count": "true", "$top": "5"}).json()
    assert "@odata.count" not in plain
    _, pages = pull(graph, "/users", params={"$count": "true", "$top": "5"}, headers=EVENTUAL)
    assert pages[0]["@odata.count"] == 11
    assert all("@odata.count" not in p for p in pages[1:])


def test_count_segment_is_text_and_needs_the_header(graph):
    bad = graph.get("/users/$count")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_BadRequest"
    good = graph.get("/users/$count", headers=EVENTUAL)
    assert good.headers["content-type"].startswith("text/plain") and good.text == "11"
    enabled = graph.get("/users/$count", params={"$filter": "accountEnabled eq true"},
                        headers=EVENTUAL)  # fmt: skip
    assert enabled.text == "10"


@pytest.mark.parametrize("top", ["0", "1000", "x"])
def test_top_outside_1_to_999_is_rejected(graph, top):
    resp = graph.get("/users", params={"$top": top})
    assert resp.status_code == 400
    assert "Invalid page size specified" in resp.json()["error"]["message"]


def test_default_page_is_100_and_signin_caps_top_at_500(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(graph_default_page=3, signin_max_top=2))
    with client(emu) as graph:
        assert len(graph.get("/users").json()["value"]) == 3
        page = graph.get("/users", params={"$top": "999", "$select": "id,signInActivity"}).json()
        assert len(page["value"]) == 2


def test_without_select_users_have_the_11_default_properties(graph):
    user = graph.get("/users", params={"$top": "1"}).json()["value"][0]
    assert set(user) == {
        "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
        "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
    }  # fmt: skip


def test_select_always_returns_id_and_rejects_unknown_properties(graph):
    user = graph.get("/users", params={"$select": "department"}).json()["value"][0]
    assert set(user) == {"id", "department"}
    bad = graph.get("/users", params={"$select": "nope"})
    assert bad.status_code == 400
    assert graph.get("/users", params={"$select": "aboutMe"}).status_code == 501


def test_signin_activity_shape_and_null_for_never_signed_in(graph):
    items, _ = pull(graph, "/users", params={"$select": "id,signInActivity", "$top": "500"})
    by_id = {u["id"]: u for u in items}
    assert by_id[gid("u00")]["signInActivity"]["lastSignInDateTime"] == "2025-02-20T08:00:00Z"
    assert by_id[gid("u07")]["signInActivity"] is None


def test_signin_activity_needs_premium(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(premium=False))
    with client(emu) as graph:
        resp = graph.get("/users", params={"$select": "id,signInActivity"})
        assert resp.status_code == 403
        err = resp.json()["error"]
        assert err["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
        assert graph.get("/users", params={"$select": "id"}).status_code == 200


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("accountEnabled eq false", {"u10"}),
        ("startsWith(userPrincipalName,'U0')", {f"u0{n}" for n in range(10)}),
        (
            "department in ('sales') and accountEnabled eq true",
            {"u01", "u03", "u05", "u07", "u09"},
        ),
        (f"assignedLicenses/any(x:x/skuId eq {SKU_E5})", {"u00"}),
        ("proxyAddresses/any(p:startsWith(p,'smtp:u00@alias'))", {"u00"}),
        (f"id eq '{gid('u03')}' or id eq '{gid('u04')}'", {"u03", "u04"}),
        ("signInActivity/lastSignInDateTime ge 2025-02-23T00:00:00Z", {"u03", "u04"}),
    ],
)
def test_filter_subset(graph, flt, expected):
    items, _ = pull(graph, "/users", params={"$filter": flt, "$select": "id,mailNickname"})
    assert {u["mailNickname"] for u in items} == expected


@pytest.mark.parametrize(
    "flt",
    ["accountEnabled ne true", "not(accountEnabled eq true)", "endsWith(mail,'example')",
     "otherMails/$count eq 0"],
)  # fmt: skip
def test_advanced_operators_need_count_and_header(graph, flt):
    resp = graph.get("/users", params={"$filter": flt})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "Request_UnsupportedQuery"
    ok = graph.get("/users", params={"$filter": flt, "$count": "true"}, headers=EVENTUAL)
    assert ok.status_code == 200 and ok.json()["@odata.count"] >= 1


def test_advanced_operators_allowed_when_not_strict(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(strict_advanced_queries=False))
    with client(emu) as graph:
        resp = graph.get("/users", params={"$filter": "otherMails/$count eq 0"})
        assert [u["id"] for u in resp.json()["value"]] == [gid("u05")]


def test_unsupported_property_and_bad_syntax(graph):
    resp = graph.get("/users", params={"$filter": "favouriteColour eq 'red'"})
    assert resp.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert graph.get("/users", params={"$filter": "displayName eq"}).status_code == 400


def test_signin_filter_cannot_be_combined(graph):
    resp = graph.get(
        "/users",
        params={
            "$filter": "signInActivity/lastSignInDateTime ge 2025-01-01 and accountEnabled eq true"
        },
    )
    assert resp.status_code == 400


def test_skip_is_rejected_and_search_needs_the_header(graph):
    assert graph.get("/users", params={"$skip": "5"}).status_code == 400
    assert graph.get("/users", params={"$search": '"displayName:User 0"'}).status_code == 400
    found = graph.get("/users", params={"$search": '"displayName:User 03"', "$count": "true"},
                      headers=EVENTUAL).json()  # fmt: skip
    assert [u["displayName"] for u in found["value"]] == ["User 03"]


def test_orderby_with_filter_is_advanced(graph):
    params = {"$filter": "accountEnabled eq true", "$orderby": "displayName desc"}
    assert graph.get("/users", params=params).status_code == 400
    resp = graph.get("/users", params={**params, "$count": "true"}, headers=EVENTUAL).json()
    assert resp["value"][0]["displayName"] == "User 09"


def test_query_keys_decode_with_or_without_dollar(emu):
    url = f"{emu.graph_url}/users?%24select=id%2Cmail&top=2"
    body = httpx.get(url, headers={"Authorization": "Bearer t"}).json()
    assert len(body["value"]) == 2 and set(body["value"][0]) == {"id", "mail"}


def test_single_user_by_id_or_upn_and_not_found_envelope(graph):
    assert graph.get(f"/users/{gid('u02')}").json()["userPrincipalName"] == "u02@contoso.example"
    assert graph.get("/users/U02@contoso.example").json()["id"] == gid("u02")
    resp = graph.get(f"/users/{gid('nobody')}")
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert err["code"] == "Request_ResourceNotFound"
    assert err["innerError"]["request-id"] == resp.headers["request-id"]
    assert "Z" not in err["innerError"]["date"] and "+" not in err["innerError"]["date"]


def test_double_slashes_are_collapsed(emu):
    url = emu.graph_url.replace("/v1.0", "/v1.0/") + "/users?$top=1"
    assert httpx.get(url, headers={"Authorization": "Bearer t"}).status_code == 200


def test_user_app_role_assignments_include_direct_group_ones(graph, emu):
    sp = emu.tenant.service_principal["id"]
    direct = graph.get(f"/users/{gid('u00')}/appRoleAssignments",
                       params={"$filter": f"resourceId eq {sp}"}).json()["value"]  # fmt: skip
    assert [a["principalId"] for a in direct] == [gid("u00")]
    via_group = graph.get(f"/users/{gid('u02')}/appRoleAssignments").json()["value"]
    assert [a["principalType"] for a in via_group] == ["Group"]
    nested = graph.get(f"/users/{gid('u04')}/appRoleAssignments").json()["value"]
    assert nested == []


def test_signin_activity_by_upn_is_refused_by_id_works(graph):
    by_upn = graph.get("/users/u02@contoso.example", params={"$select": "id,signInActivity"})
    assert by_upn.status_code == 400
    by_id = graph.get(f"/users/{gid('u02')}", params={"$select": "id,signInActivity"})
    assert by_id.json()["signInActivity"]["lastSignInDateTime"] == "2025-02-22T08:00:00Z"
