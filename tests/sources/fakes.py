"""Small in-process fakes of Graph and Zoom for unit tests (httpx.MockTransport handlers).

They follow the recorded shapes in the references (graph.md §1-§6, zoom.md §1.4, §2.3) and
let a test inject one fault at a time. Integration tests use the real emulator instead.
"""

from __future__ import annotations

import json
from collections import deque
from urllib.parse import parse_qs, urlsplit

import httpx

GRAPH = "http://127.0.0.1:9/v1.0"
ZOOM_SCIM = "http://127.0.0.1:9/scim2"
ZOOM_API = "http://127.0.0.1:9/v2"
ZOOM_OAUTH = "http://127.0.0.1:9/oauth/token"
SP_ID = "3f1d9b2a-0000-4000-8000-000000000001"
G1 = "a7c1d2e3-0000-4000-8000-00000000aa01"


def make_user(i: int) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "userPrincipalName": f"user{i}@contoso.example",
        "displayName": f"User {i}",
        "mail": f"user{i}@contoso.example" if i % 7 else None,
        "accountEnabled": i % 5 != 0,
        "proxyAddresses": [f"SMTP:user{i}@contoso.example"],
        "assignedLicenses": [
            {"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "disabledPlans": []}
        ]
        if i % 2
        else [],
        "createdDateTime": "2024-01-02T03:04:05Z",
        "signInActivity": {"lastSignInDateTime": "2025-02-03T08:14:22Z"},
    }


class Fake:
    """A Graph + Zoom fake. ``faults`` is a deque of (path_fragment, response_factory)."""

    def __init__(
        self,
        n_users: int = 250,
        n_zoom: int = 230,
        *,
        premium: bool = True,
        scim_cap: int = 100,
        denied: set[str] | None = None,
    ):
        self.users = [make_user(i) for i in range(n_users)]
        self.zoom = [
            {
                "id": f"zid{i:06d}",
                "userName": f"user{i}@contoso.example",
                "displayName": f"User {i}",
                "name": {"givenName": "U", "familyName": str(i)},
                "emails": [{"type": "work", "value": f"user{i}@contoso.example", "primary": True}],
                "active": i % 9 != 0,
                "userType": "Licensed" if i % 2 else "Basic",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"},
                "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser": {"loginType": {"sso": True}},
            }
            for i in range(n_zoom)
        ]
        self.premium = premium
        self.scim_cap = scim_cap
        self.denied = denied or set()
        self.faults: deque = deque()
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.shift_once = False

    # ------------------------------------------------------------------ plumbing
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for i, (fragment, factory) in enumerate(self.faults):
            if fragment in path:
                del self.faults[i]
                return factory(request)
        if path.startswith("/v1.0"):
            return self.graph(request, path[len("/v1.0") :])
        if path == "/oauth/token":
            return self.oauth(request)
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        if path.startswith("/scim2"):
            return self.scim(request)
        return self.rest(request, path[len("/v2") :])

    @staticmethod
    def page(body: dict) -> httpx.Response:
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    # ------------------------------------------------------------------ Graph
    def graph(self, request: httpx.Request, path: str) -> httpx.Response:
        q = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return httpx.Response(
                401,
                json={
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token is empty.",
                    }
                },
            )
        for fragment in self.denied:
            if fragment in path:
                return httpx.Response(
                    403,
                    json={
                        "error": {
                            "code": "Authorization_RequestDenied",
                            "message": "Insufficient privileges to complete the operation.",
                        }
                    },
                )
        eventual = request.headers.get("consistencylevel") == "eventual"
        if path == "/users":
            select = q.get("$select", "")
            if "signInActivity" in select and not self.premium:
                return httpx.Response(
                    403,
                    json={
                        "error": {
                            "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                            "message": "Neither tenant is B2C or tenant lacks premium",
                        }
                    },
                )
            items = self.users
            if "signInActivity" not in select:
                items = [{k: v for k, v in u.items() if k != "signInActivity"} for u in items]
            return self.collection(request, q, items, eventual, top_default=100)
        if path.startswith("/directory/deletedItems"):
            return self.collection(request, q, [], eventual)
        if path == "/servicePrincipals":
            return self.page(
                {
                    "value": [
                        {
                            "id": SP_ID,
                            "appId": "app-1",
                            "displayName": "Zoom",
                            "appRoles": [
                                {
                                    "id": "r1",
                                    "value": "Licensed",
                                    "displayName": "Licensed",
                                    "isEnabled": True,
                                    "allowedMemberTypes": ["User"],
                                }
                            ],
                        }
                    ]
                }
            )
        if path.endswith("/appRoleAssignedTo"):
            return self.collection(
                request,
                q,
                [
                    {
                        "id": "a1",
                        "principalId": G1,
                        "principalType": "Group",
                        "principalDisplayName": "G1",
                        "appRoleId": "r1",
                        "resourceId": SP_ID,
                    },
                    {
                        "id": "a2",
                        "principalId": self.users[1]["id"],
                        "principalType": "User",
                        "principalDisplayName": "User 1",
                        "appRoleId": "r1",
                        "resourceId": SP_ID,
                    },
                ],
                eventual,
            )
        if path == f"/groups/{G1}":
            return self.page({"id": G1, "displayName": "G1", "securityEnabled": True})
        if path == "/groups":
            return self.page({"value": [{"id": "g2", "displayName": "Cand"}]})
        if path.endswith("/members") or path.endswith("/transitiveMembers"):
            items = [
                {"@odata.type": "#microsoft.graph.user", "id": self.users[i]["id"]}
                for i in range(3)
            ]
            if path.endswith("/transitiveMembers"):
                items.append({"@odata.type": "#microsoft.graph.user", "id": self.users[4]["id"]})
            return self.collection(request, q, items, eventual)
        if path == "/auditLogs/provisioning":
            if not self.premium:
                return httpx.Response(
                    403,
                    json={
                        "error": {
                            "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                            "message": "no premium",
                        }
                    },
                )
            return self.page(
                {
                    "value": [
                        {
                            "id": "e1",
                            "activityDateTime": "2025-02-04T12:40:07Z",
                            "provisioningAction": "create",
                            "provisioningStatusInfo": {"status": "success"},
                        }
                    ]
                }
            )
        if path.endswith("/synchronization/jobs"):
            return self.page(
                {
                    "value": [
                        {
                            "id": "zoom.t.1",
                            "templateId": "zoom",
                            "schedule": {"interval": "PT40M", "state": "Active"},
                            "status": {"code": "Active"},
                        }
                    ]
                }
            )
        if path.endswith("/schema"):
            return self.page(
                {
                    "id": "s",
                    "synchronizationRules": [
                        {
                            "id": "rule1",
                            "objectMappings": [
                                {
                                    "name": "Users",
                                    "attributeMappings": [
                                        {
                                            "targetAttributeName": "userName",
                                            "matchingPriority": 1,
                                            "source": {
                                                "type": "Attribute",
                                                "name": "userPrincipalName",
                                            },
                                        }
                                    ],
                                    "scope": {
                                        "groups": [
                                            {
                                                "name": "g",
                                                "clauses": [
                                                    {
                                                        "sourceOperandName": "department",
                                                        "operatorName": "EQUALS",
                                                        "targetOperand": {"values": ["Sales"]},
                                                    }
                                                ],
                                            }
                                        ]
                                    },
                                }
                            ],
                        }
                    ],
                }
            )
        return httpx.Response(
            404, json={"error": {"code": "Request_ResourceNotFound", "message": path}}
        )

    def collection(self, request, q, items, eventual, top_default=100) -> httpx.Response:
        top = int(q.get("$top", top_default))
        skip = int(q.get("$skiptoken", 0))
        body = {"value": items[skip : skip + top]}
        if skip == 0 and eventual and q.get("$count") == "true":
            body["@odata.count"] = len(items)
        if skip + top < len(items):
            url = request.url.copy_remove_param("$skiptoken").copy_add_param(
                "$skiptoken", skip + top
            )
            body["@odata.nextLink"] = str(url)
        return self.page(body)

    # ------------------------------------------------------------------ Zoom
    def oauth(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("authorization", "").startswith("Basic "):
            return httpx.Response(
                401,
                json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
            )
        self.tokens_issued += 1
        token = f"zoom-access-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return self.page(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": "scim2 user:read:admin",
            }
        )

    def scim(self, request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("startIndex", 1))
        count = min(int(request.url.params.get("count", 10)), self.scim_cap)
        if self.shift_once and start > 1:
            self.shift_once = False
            del self.zoom[0]  # a user deleted mid-listing: later pages shift by one
        items = self.zoom[start - 1 : start - 1 + count]
        return self.page(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": len(self.zoom),
                "startIndex": start,
                "itemsPerPage": len(items),
                "Resources": items,
            }
        )

    def rest(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/users":
            status = request.url.params.get("status", "active")
            users = [
                {
                    "id": u["id"],
                    "email": u["userName"],
                    "type": 2,
                    "status": status,
                    "role_id": 2,
                    "last_login_time": "",
                }
                for u in self.zoom
                if (status == "active") == u["active"]
            ]
            if status == "pending":
                users = [{"email": "new@contoso.example", "type": 1, "status": "pending"}]
            size = int(request.url.params.get("page_size", 30))
            tok = int(request.url.params.get("next_page_token") or 0)
            chunk = users[tok : tok + size]
            nxt = str(tok + size) if tok + size < len(users) else ""
            return self.page(
                {
                    "total_records": len(users),
                    "page_size": size,
                    "users": chunk,
                    "next_page_token": nxt,
                }
            )
        if path == "/accounts/me/plans/usage":
            return self.page(
                {
                    "plan_base": {"type": "yearly", "hosts": 75, "usage": 44},
                    "plan_webinar": [{"type": "webinar500", "hosts": 3, "usage": 2}],
                }
            )
        if path == "/accounts/me/managed_domains":
            return self.page(
                {
                    "total_records": 1,
                    "domains": [{"domain": "contoso.example", "status": "verified"}],
                }
            )
        if path == "/report/activities":
            return httpx.Response(400, json={"code": 200, "message": "No permission."})
        return httpx.Response(404, json={"code": 1001, "message": "not found"})
