"""Small named fixtures for readiness: an Entra tenant with one candidate group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zoomaudit.snapshot import Snapshot

TAKEN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ROLES = [
    {"app_role_id": "r-basic", "value": "Basic", "is_enabled": True},
    {"app_role_id": "r-lic", "value": "Licensed", "is_enabled": True},
    {"app_role_id": "r-collab", "value": "Collaboration", "is_enabled": True},
    {"app_role_id": "00000000-0000-0000-0000-000000000000", "value": None, "is_enabled": True},
]
ROLE_IDS = {r["value"]: r["app_role_id"] for r in ROLES}
MAPPINGS = [
    ("userName", "[userPrincipalName]", 1),
    ('emails[type eq "work"].value', "[mail]", 0),
    ("name.givenName", "[givenName]", 0),
    ("name.familyName", "[surname]", 0),
    ("active", 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', 0),
    ("userType", "SingleAppRoleAssignment([appRoleAssignments])", 0),
]
HEALTHY_JOB = {
    "job_id": "zoom.job1", "schedule_state": "Active", "schedule_interval": "PT40M",
    "status_code": "Active", "last_execution_ended": (TAKEN - timedelta(minutes=20)).isoformat(),
    "last_count_escrowed": 0,
}  # fmt: skip


def mappings(*, drop: str | None = None) -> list[dict]:
    return [
        {"job_id": "zoom.job1", "rule_id": "r1", "object_mapping": "Provision users",
         "target_attribute": t, "source_type": "Function", "expression": e,
         "flow_type": "Always", "matching_priority": p}
        for t, e, p in MAPPINGS if t != drop
    ]  # fmt: skip


def user(name: str, **kw) -> dict:
    """An enabled Entra member ``<name>@contoso.example`` (id ``e-<name>``)."""
    upn = f"{name}@contoso.example"
    d = {"entra_id": f"e-{name}", "user_principal_name": upn, "mail": upn, "display_name": name,
         "given_name": name.title(), "surname": "Test", "account_enabled": True,
         "soft_deleted": False, "user_type": "Member"}  # fmt: skip
    d.update(kw)
    return d


def member(group: str, name: str, direct: bool = True) -> dict:
    return {"group_id": group, "member_id": f"e-{name}", "member_type": "user", "direct": direct}


def snap(
    users,
    *,
    wave: tuple[str, ...] = (),
    nested: tuple[str, ...] = (),
    assignments=(),
    zoom_users=(),
    domains=({"domain": "contoso.example", "status": "verified"},),
    plans=({"plan_key": "plan_base", "position": 0, "hosts": 10, "usage": 5, "pending": 1},),
    jobs=(HEALTHY_JOB,),
    attribute_mappings=None,
    **tables,
) -> Snapshot:
    """Users; ``wave`` are direct members of candidate group "Wave 1", ``nested`` nested ones."""
    groups = [{"group_id": "g-wave1", "display_name": "Wave 1", "candidate": True,
               "assigned": False}]  # fmt: skip
    members = [member("g-wave1", n) for n in wave] + [member("g-wave1", n, False) for n in nested]
    data = {
        "entra_users": list(users),
        "entra_groups": groups,
        "entra_group_members": members,
        "entra_app_roles": ROLES,
        "entra_assignments": list(assignments),
        "zoom_users": list(zoom_users),
        "zoom_domains": list(domains),
        "zoom_plans": list(plans),
        "sync_jobs": list(jobs),
        "attribute_mappings": mappings() if attribute_mappings is None else attribute_mappings,
    }
    data.update(tables)
    return Snapshot.from_tables(data, taken_at=TAKEN)


def assign(name: str, role: str | None = "Basic", principal_type: str = "User") -> dict:
    pid = f"e-{name}" if principal_type == "User" else name
    return {
        "assignment_id": f"a-{name}",
        "principal_id": pid,
        "principal_type": principal_type,
        "app_role_id": ROLE_IDS[role],
        "created_at": (TAKEN - timedelta(days=9)).isoformat(),
    }
