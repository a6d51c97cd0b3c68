"""Provisioning-log analytics: app-name prefixes normalised, failures grouped per code."""

from __future__ import annotations

from fixtures import BASIC, snapshot, user

from zoomaudit import provlogs


def test_app_name_prefixes_are_stripped_longest_code_first():
    n = provlogs.normalize_error_code
    assert n("ZoomEntryConflict") == "EntryConflict"
    assert n("ContosoEntryConflict") == "EntryConflict"
    assert n("zoomTooManyRequests") == "TooManyRequests"
    assert n("Conflict") == "Conflict"
    assert n("SystemForCrossDomainIdentityManagementBadResponse") == (
        "SystemForCrossDomainIdentityManagementBadResponse"
    )
    assert n("SomethingNew") == "SomethingNew"  # unknown codes are kept as they came
    assert n(None) is None and n("  ") is None


def test_failures_grouped_by_normalised_code_count_distinct_users():
    users = [user("u1", "Ana Ruiz"), user("u2", "Bo Li")]
    ev = [
        {"event_id": f"e{i}", "source_id": sid, "activity_at": f"2026-01-15T1{i}:00:00Z",
         "action": "create", "status": "failure", "error_code": code, "error_reason": "r"}
        for i, (sid, code) in enumerate([("u1", "ZoomEntryConflict"), ("u1", "EntryConflict"),
                                          ("u2", "ContosoEntryConflict"), ("u2", "Timeout")])
    ]  # fmt: skip
    snap = snapshot(users, direct=[("u1", BASIC), ("u2", BASIC)], events=ev)
    by = provlogs.failures_by(snap).set_index("error_code_normalized")
    assert by.loc["EntryConflict", "events"] == 3 and by.loc["EntryConflict", "users"] == 2
    assert by.loc["Timeout", "users"] == 1
    summary = provlogs.failure_summary(snap).set_index("error_code_normalized")
    assert summary.loc["EntryConflict", "fix"]  # a plain-language fix from the catalogue
