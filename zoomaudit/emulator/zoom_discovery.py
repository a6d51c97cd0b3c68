"""SCIM discovery documents for the Zoom emulator (optional; real Zoom publishes none).

Only served when ``options.scim_discovery`` is on, so generic SCIM checkers (scim2-tester,
scim2-cli) can describe the server. They describe what the emulator stores (zoom.md §1.3): the
core User subset Zoom uses, the enterprise extension with ``manager`` as a *string* (Zoom's
shape, not RFC 7643's complex manager), and both Zoom extensions.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .zoom_store import CORE, ENTERPRISE, ZOOM_EXT, ZOOM_USER, ScimFail, json_response

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RT_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
KINDS = ("ServiceProviderConfig", "Schemas", "ResourceTypes")


def _attr(
    name,
    type_="string",
    *,
    required=False,
    multi=False,
    mutability="readWrite",
    returned="default",
    uniqueness="none",
    sub=None,
    canonical=None,
    case_exact=False,
):
    out = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        out["subAttributes"] = sub
    if canonical is not None:
        out["canonicalValues"] = canonical
    return out


def _schema(urn: str, name: str, attributes: list[dict], base: str) -> dict:
    return {
        "schemas": [SCHEMA_URN],
        "id": urn,
        "name": name,
        "description": f"{name} as the Zoom emulator stores it",
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }


def schemas(base: str) -> list[dict]:
    """The four schemas Zoom user payloads carry."""
    core = [
        _attr("userName", required=True, uniqueness="server"),
        _attr("name", "complex", sub=[_attr("givenName"), _attr("familyName")]),
        _attr("displayName"),
        _attr("title"),
        _attr("active", "boolean"),
        _attr("userType", canonical=["Basic", "Licensed", "On-Prem"]),
        _attr(
            "emails",
            "complex",
            multi=True,
            sub=[
                _attr("value"),
                _attr("type", canonical=["work"]),
                _attr("primary", "boolean"),
            ],
        ),
        _attr(
            "roles",
            "complex",
            multi=True,
            mutability="readOnly",
            sub=[_attr("value"), _attr("display"), _attr("primary", "boolean")],
        ),
    ]
    enterprise = [
        _attr("department"),
        _attr("organization"),
        _attr("costCenter"),
        _attr("employeeNumber"),
        _attr("manager"),  # Zoom sends a plain string (e-mail)
    ]
    zoom_user = [
        _attr(
            "loginType",
            "complex",
            sub=[_attr("workEmail", "boolean"), _attr("sso", "boolean")],
        )
    ]
    zoom_ext = [
        _attr(n) for n in ("personalLinkName", "pronouns", "zoomUnited", "zoomOneBizPlus")
    ] + [
        _attr(n, "boolean")
        for n in (
            "zoomIQ",
            "zoomCustomerManagedKey",
            "zoomWhiteboard",
            "zoomWhiteboardPlus",
            "zoomTranslatedCaptions",
            "zoomHuddles",
        )
    ]
    return [
        _schema(CORE, "User", core, base),
        _schema(ENTERPRISE, "EnterpriseUser", enterprise, base),
        _schema(ZOOM_USER, "ZoomUser", zoom_user, base),
        _schema(ZOOM_EXT, "ZoomLicense", zoom_ext, base),
    ]


def resource_types(base: str) -> list[dict]:
    return [
        {
            "schemas": [RT_URN],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Zoom user",
            "schema": CORE,
            "schemaExtensions": [
                {"schema": ENTERPRISE, "required": False},
                {"schema": ZOOM_USER, "required": False},
                {"schema": ZOOM_EXT, "required": False},
            ],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        }
    ]


def service_provider_config(base: str) -> dict:
    return {
        "schemas": [SPC_URN],
        "documentationUri": "https://developers.zoom.us/docs/api/scim2/",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": 100},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Server-to-Server OAuth access token",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def list_response(resources: list[dict]) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# ---- discovery (optional) ------------------------------------------------------------------
def _base(request: Request, prefix: str) -> str:
    return str(request.base_url).rstrip("/") + prefix


async def discovery(ctx, request: Request, prefix: str) -> Response:
    kind = request.path_params["kind"]
    if not ctx.options.scim_discovery or kind not in KINDS:
        raise ScimFail(404, f"Resource not found: {request.url.path}")
    if request.method != "GET":
        raise ScimFail(405, f"{request.method} is not allowed on discovery endpoints.")
    base = _base(request, prefix)
    ident = request.path_params.get("ident")
    if kind == "ServiceProviderConfig":
        if ident:
            raise ScimFail(404, "Not Found")
        body = service_provider_config(base)
    else:
        docs = schemas(base) if kind == "Schemas" else resource_types(base)
        if ident:
            hits = [d for d in docs if d["id"] == ident]
            if not hits:
                raise ScimFail(404, f"{kind} does not exist: {ident}")
            body = hits[0]
        else:
            body = list_response(docs)
    return json_response(body, 200, ctx.options.scim_content_type)


async def search(ctx, request: Request, prefix: str) -> Response:
    # Zoom has no /.search; answer 501 as RFC 7644 §3.12 suggests for unsupported operations
    raise ScimFail(501, "Search is not supported.")
