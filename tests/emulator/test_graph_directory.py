"""Graph emulator: groups, casts, service principals, assignments, delta (§9 8-10, 15)."""

from __future__ import annotations

import pytest
from graph_tenant import ROLE_LICENSED, ROLE_USER, client, gid, start

from zoomaudit.emulator.core import EmulatorOptions

EVENTUAL = {"ConsistencyLevel": "eventual"}


def ids(items: list[dict]) -> set[str]:
    return {i["id"] for i in items}


# ---- groups


def test_members_are_direct_and_typed(graph):
    items = graph.get(f"/groups/{gid('Zoom Pilot')}/members").json()["value"]
    assert ids(items) == {gid("u01"), gid("u02"), gid("u03"), gid("Nested")}
    types = {i["id"]: i["@odata.type"] for i in items}
    assert types[gid("Nested")] == "#microsoft.graph.group"
    assert types[gid("u01")] == "#microsoft.graph.user"


@pytest.mark.parametrize("cast", ["microsoft.graph.user", "graph.user"])
@pytest.mark.parametrize("which", ["members", "transitiveMembers"])
def test_user_cast_accepts_both_spellings(graph, cast, which):
    resp = graph.get(f"/groups/{gid('Zoom Pilot')}/{which}/{cast}")
    assert resp.status_code == 200
    items = resp.json()["value"]
    assert all(i["@odata.type"] == "#microsoft.graph.user" for i in items)
    expected = {gid("u01"), gid("u02"), gid("u03")}
    if which == "transitiveMembers":
        expected |= {gid("u04"), gid("u05")}
    assert ids(items) == expected


def test_transitive_members_include_the_nested_group_and_count_segment(graph):
    items = graph.get(f"/groups/{gid('Zoom Pilot')}/transitiveMembers").json()["value"]
    assert gid("Nested") in ids(items) and len(items) == 6
    url = f"/groups/{gid('Zoom Pilot')}/transitiveMembers/$count"
    assert graph.get(url).status_code == 400
    assert graph.get(url, headers=EVENTUAL).text == "6"


def test_members_page_with_next_links(graph):
    first = graph.get(f"/groups/{gid('Zoom Pilot')}/transitiveMembers", params={"$top": "4"})
    body = first.json()
    assert len(body["value"]) == 4
    rest = graph.get(body["@odata.nextLink"]).json()
    assert len(rest["value"]) == 2 and "@odata.nextLink" not in rest


def test_groups_list_filter_and_unknown_group(graph):
    found = graph.get("/groups", params={"$filter": "displayName eq 'nested'"}).json()["value"]
    assert ids(found) == {gid("Nested")}
    assert graph.get(f"/groups/{gid('missing')}/members").status_code == 404


# ---- service principals


def test_service_principal_lookups(graph, emu):
    sp = emu.tenant.service_principal
    by_app = graph.get("/servicePrincipals", params={"$filter": f"appId eq '{sp['appId']}'"})
    assert ids(by_app.json()["value"]) == {sp["id"]}
    by_name = graph.get("/servicePrincipals", params={"$filter": "displayName eq 'Zoom'"})
    assert len(by_name.json()["value"]) == 2  # two apps share the name
    alt = graph.get(f"/servicePrincipals(appId='{sp['appId']}')")
    assert alt.status_code == 200 and alt.json()["id"] == sp["id"]
    assert graph.get(f"/servicePrincipals/{sp['id']}").json()["appRoles"][0]["id"] == ROLE_USER


# ---- app role assignments


def test_assigned_to_lists_groups_unexpanded(graph, emu):
    sp = emu.tenant.service_principal["id"]
    items = graph.get(f"/servicePrincipals/{sp}/appRoleAssignedTo").json()["value"]
    assert {(i["principalType"], i["principalId"]) for i in items} == {
        ("User", gid("u00")), ("Group", gid("Zoom Pilot"))}  # fmt: skip
    assert all(i["resourceId"] == sp and i["resourceDisplayName"] == "Zoom" for i in items)


@pytest.mark.parametrize("prop", ["principalId", "appRoleId"])
def test_assigned_to_cannot_filter_by_principal_or_role(graph, emu, prop):
    sp = emu.tenant.service_principal["id"]
    resp = graph.get(f"/servicePrincipals/{sp}/appRoleAssignedTo",
                     params={"$filter": f"{prop} eq {gid('u00')}"})  # fmt: skip
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "Request_BadRequest"
    assert "Invalid filter clause" in resp.json()["error"]["message"]


def test_assigned_to_filters_by_principal_display_name(graph, emu):
    sp = emu.tenant.service_principal["id"]
    resp = graph.get(f"/servicePrincipals/{sp}/appRoleAssignedTo",
                     params={"$filter": "startsWith(principalDisplayName,'Zoom')"})  # fmt: skip
    assert [i["principalId"] for i in resp.json()["value"]] == [gid("Zoom Pilot")]


def test_post_assignment_sets_server_fields_and_ignores_odata_type(fgraph, fresh):
    sp = fresh.tenant.service_principal["id"]
    body = {"@odata.type": "#microsoft.graph.appRoleAssignment", "principalId": gid("u07"),
            "resourceId": sp, "appRoleId": ROLE_LICENSED}  # fmt: skip
    resp = fgraph.post(f"/servicePrincipals/{sp}/appRoleAssignedTo", json=body)
    assert resp.status_code == 201
    created = resp.json()
    assert created["principalType"] == "User" and created["principalDisplayName"] == "User 07"
    assert created["resourceDisplayName"] == "Zoom" and created["createdDateTime"]
    assert len(created["id"]) == 43 and "-" not in created["id"][8:9]  # opaque, not a GUID
    listed = fgraph.get(f"/servicePrincipals/{sp}/appRoleAssignedTo").json()["value"]
    assert created["id"] in ids(listed)
    dup = fgraph.post(f"/servicePrincipals/{sp}/appRoleAssignedTo", json=body)
    assert dup.status_code == 400
    writes = fresh.state.journal.state_changing("graph")
    assert [(w.method, w.status) for w in writes] == [("POST", 201)]


def test_post_assignment_to_group_and_bad_inputs(fgraph, fresh):
    sp = fresh.tenant.service_principal["id"]
    url = f"/servicePrincipals/{sp}/appRoleAssignedTo"
    zero = "00000000-0000-0000-0000-000000000000"  # default access
    group = fgraph.post(
        url, json={"principalId": gid("Other"), "resourceId": sp, "appRoleId": zero}
    )
    assert group.status_code == 201 and group.json()["principalType"] == "Group"
    role = fgraph.post(url, json={"principalId": gid("u08"), "resourceId": sp,
                                 "appRoleId": gid("no-such-role")})  # fmt: skip
    assert role.status_code == 400
    who = fgraph.post(url, json={"principalId": gid("ghost"), "resourceId": sp,
                                "appRoleId": ROLE_USER})  # fmt: skip
    assert who.status_code == 404


def test_delete_assignment_then_404(fgraph, fresh):
    sp = fresh.tenant.service_principal["id"]
    url = f"/servicePrincipals/{sp}/appRoleAssignedTo/assign-u00-licensed"
    assert fgraph.delete(url).status_code == 204
    assert fgraph.delete(url).status_code == 404
    listed = fgraph.get(f"/servicePrincipals/{sp}/appRoleAssignedTo").json()["value"]
    assert "assign-u00-licensed" not in ids(listed)


def test_replication_delay_hides_new_assignments_until_the_clock_passes(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(replication_delay=30))
    sp = emu.tenant.service_principal["id"]
    url = f"/servicePrincipals/{sp}/appRoleAssignedTo"
    with client(emu) as graph:
        created = graph.post(url, json={"principalId": gid("u09"), "resourceId": sp,
                                        "appRoleId": ROLE_USER}).json()  # fmt: skip
        assert created["id"] not in ids(graph.get(url).json()["value"])
        emu.state.clock.advance(31)
        assert created["id"] in ids(graph.get(url).json()["value"])


# ---- deleted items and delta


@pytest.mark.parametrize("cast", ["microsoft.graph.user", "graph.user"])
def test_deleted_items(graph, cast):
    items = graph.get(f"/directory/deletedItems/{cast}").json()["value"]
    assert ids(items) == {gid("u11")}
    assert items[0]["deletedDateTime"] == "2025-02-15T00:00:00Z"


def _delta(graph, url: str, **kw) -> tuple[list[dict], str]:
    items, page = [], graph.get(url, **kw).json()
    items += page["value"]
    while "@odata.nextLink" in page:
        assert "@odata.deltaLink" not in page
        page = graph.get(page["@odata.nextLink"]).json()
        items += page["value"]
    return items, page["@odata.deltaLink"]


def test_delta_round_with_changes_and_removals(fgraph, fresh):
    items, link = _delta(fgraph, "/users/delta", params={"$select": "id,displayName"},
                         headers={"Prefer": "odata.maxpagesize=4"})  # fmt: skip
    assert len(items) == 11 and set(items[0]) == {"id", "displayName"}
    again, link2 = _delta(fgraph, link)
    assert again == []
    tenant = fresh.tenant
    with tenant.lock:
        users = tenant.users.copy()
        users.loc[users["id"] == gid("u03"), "displayName"] = "Renamed"
        users.loc[users["id"] == gid("u04"), "deletedDateTime"] = "2025-03-01T00:00:00Z"
        tenant.users = users[users["id"] != gid("u05")].reset_index(drop=True)
        tenant.touch()
    changes, _ = _delta(fgraph, link2)
    by_id = {c["id"]: c for c in changes}
    assert by_id[gid("u03")]["displayName"] == "Renamed"
    assert by_id[gid("u04")]["@removed"] == {"reason": "changed"}
    assert by_id[gid("u05")]["@removed"] == {"reason": "deleted"}
    assert len(changes) == 3


def test_delta_latest_and_expired_tokens(fgraph, fresh):
    latest = fgraph.get("/users/delta", params={"$deltatoken": "latest"}).json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    fresh.state.clock.advance(8 * 86400)
    resp = fgraph.get(latest["@odata.deltaLink"])
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "syncStateNotFound"


def test_delta_with_an_id_filter_tracks_only_those_users(fgraph, fresh):
    flt = f"id eq '{gid('u01')}' or id eq '{gid('u02')}'"
    params = {"$filter": flt, "$select": "id,displayName"}
    items, link = _delta(fgraph, "/users/delta", params=params)
    assert ids(items) == {gid("u01"), gid("u02")}
    with fresh.tenant.lock:
        users = fresh.tenant.users.copy()
        users["displayName"] = users["displayName"] + " (renamed)"  # every user changes
        fresh.tenant.users = users
        fresh.tenant.touch()
    changes, _ = _delta(fgraph, link)
    assert ids(changes) == {gid("u01"), gid("u02")}
    assert all(c["displayName"].endswith("(renamed)") for c in changes)
    bad = fgraph.get("/users/delta", params={"$filter": "accountEnabled eq true"})
    assert bad.status_code == 400
