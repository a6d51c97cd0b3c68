"""convert: recorded-style payloads (from the references' examples) -> contract tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zoomaudit import convert, frames

GRAPH_USER = {
    "id": "5c6b0c2e-1f0d-4b7e-9a11-3a5e0b7d2f01",
    "userPrincipalName": "ana.ruiz@fabrikam.example",
    "displayName": "Ana Ruiz",
    "accountEnabled": True,
    "department": "Sales",
    "employeeId": "E10442",
    "usageLocation": "ES",
    "otherMails": ["ana@home.example"],
    "assignedLicenses": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "disabledPlans": []}],
    "signInActivity": {
        "lastSignInDateTime": "2025-02-03T08:14:22Z",
        "lastSuccessfulSignInDateTime": "2025-02-04T11:02:09Z",
    },
    "createdDateTime": "2024-09-10T07:30:11.1234567Z",
}
PROVISIONING = {
    "id": "7e0c1a55",
    "activityDateTime": "2025-02-04T12:40:07Z",
    "jobId": "zoom.j",
    "cycleId": "c",
    "changeId": "d",
    "provisioningAction": "stagedDelete",
    "durationInMilliseconds": 1890,
    "sourceIdentity": {"id": "5c6b", "displayName": "Ana Ruiz", "identityType": "User"},
    "targetIdentity": {"id": "", "displayName": "", "identityType": "User"},
    "provisioningStatusInfo": {
        "status": "failure",
        "errorInformation": {
            "errorCode": "ZoomEntryConflict",
            "reason": "409",
            "errorCategory": "nonServiceFailure",
        },
    },
    "provisioningSteps": [{"name": "EntryImportAdd", "provisioningStepType": "import"}],
    "modifiedProperties": [{"displayName": "userName", "oldValue": None, "newValue": "a@x"}],
}
SCIM_USER = {
    "id": "Qx4mT0pZr2WcL9aB7yVnEd",
    "userName": "ana.ruiz@contoso.example",
    "displayName": "Ana Ruiz",
    "name": {"givenName": "Ana", "familyName": "Ruiz"},
    "emails": [
        {"type": "home", "value": "x@home"},
        {"type": "work", "value": "ana.ruiz@contoso.example", "primary": True},
    ],
    "active": True,
    "userType": "Licensed",
    "meta": {"created": "2025-01-06T09:12:00Z", "lastModified": "2025-03-02T16:40:11Z"},
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance"},
    "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser": {
        "loginType": {"workEmail": False, "sso": True}
    },
}


def test_entra_users_typed_and_missing_fields_na():
    df = convert.entra_users([GRAPH_USER, {"id": "u2"}])
    assert list(df.columns) == [c.name for c in frames.TABLES["entra_users"]]
    row = df.iloc[0]
    assert row["assigned_licenses"] == ["6fd2c87f-b296-42f0-b197-1e91e994b900"]
    assert row["last_sign_in"] == pd.Timestamp("2025-02-03T08:14:22Z")
    assert row["created_at"].year == 2024
    assert not row["soft_deleted"]
    assert pd.isna(df.iloc[1]["mail"]) and df.iloc[1]["other_mails"] == []
    deleted = convert.entra_users(
        [{**GRAPH_USER, "deletedDateTime": "2025-03-01T00:00:00Z"}], soft_deleted=True
    )
    assert deleted.iloc[0]["soft_deleted"] and deleted.iloc[0]["deleted_at"].month == 3


def test_provisioning_events_keep_enum_values_and_json_columns():
    df = convert.provisioning_events([PROVISIONING])
    row = df.iloc[0]
    assert row["action"] == "stagedDelete" and row["status"] == "failure"
    assert row["error_code"] == "ZoomEntryConflict"
    assert pd.isna(row["target_id"])  # "" on failed creates
    assert row["duration_ms"] == 1890
    assert json.loads(row["steps"])[0]["provisioningStepType"] == "import"


def test_group_members_direct_flag():
    direct = [
        {"@odata.type": "#microsoft.graph.user", "id": "u1"},
        {"@odata.type": "#microsoft.graph.group", "id": "g2"},
    ]
    transitive = [*direct, {"@odata.type": "#microsoft.graph.user", "id": "u9"}]
    df = convert.entra_group_members("g1", direct, transitive)
    assert dict(zip(df["member_id"], df["direct"], strict=True)) == {
        "u1": True,
        "g2": True,
        "u9": False,
    }
    assert set(df["member_type"]) == {"user", "group"}


def test_zoom_scim_prefers_work_email_and_reads_extensions():
    row = convert.zoom_scim_users([SCIM_USER]).iloc[0]
    assert row["work_email"] == "ana.ruiz@contoso.example"
    assert row["department"] == "Finance" and row["login_sso"]
    assert row["given_name"] == "Ana"


def test_zoom_rest_pending_without_id_and_empty_strings():
    df = convert.zoom_users(
        [
            {
                "id": "Qx",
                "email": "a@x",
                "type": 2,
                "status": "active",
                "role_id": "2",
                "last_login_time": "",
                "dept": "",
            },
            {"email": "new@x", "type": 1, "status": "pending"},
        ]
    )
    assert pd.isna(df.iloc[1]["zoom_id"]) and pd.isna(df.iloc[0]["last_login_time"])
    assert list(df["type"]) == [2, 1]


def test_plans_arrays_and_objects():
    df = convert.zoom_plans(
        {
            "plan_base": {"type": "yearly", "hosts": 75, "usage": 44, "pending": 3},
            "plan_webinar": [
                {"type": "w500", "hosts": 3, "usage": 2},
                {"type": "w1000", "hosts": 1, "usage": 0},
            ],
            "plan_recording": {"type": "cmr", "free_storage": "5 GB"},
        }
    )
    assert list(df["plan_key"]) == ["plan_base", "plan_webinar", "plan_webinar", "plan_recording"]
    assert list(df["position"]) == [0, 0, 1, 0]
    assert pd.isna(df.iloc[3]["hosts"]) and json.loads(df.iloc[3]["raw"])["free_storage"]


def test_schema_flattening():
    schema = {
        "synchronizationRules": [
            {
                "id": "r1",
                "objectMappings": [
                    {
                        "name": "Users",
                        "attributeMappings": [
                            {
                                "targetAttributeName": "userName",
                                "matchingPriority": 1,
                                "source": {"type": "Attribute", "name": "userPrincipalName"},
                            },
                            {
                                "targetAttributeName": "active",
                                "source": {
                                    "type": "Function",
                                    "expression": "Not([IsSoftDeleted])",
                                },
                            },
                            {
                                "targetAttributeName": "userType",
                                "source": {"type": "Constant", "name": "Basic"},
                            },
                        ],
                        "scope": {
                            "groups": [
                                {
                                    "name": "a",
                                    "clauses": [
                                        {
                                            "sourceOperandName": "department",
                                            "operatorName": "EQUALS",
                                            "targetOperand": {"values": ["Sales"]},
                                        }
                                    ],
                                },
                                {
                                    "name": "b",
                                    "clauses": [
                                        {
                                            "sourceOperandName": "country",
                                            "operatorName": "IS NOT NULL",
                                        }
                                    ],
                                },
                            ]
                        },
                    }
                ],
            }
        ]
    }
    maps = convert.attribute_mappings("j", schema)
    assert list(maps["expression"]) == ["[userPrincipalName]", "Not([IsSoftDeleted])", '"Basic"']
    filters = convert.scoping_filters("j", schema)
    assert list(filters["group_index"]) == [0, 1] and filters.iloc[1]["values"] == []


def test_chunks_convert_as_they_arrive_and_keep_item_order():
    seen_batches: list[int] = []

    def fn(items):
        seen_batches.append(len(items))
        return convert.zoom_users(items)

    rows = convert.Chunks(fn, size=5)
    users = [{"id": f"u{i}", "email": f"u{i}@contoso.example", "type": 1} for i in range(10)]
    assert [rows.add(users[i : i + 3]) for i in range(0, 10, 3)] == [0, 3, 6, 9]
    assert seen_batches == [6]  # converted once 5 or more were waiting
    frame = rows.frame()
    assert list(frame["zoom_id"]) == [f"u{i}" for i in range(10)]
    assert seen_batches == [6, 4]  # the last 4 are converted when the frame is asked for
    assert list(rows.take([9, 0, 4])["zoom_id"]) == ["u9", "u0", "u4"]
    assert list(rows.take(range(10)).index) == list(range(10))
    assert len(convert.Chunks(convert.zoom_users).frame()) == 0  # nothing added: empty table


def test_last_by_key_keeps_first_order_and_last_value():
    keys = pd.Series(["b", "a", "b", "c", "a"])
    assert list(convert.last_by_key(keys)) == [2, 4, 3]  # b, a, c in first-seen order
    items = [{"k": k, "row": i} for i, k in enumerate(keys)]
    assert [v["row"] for v in {i["k"]: i for i in items}.values()] == [2, 4, 3]


def test_sync_job_times_that_mean_never_are_na():
    job = {
        "id": "zoom.abc.def",
        "templateId": "zoom",
        "status": {
            "code": "Active",
            "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
            "lastExecution": {"timeBegan": "2026-11-01T10:00:00Z", "timeEnded": ""},
            "quarantine": None,
        },
    }
    row = convert.sync_jobs([job]).iloc[0]
    assert pd.isna(row["steady_state_last"]) and pd.isna(row["last_execution_ended"])
    assert row["last_execution_began"] == pd.Timestamp("2026-11-01T10:00:00Z")


def _page(items: list[dict], **top) -> bytes:
    return json.dumps({**top, "value": items}).encode()


ODD_USERS = [
    [GRAPH_USER, {**GRAPH_USER, "id": "B2", "signInActivity": None, "otherMails": None}],
    [{"id": "C3", "accountEnabled": "true"}],  # a string where Graph documents a boolean
    [{"id": 4, "displayName": "numeric id"}],  # a number where a string belongs
    [{"id": "E5", "assignedLicenses": [{"skuId": None}, "not-an-object"]}],
    [],
    [{"id": "F6", "displayName": "Zoë 😀", "mail": "", "department": None}],
]


def test_bulk_pages_parsed_into_arrow_give_the_same_table_as_dicts():
    parse = convert.GRAPH_USERS_PAGE
    parsed = [parse(_page(items, **{"@odata.count": 6})) for items in ODD_USERS]
    kinds = [type(p).__name__ for p in parsed]
    assert kinds == ["ArrowPage", "dict", "dict", "dict", "ArrowPage", "ArrowPage"]
    assert parsed[0].get("@odata.count") == 6 and parsed[0].get("@odata.nextLink") is None
    rows = convert.Chunks(convert.entra_users, size=2)
    for page in parsed:
        rows.add(page.get("value") or [])
    expected = convert.entra_users([u for items in ODD_USERS for u in items])
    pd.testing.assert_frame_equal(rows.frame(), expected, check_exact=True)
    assert convert.ids_of(parsed[0].get("value")) == [GRAPH_USER["id"], "B2"]


def test_page_parser_reads_pretty_printed_pages_and_refuses_broken_ones():
    pretty = json.dumps({"value": [GRAPH_USER], "@odata.nextLink": "https://x/next"}, indent=2)
    page = convert.GRAPH_USERS_PAGE(pretty.encode())
    assert page.get("@odata.nextLink") == "https://x/next" and len(page.get("value")) == 1
    for broken in (b'{"value": [{"id": "a"}', b'{"value": []} {"value": []}', b"[]x"):
        with pytest.raises(ValueError):
            convert.GRAPH_USERS_PAGE(broken)


def test_scim_and_rest_pages_in_arrow_match_their_dict_tables():
    scim = {
        "id": "z1",
        "userName": "Ana@Fabrikam.example",
        "name": {"givenName": "Ana"},
        "emails": [
            {"value": "ana@home.example"},
            {"value": "ana@fabrikam.example", "type": "work"},
        ],
        "active": True,
        "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser": {"loginType": {"sso": False}},
        "meta": {"created": "2026-01-02T03:04:05Z"},
    }
    page = convert.SCIM_USERS_PAGE(json.dumps({"totalResults": 1, "Resources": [scim]}).encode())
    assert page.get("totalResults") == 1
    pd.testing.assert_frame_equal(
        convert.zoom_scim_users(page.get("Resources")), convert.zoom_scim_users([scim])
    )
    rest = [{"id": "z1", "email": "a@x.example", "type": 2, "role_id": "2", "dept": ""}, {}]
    page = convert.REST_USERS_PAGE(json.dumps({"users": rest, "next_page_token": ""}).encode())
    assert page.get("next_page_token") == ""
    pd.testing.assert_frame_equal(convert.zoom_users(page.get("users")), convert.zoom_users(rest))


def test_list_columns_read_from_arrow_equal_the_dict_path():
    import pyarrow as pa

    from zoomaudit.convert import _lists, _sku_ids

    licences = pa.array(
        [[{"skuId": "a"}], None, [], [{"skuId": "b"}, {"skuId": "c"}], [{"skuId": None}], [None]],
        pa.list_(pa.struct([("skuId", pa.string())])),
    )
    mails = pa.array([["x"], None, [], ["y", None], ["z", "w"]], pa.list_(pa.string()))
    for arrow, fn in ((licences, _sku_ids), (mails, _lists)):
        for part in (arrow, arrow.slice(1), arrow.slice(1, 2), arrow.slice(3), arrow.slice(0, 0)):
            assert fn(part) == fn(part.to_pylist())
    assert _sku_ids(licences) == [["a"], [], [], ["b", "c"], ["None"], []]
    assert _lists(mails) == [["x"], [], [], ["y", "None"], ["z", "w"]]
    assert _lists(pa.nulls(2, pa.string())) == [[], []]  # a field no item has
