"""The emulator's OData $filter subset: parsing, evaluation, and what it reports."""

from __future__ import annotations

import pytest

from zoomaudit.emulator.graph_filter import FilterError, evaluate, parse

ROW = {
    "id": "5c6b0c2e-1f0d-4b7e-9a11-3a5e0b7d2f01",
    "displayName": "O'Brien, Ana",
    "accountEnabled": True,
    "department": None,
    "otherMails": [],
    "assignedLicenses": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "disabledPlans": []}],
    "proxyAddresses": ["SMTP:ana@contoso.example", "smtp:ana@alias.example"],
    "signInActivity": {"lastSignInDateTime": "2025-02-03T08:14:22Z"},
    "durationInMilliseconds": 1890,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("displayName eq 'O''Brien, Ana'", True),  # '' escapes a quote
        ("displayName eq 'o''brien, ana'", True),  # directory strings ignore case
        ("id eq 5c6b0c2e-1f0d-4b7e-9a11-3a5e0b7d2f01", True),  # unquoted GUID
        ("department eq null", True),
        ("department ne null", False),
        ("accountEnabled eq true and not (department eq 'Sales')", True),
        ("(accountEnabled eq false or startsWith(displayName,'o''b')) and otherMails/$count eq 0",
         True),
        ("assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)", True),
        ("assignedLicenses/$count ne 0", True),
        ("proxyAddresses/any(p:startsWith(p,'smtp:ana@alias'))", True),
        ("signInActivity/lastSignInDateTime lt 2025-02-04", True),
        ("signInActivity/lastSignInDateTime gt 2025-02-03T09:00:00Z", False),
        ("durationInMilliseconds ge 1890 and durationInMilliseconds lt 2000", True),
        ("department in ('Sales', 'HR')", False),
        ("endsWith(displayName,'ana')", True),
        ("contains(tolower(displayName),'brien')", True),
    ],
)  # fmt: skip
def test_evaluate(text, expected):
    assert evaluate(parse(text), ROW) is expected


def test_reports_are_case_sensitive_when_asked():
    flt = parse("displayName eq 'o''brien, ana'")
    assert evaluate(flt, ROW, case_insensitive=False) is False


def test_properties_and_advanced_flags():
    flt = parse("startsWith(displayName,'a') and signInActivity/lastSignInDateTime ge 2025-01-01")
    assert flt.properties == {"displayName", "signInActivity/lastSignInDateTime"}
    assert flt.roots == {"displayName", "signInActivity"}
    assert not flt.advanced
    for text in ("accountEnabled ne true", "not(accountEnabled eq true)",
                 "endsWith(mail,'x')", "otherMails/$count eq 0"):  # fmt: skip
        assert parse(text).advanced, text
    lam = parse("assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)")
    assert lam.properties == {"assignedLicenses"}  # the lambda variable is not a property


@pytest.mark.parametrize(
    "text", ["", "displayName eq", "displayName eq 'open", "(accountEnabled eq true", "eq 'x'",
             "displayName eq 'a' trailing", "startsWith(displayName 'a')"],
)  # fmt: skip
def test_syntax_errors(text):
    with pytest.raises(FilterError):
        parse(text)
