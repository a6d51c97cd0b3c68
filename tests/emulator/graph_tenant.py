"""A tiny hand-built tenant with a known shape, for the Graph emulator tests.

Layout (names are what the tests look up; ids are uuid5 of the name):
- users u00..u11: u10 is disabled, u11 is soft-deleted; u00..u04 have signed in;
  u00 has an E5 licence and smtp: proxy addresses; u05 has no otherMails.
- groups: "Zoom Pilot" (assigned; direct members u01, u02, u03 and group "Nested"),
  "Nested" (members u04, u05), "Other" (member u06).
- assignments to the Zoom service principal: u00 directly (role Licensed), "Zoom Pilot" (User).
- provisioning events: one per day for the 40 days before ``NOW``, newest last.
- one synchronization job (Active) with a schema holding one rule.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pandas as pd

from zoomaudit.emulator.model import (
    ASSIGNMENT_COLUMNS,
    GROUP_COLUMNS,
    MEMBER_COLUMNS,
    USER_COLUMNS,
    ZOOM_USER_COLUMNS,
    Tenant,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NS = uuid.UUID("12345678-1234-5678-1234-567812345678")
SKU_E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
ROLE_USER = "18d14569-c3bd-439b-9a66-3a2aee01d14f"
ROLE_LICENSED = "5c9ac3a3-0000-4000-8000-00000000000a"
JOB_ID = "zoom.tenant0000.job0001"
RULE_ID = "rule-user-to-zoom"


def gid(name: str) -> str:
    """The deterministic id for a named object."""
    return str(uuid.uuid5(NS, name))


def _user(n: int) -> dict:
    name = f"u{n:02d}"
    row = {c: None for c in USER_COLUMNS}
    row.update(
        id=gid(name),
        userPrincipalName=f"{name}@contoso.example",
        displayName=f"User {n:02d}",
        givenName="User",
        surname=f"{n:02d}",
        mail=f"{name}@contoso.example",
        mailNickname=name,
        otherMails=[] if n == 5 else [f"{name}@home.example"],
        proxyAddresses=[f"SMTP:{name}@contoso.example"]
        + ([f"smtp:{name}@alias.example"] if n == 0 else []),
        accountEnabled=n != 10,
        department="Sales" if n % 2 else "Engineering",
        jobTitle="Engineer",
        employeeId=f"E{n:04d}",
        country="US",
        usageLocation="US",
        userType="Member",
        createdDateTime="2024-01-01T00:00:00Z",
        onPremisesSyncEnabled=None,
        assignedLicenses=[{"skuId": SKU_E5, "disabledPlans": []}] if n == 0 else [],
        lastSignInDateTime=f"2025-02-2{n}T08:00:00Z" if n < 5 else None,
        lastSuccessfulSignInDateTime=f"2025-02-2{n}T08:00:00Z" if n < 5 else None,
        lastNonInteractiveSignInDateTime=None,
        deletedDateTime="2025-02-15T00:00:00Z" if n == 11 else None,
    )
    return row


def _event(day: int, sp: dict) -> dict:
    when = NOW - timedelta(days=40 - day, hours=1)
    return {
        "id": gid(f"event{day}"),
        "activityDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenantId": gid("tenant"),
        "jobId": JOB_ID,
        "cycleId": gid(f"cycle{day}"),
        "changeId": gid(f"change{day}"),
        "provisioningAction": "stagedDelete" if day == 39 else "create",
        "durationInMilliseconds": 1000,
        "servicePrincipal": {"id": sp["id"], "displayName": sp["displayName"]},
        "initiatedBy": {
            "id": "",
            "displayName": "Azure AD Provisioning Service",
            "initiatorType": "system",
        },  # fmt: skip
        "sourceIdentity": {
            "id": gid(f"u{day % 10:02d}"),
            "displayName": f"User {day % 10:02d}",
            "identityType": "User",
            "details": {},
        },  # fmt: skip
        "targetIdentity": {"id": "", "displayName": "", "identityType": "User", "details": {}},
        "provisioningStatusInfo": {
            "status": "failure" if day % 3 == 0 else "success",
            "errorInformation": None,
        },  # fmt: skip
        "provisioningSteps": [],
        "modifiedProperties": [],
    }


def build_tiny_tenant() -> Tenant:
    """A fresh tiny tenant (mutable: each test gets its own)."""
    users = pd.DataFrame([_user(n) for n in range(12)], columns=list(USER_COLUMNS))
    groups = pd.DataFrame(
        [
            {"id": gid(name), "displayName": name, "description": None, "securityEnabled": True,
             "mailEnabled": False, "mail": None, "groupTypes": [], "membershipRule": None,
             "membershipRuleProcessingState": None, "createdDateTime": "2024-01-01T00:00:00Z"}
            for name in ("Zoom Pilot", "Nested", "Other")
        ],
        columns=list(GROUP_COLUMNS),
    )  # fmt: skip
    members = pd.DataFrame(
        [(gid("Zoom Pilot"), gid(u), "user") for u in ("u01", "u02", "u03")]
        + [(gid("Zoom Pilot"), gid("Nested"), "group")]
        + [(gid("Nested"), gid(u), "user") for u in ("u04", "u05")]
        + [(gid("Other"), gid("u06"), "user")],
        columns=list(MEMBER_COLUMNS),
    )
    sp = {
        "id": gid("sp-zoom"),
        "appId": gid("app-zoom"),
        "displayName": "Zoom",
        "appDisplayName": "Zoom",
        "accountEnabled": True,
        "appRoleAssignmentRequired": True,
        "servicePrincipalType": "Application",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [
            {"id": ROLE_USER, "displayName": "User", "value": None, "isEnabled": True,
             "allowedMemberTypes": ["User"], "description": "User", "origin": "Application"},
            {"id": ROLE_LICENSED, "displayName": "Licensed", "value": "Licensed",
             "isEnabled": True, "allowedMemberTypes": ["User"], "description": "Licensed",
             "origin": "Application"},
        ],
    }  # fmt: skip
    others = [
        {"id": gid("sp-hr"), "appId": gid("app-hr"), "displayName": "Contoso HR", "appRoles": []},
        {"id": gid("sp-zoom2"), "appId": gid("app-zoom2"), "displayName": "Zoom", "appRoles": []},
    ]
    assignments = pd.DataFrame(
        [
            {"id": "assign-u00-licensed", "appRoleId": ROLE_LICENSED, "principalId": gid("u00"),
             "principalType": "User", "principalDisplayName": "User 00",
             "createdDateTime": "2024-06-01T00:00:00Z"},
            {"id": "assign-pilot-user", "appRoleId": ROLE_USER, "principalId": gid("Zoom Pilot"),
             "principalType": "Group", "principalDisplayName": "Zoom Pilot",
             "createdDateTime": "2024-06-01T00:00:00Z"},
        ],
        columns=list(ASSIGNMENT_COLUMNS),
    )  # fmt: skip
    job = {
        "id": JOB_ID,
        "templateId": "zoom",
        "schedule": {"expiration": None, "interval": "PT40M", "state": "Active"},
        "status": {
            "code": "Quarantine",
            "countSuccessiveCompleteFailures": 2,
            "escrowsPruned": False,
            "quarantine": {"reason": "EncounteredQuarantineException", "seriesCount": 1},
            "lastExecution": {"countEscrowed": 3, "countEscrowedRaw": 3, "state": "Failed"},
        },
        "synchronizationJobSettings": [],
    }
    schema = {"id": JOB_ID, "version": "1", "directories": [],
              "synchronizationRules": [{"id": RULE_ID, "name": "USER_TO_ZOOM"}]}  # fmt: skip
    zoom_users = pd.DataFrame(
        [{c: None for c in ZOOM_USER_COLUMNS} | {"id": "zu01", "email": "u01@contoso.example",
                                                 "status": "active", "type": 2}],
        columns=list(ZOOM_USER_COLUMNS),
    )  # fmt: skip
    return Tenant(
        seed=0,
        tenant_id=gid("tenant"),
        now=NOW,
        verified_domains=["contoso.example"],
        users=users,
        groups=groups,
        members=members,
        service_principal=sp,
        other_service_principals=others,
        assignments=assignments,
        provisioning_events=[_event(d, sp) for d in range(40)],
        sync_jobs=[job],
        sync_schemas={JOB_ID: schema},
        zoom_account_id="emu-account",
        zoom_users=zoom_users,
        zoom_plans={},
        zoom_domains=[],
        zoom_activities=[],
    )


def start(make_emulator, **kwargs):
    """A started emulator over a fresh tiny tenant with a still clock at ``NOW`` (Graph only)."""
    from zoomaudit.emulator.core import Clock

    kwargs.setdefault("clock", Clock(NOW, ticking=False))
    return make_emulator(tenant=build_tiny_tenant(), zoom=False, **kwargs)


def client(emu, token: str = "test-token"):
    """A plain httpx client for the emulator's Graph root."""
    import httpx

    return httpx.Client(
        base_url=emu.graph_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


@contextmanager
def shared():
    """An emulator for a module of read-only tests (one start and stop per module)."""
    from zoomaudit.emulator.core import Clock
    from zoomaudit.emulator.server import Emulator

    emu = Emulator(build_tiny_tenant(), zoom=False, clock=Clock(NOW, ticking=False)).start()
    try:
        yield emu
    finally:
        emu.stop()
