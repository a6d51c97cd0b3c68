"""Scope as Entra computes it: assignment, nesting, disabled, soft-deleted, scoping filters."""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures import BASIC, LICENSED, snapshot, user

from zoomaudit.errors import ExpressionError
from zoomaudit.scope import clause_mask, compute_scope


def scope_of(s, **kw) -> pd.DataFrame:
    return compute_scope(s, **kw).set_index("entra_id")


def test_direct_group_nested_and_unassigned():
    s = snapshot(
        [user("d", "Da Di"), user("g", "Ga Gi"), user("n", "Na Ni"), user("x", "Xa Xi")],
        direct=[("d", LICENSED)],
        group_members=["g"],
        nested_members=["n"],
    )
    sc = scope_of(s)
    assert sc.loc["d", "in_scope"] and sc.loc["d", "assigned_direct"]
    assert sc.loc["g", "in_scope"] and sc.loc["g", "assigned_via_group"]
    assert not sc.loc["n", "in_scope"] and sc.loc["n", "reachable_nested"]
    assert sc.loc["n", "out_of_scope_reason"] == "nested_group_only"
    assert sc.loc["x", "out_of_scope_reason"] == "not_assigned"
    assert sc.loc["d", "app_role_value"] == "Licensed" and sc.loc["g", "app_role_value"] == "Basic"


def test_user_both_direct_and_nested_is_in_scope():
    s = snapshot([user("b", "Bo Th")], direct=[("b", LICENSED)], nested_members=["b"])
    sc = scope_of(s)
    assert sc.loc["b", "in_scope"]
    assert not sc.loc["b", "reachable_nested"]


def test_disabled_user_in_assigned_group_is_out_of_scope():
    s = snapshot([user("d", "Di Sa", account_enabled=False)], group_members=["d"])
    sc = scope_of(s)
    assert not sc.loc["d", "in_scope"] and sc.loc["d", "out_of_scope_reason"] == "disabled"


def test_soft_deleted_wins_over_other_reasons():
    s = snapshot(
        [user("s", "So De", soft_deleted=True, account_enabled=False)], direct=[("s", BASIC)]
    )
    assert scope_of(s).loc["s", "out_of_scope_reason"] == "soft_deleted"


def test_sync_all_ignores_assignment_but_not_disabled():
    s = snapshot(
        [user("x", "Xa Xi"), user("y", "Ya Yi", account_enabled=False), user("n", "Na Ni")],
        nested_members=["n"],
    )
    sc = scope_of(s, sync_all=True)
    assert sc.loc["x", "in_scope"] and sc.loc["n", "in_scope"]
    assert sc.loc["y", "out_of_scope_reason"] == "disabled"


def test_several_roles_pick_direct_then_smallest_value_and_note_it():
    s = snapshot([user("m", "Mu Lt")], direct=[("m", LICENSED)], group_members=["m"])
    sc = scope_of(s)
    assert sc.loc["m", "app_role_value"] == "Licensed"  # direct beats the group's Basic
    assert sc.loc["m", "role_count"] == 2 and "picked Licensed" in sc.loc["m", "role_note"]


def filt(attr, op, *values, group=0):
    return {
        "job_id": "zoom.job",
        "rule_id": "r",
        "group_index": group,
        "group_name": f"g{group}",
        "source_attribute": attr,
        "operator": op,
        "values": list(values),
    }


def test_scoping_filter_groups_or_clauses_and():
    users = [
        user("a", "Aa Aa", department="Sales", job_title="Rep"),
        user("b", "Bb Bb", department="Sales", job_title=None),
        user("c", "Cc Cc", department="Contractors", job_title="Zoom Champion"),
        user("d", "Dd Dd", department="Contractors", job_title="Helper"),
    ]
    filters = [
        filt("department", "EQUALS", "Sales"),
        filt("jobTitle", "IS NOT NULL"),
        filt("jobTitle", "Equals", "Zoom Champion", group=1),
    ]
    s = snapshot(users, group_members=["a", "b", "c", "d"], filters=filters)
    sc = scope_of(s)
    assert sc["in_scope"].to_dict() == {"a": True, "b": False, "c": True, "d": False}
    assert sc.loc["b", "out_of_scope_reason"] == "scoping_filter"


@pytest.mark.parametrize(
    ("op", "targets", "expected"),
    [
        # values:           "Sales", "sales", None, ""
        ("EQUALS", ["Sales"], [True, False, False, False]),  # case-sensitive
        ("NOT EQUALS", ["Sales"], [False, True, False, False]),  # null/empty -> false
        ("not_equals", ["Sales"], [False, True, False, False]),
        ("IS NULL", [], [False, False, True, True]),
        ("IS NOT NULL", [], [True, True, False, False]),
        ("REGEX MATCH", ["^S"], [True, False, False, False]),
        ("NOT REGEX MATCH", ["^S"], [False, True, False, False]),
        ("Includes", ["ale"], [True, True, False, False]),
        ("ENDS_WITH", ["les"], [True, True, False, False]),
    ],
)
def test_clause_operators_and_null_reading(op, targets, expected):
    values = pd.Series(["Sales", "sales", None, ""], dtype="str")
    assert clause_mask(values, op, targets).tolist() == expected


def test_numeric_and_boolean_operators():
    nums = pd.Series(["5", "10", "x", None], dtype="str")
    assert clause_mask(nums, "Greater_Than", ["5"]).tolist() == [False, True, False, False]
    assert clause_mask(nums, "GREATER_THAN_OR_EQUALS", ["5"]).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert clause_mask(nums, "LESS THAN", ["6"]).tolist() == [True, False, False, False]
    flags = pd.Series(["True", "False", None], dtype="str")
    assert clause_mask(flags, "IS TRUE", []).tolist() == [True, False, False]
    assert clause_mask(flags, "is false", []).tolist() == [False, True, False]


def test_boolean_attribute_in_filter():
    users = [user("a", "Aa Aa"), user("b", "Bb Bb", account_enabled=False)]
    s = snapshot(users, group_members=["a", "b"], filters=[filt("accountEnabled", "IS TRUE")])
    sc = scope_of(s)
    assert sc.loc["a", "passes_filter"] and not sc.loc["b", "passes_filter"]


def test_unknown_operator_is_a_clear_error():
    with pytest.raises(ExpressionError, match="unknown scoping-filter operator"):
        clause_mask(pd.Series(["a"], dtype="str"), "SOUNDS LIKE", ["a"])
