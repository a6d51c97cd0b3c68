"""Small named fixtures for the reconciliation tests (built with Snapshot.from_tables)."""

from __future__ import annotations

from zoomaudit.snapshot import Snapshot

DOMAIN = "contoso.example"
BASIC = "11111111-0000-0000-0000-000000000001"
LICENSED = "11111111-0000-0000-0000-000000000002"
DEFAULT = "00000000-0000-0000-0000-000000000000"
GROUP = "g-assigned"
NESTED = "g-nested"


def user(uid: str, name: str, **kw) -> dict:
    first, _, last = name.partition(" ")
    upn = kw.pop("upn", f"{first.lower()}.{last.lower()}@{DOMAIN}")
    row = {
        "entra_id": uid,
        "user_principal_name": upn,
        "display_name": name,
        "given_name": first,
        "surname": last,
        "mail": upn,
        "account_enabled": True,
        "department": "Sales",
        "user_type": "Member",
        "soft_deleted": False,
        "proxy_addresses": [f"SMTP:{upn}"],
        "other_mails": [],
    }
    row.update(kw)
    return row


def zoom(
    zid: str | None,
    email: str,
    name: str,
    *,
    status="active",
    user_type="Licensed",
    department="Sales",
    **kw,
) -> tuple[dict | None, dict]:
    first, _, last = name.partition(" ")
    scim = None
    if status != "pending":
        scim = {
            "zoom_id": zid,
            "user_name": email,
            "display_name": name,
            "given_name": first,
            "family_name": last,
            "work_email": email,
            "active": status == "active",
            "user_type": user_type,
            "department": department,
        }
        scim.update(kw)
    rest = {
        "zoom_id": zid if status != "pending" else None,
        "email": email,
        "first_name": first,
        "last_name": last,
        "display_name": name,
        "type": {"Basic": 1, "Licensed": 2}.get(user_type, 1),
        "status": status,
        "dept": department,
    }
    return scim, rest


def snapshot(
    users,
    zooms=(),
    *,
    direct=(),
    group_members=(),
    nested_members=(),
    events=(),
    filters=(),
    mappings=(),
    roles=None,
    taken_at="2026-01-15T12:00:00Z",
    assigned_at="2026-01-01T00:00:00Z",
) -> Snapshot:
    """direct: [(user_id, role_id)]; group_members: ids that are direct members of GROUP;
    nested_members: ids only in NESTED (a member group of GROUP)."""
    assignments = [
        {
            "assignment_id": f"a-{u}",
            "principal_id": u,
            "principal_type": "User",
            "app_role_id": r,
            "created_at": assigned_at,
        }
        for u, r in direct
    ]
    assignments.append(
        {
            "assignment_id": "a-g",
            "principal_id": GROUP,
            "principal_type": "Group",
            "app_role_id": BASIC,
            "created_at": assigned_at,
        }
    )
    members = [
        {"group_id": GROUP, "member_id": m, "member_type": "user", "direct": True}
        for m in group_members
    ]
    members.append(
        {"group_id": GROUP, "member_id": NESTED, "member_type": "group", "direct": True}
    )
    members += [
        {"group_id": GROUP, "member_id": m, "member_type": "user", "direct": False}
        for m in nested_members
    ]
    tables = {
        "entra_users": list(users),
        "entra_app_roles": roles
        or [
            {"app_role_id": BASIC, "value": "Basic", "display_name": "Basic"},
            {"app_role_id": LICENSED, "value": "Licensed", "display_name": "Licensed"},
            {"app_role_id": DEFAULT, "value": None, "display_name": "User"},
        ],
        "entra_assignments": assignments,
        "entra_groups": [
            {"group_id": GROUP, "display_name": "Zoom users", "assigned": True},
            {"group_id": NESTED, "display_name": "Nested", "assigned": False},
        ],
        "entra_group_members": members,
        "zoom_scim_users": [s for s, _ in zooms if s is not None],
        "zoom_users": [r for _, r in zooms],
        "provisioning_events": list(events),
        "scoping_filters": list(filters),
        "sync_jobs": [
            {"job_id": "zoom.job", "schedule_state": "Active", "schedule_interval": "PT40M"}
        ],
    }
    if mappings:
        tables["attribute_mappings"] = list(mappings)
    return Snapshot.from_tables(tables, taken_at=taken_at)
