"""Exclusions, findings export, explain, provisioning-log analytics and the CLI command."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from fixtures import BASIC, LICENSED, snapshot, user, zoom
from typer.testing import CliRunner

from zoomaudit import exclusions as excl
from zoomaudit import provlogs
from zoomaudit.errors import ConfigError, LookupFailedError, ReportError
from zoomaudit.explain import explain
from zoomaudit.findings_io import write_findings
from zoomaudit.reconcile import reconcile
from zoomaudit.snapshot import Snapshot


def small():
    users = [user("u1", "Ana Ruiz"), user("u2", "Bo Li"), user("u3", "Cy Dee")]
    zooms = [
        zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Licensed"),
        zoom("zr", "room-1@contoso.example", "Room One"),
        zoom("zs", "svc-build@contoso.example", "Svc Build"),
    ]
    events = [
        {
            "event_id": "e1",
            "activity_at": "2026-01-14T10:00:00Z",
            "action": "create",
            "status": "failure",
            "error_code": "ZoomEntryConflict",
            "error_reason": "dup",
            "source_id": "u2",
            "modified_properties": '[{"displayName": "userName", "newValue": "x"}]',
        },
        {
            "event_id": "e2",
            "activity_at": "2026-01-14T11:00:00Z",
            "action": "create",
            "status": "failure",
            "error_code": "LicenseLimitExceeded",
            "source_id": "u3",
        },
        {
            "event_id": "e3",
            "activity_at": "2026-01-14T12:00:00Z",
            "action": "update",
            "status": "success",
            "source_id": "u1",
        },
    ]
    return snapshot(
        users, zooms, direct=[("u1", LICENSED), ("u2", BASIC), ("u3", BASIC)], events=events
    )


def test_exclusions_yaml_mark_but_keep_and_report_expired(tmp_path):
    f = tmp_path / "ex.yaml"
    f.write_text(
        "exclusions:\n"
        "  - user: ROOM-1@contoso.example\n    reason: room account\n    expires: 2026-12-31\n"
        "  - pattern: 'svc-*@contoso.example'\n    reason: service accounts\n"
        "    expires: 2025-12-31\n",
        encoding="utf-8",
    )
    r = reconcile(small(), exclusions=f)
    fr = r.findings
    assert len(fr[fr["category"] == "unmanaged_zoom_user"]) == 2  # kept, not dropped
    room = fr[fr["zoom_user_name"] == "room-1@contoso.example"].iloc[0]
    assert room["excluded"] and room["exclusion_reason"] == "room account"
    svc = fr[fr["zoom_user_name"] == "svc-build@contoso.example"].iloc[0]
    assert not svc["excluded"]  # expired before the snapshot date
    assert r.expired_exclusions["user_or_pattern"].tolist() == ["svc-*@contoso.example"]
    assert r.expired_exclusions["would_match"].tolist() == [1]
    s = r.summary().set_index("category")
    assert (
        s.loc["unmanaged_zoom_user", "count"] == 2
        and s.loc["unmanaged_zoom_user", "excluded"] == 1
    )


def test_exclusions_csv_and_regex_and_expiry_day_inclusive(tmp_path):
    f = tmp_path / "ex.csv"
    f.write_text("user,pattern,reason,expires\n,re:^svc-.*,svc,2026-01-15\n", encoding="utf-8")
    ex = excl.load(f)
    findings = pd.DataFrame({"zoom_user_name": ["svc-a@x", "other@x"], "category": ["a", "a"]})
    out, expired = excl.apply(findings, ex, date(2026, 1, 15))
    assert out["excluded"].tolist() == [True, False] and expired.empty
    out, expired = excl.apply(findings, ex, date(2026, 1, 16))
    assert out["excluded"].tolist() == [False, False] and len(expired) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("exclusions:\n  - reason: x\n", "exactly one of"),
        ("exclusions:\n  - user: a\n", "reason is required"),
        ("exclusions:\n  - user: a\n    reason: r\n    expires: soon\n", "not a date"),
        ("exclusions: [", "not valid YAML"),
    ],
)
def test_bad_exclusion_files_are_one_clear_error(tmp_path, content, message):
    f = tmp_path / "ex.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        excl.load(f)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_findings_round_trip(tmp_path, suffix):
    f = reconcile(small()).findings
    path = write_findings(f, tmp_path / "sub" / f"findings{suffix}")
    back = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".xlsx": pd.read_excel}[suffix](path)
    assert back["category"].tolist() == f["category"].tolist()
    assert list(back.columns) == list(f.columns)


def test_write_findings_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ReportError, match=r"\.csv, \.parquet or \.xlsx"):
        write_findings(pd.DataFrame({"a": [1]}), tmp_path / "x.json")


def test_explain_by_upn_email_and_zoom_id():
    s = small()
    r = reconcile(s)
    e = explain(s, "BO.LI@contoso.example", r)
    assert e.entra_id == "u2" and e.category == "not_provisioned"
    text = str(e)
    assert "not_provisioned" in text and "ZoomEntryConflict" in text
    assert "<table>" in e._repr_html_()
    assert explain(s, "zr", r).category == "unmanaged_zoom_user"
    assert explain(s, "u1", r).category == "in_sync"
    with pytest.raises(LookupFailedError):
        explain(s, "nobody@nowhere.example", r)


def test_provlogs_normalises_prefixes_and_groups_with_cause():
    assert provlogs.normalize_error_code("ZoomEntryConflict") == "EntryConflict"
    assert provlogs.normalize_error_code("ContosoEntryConflict") == "EntryConflict"
    assert provlogs.normalize_error_code("Conflict") == "Conflict"
    assert provlogs.normalize_error_code("SomethingNew") == "SomethingNew"
    s = small()
    summary = provlogs.failure_summary(s).set_index("error_code_normalized")
    assert set(summary.index) == {"EntryConflict", "LicenseLimitExceeded"}
    assert "seat" in summary.loc["LicenseLimitExceeded", "cause"]
    by_dept = provlogs.failures_by(s, "department")
    assert by_dept["users"].sum() == 2
    ev = provlogs.events(s)
    assert ev.loc[ev["event_id"] == "e1", "modified_attributes"].item() == "userName"
    assert not provlogs.CATALOGUE["error_code"].duplicated().any()


def test_cli_reconcile_writes_findings_and_prints_counts(tmp_path):
    from zoomaudit import snapshot as snap_mod
    from zoomaudit.cli import app

    s = small()
    path = snap_mod.save(s, tmp_path / "snap")
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(app, ["reconcile", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "in_sync" in res.output and out.is_file()
    assert len(pd.read_csv(out)) == len(reconcile(s).findings)


def test_cli_reconcile_latest_uses_the_data_dir(tmp_path, monkeypatch):
    from zoomaudit import snapshot as snap_mod
    from zoomaudit.cli import app

    s = small()
    data = tmp_path / "data"
    older = Snapshot.from_tables({}, taken_at="2026-01-01T00:00:00Z", id="older")
    snap_mod.save(older, data / "older")
    snap_mod.save(s, data / "newer")
    monkeypatch.setenv("ZOOMAUDIT_DATA_DIR", str(data))
    out = tmp_path / "f.parquet"
    res = CliRunner().invoke(app, ["reconcile", "latest", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(out)) == len(reconcile(s).findings) > 0


def test_cli_reconcile_missing_snapshot_is_one_clear_error(tmp_path):
    from zoomaudit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["reconcile", str(tmp_path / "nope"), "--out", str(tmp_path / "f.csv")])
    assert exc.value.code == 1
