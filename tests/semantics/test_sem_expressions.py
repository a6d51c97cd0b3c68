"""Real-world Entra mapping expressions, evaluated over whole columns and through simulate()."""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures import BASIC, LICENSED, snapshot, user

from zoomaudit.errors import ExpressionError
from zoomaudit.expressions import evaluate
from zoomaudit.mapping import simulate

DATA = pd.DataFrame(
    {
        "given_name": ["Jöse  Mä", None, "Åsa"],
        "surname": ["Ruiz", "Li", None],
        "mail": ["a.b@old.example", None, "x@y.example"],
        "user_principal_name": ["A.B@c.example", "x@y", "z@w"],
        "account_enabled": pd.array([True, False, None], dtype="boolean"),
        "is_soft_deleted": ["False", "True", "False"],
        "app_role_value": pd.Series(["Licensed", None, "Basic"], dtype="str"),
    }
)


def ev(expression):
    out = evaluate(expression, DATA, length=len(DATA))
    return [None if pd.isna(v) else v for v in out]


def test_join_normalize_diacritics_strip_spaces():
    got = ev('Join("@", NormalizeDiacritics(StripSpaces([givenName])), "contoso.com")')
    assert got[0] == "JoseMa@contoso.com"
    assert got[2] == "Asa@contoso.com"
    assert got[1] == "contoso.com"  # Join skips the null value (no leading "@")


def test_default_active_switch():
    assert ev('Switch([IsSoftDeleted], , "False", "True", "True", "False")') == [
        "True", "False", "True"
    ]  # fmt: skip


def test_iif_on_account_enabled_compares_text_true():
    assert ev('IIF([accountEnabled]="True", "yes", "no")') == ["yes", "no", "no"]


def test_replace_with_named_group_template():
    got = ev('Replace([mail], , "(?<Suffix>@(.)*)", "Suffix", "@contoso.com", , )')
    assert got == ["a.b@contoso.com", None, "x@contoso.com"]


def test_single_app_role_assignment_value_or_null():
    assert ev("SingleAppRoleAssignment([appRoleAssignments])") == ["Licensed", None, "Basic"]


def test_left_of_null_is_empty_as_documented():
    assert ev("Left([surname], 2)") == ["Ru", "Li", ""]


def test_unknown_function_error_names_expression_and_position():
    with pytest.raises(ExpressionError) as err:
        ev('Join("@", Frobnicate([mail]))')
    assert "Frobnicate" in str(err.value) and "position" in str(err.value)


def test_simulated_user_type_with_several_roles_is_deterministic_and_noted():
    u = user("u1", "Ana Ruiz")
    snaps = [
        snapshot([u], direct=[("u1", LICENSED)], group_members=["u1"]),
        snapshot([u], direct=[("u1", BASIC), ("u1", LICENSED)]),
    ]
    first = simulate(snaps[0]).set_index("entra_id")
    # a direct assignment wins over one through a group
    assert first.loc["u1", "user_type"] == "Licensed"
    second = simulate(snaps[1]).set_index("entra_id")
    assert second.loc["u1", "user_type"] in {"Basic", "Licensed"}
    again = simulate(snapshot([u], direct=[("u1", LICENSED), ("u1", BASIC)])).set_index("entra_id")
    assert again.loc["u1", "user_type"] == second.loc["u1", "user_type"]  # row order irrelevant


def test_active_is_true_for_in_scope_and_false_for_out_of_scope_users():
    users = [user("in", "In Scope"), user("out", "Out Scope"), user("dis", "Dis Abled",
             account_enabled=False)]  # fmt: skip
    sim = simulate(snapshot(users, group_members=["in", "dis"])).set_index("entra_id")
    assert sim.loc["in", "active"] == True  # noqa: E712
    assert sim.loc["out", "active"] == False  # noqa: E712
    assert sim.loc["dis", "active"] == False  # noqa: E712
