"""Small named snapshots for the rollout planner and status (no network)."""

from __future__ import annotations

from zoomaudit.mapping import DEFAULT_MAPPINGS
from zoomaudit.snapshot import Snapshot

SP = "sp-zoom"
BASIC = "role-basic"
LICENSED = "role-licensed"


def user(uid, upn, *, dept=None, country=None, enabled=True, **extra):
    row = {
        "entra_id": uid,
        "user_principal_name": upn,
        "display_name": upn.split("@")[0].title(),
        "given_name": upn.split("@")[0].title(),
        "surname": "Example",
        "mail": upn,
        "account_enabled": enabled,
        "department": dept,
        "usage_location": country,
        "user_type": "Member",
        "soft_deleted": False,
    }
    row.update(extra)
    return row


USERS = [
    user("u1", "ana@contoso.example", dept="IT", country="DE"),
    user("u2", "ben@contoso.example", dept="IT", country="DE"),
    user("u3", "cara@contoso.example", dept="Finance", country="FR"),
    user("u4", "dan@contoso.example", dept="Finance", country="FR"),
    user("u5", "eve@contoso.example", dept="Finance", country="FR", enabled=False),
    user("u6", "fay@contoso.example", dept="Sales", country="US"),
    user("u7", "gus@contoso.example", dept="Sales", country="US"),
    user("u8", "hal@contoso.example", dept="Sales", country="US"),
    user("u9", "ivy@contoso.example", dept="Legal", country="GB"),
]

GROUPS = [
    {"group_id": "g-pilot", "display_name": "Zoom Pilot", "candidate": True, "assigned": False},
    {
        "group_id": "g-fin",
        "display_name": "Zoom Wave 2 - Finance",
        "candidate": True,
        "assigned": False,
    },
    {
        "group_id": "g-fin-sub",
        "display_name": "Finance Contractors",
        "candidate": False,
        "assigned": False,
    },
    {"group_id": "g-exist", "display_name": "Zoom Existing", "candidate": False, "assigned": True},
    {"group_id": "g-other", "display_name": "Not Pulled", "candidate": False, "assigned": False},
]

MEMBERS = [
    {"group_id": "g-pilot", "member_id": "u1", "member_type": "user", "direct": True},
    {"group_id": "g-pilot", "member_id": "u2", "member_type": "user", "direct": True},
    {"group_id": "g-fin", "member_id": "u3", "member_type": "user", "direct": True},
    {"group_id": "g-fin", "member_id": "u5", "member_type": "user", "direct": True},
    {"group_id": "g-fin", "member_id": "g-fin-sub", "member_type": "group", "direct": True},
    {"group_id": "g-fin", "member_id": "u4", "member_type": "user", "direct": False},
    {"group_id": "g-exist", "member_id": "u8", "member_type": "user", "direct": True},
]


def base_assignments() -> list[dict]:
    """The assignments every fixture tenant starts with: Fay directly, group g-exist."""
    return [
        {
            "assignment_id": "a-fay",
            "principal_id": "u6",
            "principal_type": "User",
            "app_role_id": BASIC,
            "created_at": "2025-12-01T00:00:00Z",
        },
        {
            "assignment_id": "a-exist",
            "principal_id": "g-exist",
            "principal_type": "Group",
            "app_role_id": BASIC,
            "created_at": "2025-12-01T00:00:00Z",
        },
    ]


def snapshot(
    *,
    taken_at="2026-01-15T12:00:00Z",
    hosts=10,
    usage=8,
    assignments=None,
    zoom_users=None,
    events=None,
    job_status="Active",
    **tables,
) -> Snapshot:
    base = {
        "entra_users": USERS,
        "entra_groups": GROUPS,
        "entra_group_members": MEMBERS,
        "entra_app": [
            {
                "sp_id": SP,
                "app_id": "app-zoom",
                "display_name": "Zoom",
                "app_role_assignment_required": True,
                "account_enabled": True,
            }
        ],
        "entra_app_roles": [
            {
                "app_role_id": BASIC,
                "value": "Basic",
                "display_name": "Basic",
                "is_enabled": True,
                "allowed_member_types": ["User"],
            },
            {
                "app_role_id": LICENSED,
                "value": "Licensed",
                "display_name": "Licensed",
                "is_enabled": True,
                "allowed_member_types": ["User"],
            },
            {
                "app_role_id": "role-user",
                "value": None,
                "display_name": "User",
                "is_enabled": True,
                "allowed_member_types": ["User"],
            },
        ],
        "entra_assignments": assignments if assignments is not None else base_assignments(),
        "zoom_users": zoom_users
        if zoom_users is not None
        else [
            {"zoom_id": "z-fay", "email": "fay@contoso.example", "type": 1, "status": "active"},
            {"zoom_id": "z-hal", "email": "hal@contoso.example", "type": 2, "status": "active"},
        ],
        "zoom_plans": [{"plan_key": "plan_base", "position": 0, "hosts": hosts, "usage": usage}],
        "sync_jobs": [
            {
                "job_id": "job-1",
                "schedule_state": "Active",
                "schedule_interval": "PT40M",
                "status_code": job_status,
                "last_execution_state": "Succeeded",
                "last_execution_began": "2026-01-15T11:00:00Z",
                "last_execution_ended": "2026-01-15T11:02:00Z",
                "last_count_escrowed": 0,
            }
        ],
        "attribute_mappings": [
            {
                "job_id": "job-1",
                "target_attribute": t,
                "expression": e,
                "source_type": "Function",
                "matching_priority": p,
            }
            for t, e, p in DEFAULT_MAPPINGS
        ],
        "zoom_domains": [{"domain": "contoso.example", "status": "verified"}],
        "provisioning_events": events or [],
    }
    base.update(tables)
    return Snapshot.from_tables(
        base,
        taken_at=taken_at,
        schemas={
            "job-1": {
                "synchronizationRules": [
                    {"id": "rule-users", "objectMappings": [{"sourceObjectName": "User"}]}
                ]
            }
        },
    )


def three_waves(**changes) -> dict:
    config = {
        "role": "Basic",
        "waves": [
            {
                "name": "pilot",
                "groups": ["Zoom Pilot"],
                "users": ["gus@contoso.example"],
                "max_users": 5,
            },
            {"name": "finance", "groups": ["Zoom Wave 2 - Finance"], "role": "Licensed"},
            {"name": "legal", "departments": ["Legal"], "countries": ["GB"]},
        ],
    }
    config.update(changes)
    return config
