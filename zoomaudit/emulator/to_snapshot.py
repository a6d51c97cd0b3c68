"""Convert an emulator :class:`~zoomaudit.emulator.model.Tenant` directly into a Snapshot.

Place in the flow: test and benchmark support. A real pull goes tenant -> HTTP -> collectors
-> snapshot; this shortcut builds the same typed tables (``zoomaudit.frames`` contract) from the
tenant's in-memory state, so analysis tests can compare findings with ``tenant.answer_key``
without servers. It mirrors what the real APIs expose, not the tenant's internals:

* ``entra_group_members``: for every assigned group, its direct members (``direct=True``) and
  the members reachable only through nested groups (``direct=False``), like /members and
  /transitiveMembers (the nested group objects themselves are listed too).
* ``zoom_scim_users``: active and inactive Zoom users (SCIM shows no pending invites unless
  ``scim_lists_pending``); ``zoom_users`` (REST): everyone, pending invites without an id.
* ``attribute_mappings`` / ``scoping_filters``: flattened from ``tenant.sync_schemas``.
"""

from __future__ import annotations

import json
from datetime import UTC

import pandas as pd

from zoomaudit.emulator.model import Tenant
from zoomaudit.snapshot import Snapshot

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ZOOM_TYPE_TO_USER_TYPE = {1: "Basic", 2: "Licensed", 3: "On-Prem"}


def _col(df: pd.DataFrame, name: str, default=pd.NA) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(default, index=df.index)


def _lists(series: pd.Series) -> list[list]:
    return [list(v) if isinstance(v, list | tuple) or hasattr(v, "tolist") else [] for v in series]


def entra_users(t: Tenant) -> pd.DataFrame:
    u = t.users
    deleted = _col(u, "deletedDateTime")
    return pd.DataFrame(
        {
            "entra_id": u["id"],
            "user_principal_name": u["userPrincipalName"],
            "display_name": u["displayName"],
            "given_name": u["givenName"],
            "surname": u["surname"],
            "mail": u["mail"],
            "mail_nickname": _col(u, "mailNickname"),
            "other_mails": _lists(_col(u, "otherMails", None)),
            "proxy_addresses": _lists(_col(u, "proxyAddresses", None)),
            "account_enabled": u["accountEnabled"],
            "department": _col(u, "department"),
            "job_title": _col(u, "jobTitle"),
            "employee_id": _col(u, "employeeId"),
            "country": _col(u, "country"),
            "usage_location": _col(u, "usageLocation"),
            "user_type": _col(u, "userType"),
            "created_at": _col(u, "createdDateTime"),
            "on_premises_sync_enabled": _col(u, "onPremisesSyncEnabled"),
            "assigned_licenses": [
                [x.get("skuId") for x in v if isinstance(x, dict)]
                for v in _lists(_col(u, "assignedLicenses", None))
            ],
            "last_sign_in": _col(u, "lastSignInDateTime"),
            "last_successful_sign_in": _col(u, "lastSuccessfulSignInDateTime"),
            "soft_deleted": deleted.notna(),
            "deleted_at": deleted,
        }
    )


def _transitive(members: pd.DataFrame, group_id: str) -> tuple[set[str], set[str], set[str]]:
    """(direct user members, nested-only user members, nested groups) of one group."""
    by_group: dict[str, list[tuple[str, str]]] = {}
    for g, m, kind in zip(
        members["group_id"], members["member_id"], members["member_type"], strict=True
    ):
        by_group.setdefault(g, []).append((m, kind))
    direct = {m for m, k in by_group.get(group_id, []) if k == "user"}
    frontier = [m for m, k in by_group.get(group_id, []) if k == "group"]
    groups: set[str] = set()
    nested: set[str] = set()
    while frontier:
        g = frontier.pop()
        if g in groups or g == group_id:
            continue
        groups.add(g)
        for m, k in by_group.get(g, []):
            if k == "group":
                frontier.append(m)
            elif k == "user":
                nested.add(m)
    return direct, nested - direct, groups


def group_members(t: Tenant, group_ids) -> pd.DataFrame:
    rows = []
    mem = t.members
    direct_groups = mem[mem["member_type"] == "group"]
    for gid in group_ids:
        direct, nested, groups = _transitive(mem, gid)
        direct_sub = set(direct_groups.loc[direct_groups["group_id"] == gid, "member_id"])
        rows += [(gid, m, "user", True) for m in sorted(direct)]
        rows += [(gid, m, "user", False) for m in sorted(nested)]
        rows += [(gid, g, "group", g in direct_sub) for g in sorted(groups)]
    return pd.DataFrame(rows, columns=["group_id", "member_id", "member_type", "direct"])


def _dig(item: dict, *path):
    for key in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def provisioning_events(t: Tenant) -> pd.DataFrame:
    items = t.provisioning_events
    return pd.DataFrame(
        {
            "event_id": [i.get("id") for i in items],
            "activity_at": [i.get("activityDateTime") for i in items],
            "job_id": [i.get("jobId") for i in items],
            "cycle_id": [i.get("cycleId") for i in items],
            "change_id": [i.get("changeId") for i in items],
            "action": [i.get("provisioningAction") for i in items],
            "status": [_dig(i, "provisioningStatusInfo", "status") for i in items],
            "error_code": [
                _dig(i, "provisioningStatusInfo", "errorInformation", "errorCode") for i in items
            ],
            "error_reason": [
                _dig(i, "provisioningStatusInfo", "errorInformation", "reason") for i in items
            ],
            "error_category": [
                _dig(i, "provisioningStatusInfo", "errorInformation", "errorCategory")
                for i in items
            ],
            "source_id": [_dig(i, "sourceIdentity", "id") or None for i in items],
            "source_display_name": [_dig(i, "sourceIdentity", "displayName") for i in items],
            "source_identity_type": [_dig(i, "sourceIdentity", "identityType") for i in items],
            "target_id": [_dig(i, "targetIdentity", "id") or None for i in items],
            "target_display_name": [
                _dig(i, "targetIdentity", "displayName") or None for i in items
            ],
            "duration_ms": [i.get("durationInMilliseconds") for i in items],
            "modified_properties": [json.dumps(i.get("modifiedProperties")) for i in items],
            "steps": [json.dumps(i.get("provisioningSteps")) for i in items],
        }
    )


def _expression(source: dict) -> str | None:
    if source.get("expression"):
        return str(source["expression"])
    if source.get("type") == "Attribute":
        return f"[{source.get('name')}]"
    if source.get("type") == "Constant":
        return '"' + str(source.get("name") or "") + '"'
    return source.get("name")


def schema_tables(job_id: str, schema: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(attribute_mappings, scoping_filters) rows of one synchronization schema."""
    maps, filters = [], []
    for rule in schema.get("synchronizationRules") or []:
        for om in rule.get("objectMappings") or []:
            for am in om.get("attributeMappings") or []:
                src = am.get("source") or {}
                maps.append({
                    "job_id": job_id, "rule_id": rule.get("id"), "object_mapping": om.get("name"),
                    "source_object": om.get("sourceObjectName"),
                    "target_attribute": am.get("targetAttributeName"),
                    "source_type": src.get("type"), "expression": _expression(src),
                    "default_value": am.get("defaultValue"), "flow_type": am.get("flowType"),
                    "matching_priority": am.get("matchingPriority"),
                })  # fmt: skip
            for gi, group in enumerate((om.get("scope") or {}).get("groups") or []):
                for clause in group.get("clauses") or []:
                    filters.append({
                        "job_id": job_id, "rule_id": rule.get("id"), "group_index": gi,
                        "object_mapping": om.get("name"),
                        "source_object": om.get("sourceObjectName"),
                        "group_name": group.get("name"),
                        "source_attribute": clause.get("sourceOperandName"),
                        "operator": clause.get("operatorName"),
                        "values": list((clause.get("targetOperand") or {}).get("values") or []),
                    })  # fmt: skip
    return pd.DataFrame(maps), pd.DataFrame(filters)


def zoom_tables(t: Tenant, *, scim_lists_pending: bool = False) -> tuple[pd.DataFrame, ...]:
    z = t.zoom_users
    status = z["status"].astype("str")
    scim = z if scim_lists_pending else z[status != "pending"]
    types = pd.to_numeric(scim["type"], errors="coerce")
    scim_t = pd.DataFrame(
        {
            "zoom_id": scim["id"],
            "user_name": scim["email"],
            "display_name": scim["display_name"],
            "given_name": scim["first_name"],
            "family_name": scim["last_name"],
            "work_email": scim["email"],
            "active": scim["status"] == "active",
            "user_type": types.map(ZOOM_TYPE_TO_USER_TYPE),
            "department": scim["dept"],
            "login_sso": _col(scim, "login_sso"),
            "created_at": _col(scim, "created_at"),
            "last_modified": _col(scim, "last_modified"),
        }
    )
    rest = pd.DataFrame(
        {
            "zoom_id": z["id"].where(status != "pending"),
            "email": z["email"],
            "first_name": z["first_name"],
            "last_name": z["last_name"],
            "display_name": z["display_name"],
            "type": z["type"],
            "status": status,
            "dept": z["dept"],
            "role_id": _col(z, "role_id"),
            "last_login_time": _col(z, "last_login_time"),
            "created_at": _col(z, "created_at"),
            "user_created_at": _col(z, "user_created_at"),
            "last_client_version": _col(z, "last_client_version"),
        }
    )
    return scim_t, rest


def to_snapshot(
    tenant: Tenant, *, scim_lists_pending: bool = False, candidate_groups=()
) -> Snapshot:
    """The tenant as an in-memory :class:`Snapshot` (taken at ``tenant.now``).

    Args:
        tenant: the generated tenant.
        scim_lists_pending: Zoom SCIM also lists pending invites (with their id).
        candidate_groups: ids or displayNames of groups to pull as rollout candidates (like
            ``pull --candidate-groups``): their members are listed and ``candidate`` is set.
    """
    t = tenant
    sp = t.service_principal
    asg = t.assignments
    assigned_groups = sorted(set(asg.loc[asg["principalType"] == "Group", "principalId"]))
    groups = t.groups
    wanted = list(dict.fromkeys(candidate_groups))
    candidates = sorted(
        set(groups.loc[groups["id"].isin(wanted) | groups["displayName"].isin(wanted), "id"])
    )
    maps, filters = [], []
    for job_id, schema in (t.sync_schemas or {}).items():
        m, f = schema_tables(job_id, schema)
        maps.append(m)
        filters.append(f)
    scim, rest = zoom_tables(t, scim_lists_pending=scim_lists_pending)
    jobs = t.sync_jobs or []
    tables = {
        "entra_users": entra_users(t),
        "entra_app": [
            {
                "sp_id": sp.get("id"),
                "app_id": sp.get("appId"),
                "display_name": sp.get("displayName"),
                "app_role_assignment_required": sp.get("appRoleAssignmentRequired"),
                "account_enabled": sp.get("accountEnabled"),
            }
        ],  # fmt: skip
        "entra_app_roles": [
            {
                "app_role_id": r.get("id"),
                "value": r.get("value"),
                "display_name": r.get("displayName"),
                "is_enabled": r.get("isEnabled"),
                "allowed_member_types": r.get("allowedMemberTypes") or [],
            }
            for r in sp.get("appRoles", [])
        ],  # fmt: skip
        "entra_assignments": pd.DataFrame(
            {
                "assignment_id": asg["id"],
                "principal_id": asg["principalId"],
                "principal_type": asg["principalType"],
                "principal_display_name": _col(asg, "principalDisplayName"),
                "app_role_id": asg["appRoleId"],
                "created_at": asg["createdDateTime"],
            }
        ),  # fmt: skip
        "entra_groups": pd.DataFrame(
            {
                "group_id": groups["id"],
                "display_name": groups["displayName"],
                "security_enabled": _col(groups, "securityEnabled"),
                "mail_enabled": _col(groups, "mailEnabled"),
                "group_types": _lists(_col(groups, "groupTypes", None)),
                "membership_rule": _col(groups, "membershipRule"),
                "assigned": groups["id"].isin(assigned_groups),
                "candidate": groups["id"].isin(candidates),
            }
        ),  # fmt: skip
        "entra_group_members": group_members(t, sorted(set(assigned_groups) | set(candidates))),
        "provisioning_events": provisioning_events(t),
        "sync_jobs": [
            {
                "job_id": j.get("id"),
                "template_id": j.get("templateId"),
                "schedule_state": _dig(j, "schedule", "state"),
                "schedule_interval": _dig(j, "schedule", "interval"),
                "status_code": _dig(j, "status", "code"),
            }
            for j in jobs
        ],  # fmt: skip
        "attribute_mappings": pd.concat(maps, ignore_index=True) if maps else [],
        "scoping_filters": pd.concat(filters, ignore_index=True) if filters else [],
        "zoom_scim_users": scim,
        "zoom_users": rest,
        "zoom_domains": list(t.zoom_domains or []),
    }
    now = t.now if t.now.tzinfo else t.now.replace(tzinfo=UTC)
    return Snapshot.from_tables(
        tables,
        taken_at=now,
        id=f"emulator-{t.seed}-{t.scenario}",
        manifest={"tenant_id": t.tenant_id, "source": "emulator.to_snapshot"},
        schemas=dict(t.sync_schemas or {}),
    )
