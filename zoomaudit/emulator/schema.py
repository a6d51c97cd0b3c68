"""Fixtures of the Zoom enterprise app: service principal, app roles, job and sync schema.

``generate`` puts these into the :class:`~zoomaudit.emulator.model.Tenant`; ``cycle`` reads the
schema (attribute mappings, scoping filter) to decide scope and expected SCIM attributes. Shapes
follow Graph v1.0 (graph.md §3 and §6). The Zoom gallery app's real appRole ids, appId and
templateId are not published [U], so they are fixed, configurable constants here.
"""

from __future__ import annotations

import copy

SP_DISPLAY_NAME = "Zoom"
#: [U] the gallery app's appId and templateId are unverified; any fixed value will do
ZOOM_APP_ID = "a1b6e0c2-5d3f-4e8a-9b7c-2f4d6e8a0c15"
TEMPLATE_ID = "zoom"
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"

#: app roles of the Zoom gallery app: (id, displayName, value, description)
APP_ROLES = (
    ("9e3f6d3c-2c1a-4b7e-8f3d-5a1b2c3d4e01", "Basic", "Basic", "Zoom Basic user"),
    ("9e3f6d3c-2c1a-4b7e-8f3d-5a1b2c3d4e02", "Licensed", "Licensed", "Zoom Licensed user"),
    ("9e3f6d3c-2c1a-4b7e-8f3d-5a1b2c3d4e03", "On Prem", "On-Prem", "Zoom On-Prem user"),
    ("9e3f6d3c-2c1a-4b7e-8f3d-5a1b2c3d4e04", "Pro", "Pro", "Legacy role (replaced by Licensed)"),
    ("9e3f6d3c-2c1a-4b7e-8f3d-5a1b2c3d4e05", "Corp", "Corp", "Legacy role (replaced by On-Prem)"),
    ("18d14569-c3bd-439b-9a66-3a2aee01d14f", "User", None, "User"),
    ("b9632174-c057-4f7e-951b-be3adc52bfe6", "msiam_access", None, "msiam_access"),
)
ROLE_ID = {value: rid for rid, _, value, _ in APP_ROLES if value}
ROLE_VALUE = {rid: value for rid, _, value, _ in APP_ROLES}
#: SCIM userType values Zoom accepts on create/update (anything else -> 400)
ACCEPTED_USER_TYPES = ("Basic", "Licensed", "On-Prem")
#: SCIM userType -> Zoom REST ``type``
USER_TYPE_TO_ZOOM = {"Basic": 1, "Licensed": 2, "On-Prem": 3}

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OBJECT_MAPPING_NAME = "Synchronize Azure Active Directory Users to customappsso"


def service_principal(sp_id: str, tenant_id: str) -> dict:
    """Graph JSON of the Zoom enterprise app's service principal (with its app roles)."""
    return {
        "id": sp_id,
        "deletedDateTime": None,
        "accountEnabled": True,
        "appId": ZOOM_APP_ID,
        "appDisplayName": SP_DISPLAY_NAME,
        "displayName": SP_DISPLAY_NAME,
        "appOwnerOrganizationId": tenant_id,
        "appRoleAssignmentRequired": True,
        "applicationTemplateId": "c9e4b5a2-8f1d-4e3c-a7b6-1d2e3f4a5b6c",
        "preferredSingleSignOnMode": "saml",
        "servicePrincipalType": "Application",
        "servicePrincipalNames": [ZOOM_APP_ID],
        "notificationEmailAddresses": [],
        "tags": [
            "WindowsAzureActiveDirectoryIntegratedApp",
            "WindowsAzureActiveDirectoryGalleryApplicationPrimaryV1",
        ],
        "appRoles": [
            {
                "allowedMemberTypes": ["User"],
                "description": desc,
                "displayName": name,
                "id": rid,
                "isEnabled": True,
                "origin": "Application",
                "value": value,
            }
            for rid, name, value, desc in APP_ROLES
        ],
    }


def other_service_principals() -> list[dict]:
    """A few unrelated enterprise apps (one also named "Zoom": filter by appId, not name)."""
    return [
        {
            "id": "4b1c2d3e-0000-4000-8000-00000000a001",
            "appId": "00000003-0000-0000-c000-000000000000",
            "displayName": "Microsoft Graph",
            "accountEnabled": True,
            "appRoleAssignmentRequired": False,
            "servicePrincipalType": "Application",
            "appRoles": [],
            "tags": [],
        },
        {
            "id": "4b1c2d3e-0000-4000-8000-00000000a002",
            "appId": "7d3a1e55-6c2b-4f9a-8e1d-0b9c8a7f6e5d",
            "displayName": "Zoom",
            "accountEnabled": False,
            "appRoleAssignmentRequired": True,
            "servicePrincipalType": "Application",
            "appRoles": [],
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
            "notes": "an older, disabled Zoom SSO-only app",
        },
    ]


def _attr(name: str) -> dict:
    return {"type": "Attribute", "name": name, "expression": f"[{name}]", "parameters": []}


def _mapping(target: str, source: dict, *, matching: int = 0, flow: str = "Always") -> dict:
    return {
        "targetAttributeName": target,
        "source": source,
        "defaultValue": None,
        "flowBehavior": "FlowWhenChanged",
        "flowType": flow,
        "matchingPriority": matching,
        "exportMissingReferences": False,
    }


def _function(name: str, expression: str, params: list[tuple[str, dict]]) -> dict:
    return {
        "type": "Function",
        "name": name,
        "expression": expression,
        "parameters": [{"key": k, "value": v} for k, v in params],
    }


def attribute_mappings(scenario: str) -> list[dict]:
    """The attributeMappings of the Users objectMapping for a scenario."""
    username_source = _attr("mail") if scenario == "mail-username" else _attr("userPrincipalName")
    active = _function(
        "Switch",
        'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
        [
            ("source", _attr("IsSoftDeleted")),
            ("default", {"type": "Constant", "name": "", "expression": '""', "parameters": []}),
        ],
    )
    role = _function(
        "SingleAppRoleAssignment",
        "SingleAppRoleAssignment([appRoleAssignments])",
        [("source", _attr("appRoleAssignments"))],
    )
    return [
        _mapping("userName", username_source, matching=1),
        _mapping("active", active),
        _mapping("displayName", _attr("displayName")),
        _mapping('emails[type eq "work"].value', _attr("mail")),
        _mapping("name.givenName", _attr("givenName")),
        _mapping("name.familyName", _attr("surname")),
        _mapping(f"{ENTERPRISE}:department", _attr("department")),
        _mapping("userType", role),
    ]


def scoping_groups(scenario: str) -> list[dict]:
    """Scoping filter groups (clauses ANDed, groups ORed); empty = no attribute filter."""
    if scenario != "mail-username":
        return []
    return [
        {
            "name": "Employees with a mailbox",
            "clauses": [
                {
                    "sourceOperandName": "department",
                    "operatorName": "NOT EQUALS",
                    "targetOperand": {"values": ["Contractors"]},
                },
                {
                    "sourceOperandName": "mail",
                    "operatorName": "IS NOT NULL",
                    "targetOperand": {"values": []},
                },
            ],
        },
        {
            "name": "Contractor champions",
            "clauses": [
                {
                    "sourceOperandName": "jobTitle",
                    "operatorName": "EQUALS",
                    "targetOperand": {"values": ["Zoom Champion"]},
                },
                {
                    "sourceOperandName": "mail",
                    "operatorName": "IS NOT NULL",
                    "targetOperand": {"values": []},
                },
            ],
        },
    ]


def _directory(name: str, attributes: list[tuple[str, str]]) -> dict:
    return {
        "id": name.replace(" ", ""),
        "name": name,
        "discoverabilities": "None",
        "discoveryDateTime": None,
        "readOnly": False,
        "version": "1",
        "objects": [
            {
                "name": "User",
                "supportedApis": [],
                "metadata": [],
                "attributes": [
                    {
                        "name": attr,
                        "type": typ,
                        "anchor": attr in ("objectId", "id"),
                        "caseExact": False,
                        "defaultValue": None,
                        "flowNullValues": False,
                        "multivalued": False,
                        "mutability": "ReadWrite",
                        "required": attr == "userName",
                        "referencedObjects": [],
                        "apiExpressions": [],
                        "metadata": [],
                    }
                    for attr, typ in attributes
                ],
            }
        ],
    }


def sync_schema(job_id: str, scenario: str, rule_id: str) -> dict:
    """Graph synchronizationSchema JSON of the Zoom job (graph.md §6)."""
    mappings = attribute_mappings(scenario)
    return {
        "id": job_id,
        "version": "Date:2026-06-01T09:00:00Z~###~Version:1.2",
        "directories": [
            _directory(
                "Azure Active Directory",
                [
                    ("objectId", "String"),
                    ("userPrincipalName", "String"),
                    ("mail", "String"),
                    ("displayName", "String"),
                    ("givenName", "String"),
                    ("surname", "String"),
                    ("department", "String"),
                    ("jobTitle", "String"),
                    ("accountEnabled", "Boolean"),
                    ("appRoleAssignments", "String"),
                ],
            ),
            _directory(
                "customappsso",
                [
                    ("id", "String"),
                    ("userName", "String"),
                    ("active", "Boolean"),
                    ("displayName", "String"),
                    ('emails[type eq "work"].value', "String"),
                    ("name.givenName", "String"),
                    ("name.familyName", "String"),
                    (f"{ENTERPRISE}:department", "String"),
                    ("userType", "String"),
                ],
            ),
        ],
        "synchronizationRules": [
            {
                "id": rule_id,
                "name": "USER_OUTBOUND_RULE",
                "editable": True,
                "priority": 1,
                "sourceDirectoryName": "Azure Active Directory",
                "targetDirectoryName": "customappsso",
                "metadata": [
                    {"key": "defaultSourceObjectMappings", "value": "true"},
                    {"key": "SupportsUserProvisioning", "value": "true"},
                ],
                "containerFilter": {"includedContainers": []},
                "groupFilter": {"includedGroups": []},
                "objectMappings": [
                    {
                        "name": OBJECT_MAPPING_NAME,
                        "enabled": True,
                        "flowTypes": "Add, Update, Delete",
                        "sourceObjectName": "User",
                        "targetObjectName": ENTERPRISE,
                        "metadata": [
                            {"key": "Disposition", "value": "Normal"},
                            {"key": "EscrowBehavior", "value": "Default"},
                        ],
                        "scope": {
                            "groups": copy.deepcopy(scoping_groups(scenario)),
                            "inputFilterGroups": [],
                            "categoryFilterGroups": [],
                        },
                        "attributeMappings": mappings,
                    },
                    {
                        "name": "Synchronize Azure Active Directory Groups to customappsso",
                        "enabled": False,
                        "flowTypes": "Add, Update, Delete",
                        "sourceObjectName": "Group",
                        "targetObjectName": "urn:ietf:params:scim:schemas:core:2.0:Group",
                        "metadata": [],
                        "scope": None,
                        "attributeMappings": [
                            _mapping("displayName", _attr("displayName"), matching=1)
                        ],
                    },
                ],
            }
        ],
    }


def user_mapping(schema: dict) -> dict:
    """The enabled objectMapping whose source object is User (raises if there is none)."""
    for rule in schema.get("synchronizationRules", []):
        for om in rule.get("objectMappings", []):
            if om.get("sourceObjectName") == "User" and om.get("enabled", True):
                return om
    raise ValueError("synchronization schema has no enabled User object mapping")


def job(
    job_id: str,
    *,
    last_began: str,
    last_ended: str,
    first_steady: str,
    entitled: int,
    exported: int,
    escrowed: int,
    synced: int,
) -> dict:
    """Graph synchronizationJob JSON: schedule PT40M Active, status of the last execution."""
    state = "EntryLevelErrors" if escrowed else "Succeeded"
    execution = {
        "activityIdentifier": job_id.split(".")[-1],
        "countEntitled": entitled,
        "countEntitledForProvisioning": entitled,
        "countEscrowed": escrowed,
        "countEscrowedRaw": escrowed,
        "countExported": exported,
        "countExports": exported + escrowed,
        "countImported": entitled,
        "countImportedDeltas": exported + escrowed,
        "countImportedReferenceDeltas": 0,
        "error": {"code": "None", "message": "", "tenantActionable": False},
        "state": state,
        "timeBegan": last_began,
        "timeEnded": last_ended,
    }
    return {
        "id": job_id,
        "templateId": TEMPLATE_ID,
        "schedule": {"expiration": None, "interval": "PT40M", "state": "Active"},
        "status": {
            "code": "Active",
            "countSuccessiveCompleteFailures": 0,
            "escrowsPruned": False,
            "quarantine": None,
            "lastExecution": execution,
            "lastSuccessfulExecution": None if escrowed else dict(execution),
            "lastSuccessfulExecutionWithExports": dict(execution) if exported else None,
            "progress": [],
            "steadyStateFirstAchievedTime": first_steady,
            "steadyStateLastAchievedTime": last_ended if not escrowed else first_steady,
            "synchronizedEntryCountByType": [{"key": "User to User", "value": synced}],
            "troubleshootingUrl": "",
        },
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
        ],
    }
