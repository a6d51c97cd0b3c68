"""Zoom REST v2 routes of the emulator: users, settings, plans, domains, reports (zoom.md §2, §5
items 15-19).

Handlers take ``(ctx, request)`` and raise :class:`RestFail` for Zoom's ``{code, message}``
errors; ``zoom_app`` wraps them. Paging uses opaque ``next_page_token`` values that expire after
``options.page_token_ttl`` seconds on the emulator clock.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, date, datetime, timedelta

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .zoom_store import ROLE_NAMES, ZOOM_EXT_FLAGS, json_response, rest_list_item


class RestFail(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class PageTokens:
    """Opaque page tokens: token -> (kind, params, offset, issued on the clock)."""

    def __init__(self, clock, options):
        self.clock = clock
        self.options = options  # page_token_ttl is read per request, so tests may change it
        self._tokens: dict[str, tuple] = {}

    def issue(self, kind: str, params: tuple, offset: int) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (kind, params, offset, self.clock.monotonic())
        return token

    def resolve(self, token: str, kind: str, params: tuple) -> int:
        entry = self._tokens.get(token)
        # Zoom's code for a stale token is not documented [U]; 300 is its generic validation code
        if entry is None or entry[0] != kind or entry[1] != params:
            raise RestFail(400, 300, "The next page token is invalid or expired.")
        if self.clock.monotonic() - entry[3] > self.options.page_token_ttl:
            del self._tokens[token]
            raise RestFail(400, 300, "The next page token is invalid or expired.")
        return entry[2]


def _page_size(request: Request, options, default: int | None = None) -> int:
    raw = request.query_params.get("page_size")
    try:
        size = int(raw) if raw else (default or options.rest_page_size_default)
    except ValueError as exc:
        raise RestFail(400, 300, f"Invalid field: page_size {raw}") from exc
    # Zoom clamps rather than rejects oversized pages [U]
    return max(1, min(size, options.rest_page_size_cap))


def _offset(ctx, request: Request, kind: str, params: tuple, page_size: int) -> int:
    token = request.query_params.get("next_page_token")
    if token:
        return ctx.page_tokens.resolve(token, kind, params)
    number = request.query_params.get("page_number")  # deprecated, still honoured
    if number and number.isdigit() and int(number) > 1:
        return (int(number) - 1) * page_size
    return 0


# ---- users ---------------------------------------------------------------------------------
async def list_users(ctx, request: Request) -> Response:
    q = request.query_params
    status = q.get("status") or "active"
    if status not in ("active", "inactive", "pending"):
        raise RestFail(400, 300, f"Invalid field: status {status}")
    page_size = _page_size(request, ctx.options)
    role_id = q.get("role_id")
    params = (status, page_size, role_id)
    offset = _offset(ctx, request, "users", params, page_size)
    store = ctx.store
    cache = store.cache()
    positions = cache.positions(status)
    if role_id:
        positions = [p for p in positions if str(cache.rows[p].get("role_id")) == role_id]
    total = len(positions)
    page = positions[offset : offset + page_size]
    items = store.serialised(("rest",), page, rest_list_item)
    end = offset + len(page)
    token = ctx.page_tokens.issue("users", params, end) if end < total else ""
    head = orjson.dumps(
        {
            "next_page_token": token,
            "page_count": math.ceil(total / page_size) if total else 0,
            "page_number": offset // page_size + 1,
            "page_size": page_size,
            "total_records": total,
        }
    )
    return json_response(head[:-1] + b',"users":[' + b",".join(items) + b"]}")


def _user(ctx, user_id: str) -> dict:
    store = ctx.store
    if user_id == "me":
        rows = store.cache().rows
        owners = [r for r in rows if str(r.get("role_id")) == "0"] or rows[:1]
        row = owners[0] if owners else None
    elif "@" in user_id:
        row = store.find_email(user_id)
    else:
        row = store.find_id(user_id)
        if row is not None and row.get("status") == "pending":
            row = None  # REST never shows a pending invite's id, so it cannot be looked up by it
    if row is None:
        raise RestFail(404, 1001, f"User does not exist: {user_id}")
    return row


async def get_user(ctx, request: Request) -> Response:
    row = _user(ctx, request.path_params["user_id"])
    item = rest_list_item(row)
    if row.get("status") != "pending":
        role = str(row.get("role_id") or "2")
        item.update(
            role_name=ROLE_NAMES.get(role, "Member"),
            account_id=ctx.options.zoom_account_id,
            account_number=0,
            login_types=[101] if row.get("login_sso", True) else [100],
            job_title=ctx.store.extras.get(row["id"], {}).get("title") or "",
            zoom_one_type=0,
            cluster="us06",
        )
    return json_response(item)


async def summary(ctx, request: Request) -> Response:
    rows = ctx.store.cache().rows
    live = [r for r in rows if r.get("status") != "pending"]
    return json_response(
        {
            "licensed_users_count": sum(1 for r in live if r.get("type") == 2),
            "basic_users_count": sum(1 for r in live if r.get("type") == 1),
            "on_prem_users_count": sum(1 for r in live if r.get("type") == 3),
            "room_users_count": 0,
            "pending_users_count": sum(1 for r in rows if r.get("status") == "pending"),
            "join_only_users_count": 0,
            "total_users_count": len(rows),
        }
    )


async def settings(ctx, request: Request) -> Response:
    row = _user(ctx, request.path_params["user_id"])
    extra = ctx.store.extras.get(row.get("id") or "", {})
    licensed = row.get("type") == 2
    feature = {
        "meeting_capacity": 300 if licensed else 100,
        "large_meeting": False,
        "webinar": False,
        "zoom_events": False,
        "zoom_phone": False,
        "concurrent_meeting": "Basic" if licensed else "None",
        "cn_meeting": False,
        "in_meeting": False,
    }
    for ext_key, feature_key in ZOOM_EXT_FLAGS.items():
        feature[feature_key] = bool(extra.get(ext_key, False))
    for col in row:  # optional per-user add-on columns from the generator, e.g. zoom_whiteboard
        if col in feature and isinstance(row[col], bool):
            feature[col] = row[col]
    return json_response({"feature": feature})


async def update_user(ctx, request: Request) -> Response:
    body = _body(await request.body())
    changes: dict = {}
    if "type" in body:
        if body["type"] not in (1, 2, 3, 4, 99):
            raise RestFail(400, 300, "Invalid field: type")
        changes["type"] = int(body["type"])
    for src, col in (("first_name", "first_name"), ("last_name", "last_name"), ("dept", "dept")):
        if src in body:
            changes[col] = body[src] or ""
    with ctx.tenant.lock:
        row = _user(ctx, request.path_params["user_id"])
        if changes.get("type") == 2 and row.get("type") != 2 and not ctx.store.seat_free():
            # Zoom's exact code for "no seats left" is not documented [U]
            raise RestFail(400, 300, "No available licenses for this account.")
        ctx.store.update(row, changes)
    return Response(status_code=204)


async def update_status(ctx, request: Request) -> Response:
    body = _body(await request.body())
    action = body.get("action")
    if action not in ("activate", "deactivate"):
        raise RestFail(400, 300, "Invalid field: action")
    with ctx.tenant.lock:
        row = _user(ctx, request.path_params["user_id"])
        ctx.store.update(row, {"status": "active" if action == "activate" else "inactive"})
    return Response(status_code=204)


def _body(raw: bytes) -> dict:
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise RestFail(400, 300, "Request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise RestFail(400, 300, "Request body must be a JSON object.")
    return body


# ---- account -------------------------------------------------------------------------------
def _account(ctx, request: Request) -> None:
    account = request.path_params.get("account_id", "me")
    if account not in ("me", ctx.options.zoom_account_id):
        raise RestFail(404, 2001, f"Account does not exist: {account}")


#: add-on plan keys whose usage follows a zoom:1.0 licence flag set over SCIM
ADDON_PLANS = {
    "plan_whiteboard": "zoomWhiteboard",
    "plan_zoom_iq": "zoomIQ",
    "plan_ztransl": "zoomTranslatedCaptions",
}


async def plans_usage(ctx, request: Request) -> Response:
    """``plan_base`` computed from users; other plan keys carried from ``tenant.zoom_plans``.

    Add-ons in :data:`ADDON_PLANS` move with the SCIM licence flags: configured usage plus
    the users whose flag was switched on through the emulator (the tenant has no per-user
    add-on columns, so configured usage stands for the users set up before).
    """
    _account(ctx, request)
    plans = ctx.tenant.zoom_plans or {}
    out: dict = {}
    extras = ctx.store.extras
    for key, value in plans.items():
        if key == "plan_base":
            continue
        flag = ADDON_PLANS.get(key)
        if flag and isinstance(value, dict):
            value = dict(value)
            value["usage"] = int(value.get("usage") or 0) + sum(
                1 for e in extras.values() if e.get(flag)
            )
        out[key] = value  # add-ons and unknown keys are carried raw
    base = plans.get("plan_base")
    base = dict(base) if isinstance(base, dict) else {"type": "yearly", "hosts": base or 0}
    base["usage"] = ctx.store.licensed_in_use()
    base["pending"] = ctx.store.licensed_pending()
    return json_response({"plan_base": base, **out})


async def managed_domains(ctx, request: Request) -> Response:
    _account(ctx, request)
    domains = [
        {"domain": d.get("domain"), "status": d.get("status")}
        for d in ctx.tenant.zoom_domains or []
    ]
    return json_response({"total_records": len(domains), "domains": domains})


# ---- reports -------------------------------------------------------------------------------
def _range(ctx, request: Request) -> tuple[date, date]:
    q = request.query_params
    if not q.get("from") or not q.get("to"):
        raise RestFail(400, 300, "The from and to dates are required.")
    try:
        start, end = date.fromisoformat(q["from"]), date.fromisoformat(q["to"])
    except ValueError as exc:
        raise RestFail(400, 300, "Invalid date format, expected yyyy-mm-dd.") from exc
    today = ctx.state.clock.now().astimezone(UTC).date()
    if end < start:
        raise RestFail(400, 300, "The to date must not be earlier than the from date.")
    if (end - start).days > 31:
        raise RestFail(400, 300, "The date range must be within one month.")
    if start < today - timedelta(days=183):
        raise RestFail(400, 300, "The from date must be within the last 6 months.")
    return start, end


def _in_range(stamp: str, start: date, end: date) -> bool:
    try:
        day = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).date()
    except ValueError:
        return False
    return start <= day <= end


def _page(ctx, request: Request, kind: str, rows: list, key: str, extra: dict) -> Response:
    start, end = extra["from"], extra["to"]
    page_size = _page_size(request, ctx.options, 30)
    params = (start, end, page_size, request.query_params.get("type"))
    offset = _offset(ctx, request, kind, params, page_size)
    page = rows[offset : offset + page_size]
    stop = offset + len(page)
    token = ctx.page_tokens.issue(kind, params, stop) if stop < len(rows) else ""
    body = {
        **extra,
        "page_size": page_size,
        "total_records": len(rows),
        "next_page_token": token,
        key: page,
    }
    return json_response(body)


async def report_activities(ctx, request: Request) -> Response:
    start, end = _range(ctx, request)
    rows = [a for a in ctx.tenant.zoom_activities or [] if _in_range(a.get("time"), start, end)]
    rows.sort(key=lambda a: a.get("time") or "", reverse=True)
    extra = {"from": start.isoformat(), "to": end.isoformat()}
    return _page(ctx, request, "activities", rows, "activity_logs", extra)


async def report_users(ctx, request: Request) -> Response:
    """Active hosts in the window. No meeting data is modelled, so sign-ins in the window stand
    in for hosted meetings (one meeting of 30 minutes per sign-in)."""
    start, end = _range(ctx, request)
    kind = request.query_params.get("type") or "active"
    signins: dict[str, int] = {}
    for a in ctx.tenant.zoom_activities or []:
        if a.get("type") == "Sign in" and _in_range(a.get("time"), start, end):
            email = str(a.get("email", "")).lower()
            signins[email] = signins.get(email, 0) + 1
    rows = []
    for r in ctx.store.cache().rows:
        if r.get("status") == "pending":
            continue
        meetings = signins.get(str(r["email"]).lower(), 0)
        if (kind == "active") != (meetings > 0):
            continue
        rows.append(
            {
                "id": r["id"],
                "email": r["email"],
                "user_name": r.get("display_name") or "",
                "type": r.get("type") or 1,
                "dept": r.get("dept") or "",
                "meetings": meetings,
                "participants": meetings * 2,
                "meeting_minutes": meetings * 30,
                "custom_attributes": [],
            }
        )
    extra = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "total_meetings": sum(u["meetings"] for u in rows),
        "total_participants": sum(u["participants"] for u in rows),
        "total_meeting_minutes": sum(u["meeting_minutes"] for u in rows),
    }
    return _page(ctx, request, "report-users", rows, "users", extra)


async def report_operationlogs(ctx, request: Request) -> Response:
    """Admin audit trail of the writes this emulator performed (SCIM and REST)."""
    start, end = _range(ctx, request)
    rows = [e for e in ctx.operation_logs if _in_range(e["time"], start, end)]
    rows = sorted(rows, key=lambda e: e["time"], reverse=True)
    extra = {"from": start.isoformat(), "to": end.isoformat()}
    return _page(ctx, request, "operationlogs", rows, "operation_logs", extra)
