"""Zoom SCIM 2.0 Users routes of the emulator (zoom.md §1 and §5 items 5-12, 19-20).

Handlers take ``(ctx, request, prefix)``; ``zoom_app`` wraps them with auth, rate limits,
faults and the journal. All user data lives in :class:`~zoomaudit.emulator.zoom_store.ZoomStore`,
so SCIM and REST stay one store (``active`` <-> ``status``, ``userType`` <-> ``type``,
``department`` <-> ``dept``).
"""

from __future__ import annotations

import re

import orjson
from starlette.requests import Request
from starlette.responses import Response

from . import zoom_discovery as disc
from .zoom_store import (
    CORE,
    ENTERPRISE,
    ENTERPRISE_EXTRA,
    LIST_RESPONSE,
    WRITE_TYPES,
    ZOOM_EXT,
    ZOOM_EXT_FLAGS,
    ZOOM_EXT_STRINGS,
    ZOOM_USER,
    ScimFail,
    json_response,
    new_zoom_id,
    scim_full,
    scim_list_item,
)

_VALUE = r'(?:"(?P<q>[^"]*)"|(?P<u>[^\s"]+))'
_SIMPLE = re.compile(r"^\s*(?P<attr>userName|externalId)\s+eq\s+" + _VALUE + r"\s*$", re.I)
_EMAIL = re.compile(
    r'^\s*emails\[\s*type\s+eq\s+"work"\s*\]\.value\s+eq\s+' + _VALUE + r"\s*$", re.I
)
_AND = re.compile(r'\s+and\s+(?=(?:[^"]*"[^"]*")*[^"]*$)', re.I)
NO_ACTIVE = "The request json did not contains valid active field."


def _int_param(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ScimFail(400, f"Invalid number: {value}") from exc


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as exc:
        raise ScimFail(400, "Request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ScimFail(400, "Request body must be a JSON object.")
    return body


def _location(request: Request, prefix: str) -> str:
    return str(request.base_url).rstrip("/") + prefix + "/Users/"


# ---- filters -------------------------------------------------------------------------------
def _filter_positions(ctx, expression: str) -> list[int]:
    """Positions of the users a filter selects (400 for anything Zoom does not support)."""
    store, options = ctx.store, ctx.options
    clauses = _AND.split(expression) if options.scim_email_filter else [expression]
    selected: list[int] | None = None
    cache = store.cache()
    for clause in clauses:
        m = _SIMPLE.match(clause) or (options.scim_email_filter and _EMAIL.match(clause))
        if not m:
            raise ScimFail(400, f"The current filter does not support the filter name: {clause}")
        value = m["q"] if m["q"] is not None else m["u"]
        attr = m.groupdict().get("attr", "emails").lower()
        if attr in ("username", "emails"):
            pos = cache.by_email.get(value.strip().lower())
        else:  # externalId matches Zoom's own user id (zoom.md §0.8)
            pos = cache.by_id.get(value)
        hits = [] if pos is None else [pos]
        if pos is not None and cache.rows[pos].get("status") == "pending":
            if not getattr(options, "scim_list_pending", False):
                raise ScimFail(400, f"User {value} not exist or not belong to this account.")
        selected = hits if selected is None else [p for p in selected if p in hits]
    return selected or []


def _trim(item: dict, attributes: str | None, excluded: str | None) -> dict:
    """Honour ``attributes`` / ``excludedAttributes`` (top level and one dotted level)."""

    def names(spec: str) -> list[tuple[str, str | None]]:
        out = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if part.lower().startswith(CORE.lower() + ":"):
                part = part[len(CORE) + 1 :]
            for urn in (ENTERPRISE, ZOOM_USER, ZOOM_EXT):
                if part.lower().startswith(urn.lower() + ":"):
                    out.append((urn, part[len(urn) + 1 :]))
                    break
            else:
                head, _, sub = part.partition(".")
                out.append((head, sub or None))
        return out

    if attributes:
        keep = {"id": item["id"], "schemas": item["schemas"], "meta": item["meta"]}
        lower = {k.lower(): k for k in item}
        for head, sub in names(attributes):
            key = lower.get(head.lower())
            if key is None:
                continue
            if sub and isinstance(item[key], dict):
                subs = {k.lower(): k for k in item[key]}
                if sub.lower() in subs:
                    keep.setdefault(key, {})[subs[sub.lower()]] = item[key][subs[sub.lower()]]
            else:
                keep[key] = item[key]
        return keep
    if excluded:
        item = dict(item)
        lower = {k.lower(): k for k in item}
        for head, sub in names(excluded):
            key = lower.get(head.lower())
            if key is None or key in ("id", "schemas", "meta"):
                continue
            if sub and isinstance(item[key], dict):
                item[key] = {k: v for k, v in item[key].items() if k.lower() != sub.lower()}
            else:
                del item[key]
    return item


# ---- list ----------------------------------------------------------------------------------
async def list_users(ctx, request: Request, prefix: str) -> Response:
    """``GET /Users``: 1-based startIndex, count clamped to options, filters, reduced items.

    Route faults: ``empty-page`` (no Resources, totals unchanged), ``short=N`` (N items fewer
    than ``itemsPerPage`` announces; default half the page), ``shift=N`` (N users before this
    offset are deleted, or N added when the offset is 1, before the page is served).
    """
    options, store = ctx.options, ctx.store
    q = request.query_params
    start = max(1, _int_param(q.get("startIndex"), 1))
    count = _int_param(q.get("count"), options.scim_default_count)
    count = max(0, min(count, options.scim_max_count))
    fault = ctx.state.faults.take("zoom", request.url.path, {"empty-page", "short", "shift"})
    if fault is not None and fault.kind == "shift":
        _shift(ctx, start, int(fault.value or 1))
    expression = q.get("filter")
    cache = store.cache()
    if expression:
        positions = _filter_positions(ctx, expression)
    elif getattr(options, "scim_list_pending", False):
        positions = cache.positions("*")
    else:
        positions = cache.positions("listed")
    total = len(positions)
    page = positions[start - 1 : start - 1 + count]
    announced = len(page)
    if fault is not None and fault.kind == "empty-page":
        page = []
    elif fault is not None and fault.kind == "short" and page:
        page = page[: max(0, len(page) - max(1, int(fault.value or len(page) // 2)))]
    location = _location(request, prefix)
    attributes, excluded = q.get("attributes"), q.get("excludedAttributes")
    if attributes or excluded:
        items = [
            orjson.dumps(_trim(scim_list_item(cache.rows[p], location), attributes, excluded))
            for p in page
        ]
    else:
        items = store.serialised(
            ("scim", location), page, lambda row: scim_list_item(row, location)
        )
    head = orjson.dumps(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": announced,
        }
    )
    body = head[:-1] + b',"Resources":[' + b",".join(items) + b"]}"
    return json_response(body, 200, options.scim_content_type)


def _shift(ctx, start: int, n: int) -> None:
    """The "shift" fault: delete users before this page (or add some) between offset pages."""
    store = ctx.store
    with ctx.tenant.lock:
        listed = store.cache().positions("listed")
        before = listed[: max(0, start - 1)]
        if before:
            rows = [store.cache().rows[p] for p in before[:n]]
            for row in rows:
                store.delete(row)
            return
        domain = _verified_domains(ctx)[:1] or ["example.com"]
        for _ in range(n):
            uid = new_zoom_id()
            store.create(
                {
                    "id": uid,
                    "email": f"shift.{uid.lower()}@{domain[0]}",
                    "first_name": "Shift",
                    "last_name": uid[:6],
                    "display_name": f"Shift {uid[:6]}",
                    "type": 1,
                    "status": "active",
                    "login_sso": True,
                }
            )


# ---- get / delete --------------------------------------------------------------------------
def _lookup(ctx, user_id: str) -> dict:
    row = ctx.store.find_id(user_id)
    if row is None or (
        row.get("status") == "pending" and not getattr(ctx.options, "scim_list_pending", False)
    ):
        raise ScimFail(404, f"User does not exist: {user_id}")
    return row


def _full(ctx, request, prefix, row) -> dict:
    return scim_full(row, _location(request, prefix), ctx.store.extras.get(row["id"], {}))


async def get_user(ctx, request: Request, prefix: str) -> Response:
    row = _lookup(ctx, request.path_params["user_id"])
    q = request.query_params
    item = _trim(
        _full(ctx, request, prefix, row), q.get("attributes"), q.get("excludedAttributes")
    )
    return json_response(item, 200, ctx.options.scim_content_type)


async def delete_user(ctx, request: Request, prefix: str) -> Response:
    with ctx.tenant.lock:
        row = _lookup(ctx, request.path_params["user_id"])
        ctx.store.delete(row)
    return Response(status_code=204)


# ---- writes --------------------------------------------------------------------------------
def _bool(value, path: str = "active") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimFail(400, NO_ACTIVE if path == "active" else f"Invalid boolean for {path}.")


_URNS = (ENTERPRISE.lower(), ZOOM_USER.lower(), ZOOM_EXT.lower())


def _flatten(body: dict, path: str = "", out: dict | None = None) -> dict[str, object]:
    """A SCIM user body (or a PATCH value) as lower-cased attribute paths -> values.

    Nested objects become ``name.givenname``, ``<urn>:department``, ``<urn>:logintype.sso``;
    keys that are already dotted or URN-qualified (Entra's path-less PATCH) pass through.
    """
    out = {} if out is None else out
    for key, value in body.items():
        lower = str(key).lower()
        if lower in ("schemas", "meta") or (not path and lower == "id"):
            continue
        full = f"{path}{':' if path in _URNS else '.'}{lower}" if path else lower
        if isinstance(value, dict):
            _flatten(value, full, out)
        else:
            out[full] = value
    return out


def _verified_domains(ctx) -> list[str]:
    return [
        str(d.get("domain", "")).lower()
        for d in (ctx.tenant.zoom_domains or [])
        if d.get("status") == "verified"
    ]


def _check_email(ctx, email, current: dict | None) -> str:
    if not isinstance(email, str) or "@" not in email:
        raise ScimFail(400, f"Invalid userName: {email}")
    email = email.strip()
    domain = email.rsplit("@", 1)[1].lower()
    if domain not in _verified_domains(ctx):
        raise ScimFail(
            400, f"Domain name doesn't match the account's associated or managed domains: {domain}"
        )
    other = ctx.store.find_email(email)
    if other is not None and (current is None or other["id"] != current["id"]):
        raise ScimFail(409, f"User already exists: {email}")
    return email


def _changes(ctx, row: dict | None, attrs: dict[str, object], *, legacy: bool) -> tuple:
    """Translate attribute paths into (column changes, extra changes); raise ScimFail."""
    cols: dict[str, object] = {}
    extra: dict[str, object] = {}
    ent, zu, zx = ENTERPRISE.lower(), ZOOM_USER.lower(), ZOOM_EXT.lower()
    flags = {k.lower(): k for k in ZOOM_EXT_FLAGS}
    strings = {k.lower(): k for k in ZOOM_EXT_STRINGS}
    ent_extra = {k.lower(): k for k in ENTERPRISE_EXTRA}
    for path, value in attrs.items():
        if path == "active":
            active = _bool(value)
            cols["status"] = "active" if active else "inactive"
        elif path == "username":
            if not legacy:
                cols["email"] = _check_email(ctx, value, row)
        elif path == "displayname":
            if not legacy:
                cols["display_name"] = value or ""
        elif path == "name.givenname":
            cols["first_name"] = value or ""
        elif path == "name.familyname":
            cols["last_name"] = value or ""
        elif path == "usertype":
            kind = str(value or "").strip().lower()
            if kind not in WRITE_TYPES:
                raise ScimFail(400, f"Invalid userType: {value}")
            cols["type"] = WRITE_TYPES[kind]
        elif path == "title":
            extra["title"] = value
        elif path in (f"{ent}:department", "department"):
            cols["dept"] = value or ""
        elif path in (f"{ent}:manager.value", f"{ent}:manager.displayname"):
            extra["manager"] = value  # RFC complex manager from an IdP: Zoom keeps a string
        elif path.startswith(ent + ":") and path[len(ent) + 1 :] in ent_extra:
            extra[ent_extra[path[len(ent) + 1 :]]] = value
        elif path == f"{zu}:logintype.sso":
            if not legacy:
                cols["login_sso"] = _bool(value, "loginType.sso")
        elif path.startswith(zx + ":") and path[len(zx) + 1 :] in flags:
            extra[flags[path[len(zx) + 1 :]]] = _bool(value, path)
        elif path.startswith(zx + ":") and path[len(zx) + 1 :] in strings:
            extra[strings[path[len(zx) + 1 :]]] = value or ""
        # other attributes (emails, externalId, phoneNumbers, ...) are accepted and ignored:
        # Zoom keys e-mail on userName and keeps no IdP external id [S]
    return cols, extra


def _guard(ctx, row: dict | None, cols: dict) -> None:
    """Seat check for Licensed and the optional admin-deactivation quirk."""
    if cols.get("type") == 2 and (row is None or row.get("type") != 2):
        if not ctx.store.seat_free():
            raise ScimFail(400, "No available licenses for this account (plan_base is full).")
    if (
        row is not None
        and cols.get("status") == "inactive"
        and ctx.options.admin_deactivate_quirk
        and str(row.get("role_id")) in ("0", "1")
    ):
        # Okta KB: Zoom does not deactivate Admin-role users over SCIM [S]
        raise ScimFail(400, "Admin and owner users cannot be deactivated through SCIM.")


def _apply(ctx, row: dict, cols: dict, extra: dict) -> dict:
    if extra:
        ctx.store.extra(row["id"]).update(extra)
        if not cols:  # nothing in the DataFrame changed: still bump lastModified
            return ctx.store.update(row, {"last_modified": ""})
    return ctx.store.update(row, cols) if cols else row


async def create_user(ctx, request: Request, prefix: str) -> Response:
    body = await _json_body(request)
    attrs = _flatten(body)
    if not attrs.get("username"):
        raise ScimFail(400, "userName is required.")
    kind = str(attrs.get("usertype") or "Basic")
    if kind.strip().lower() in ("none", "collaboration"):
        raise ScimFail(400, f"Invalid userType: {kind}")
    attrs.setdefault("active", True)
    with ctx.tenant.lock:
        cols, extra = _changes(ctx, None, attrs, legacy=False)
        cols.setdefault("type", 1)
        _guard(ctx, None, cols)
        first, last = cols.get("first_name", ""), cols.get("last_name", "")
        cols.setdefault("display_name", f"{first} {last}".strip())
        cols.setdefault("login_sso", True)
        cols.setdefault("dept", "")
        cols["id"] = new_zoom_id()
        row = ctx.store.create(cols)
        if extra:
            ctx.store.extra(row["id"]).update(extra)
    item = _full(ctx, request, prefix, row)
    response = json_response(item, 201, ctx.options.scim_content_type)
    response.headers["Location"] = item["meta"]["location"]
    return response


async def replace_user(ctx, request: Request, prefix: str) -> Response:
    body = await _json_body(request)
    if "schemas" not in body:
        raise ScimFail(400, "schemas is required.")
    with ctx.tenant.lock:
        row = _lookup(ctx, request.path_params["user_id"])
        # Zoom's PUT is a partial update: absent attributes keep their values (zoom.md §1.6)
        cols, extra = _changes(ctx, row, _flatten(body), legacy=ctx.options.legacy_put_quirk)
        _guard(ctx, row, cols)
        row = _apply(ctx, row, cols, extra)
    return json_response(_full(ctx, request, prefix, row), 200, ctx.options.scim_content_type)


async def patch_user(ctx, request: Request, prefix: str) -> Response:
    body = await _json_body(request)
    operations = body.get("Operations")  # case-sensitive key, as Zoom (zoom.md §1.7)
    if not isinstance(operations, list) or not operations:
        raise ScimFail(400, NO_ACTIVE)
    strict = getattr(ctx.options, "scim_strict_patch", False)
    attrs: dict[str, object] = {}
    for op in operations:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() not in (
            "add",
            "replace",
            "remove",
        ):
            raise ScimFail(400, NO_ACTIVE)
        verb = str(op["op"]).lower()
        path, value = op.get("path"), op.get("value")
        if path:
            pairs = _flatten({str(path): None if verb == "remove" else value})
        elif isinstance(value, dict):  # dotted keys (aadOptscim062020) or nested objects
            pairs = _flatten(value)
        else:
            raise ScimFail(400, NO_ACTIVE)
        if strict and set(pairs) != {"active"}:
            raise ScimFail(400, NO_ACTIVE)
        attrs.update(pairs)
    with ctx.tenant.lock:
        row = _lookup(ctx, request.path_params["user_id"])
        cols, extra = _changes(ctx, row, attrs, legacy=False)
        _guard(ctx, row, cols)
        row = _apply(ctx, row, cols, extra)
    return json_response(_full(ctx, request, prefix, row), 200, ctx.options.scim_content_type)


# ---- groups (not modelled: an empty collection so IdP "test connection" works) --------------
async def list_groups(ctx, request: Request, prefix: str) -> Response:
    return json_response(disc.list_response([]), 200, ctx.options.scim_content_type)
