"""Entra expression language: Microsoft's documented examples, one or more per function."""

from __future__ import annotations

import pandas as pd
import pytest

from zoomaudit.errors import ExpressionError
from zoomaudit.expressions import Attr, Call, Missing, Str, evaluate, parse, tokenize


def ev(expr: str, **cols) -> list:
    data = {k: v if isinstance(v, list) else [v] for k, v in cols.items()}
    out = evaluate(expr, data, length=1)
    return [None if (not isinstance(v, list) and pd.isna(v)) else v for v in out.tolist()]


# --- documented examples (functions-for-customizing-application-data.md) ----------------


def test_append():
    assert ev(
        'Append([userPrincipalName], ".test")', userPrincipalName="John.Doe@contoso.com"
    ) == ["John.Doe@contoso.com.test"]


def test_coalesce_flows_upn_when_mail_is_null():
    assert ev(
        "Coalesce([mail],[userPrincipalName])",
        mail=[None],
        userPrincipalName="John.Doe@contoso.com",
    ) == ["John.Doe@contoso.com"]


def test_iif_and_nested_and_or():
    assert ev(
        'IIF([country]="USA",[country],[department])',
        country=["USA", "FR"],
        department=["Sales", "Ops"],
    ) == ["USA", "Ops"]
    expr_and = 'IIF([country]="USA",IIF([state]="CA","True","False"),"False")'
    assert ev(expr_and, country=["USA", "USA", "FR"], state=["CA", "NY", "CA"]) == [
        "True",
        "False",
        "False",
    ]
    expr_or = 'IIF([country]="USA","True",IIF([state]="CA","True","False"))'
    assert ev(expr_or, country=["USA", "FR", "FR"], state=["NY", "CA", "NY"]) == [
        "True",
        "True",
        "False",
    ]


def test_iif_condition_on_null_fails():
    assert ev('IIF([country]="USA","yes","no")', country=[None]) == ["no"]


def test_isnull_isnullorempty_ispresent():
    data = {"displayName": ["", "Ana", None]}
    assert ev("IsNull([displayName])", **data) == [False, False, True]
    assert ev("IsNullOrEmpty([displayName])", **data) == [True, False, True]
    assert ev("IsPresent([displayName])", **data) == [False, True, False]


def test_ispresent_inside_switch_documented_example():
    expr = (
        "Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),"
        "[skiplevelManager], IsPresent([director]),[director])"
    )
    # source is a boolean; keys are booleans as text; documented as a pattern, so we check the
    # parse and that it evaluates without error
    assert parse(expr).attributes == ("directManager", "skiplevelManager", "director")


def test_join_skips_empty_values():
    assert ev('Join(", ", "", [surname], [givenName])', givenName="John", surname="Doe") == [
        "Doe, John"
    ]


def test_join_multivalued_attribute():
    assert ev('Join(";", [proxyAddresses])', proxyAddresses=[["a", "b"]]) == ["a;b"]


def test_left():
    assert ev('Left("John Doe", 3)') == ["Joh"]
    assert ev("Left([s], 0)", s="abc") == [""]
    assert ev("Left([s], -1)", s="abc") == ["abc"]
    assert ev("Left([s], 10)", s="abc") == ["abc"]
    assert ev("Left([s], 2)", s=[None]) == [""]


def test_mid_generates_alias():
    assert ev(
        "Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))", givenName="John", surname="Doe"
    ) == ["JohDoe"]


def test_normalize_diacritics():
    assert ev("NormalizeDiacritics([givenName])", givenName="Zoë") == ["Zoe"]
    assert ev("NormalizeDiacritics([s])", s=["Æsir", "Łódź", "Straße", "Øre", "plain"]) == [
        "AEsir",
        "Lodz",
        "Strasse",
        "OEre",
        "plain",
    ]


def test_not():
    assert ev("Not([a])", a=["True", "False"]) == ["False", "True"]


def test_replace_old_value_and_replacement():
    assert ev(
        'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
        BusinessTitle="Product Developer",
    ) == ["Software Engineer"]
    assert ev('Replace([mail], "@contoso.com", , ,"", ,)', mail="john.doe@contoso.com") == [
        "john.doe"
    ]


def test_replace_template():
    assert ev(
        'Replace([UserID],"<username>", , , , , "<username>@contoso.com")', UserID="jsmith"
    ) == ["jsmith@contoso.com"]


def test_replace_regex_with_group_reference():
    expr = (
        r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , '
        r'"${phoneNumber}", , )'
    )
    assert ev(expr, telephoneNumber="+91 9998887777") == ["9998887777"]


def test_replace_regex_collapse():
    # Microsoft's page shows "19998887777", but its pattern [()\s-]+ does not remove "+"
    # (.NET behaves like Python here); we keep the regex semantics.
    assert ev(r'Replace([mobile], , "[()\\s-]+", , "", , )', mobile="+1 (999) 888-7777") == [
        "+19998887777"
    ]
    assert ev(r'Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', mailNickname="john_doe72") == [
        "72"
    ]


def test_replace_regex_group_name_and_value():
    assert ev(
        r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )',
        AddressLineData="545 Tremont Street",
    ) == ["888 Tremont Street"]
    assert ev(
        r'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )',
        userPrincipalName="jsmith@contoso.com",
    ) == ["jsmith"]


def test_replace_regex_group_from_replacement_attribute():
    expr = (
        r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", '
        r'"phoneNumber" , , [mobile], )'
    )
    assert ev(expr, telephoneNumber=["", "+1 5550001111"], mobile=["+91 8887779999"] * 2) == [
        "8887779999",
        "+1 5550001111",
    ]


def test_single_app_role_assignment():
    assert ev(
        "SingleAppRoleAssignment([appRoleAssignments])", appRoleAssignments=["Licensed", None]
    ) == ["Licensed", None]


def test_split():
    assert ev(
        'Split([extensionAttribute5], ",")',
        extensionAttribute5="PermissionSetOne, PermissionSetTwo",
    ) == [["PermissionSetOne", "PermissionSetTwo"]]


def test_strip_spaces_and_tolower_documented_upn():
    expr = (
        'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], '
        '[PreferredLastName]))), "contoso.com"))'
    )
    assert ev(expr, PreferredFirstName="John", PreferredLastName="Smith") == [
        "john.smith@contoso.com"
    ]
    assert ev("StripSpaces([s])", s="a b  c") == ["abc"]


def test_switch():
    expr = (
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", '
        '"Australia/Brisbane", "SA", "Australia/Adelaide")'
    )
    assert ev(expr, state=["QLD", "WA"]) == ["Australia/Brisbane", "Australia/Sydney"]


def test_switch_empty_key_matches_null_source():
    expr = 'Switch([statusFlag], "Default Value", "true", "1", "", "0")'
    assert ev(expr, statusFlag=[None, "true", "x"]) == ["0", "1", "Default Value"]


def test_switch_is_case_sensitive_and_tolower_helps():
    assert ev('Switch([f], "d", "true", "1")', f=["TRUE"]) == ["d"]
    assert ev('Switch(ToLower([f]), "d", "true", "1")', f=["TRUE"]) == ["1"]


def test_default_active_mapping():
    expr = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert ev(expr, IsSoftDeleted=["False", "True"]) == ["True", "False"]


def test_toupper_trim():
    assert ev("ToUpper([s])", s="abc") == ["ABC"]
    assert ev("Trim([s])", s="  abc ") == ["abc"]


def test_word():
    assert ev('Word("The quick brown fox",3," ")') == ["brown"]
    assert ev('Word("This,string!has&many separators",3,",!&#")') == ["has"]
    assert ev('Word("a b",0," ")') == [""]
    assert ev('Word("a b",5," ")') == [""]


def test_is_soft_deleted_attribute_maps_to_column():
    out = evaluate("Not([IsSoftDeleted])", {"is_soft_deleted": ["True"]})
    assert out.tolist() == ["False"]


# --- parser / errors ---------------------------------------------------------------------


def test_parser_builds_ast_with_missing_arguments():
    e = parse('Switch([IsSoftDeleted], , "False", "True")')
    assert isinstance(e.ast, Call)
    assert isinstance(e.ast.args[0], Attr) and isinstance(e.ast.args[1], Missing)
    assert isinstance(e.ast.args[2], Str) and e.ast.args[2].value == "False"


def test_string_escapes():
    assert ev(r'Append("Company name: \"Contoso\"", "")') == ['Company name: "Contoso"']


def test_tokenizer_positions():
    toks = tokenize('Append([a], "x")')
    assert [t.pos for t in toks[:4]] == [0, 6, 7, 10]


@pytest.mark.parametrize(
    ("expr", "position", "message"),
    [
        ('Append([a], "x"', 15, "expected ','"),
        ("Frobnicate([a])", 0, "unknown function Frobnicate"),
        ("Guid()", 0, "cannot be simulated"),
        ('Switch([a], "d", "k")', 0, "even number"),
        ('Append([a] "x")', 11, "expected ','"),
        ("Append([a], %)", 12, "unexpected character"),
        ('Append([nosuch], "x")', 7, "unknown source attribute"),
    ],
)
def test_errors_name_expression_and_position(expr, position, message):
    with pytest.raises(ExpressionError) as exc:
        evaluate(expr, {"a": ["v"]})
    assert message in str(exc.value)
    assert exc.value.position == position
    assert repr(expr) in str(exc.value)


def test_vectorised_over_many_rows():
    n = 10_000
    data = pd.DataFrame({"givenName": ["Zoë"] * n, "surname": [f"S{i}" for i in range(n)]})
    out = evaluate('ToLower(Join(".", NormalizeDiacritics([givenName]), [surname]))', data)
    assert len(out) == n and out.iloc[5] == "zoe.s5"


def test_instr_documented_examples():
    assert ev('InStr("The quick brown fox","quick")') == ["5"]
    assert ev('InStr("repEated","e",3,vbBinaryCompare)') == ["7"]
    assert ev('InStr("repEated","e",3,vbTextCompare)') == ["4"]


def test_cbool_documented_example():
    assert ev(
        "CBool([attribute1] = [attribute2])", attribute1=["a", "a"], attribute2=["a", "b"]
    ) == ["True", "False"]


def test_convert_to_base64_and_utf8_hex_documented_examples():
    assert ev('ConvertToBase64("Hello world!")') == ["SABlAGwAbABvACAAdwBvAHIAbABkACEA"]
    assert ev('ConvertToUTF8Hex("Hello world!")') == ["48656C6C6F20776F726C6421"]
