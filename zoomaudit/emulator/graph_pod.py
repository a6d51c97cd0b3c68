"""provisionOnDemand for the Graph emulator: decide what Entra would do with one subject.

Part of the emulator (``graph_app`` calls :func:`provision_subject`). If the tenant generator's
cycle engine exposes ``zoomaudit.emulator.cycle.provision_on_demand(tenant, object_id, now)``
returning ``{"key": {...}, "value": {...}}``, that is used, so on-demand and scheduled cycles
agree. Otherwise a small stand-in applies graph.md §4's scope rules (direct assignment or direct
membership of an assigned group, enabled in Entra), compares with the Zoom store by e-mail, and
records a provisioningObjectSummary event (initiated by the application) in the tenant.

The answer follows graph.md §6: PascalCase values, ``type`` instead of ``provisioningStepType``,
``statusInfo`` with flat error fields. ``graph_app`` JSON-encodes ``key`` and ``value`` again.
"""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC

import pandas as pd

from zoomaudit.emulator.core import EmulatorState


def _cycle_hook():
    try:
        cycle = importlib.import_module("zoomaudit.emulator.cycle")
    except ImportError:
        return None
    return getattr(cycle, "provision_on_demand", None)


def _engine_view(tenant, user_id: str) -> tuple[bool, bool, str] | None:
    """(in scope, live, mapped userName) from ``cycle.expected`` when the cycle engine
    understands this tenant's schema; None otherwise (hand-built test tenants)."""
    try:
        cycle = importlib.import_module("zoomaudit.emulator.cycle")
        exp = cycle.expected(tenant)
    except Exception:  # no engine, or a schema it does not model: use the stand-in rules
        return None
    row = exp.loc[exp["id"].astype(str).str.lower() == user_id.lower()]
    if row.empty:
        return None
    r = row.iloc[0]
    name = r.get("userName")
    return bool(r["in_scope"]), True, str(name) if pd.notna(name) else ""


def _in_scope(tenant, user_id: str) -> tuple[bool, bool]:
    """(assigned directly or through a direct group membership, enabled)."""
    uid = user_id.lower()
    principals = set(tenant.assignments["principalId"].astype(str).str.lower())
    if uid in principals:
        return True, True
    members = tenant.members
    groups = set(members.loc[members["member_id"].astype(str).str.lower() == uid, "group_id"])
    return bool({str(g).lower() for g in groups} & principals), True


def provision_subject(state: EmulatorState, object_id: str, type_name: str) -> dict:
    """Run (or simulate) provisioning for one subject; return the un-encoded key/value pair."""
    tenant = state.tenant
    now = state.clock.now().astimezone(UTC)
    hook = _cycle_hook()
    if hook is not None:
        result = hook(tenant, object_id, now)
        if isinstance(result, dict) and "key" in result and "value" in result:
            return result
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    users = tenant.users
    match = users.loc[users["id"].astype(str).str.lower() == object_id.lower()]
    if match.empty or pd.notna(match["deletedDateTime"].iloc[0]):
        text = f"The object '{object_id}' was not found in the source."
        return _answer(object_id, None, "Failure", "Other", "EntryNotFound", text, stamp)
    user = match.iloc[0]
    upn = str(user["userPrincipalName"])
    assigned, _ = _in_scope(tenant, object_id)
    enabled = bool(user["accountEnabled"])
    user_name = upn
    engine = _engine_view(tenant, object_id)
    if engine is not None:  # the cycle engine's verdict (scoping filter, mapped userName)
        assigned, enabled, user_name = engine
    emails = set(tenant.zoom_users["email"].astype(str).str.lower())
    exists = user_name.lower() in emails
    if not assigned or not enabled:
        reason = "not assigned to the application" if not assigned else "out of scope"
        answer = _answer(object_id, upn, "Skipped", "Other", "NotEffectivelyEntitled",
                         f"The user is {reason}.", stamp)  # fmt: skip
        action, status = "other", "skipped"
    elif exists:
        answer = _answer(object_id, upn, "Skipped", "Other", "RedundantExport",
                         "The state of the user in both the source and target systems already "
                         "match.", stamp)  # fmt: skip
        action, status = "other", "skipped"
    else:
        answer = _answer(object_id, upn, "Success", "Create", None, None, stamp)
        action, status = "create", "success"
    _record(tenant, object_id, upn, str(user["displayName"]), action, status, stamp)
    return answer


def _answer(object_id, upn, result, action, code, message, stamp) -> dict:
    details = {"errorCode": code, "errorMessage": message} if code else {}
    status = {"status": result, "errorCode": code, "reason": message, "additionalDetails": None,
              "errorCategory": None, "recommendedAction": None}  # fmt: skip
    value = {
        "action": action,
        "changeId": str(uuid.uuid4()),
        "startTime": stamp,
        "endTime": stamp,
        "reportableIdentifier": upn,
        "modifiedProperties": [],
        "provisioningSteps": [
            {"name": "EntryImport", "type": "Import", "status": "Success",
             "description": f"Retrieved {upn} from Azure Active Directory", "timestamp": stamp,
             "details": {}},
            {"name": "EntrySynchronizationScoping", "type": "Scoping",
             "status": "Skipped" if result == "Skipped" and code != "RedundantExport"
             else "Success", "description": "Determine if User in scope", "timestamp": stamp,
             "details": {}},
        ],  # fmt: skip
        "statusInfo": status,
        "sourceIdentity": {"id": object_id, "type": "User", "displayName": None, "details": None},
        "sourceSystem": {"id": None, "name": "Azure Active Directory", "details": None},
        "targetIdentity": {"id": None, "type": "urn:ietf:params:scim:schemas:extension:"
                           "enterprise:2.0:User", "displayName": None, "details": None},
        "targetSystem": {"id": None, "name": "customappsso", "details": None},
    }  # fmt: skip
    return {"key": {"result": result, "details": details}, "value": value}


def _record(tenant, object_id, upn, name, action, status, stamp) -> None:
    sp = tenant.service_principal
    event = {
        "id": str(uuid.uuid4()),
        "activityDateTime": stamp,
        "tenantId": tenant.tenant_id,
        "jobId": (tenant.sync_jobs[0]["id"] if tenant.sync_jobs else ""),
        "cycleId": str(uuid.uuid4()),
        "changeId": str(uuid.uuid4()),
        "provisioningAction": action,
        "durationInMilliseconds": 250,
        "servicePrincipal": {"id": sp["id"], "displayName": sp.get("displayName")},
        "initiatedBy": {
            "id": "",
            "displayName": "provisionOnDemand",
            "initiatorType": "application",
        },  # fmt: skip
        "sourceSystem": {"id": "", "displayName": "Azure Active Directory", "details": {}},
        "targetSystem": {"id": "", "displayName": sp.get("displayName"), "details": {}},
        "sourceIdentity": {
            "id": object_id,
            "displayName": name,
            "identityType": "User",
            "details": {"UserPrincipalName": upn},
        },  # fmt: skip
        "targetIdentity": {"id": "", "displayName": "", "identityType": "User", "details": {}},
        "provisioningStatusInfo": {"status": status, "errorInformation": None},
        "provisioningSteps": [],
        "modifiedProperties": [],
    }
    with tenant.lock:
        tenant.provisioning_events.append(event)
        tenant.touch()
