"""Small named fixtures for the licence audit: a snapshot builder around one Zoom account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zoomaudit.snapshot import Snapshot

TAKEN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ROLES = [
    {"app_role_id": "r-basic", "value": "Basic", "display_name": "Basic", "is_enabled": True},
    {"app_role_id": "r-lic", "value": "Licensed", "display_name": "Licensed", "is_enabled": True},
]
ROLE_IDS = {"Basic": "r-basic", "Licensed": "r-lic"}


def ago(days: float = 0, **kw) -> str:
    """An ISO time ``days`` (plus timedelta kwargs) before the snapshot time."""
    return (TAKEN - timedelta(days=days, **kw)).isoformat()


def zoom_user(
    name: str,
    *,
    type: int | None = 2,
    status: str = "active",
    login: str | None = None,
    created: str | None = None,
    dept: str | None = "Sales",
    zoom_id: str | None = "auto",
) -> dict:
    """A REST Zoom user ``<name>@contoso.example`` (id ``z-<name>``), logged in 1 day ago."""
    return {
        "zoom_id": f"z-{name}" if zoom_id == "auto" else zoom_id,
        "email": f"{name}@contoso.example",
        "type": type,
        "status": status,
        "dept": dept,
        "last_login_time": ago(1) if login is None else (None if login == "never" else login),
        "created_at": created if created is not None else ago(400),
    }


def entra_user(
    name: str,
    *,
    enabled: bool = True,
    deleted: bool = False,
    country: str | None = "DE",
    department: str | None = None,
) -> dict:
    """An Entra member ``<name>@contoso.example`` with id ``e-<name>``."""
    upn = f"{name}@contoso.example"
    return {
        "entra_id": f"e-{name}", "user_principal_name": upn, "mail": upn, "display_name": name,
        "given_name": name.title(), "surname": "Test", "account_enabled": enabled,
        "soft_deleted": deleted, "usage_location": country, "user_type": "Member",
        "department": department, "last_sign_in": ago(2),
    }  # fmt: skip


def assign(name: str, role: str = "Licensed") -> dict:
    return {"assignment_id": f"a-{name}", "principal_id": f"e-{name}", "principal_type": "User",
            "app_role_id": ROLE_IDS[role], "created_at": ago(500)}  # fmt: skip


def snap(zoom_users, entra_users=(), assignments=(), **tables) -> Snapshot:
    data = {
        "zoom_users": list(zoom_users),
        "entra_users": list(entra_users),
        "entra_assignments": list(assignments),
        "entra_app_roles": ROLES,
    }
    data.update(tables)
    return Snapshot.from_tables(data, taken_at=TAKEN)


def managed(name: str, *, role: str = "Licensed", **zoom_kw) -> tuple[dict, dict, dict]:
    """An assigned, enabled Entra user and their matching Zoom user."""
    return zoom_user(name, **zoom_kw), entra_user(name), assign(name, role)


def build(*people, extra_zoom=(), extra_entra=(), extra_assign=(), **tables) -> Snapshot:
    z = [p[0] for p in people] + list(extra_zoom)
    e = [p[1] for p in people] + list(extra_entra)
    a = [p[2] for p in people] + list(extra_assign)
    return snap(z, e, a, **tables)
