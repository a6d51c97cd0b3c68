"""Offline imports of portal exports into a snapshot marked source=import."""

from __future__ import annotations

import json

import pytest

from zoomaudit.errors import ConfigError
from zoomaudit.imports import import_files, provisioning_events_from_file, zoom_users_from_csv
from zoomaudit.snapshot import load

PORTAL_CSV = (
    "Date,Identity,Action,Source System,Target System,Status,Status Reason,Job ID,"
    "Change ID,Duration (ms)\n"
    "2025-02-04T12:40:07Z,Ana Ruiz,Create,Azure Active Directory,Zoom,Failure,"
    '"Zoom returned 409 Conflict",zoom.t.1,c1,1890\n'
    "2025-02-04 12:41:00,Ben Okafor,StagedDelete,Azure Active Directory,Zoom,Success,,zoom.t.1,"
    "c2,\n"
)
ZOOM_CSV = (
    "\ufeffEmail,First Name,Last Name,User Type,Department,Last Login Time,Status,Role\n"
    "ana@contoso.example,Ana,Ruiz,Licensed,Finance,2025-03-01 08:02:11,Active,Member\n"
    "new@contoso.example,New,Hire,Basic,,,Pending,Admin\n"
)


def test_portal_provisioning_csv_maps_what_it_can(tmp_path):
    f = tmp_path / "provisioning.csv"
    f.write_text(PORTAL_CSV, encoding="utf-8")
    events = provisioning_events_from_file(f)
    assert list(events["action"]) == ["create", "stagedDelete"]
    assert list(events["status"]) == ["failure", "success"]
    assert events.loc[0, "error_reason"] == "Zoom returned 409 Conflict"
    assert events.loc[0, "source_display_name"] == "Ana Ruiz"
    assert events.loc[0, "duration_ms"] == 1890
    assert events["event_id"].notna().all() and events["event_id"].is_unique
    assert str(events["activity_at"].dtype) == "datetime64[us, UTC]"


def test_portal_provisioning_json_in_graph_shape(tmp_path):
    f = tmp_path / "logs.json"
    f.write_text(
        json.dumps(
            [
                {
                    "id": "e1",
                    "activityDateTime": "2025-02-04T12:40:07Z",
                    "provisioningAction": "create",
                    "provisioningStatusInfo": {"status": "success"},
                    "sourceIdentity": {"id": "u1", "displayName": "Ana"},
                }
            ]
        )
    )
    events = provisioning_events_from_file(f)
    assert events.loc[0, "event_id"] == "e1" and events.loc[0, "source_id"] == "u1"


def test_zoom_export_csv(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text(ZOOM_CSV, encoding="utf-8")
    users = zoom_users_from_csv(f)
    assert list(users["email"]) == ["ana@contoso.example", "new@contoso.example"]
    assert list(users["type"]) == [2, 1]
    assert list(users["status"]) == ["active", "pending"]
    assert list(users["role_id"]) == ["2", "1"]
    assert users.loc[0, "display_name"] == "Ana Ruiz"
    assert users["last_login_time"].notna().tolist() == [True, False]


def test_import_files_builds_a_snapshot_marked_import(tmp_path):
    a, b = tmp_path / "p.csv", tmp_path / "z.csv"
    a.write_text(PORTAL_CSV)
    b.write_text(ZOOM_CSV)
    path = import_files([a, b], out=tmp_path / "data")
    snap = load(path)
    assert snap.manifest["source"] == "import" and snap.complete
    assert len(snap.table("provisioning_events")) == 2 and len(snap.table("zoom_users")) == 2
    assert {f["table"] for f in snap.manifest["files"]} == {"provisioning_events", "zoom_users"}


def test_unrecognisable_file_is_one_clear_error(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("foo,bar\n1,2\n")
    with pytest.raises(ConfigError, match="does not look like"):
        import_files([f], out=tmp_path / "data")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
