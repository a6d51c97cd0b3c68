"""The emulator's tenant: one in-memory state behind the Graph and Zoom servers.

``zoomaudit.emulator.generate.generate_tenant`` builds it (seeded, deterministic); the servers in
``graph_app`` and ``zoom_app`` read and mutate it; ``answer_key`` says what the analysis should
find in it. Large collections are DataFrames (columnar, so a 1M-user tenant stays small);
small nested objects keep their Graph/Zoom JSON shape as dicts.

Column conventions follow the wire format of each service (Graph camelCase, Zoom REST
snake_case), so a server can project rows to JSON without renaming.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

#: columns of ``Tenant.users`` (Graph user properties; list columns hold Python lists)
USER_COLUMNS = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "otherMails",
    "proxyAddresses",
    "accountEnabled",
    "department",
    "jobTitle",
    "employeeId",
    "country",
    "usageLocation",
    "userType",
    "createdDateTime",  # ISO 8601 string, Z suffix
    "onPremisesSyncEnabled",
    "assignedLicenses",  # list of {"skuId":..., "disabledPlans": []}
    "lastSignInDateTime",  # signInActivity fields, NA when never signed in
    "lastSuccessfulSignInDateTime",
    "lastNonInteractiveSignInDateTime",
    "deletedDateTime",  # NA for live users; set for soft-deleted ones (/directory/deletedItems)
)

#: columns of ``Tenant.groups``
GROUP_COLUMNS = (
    "id",
    "displayName",
    "description",
    "securityEnabled",
    "mailEnabled",
    "mail",
    "groupTypes",  # list
    "membershipRule",
    "membershipRuleProcessingState",
    "createdDateTime",
)

#: columns of ``Tenant.members``: direct memberships only (transitive ones are derived)
MEMBER_COLUMNS = ("group_id", "member_id", "member_type")  # member_type: user | group

#: columns of ``Tenant.assignments`` (appRoleAssignedTo of the Zoom service principal)
ASSIGNMENT_COLUMNS = (
    "id",
    "appRoleId",
    "principalId",
    "principalType",  # User | Group
    "principalDisplayName",
    "createdDateTime",
)

#: columns of ``Tenant.zoom_users``: one store behind SCIM and REST
ZOOM_USER_COLUMNS = (
    "id",  # Zoom user id (22 chars, URL-safe); pending invites have one internally, REST hides it
    "email",  # = SCIM userName
    "first_name",
    "last_name",
    "display_name",
    "type",  # 1 Basic, 2 Licensed, 3 On-Prem (legacy), 4, 99; SCIM userType derives from it
    "status",  # active | inactive | pending
    "dept",
    "role_id",  # "0" owner, "1" admin, "2" member
    "last_login_time",  # ISO string or NA
    "created_at",
    "user_created_at",
    "last_modified",
    "login_sso",  # bool, ZoomUser extension loginType.sso
    "last_client_version",
    "timezone",
    "pmi",
)


@dataclass
class Tenant:
    """A synthetic Entra tenant and Zoom account, plus what happened between them."""

    seed: int
    tenant_id: str
    now: datetime  # the tenant's "current time" when generated (UTC)
    verified_domains: list[str]  # Entra domains
    users: pd.DataFrame
    groups: pd.DataFrame
    members: pd.DataFrame
    service_principal: dict  # Graph JSON of the Zoom enterprise app (with appRoles)
    other_service_principals: list[dict]
    assignments: pd.DataFrame
    provisioning_events: list[dict]  # Graph provisioningObjectSummary JSON, newest last
    sync_jobs: list[dict]  # Graph synchronizationJob JSON
    sync_schemas: dict[str, dict]  # job id -> synchronizationSchema JSON
    zoom_account_id: str
    zoom_users: pd.DataFrame
    zoom_plans: dict  # plans/usage configuration: purchased hosts per plan key + add-ons
    zoom_domains: list[dict]  # [{"domain":..., "status": "verified"|"pending"}]
    zoom_activities: list[dict]  # report/activities rows
    answer_key: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenario: str = "default"
    #: serialises writes from the servers (assignments, SCIM writes, cycles)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: bumped on every mutation so servers can drop pre-serialised pages
    version: int = 0

    def touch(self) -> None:
        """Mark the state changed (servers invalidate their page caches)."""
        self.version += 1
