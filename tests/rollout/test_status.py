"""Progress of a plan against a later snapshot (pure)."""

from __future__ import annotations

from zoomaudit import rollout

from .fixtures import BASIC, base_assignments, snapshot, three_waves

BEFORE = dict(hosts=20)


def _after(*, assigned, zoom=(), events=(), taken_at="2026-01-15T14:00:00Z", job="Active"):
    base = base_assignments()
    base += [
        {
            "assignment_id": f"a-{uid}",
            "principal_id": uid,
            "principal_type": "User",
            "app_role_id": BASIC,
            "created_at": when,
        }
        for uid, when in assigned
    ]
    zoom_users = [
        {"zoom_id": "z-fay", "email": "fay@contoso.example", "type": 1, "status": "active"},
        {"zoom_id": "z-hal", "email": "hal@contoso.example", "type": 2, "status": "active"},
        *zoom,
    ]
    return snapshot(
        hosts=20,
        assignments=base,
        zoom_users=zoom_users,
        events=list(events),
        taken_at=taken_at,
        job_status=job,
    )


def _event(uid, status, when, code=None, reason=None):
    return {
        "event_id": f"e-{uid}-{when}",
        "activity_at": when,
        "action": "create",
        "status": status,
        "error_code": code,
        "error_reason": reason,
        "source_id": uid,
    }


def test_status_reports_provisioned_failed_pending_and_blocked():
    plan = rollout.plan(snapshot(**BEFORE), three_waves())
    after = _after(
        assigned=[
            ("u1", "2026-01-15T13:00:00Z"),
            ("u2", "2026-01-15T13:00:00Z"),
            ("u7", "2026-01-15T13:45:00Z"),
        ],
        zoom=[{"zoom_id": "z-ana", "email": "ana@contoso.example", "type": 1, "status": "active"}],
        events=[
            _event("u1", "success", "2026-01-15T13:20:00Z"),
            _event(
                "u2",
                "failure",
                "2026-01-15T13:20:00Z",
                "ZoomEntryConflict",
                "A user with that e-mail exists in another account.",
            ),
        ],
    )
    detail = rollout.status_detail(plan, after)
    states = dict(zip(detail["user_principal_name"], detail["state"], strict=True))
    assert states["ana@contoso.example"] == "provisioned"
    assert states["ben@contoso.example"] == "failed"
    assert states["gus@contoso.example"] == "pending"  # assigned 15 min before the snapshot
    assert states["eve@contoso.example"] == "blocked"
    assert states["cara@contoso.example"] == "not_assigned"
    ben = detail[detail["entra_id"] == "u2"].iloc[0]
    assert ben["reason"] == "ZoomEntryConflict A user with that e-mail exists in another account."

    summary = rollout.status(plan, after).set_index("wave_name")
    pilot = summary.loc["pilot"]
    assert (pilot["provisioned"], pilot["failed"], pilot["pending"]) == (1, 1, 1)
    assert not pilot["gate_open"]
    assert "1 failed or skipped (max 0)" in pilot["gate"] and "1 pending" in pilot["gate"]
    finance = summary.loc["finance"]
    assert finance["blocked"] == 1 and finance["not_assigned"] == 2
    assert "not assigned yet" in finance["gate"]


def test_gate_opens_when_the_wave_is_provisioned():
    plan = rollout.plan(snapshot(**BEFORE), three_waves())
    zoom = [
        {"zoom_id": f"z-{n}", "email": f"{n}@contoso.example", "type": 1, "status": s}
        for n, s in (("ana", "active"), ("ben", "pending"), ("gus", "active"))
    ]
    after = _after(assigned=[(u, "2026-01-15T12:00:00Z") for u in ("u1", "u2", "u7")], zoom=zoom)
    summary = rollout.status(plan, after).set_index("wave_name")
    pilot = summary.loc["pilot"]
    assert (pilot["provisioned"], pilot["invited"]) == (2, 1)
    assert pilot["gate_open"] and pilot["gate"] == "open"
    assert pilot["provisioned_pct"] == 100.0
    # a quarantined job closes every gate
    bad = _after(
        assigned=[(u, "2026-01-15T12:00:00Z") for u in ("u1", "u2", "u7")],
        zoom=zoom,
        job="Quarantine",
    )
    pilot = rollout.status(plan, bad).set_index("wave_name").loc["pilot"]
    assert not pilot["gate_open"] and "provisioning job unhealthy" in pilot["gate"]


def test_assigned_long_ago_without_trace_is_not_provisioned():
    plan = rollout.plan(snapshot(**BEFORE), three_waves())
    after = _after(assigned=[("u1", "2026-01-15T10:00:00Z")])
    detail = rollout.status_detail(plan, after).set_index("entra_id")
    assert detail.loc["u1", "state"] == "not_provisioned"
    assert list(rollout.status(plan, after).columns) == [
        "wave",
        "wave_name",
        "role",
        "members",
        "already_assigned",
        *rollout.STATES,
        "provisioned_pct",
        "gate_open",
        "gate",
    ]
