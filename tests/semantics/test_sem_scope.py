"""Second reading of issue 5's scope rules: assignments, nesting and scoping-filter clauses."""

from __future__ import annotations

import pytest
from fixtures import BASIC, LICENSED, snapshot, user

from zoomaudit.errors import ExpressionError
from zoomaudit.scope import compute_scope
from zoomaudit.snapshot import Snapshot

ROLES = [
    {"app_role_id": BASIC, "value": "Basic", "display_name": "Basic"},
    {"app_role_id": LICENSED, "value": "Licensed", "display_name": "Licensed"},
]


def two_assigned_groups(users, members) -> Snapshot:
    """Groups A (role Basic) and B (role Licensed) both assigned; B is nested in A.

    ``members``: (group, member id, member type, direct) rows as Graph's members and
    transitiveMembers would give them.
    """
    return Snapshot.from_tables(
        {
            "entra_users": users,
            "entra_app_roles": ROLES,
            "entra_assignments": [
                {
                    "assignment_id": "a-A",
                    "principal_id": "A",
                    "principal_type": "Group",
                    "app_role_id": BASIC,
                    "created_at": "2026-01-01T00:00:00Z",
                },
                {
                    "assignment_id": "a-B",
                    "principal_id": "B",
                    "principal_type": "Group",
                    "app_role_id": LICENSED,
                    "created_at": "2026-01-01T00:00:00Z",
                },
            ],  # fmt: skip
            "entra_groups": [
                {"group_id": "A", "display_name": "Zoom A", "assigned": True},
                {"group_id": "B", "display_name": "Zoom B", "assigned": True},
            ],
            "entra_group_members": [
                {"group_id": g, "member_id": m, "member_type": t, "direct": d}
                for g, m, t, d in members
            ],
        },
        taken_at="2026-01-15T12:00:00Z",
    )


def by_id(scope):
    return scope.set_index("entra_id")


def test_group_assigned_and_nested_in_another_assigned_group_counts_as_direct():
    users = [user("u1", "Ana Ruiz"), user("u2", "Bo Li")]
    snap = two_assigned_groups(users, [
        ("A", "B", "group", True), ("A", "u1", "user", False), ("B", "u1", "user", True),
        ("A", "u2", "user", True),
    ])  # fmt: skip
    sc = by_id(compute_scope(snap))
    assert sc.loc["u1", "in_scope"] and sc.loc["u2", "in_scope"]
    assert not sc.loc["u1", "reachable_nested"]
    # the role comes from B, the group u1 is a *direct* member of (not A through nesting)
    assert sc.loc["u1", "app_role_value"] == "Licensed"
    assert sc.loc["u2", "app_role_value"] == "Basic"


def test_disabled_user_in_assigned_group_is_out_of_scope_as_disabled():
    sc = by_id(compute_scope(snapshot([user("u1", "Ana Ruiz", account_enabled=False)],
                                      group_members=["u1"])))  # fmt: skip
    assert not sc.loc["u1", "in_scope"]
    assert sc.loc["u1", "out_of_scope_reason"] == "disabled"


def test_soft_deleted_wins_over_disabled_and_nested():
    u = user("u1", "Ana Ruiz", account_enabled=False, soft_deleted=True)
    sc = by_id(compute_scope(snapshot([u], nested_members=["u1"])))
    assert sc.loc["u1", "out_of_scope_reason"] == "soft_deleted"


def test_nested_only_but_failing_the_filter_is_scoping_filter_not_nested():
    f = [{"job_id": "zoom.job", "rule_id": "r", "group_index": 0, "source_attribute":
          "department", "operator": "EQUALS", "values": ["Finance"]}]  # fmt: skip
    sc = by_id(compute_scope(snapshot([user("u1", "Ana Ruiz")], nested_members=["u1"],
                                      filters=f)))  # fmt: skip
    assert sc.loc["u1", "out_of_scope_reason"] != "nested_group_only"


def test_sync_all_ignores_assignments_but_not_disabled():
    users = [user("u1", "Ana Ruiz"), user("u2", "Bo Li", account_enabled=False)]
    sc = by_id(compute_scope(snapshot(users), sync_all=True))
    assert sc.loc["u1", "in_scope"] and not sc.loc["u2", "in_scope"]


USERS = [
    user("a", "A One", department="Sales"),
    user("b", "B Two", department=None),
    user("c", "C Three", department=""),
    user("d", "D Four", department="sales"),
    user("e", "E Five", department="Sales Ops"),
]


def in_scope(*clauses, groups=None):
    rows = []
    for gi, group in enumerate(groups or [clauses]):
        for attr, op, values in group:
            rows.append({"job_id": "zoom.job", "rule_id": "r", "group_index": gi,
                         "group_name": f"g{gi}", "source_attribute": attr, "operator": op,
                         "values": values})  # fmt: skip
    snap = snapshot(USERS, group_members=[u["entra_id"] for u in USERS], filters=rows)
    sc = compute_scope(snap)
    return set(sc.loc[sc["in_scope"], "entra_id"])


@pytest.mark.parametrize(
    "op", ["NOT EQUALS", "NOT_EQUALS", "not equals", "Not_Equals", "NotEquals", "notequals"]
)
def test_not_equals_in_every_spelling_is_false_on_null_and_empty(op):
    assert in_scope(("department", op, ["Sales"])) == {"d", "e"}


@pytest.mark.parametrize("op", ["IS NULL", "IS_NULL", "IsNull", "is null"])
def test_is_null_is_true_on_null_and_empty(op):
    assert in_scope(("department", op, [])) == {"b", "c"}


@pytest.mark.parametrize("op", ["IS NOT NULL", "Is_Not_Null", "IsNotNull"])
def test_is_not_null(op):
    assert in_scope(("department", op, [])) == {"a", "d", "e"}


def test_equals_is_case_sensitive_and_multi_value_is_any_of():
    assert in_scope(("department", "EQUALS", ["Sales"])) == {"a"}
    assert in_scope(("department", "EQUALS", ["Sales", "sales"])) == {"a", "d"}


def test_regex_match_and_not_regex_match_are_false_on_null():
    assert in_scope(("department", "REGEX MATCH", ["^S"])) == {"a", "e"}
    assert in_scope(("department", "NOT REGEX MATCH", ["^S"])) == {"d"}


def test_includes_and_is_true():
    assert in_scope(("department", "Includes", ["Ops"])) == {"e"}
    assert in_scope(("accountEnabled", "IS TRUE", [])) == {"a", "b", "c", "d", "e"}
    assert in_scope(("accountEnabled", "IS_FALSE", [])) == set()


def test_clauses_and_within_a_group_groups_or():
    both = in_scope(("department", "REGEX MATCH", ["^S"]), ("department", "NOT EQUALS", ["Sales"]))
    assert both == {"e"}
    either = in_scope(groups=[[("department", "EQUALS", ["Sales"])],
                              [("department", "IS NULL", [])]])  # fmt: skip
    assert either == {"a", "b", "c"}


def test_greater_than_spellings_compare_integers_and_are_false_on_null():
    users = [
        user("x", "X One", employee_id="7"),
        user("y", "Y Two", employee_id="12"),
        user("z", "Z Three", employee_id=None),
        user("w", "W Four", employee_id="E9"),
    ]
    for op in ("Greater_Than", "GREATER THAN", "GreaterThan", "greater_than"):
        f = [{"job_id": "zoom.job", "rule_id": "r", "group_index": 0, "source_attribute":
              "employeeId", "operator": op, "values": ["8"]}]  # fmt: skip
        sc = compute_scope(snapshot(users, group_members=["x", "y", "z", "w"], filters=f))
        assert set(sc.loc[sc["in_scope"], "entra_id"]) == {"y"}, op  # "12" > 8 numerically


def test_unknown_operator_is_a_clear_error():
    with pytest.raises(ExpressionError, match="unknown scoping-filter operator"):
        in_scope(("department", "SOUNDS LIKE", ["Sales"]))


def test_the_group_object_mappings_scope_does_not_filter_users():
    """A job's group mapping may carry its own scoping filter; it must not be ANDed into the
    user mapping's (both share a rule id and group indexes)."""
    user_clause = {"job_id": "zoom.job", "rule_id": "r", "group_index": 0, "group_name": "u",
                   "object_mapping": "Synchronize Azure Active Directory Users to customappsso",
                   "source_object": "User", "source_attribute": "department",
                   "operator": "IS NOT NULL", "values": []}  # fmt: skip
    group_clause = dict(user_clause, object_mapping="Synchronize Azure Active Directory Groups "
                        "to customappsso", source_object="Group", source_attribute="displayName",
                        operator="STARTS WITH", values=["Zoom"])  # fmt: skip
    snap = snapshot(USERS, group_members=[u["entra_id"] for u in USERS],
                    filters=[user_clause, group_clause])  # fmt: skip
    sc = compute_scope(snap)
    # users are judged by the user clause only (department present and non-empty)
    assert set(sc.loc[sc["in_scope"], "entra_id"]) == {"a", "d", "e"}
