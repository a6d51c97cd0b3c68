"""The Zoom emulator's view of the tenant: one user store behind SCIM and REST, with caches.

Sits between :class:`zoomaudit.emulator.model.Tenant` (the shared state, ``zoom_users`` is a
DataFrame) and the routes in ``zoom_scim`` / ``zoom_rest``. Reads go through a row cache keyed
on ``tenant.version`` (rebuilt only when someone else changed the tenant); writes from our own
routes go through to the DataFrame *and* patch the cache in place, so a 100k-user tenant does
not pay a full rebuild per SCIM write. Serialised list items (orjson bytes) are built lazily per
row and reused until that row changes, so a page costs O(page), not O(tenant).
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson
import pandas as pd
from starlette.responses import Response

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ZOOM_USER = "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser"
ZOOM_EXT = "urn:ietf:params:scim:schemas:extension:zoom:1.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: REST ``type`` -> SCIM ``userType``. 4 (Unassigned) and 99 (None) have no documented SCIM
#: spelling [U]; we show them as "Basic" and "None".
USER_TYPES = {1: "Basic", 2: "Licensed", 3: "On-Prem", 4: "Basic", 99: "None"}
#: SCIM ``userType`` accepted on writes -> REST ``type`` (None/Collaboration are rejected by
#: Zoom [S]; legacy gallery roles Pro/Corp are accepted as aliases [U])
WRITE_TYPES = {"basic": 1, "licensed": 2, "on-prem": 3, "onprem": 3, "pro": 2, "corp": 3}
ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}

#: zoom:1.0 licence attributes kept per user (strings "" = unassigned, booleans = add-on on);
#: the booleans map to ``/settings`` feature keys
ZOOM_EXT_STRINGS = ("personalLinkName", "pronouns", "zoomUnited", "zoomOneBizPlus")
ZOOM_EXT_FLAGS = {
    "zoomIQ": "zoom_iq_for_sales",
    "zoomCustomerManagedKey": "zoom_customer_managed_key",
    "zoomWhiteboard": "zoom_whiteboard",
    "zoomWhiteboardPlus": "zoom_whiteboard_plus",
    "zoomTranslatedCaptions": "zoom_translated_captions",
    "zoomHuddles": "zoom_huddles",
}
#: enterprise attributes without a column in ``zoom_users``: kept per user beside the store
ENTERPRISE_EXTRA = ("organization", "costCenter", "employeeNumber", "manager")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def now_iso(clock) -> str:
    return clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_zoom_id() -> str:
    """A 22-character URL-safe id like Zoom's."""
    return secrets.token_urlsafe(16)[:22]


def _pylist(series: pd.Series) -> list:
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def _clean(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


@dataclass
class _Cache:
    version: int
    rows: list[dict]
    labels: list
    by_id: dict[str, int] = field(default_factory=dict)
    by_email: dict[str, int] = field(default_factory=dict)
    #: serialised items per projection key, aligned with ``rows`` (None = not built yet)
    items: dict[tuple, list[bytes | None]] = field(default_factory=dict)
    _positions: dict[str, list[int]] | None = None

    def reindex(self) -> None:
        self.by_id = {r["id"]: i for i, r in enumerate(self.rows) if r.get("id")}
        self.by_email = {str(r["email"]).lower(): i for i, r in enumerate(self.rows)}
        self._positions = None

    def positions(self, status: str) -> list[int]:
        """Row positions with this status (``"*"`` = all), in store order."""
        if self._positions is None:
            groups: dict[str, list[int]] = {"*": list(range(len(self.rows))), "listed": []}
            for i, r in enumerate(self.rows):
                row_status = r.get("status") or ""
                groups.setdefault(row_status, []).append(i)
                if row_status != "pending":
                    groups["listed"].append(i)
            self._positions = groups
        return self._positions.get(status, [])


class ZoomStore:
    """Reads and writes ``tenant.zoom_users`` for the Zoom routes."""

    def __init__(self, state):
        self.state = state
        self._cache: _Cache | None = None
        #: SCIM attributes without a DataFrame column (title, enterprise extras, zoom:1.0)
        self.extras: dict[str, dict] = {}

    @property
    def tenant(self):
        return self.state.tenant

    @property
    def options(self):
        return self.state.options

    # ---- cache
    def cache(self) -> _Cache:
        tenant = self.tenant
        cache = self._cache
        if cache is None or cache.version != tenant.version:
            with tenant.lock:
                df = tenant.zoom_users
                columns = {c: _pylist(df[c]) for c in df.columns}
                names = list(columns)
                rows = [
                    dict(zip(names, vals, strict=True))
                    for vals in zip(*columns.values(), strict=True)
                ]
                for r in rows:
                    if r.get("type") is not None:
                        r["type"] = int(r["type"])
                cache = _Cache(tenant.version, rows, list(df.index))
                cache.reindex()
                self._cache = cache
        return cache

    def find_id(self, user_id: str) -> dict | None:
        cache = self.cache()
        pos = cache.by_id.get(user_id)
        return cache.rows[pos] if pos is not None else None

    def find_email(self, email: str) -> dict | None:
        cache = self.cache()
        pos = cache.by_email.get(email.strip().lower())
        return cache.rows[pos] if pos is not None else None

    def serialised(self, key: tuple, positions: list[int], project) -> list[bytes]:
        """orjson bytes of ``project(row)`` for these positions (cached per row and key)."""
        cache = self.cache()
        items = cache.items.get(key)
        if items is None or len(items) != len(cache.rows):
            items = cache.items[key] = [None] * len(cache.rows)
        out = []
        rows = cache.rows
        for pos in positions:
            blob = items[pos]
            if blob is None:
                blob = items[pos] = dumps(project(rows[pos]))
            out.append(blob)
        return out

    # ---- writes (caller holds tenant.lock)
    def _commit(self, cache: _Cache) -> None:
        self.tenant.touch()
        cache.version = self.tenant.version

    def update(self, row: dict, changes: dict) -> dict:
        """Apply column changes to one user (DataFrame and cache); returns the row."""
        cache = self.cache()
        changes = {k: v for k, v in changes.items() if row.get(k) != v}
        if not changes:
            return row
        changes["last_modified"] = now_iso(self.state.clock)
        pos = cache.by_id[row["id"]]
        df = self.tenant.zoom_users
        label = cache.labels[pos]
        for col, value in changes.items():
            if col in df.columns:
                try:
                    df.loc[label, col] = value
                except (TypeError, ValueError):
                    df[col] = df[col].astype(object)
                    df.loc[label, col] = value
        if "email" in changes:
            cache.by_email.pop(str(row["email"]).lower(), None)
            cache.by_email[str(changes["email"]).lower()] = pos
        row.update(changes)
        for items in cache.items.values():
            if len(items) > pos:
                items[pos] = None
        if "status" in changes:
            cache._positions = None
        self._commit(cache)
        return row

    def create(self, values: dict) -> dict:
        """Append a user; ``values`` holds ZOOM_USER_COLUMNS keys (others are filled)."""
        cache = self.cache()
        df = self.tenant.zoom_users
        stamp = now_iso(self.state.clock)
        row = {c: None for c in df.columns}
        row.update(
            created_at=stamp,
            user_created_at=stamp,
            last_modified=stamp,
            role_id="2",
            timezone="",
            last_client_version=None,
            last_login_time=None,
            pmi=secrets.randbelow(9 * 10**9) + 10**9,
        )
        row.update(values)
        label = (max(cache.labels) + 1) if cache.labels and _is_int(cache.labels[-1]) else None
        new = pd.DataFrame([{c: row.get(c) for c in df.columns}], columns=df.columns)
        try:  # keep the tenant's dtypes (the generator uses str, Int64 and boolean)
            new = new.astype(df.dtypes.to_dict())
        except (TypeError, ValueError):
            pass
        if label is not None:
            new.index = [label]
        merged = pd.concat([df, new], ignore_index=label is None)
        self.tenant.zoom_users = merged
        new_row = {c: row.get(c) for c in df.columns}
        cache.rows.append(new_row)
        cache.labels = list(merged.index)
        for items in cache.items.values():
            items.append(None)
        pos = len(cache.rows) - 1  # appended last, so other positions stay valid
        cache.by_id[new_row["id"]] = pos
        cache.by_email[str(new_row["email"]).lower()] = pos
        if cache._positions is not None:
            status = new_row.get("status") or ""
            cache._positions["*"].append(pos)
            cache._positions.setdefault(status, []).append(pos)
            if status != "pending":
                cache._positions["listed"].append(pos)
        self._commit(cache)
        return new_row

    def delete(self, row: dict) -> None:
        cache = self.cache()
        pos = cache.by_id[row["id"]]
        label = cache.labels[pos]
        self.tenant.zoom_users = self.tenant.zoom_users.drop(index=label)
        del cache.rows[pos]
        del cache.labels[pos]
        for items in cache.items.values():
            if len(items) > pos:
                del items[pos]
        self.extras.pop(row["id"], None)
        cache.reindex()
        self._commit(cache)

    def extra(self, user_id: str) -> dict:
        return self.extras.setdefault(user_id, {})

    # ---- plan seats
    def licensed_in_use(self) -> int:
        """Seats of ``plan_base`` in use: Licensed users, active (+ inactive, option [U])."""
        cache = self.cache()
        statuses = {"active"}
        if getattr(self.options, "inactive_licensed_uses_seat", True):
            statuses.add("inactive")
        return sum(1 for r in cache.rows if r.get("type") == 2 and r.get("status") in statuses)

    def licensed_pending(self) -> int:
        cache = self.cache()
        return sum(1 for r in cache.rows if r.get("type") == 2 and r.get("status") == "pending")

    def base_hosts(self) -> int | None:
        """Purchased ``plan_base`` seats, or None when the plan config has none."""
        plan = (self.tenant.zoom_plans or {}).get("plan_base")
        if isinstance(plan, dict):
            hosts = plan.get("hosts")
        else:
            hosts = plan
        return int(hosts) if hosts is not None else None

    def seat_free(self) -> bool:
        hosts = self.base_hosts()
        return hosts is None or self.licensed_in_use() < hosts


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- projections ---------------------------------------------------------------------------
def user_type(row: dict) -> str:
    return USER_TYPES.get(row.get("type") or 1, "Basic")


def _version(row: dict) -> str:
    stamp = row.get("last_modified") or row.get("created_at") or ""
    return 'W/"' + str(zlib.crc32(stamp.encode()) % 100000) + '"'


def scim_list_item(row: dict, location: str) -> dict:
    """Zoom's reduced list projection (zoom.md §1.4): no zoom:1.0, no manager/organization."""
    sso = bool(row.get("login_sso")) if row.get("login_sso") is not None else True
    meta = {
        "resourceType": "User",
        "location": location + quote(row["id"], safe=""),
        "version": _version(row),
    }
    if row.get("created_at"):
        meta["created"] = row["created_at"]
    if row.get("last_modified"):
        meta["lastModified"] = row["last_modified"]
    return {
        "id": row["id"],
        "meta": meta,
        "schemas": [CORE, ENTERPRISE, ZOOM_USER],
        "name": {
            "givenName": row.get("first_name") or "",
            "familyName": row.get("last_name") or "",
        },
        "emails": [{"type": "work", "value": row["email"], "primary": True}],
        "displayName": row.get("display_name") or "",
        "userName": row["email"],
        "active": row.get("status") == "active",
        "userType": user_type(row),
        ENTERPRISE: {"department": row.get("dept") or ""},
        ZOOM_USER: {"loginType": {"workEmail": not sso, "sso": sso}},
    }


def scim_full(row: dict, location: str, extra: dict) -> dict:
    """GET-one projection: both Zoom extension URNs, enterprise ``manager`` as a plain string."""
    item = scim_list_item(row, location)
    item["schemas"] = [CORE, ENTERPRISE, ZOOM_USER, ZOOM_EXT]
    role = str(row.get("role_id") or "2")
    item["roles"] = [{"display": ROLE_NAMES.get(role, "Member"), "value": role, "primary": True}]
    if extra.get("title"):
        item["title"] = extra["title"]
    ent = item[ENTERPRISE]
    for key in ENTERPRISE_EXTRA:
        ent[key] = extra.get(key) or ""
    zoom = {key: extra.get(key) or "" for key in ZOOM_EXT_STRINGS}
    if not zoom["personalLinkName"]:
        zoom["personalLinkName"] = str(row["email"]).split("@")[0].replace(".", "")
    for key in ZOOM_EXT_FLAGS:
        zoom[key] = bool(extra.get(key, False))
    item[ZOOM_EXT] = zoom
    return item


def rest_list_item(row: dict) -> dict:
    """A ``/v2/users`` item; pending invites have no ``id`` (zoom.md §2.3)."""
    if row.get("status") == "pending":
        return {
            "email": row["email"],
            "type": row.get("type") or 1,
            "status": "pending",
            "created_at": row.get("created_at") or "",
        }
    item = {
        "id": row["id"],
        "email": row["email"],
        "first_name": row.get("first_name") or "",
        "last_name": row.get("last_name") or "",
        "display_name": row.get("display_name") or "",
        "type": row.get("type") or 1,
        "status": row.get("status"),
        "dept": row.get("dept") or "",
        "role_id": str(row.get("role_id") or "2"),
        "pmi": row.get("pmi"),
        "timezone": row.get("timezone") or "",
        "verified": 1,
        "group_ids": [],
        "im_group_ids": [],
        "employee_unique_id": "",
        "user_created_at": row.get("user_created_at") or row.get("created_at") or "",
        "created_at": row.get("created_at") or "",
        "plan_united_type": "0",
    }
    # Zoom omits these for users who never signed in (zoom.md §2.3)
    if row.get("last_login_time"):
        item["last_login_time"] = row["last_login_time"]
    if row.get("last_client_version"):
        item["last_client_version"] = row["last_client_version"]
    return {k: v for k, v in item.items() if v is not None}


# ---- responses -----------------------------------------------------------------------------
class ScimFail(Exception):
    """A SCIM-shaped error answer (``status`` + ``detail``) raised by the SCIM handlers."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def json_response(
    body: Any, status: int = 200, content_type: str = "application/json"
) -> Response:
    data = body if isinstance(body, bytes) else dumps(body)
    return Response(data, status_code=status, media_type=content_type)


def scim_error(options, status: int, detail: str) -> Response:
    """Zoom's SCIM error: integer ``status`` and no ``scimType`` (string when the option says)."""
    code: int | str = status if options.scim_error_status_int else str(status)
    body = {"schemas": [ERROR_URN], "detail": detail, "status": code}
    return json_response(body, status, options.scim_content_type)


def rest_error(status: int, code: int, message: str, **extra) -> Response:
    return json_response({"code": code, "message": message, **extra}, status)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
