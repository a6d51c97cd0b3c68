"""The column contract: every table a snapshot holds, its columns, dtypes and meaning.

This module is the single place that says what a column is called and what it contains. The
collectors write these tables (``tables/<name>.parquet`` in a snapshot) from the raw payloads;
analysis modules (``reconcile``, ``licences``, ``readiness``, ``rollout``) read them and never
see API JSON. Conversions from raw payloads live in ``zoomaudit.convert``.

Conventions: snake_case; ids are strings; times are UTC ``datetime64[us, UTC]``; text columns
use pandas' ``str`` dtype (missing = NA); multi-valued attributes are Python lists (Parquet
``list<string>``); nullable booleans use ``boolean`` and nullable integers ``Int64``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

STR = "str"
BOOL = "boolean"
INT = "Int64"
TIME = "datetime64[us, UTC]"
LIST = "object"  # list[str]; NA is stored as an empty list
JSON = "str"  # a JSON document kept as text (nested structures analysis rarely needs)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    doc: str


def _t(*cols: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*c) for c in cols)


TABLES: dict[str, tuple[Column, ...]] = {
    # ---------------------------------------------------------------- Entra (Microsoft Graph)
    "entra_users": _t(
        ("entra_id", STR, "user object id (GUID as sent by Graph)"),
        ("user_principal_name", STR, "userPrincipalName"),
        ("display_name", STR, "displayName"),
        ("given_name", STR, "givenName"),
        ("surname", STR, "surname"),
        ("mail", STR, "mail (primary SMTP address); often NA for guests and unlicensed users"),
        ("mail_nickname", STR, "mailNickname"),
        ("other_mails", LIST, "otherMails"),
        ("proxy_addresses", LIST, "proxyAddresses as sent (SMTP:primary, smtp:alias, ...)"),
        ("account_enabled", BOOL, "accountEnabled"),
        ("department", STR, "department"),
        ("job_title", STR, "jobTitle"),
        ("employee_id", STR, "employeeId"),
        ("country", STR, "country (free text)"),
        ("usage_location", STR, "usageLocation (ISO 3166 alpha-2)"),
        ("user_type", STR, "userType: Member | Guest"),
        ("created_at", TIME, "createdDateTime"),
        ("on_premises_sync_enabled", BOOL, "onPremisesSyncEnabled (NA = never synced)"),
        ("assigned_licenses", LIST, "skuIds of assignedLicenses"),
        ("last_sign_in", TIME, "signInActivity.lastSignInDateTime (NA when not pulled/never)"),
        ("last_successful_sign_in", TIME, "signInActivity.lastSuccessfulSignInDateTime"),
        ("soft_deleted", BOOL, "True for users from /directory/deletedItems"),
        ("deleted_at", TIME, "deletedDateTime of soft-deleted users"),
    ),
    "entra_app": _t(
        ("sp_id", STR, "service principal object id of the Zoom enterprise app"),
        ("app_id", STR, "appId"),
        ("display_name", STR, "displayName"),
        ("app_role_assignment_required", BOOL, "appRoleAssignmentRequired"),
        ("account_enabled", BOOL, "accountEnabled of the service principal"),
    ),
    "entra_app_roles": _t(
        ("app_role_id", STR, "appRole id (GUID)"),
        ("value", STR, "appRole value, e.g. Basic, Licensed (NA for msiam_access/User)"),
        ("display_name", STR, "appRole displayName"),
        ("is_enabled", BOOL, "isEnabled"),
        ("allowed_member_types", LIST, "allowedMemberTypes"),
    ),
    "entra_assignments": _t(
        ("assignment_id", STR, "appRoleAssignment id (opaque string, not a GUID)"),
        ("principal_id", STR, "assigned user or group id"),
        ("principal_type", STR, "User | Group | ServicePrincipal"),
        ("principal_display_name", STR, "principalDisplayName"),
        ("app_role_id", STR, "appRoleId (00000000-... = default access)"),
        ("created_at", TIME, "createdDateTime"),
    ),
    "entra_groups": _t(
        ("group_id", STR, "group object id"),
        ("display_name", STR, "displayName"),
        ("security_enabled", BOOL, "securityEnabled"),
        ("mail_enabled", BOOL, "mailEnabled"),
        ("group_types", LIST, "groupTypes (DynamicMembership, Unified)"),
        ("membership_rule", STR, "membershipRule of dynamic groups"),
        ("assigned", BOOL, "assigned to the Zoom app (appRoleAssignedTo)"),
        ("candidate", BOOL, "named by pull --candidate-groups"),
    ),
    "entra_group_members": _t(
        ("group_id", STR, "the assigned or candidate group that was queried"),
        ("member_id", STR, "member object id"),
        ("member_type", STR, "user | group | device | servicePrincipal | orgContact"),
        ("direct", BOOL, "True: from /members; False: only in /transitiveMembers (nested)"),
    ),
    "provisioning_events": _t(
        ("event_id", STR, "provisioningObjectSummary id"),
        ("activity_at", TIME, "activityDateTime"),
        ("job_id", STR, "jobId"),
        ("cycle_id", STR, "cycleId"),
        ("change_id", STR, "changeId"),
        ("action", STR, "provisioningAction: create update delete disable stagedDelete other"),
        ("status", STR, "provisioningStatusInfo.status: success warning failure skipped"),
        ("error_code", STR, "errorInformation.errorCode as sent (may carry an app-name prefix)"),
        ("error_reason", STR, "errorInformation.reason"),
        ("error_category", STR, "errorInformation.errorCategory"),
        ("source_id", STR, "sourceIdentity.id (the Entra object id)"),
        ("source_display_name", STR, "sourceIdentity.displayName"),
        ("source_identity_type", STR, "sourceIdentity.identityType (User, Group)"),
        ("target_id", STR, "targetIdentity.id (the Zoom id; often empty on failed creates)"),
        ("target_display_name", STR, "targetIdentity.displayName"),
        ("duration_ms", INT, "durationInMilliseconds"),
        ("modified_properties", JSON, "modifiedProperties as JSON text"),
        ("steps", JSON, "provisioningSteps as JSON text"),
    ),
    "sync_jobs": _t(
        ("job_id", STR, "synchronizationJob id"),
        ("template_id", STR, "templateId"),
        ("schedule_state", STR, "schedule.state: Active | Disabled | Paused"),
        ("schedule_interval", STR, "schedule.interval (ISO 8601 duration, PT40M)"),
        ("status_code", STR, "status.code: NotConfigured NotRun Active Paused Quarantine"),
        ("quarantine_reason", STR, "status.quarantine.reason"),
        ("quarantine_since", TIME, "status.quarantine.currentBegan"),
        ("successive_failures", INT, "status.countSuccessiveCompleteFailures"),
        ("last_execution_state", STR, "status.lastExecution.state"),
        ("last_execution_began", TIME, "status.lastExecution.timeBegan"),
        ("last_execution_ended", TIME, "status.lastExecution.timeEnded"),
        ("last_count_escrowed", INT, "status.lastExecution.countEscrowed"),
        ("last_count_exported", INT, "status.lastExecution.countExported"),
        ("last_successful_execution", TIME, "status.lastSuccessfulExecution.timeEnded"),
        ("steady_state_last", TIME, "status.steadyStateLastAchievedTime"),
    ),
    "attribute_mappings": _t(
        ("job_id", STR, "the job whose schema holds the mapping"),
        ("rule_id", STR, "synchronizationRule id"),
        (
            "object_mapping",
            STR,
            "objectMapping name (e.g. Synchronize Azure Active Directory Users to customappsso)",
        ),
        ("source_object", STR, "objectMapping sourceObjectName: User | Group (which objects)"),
        (
            "target_attribute",
            STR,
            'targetAttributeName (SCIM path, e.g. emails[type eq "work"].value)',
        ),
        ("source_type", STR, "source.type: Attribute | Constant | Function"),
        ("expression", STR, 'source.expression (or [name] / "constant" rebuilt from the source)'),
        ("default_value", STR, "defaultValue"),
        ("flow_type", STR, "flowType: Always | ObjectAddOnly | ..."),
        ("matching_priority", INT, "matchingPriority (>0: used for matching, lowest first)"),
    ),
    "scoping_filters": _t(
        ("job_id", STR, "job id"),
        ("rule_id", STR, "synchronizationRule id"),
        ("object_mapping", STR, "objectMapping name the scope belongs to"),
        ("source_object", STR, "objectMapping sourceObjectName: User | Group"),
        ("group_index", INT, "index of the filter group (groups are ORed)"),
        ("group_name", STR, "name of the filter group"),
        ("source_attribute", STR, "clause sourceOperandName (clauses in a group are ANDed)"),
        ("operator", STR, "clause operatorName as sent (EQUALS, IS NOT NULL, REGEX MATCH, ...)"),
        ("values", LIST, "targetOperand.values"),
    ),
    # ---------------------------------------------------------------- Zoom
    "zoom_scim_users": _t(
        ("zoom_id", STR, "SCIM id (= Zoom user id)"),
        ("user_name", STR, "userName"),
        ("display_name", STR, "displayName"),
        ("given_name", STR, "name.givenName"),
        ("family_name", STR, "name.familyName"),
        ("work_email", STR, "emails[type eq work].value (else the primary e-mail)"),
        ("active", BOOL, "active"),
        ("user_type", STR, "userType (Basic | Licensed | On-Prem ...; deprecated by Zoom)"),
        ("department", STR, "enterprise extension department"),
        ("login_sso", BOOL, "ZoomUser extension loginType.sso"),
        ("created_at", TIME, "meta.created"),
        ("last_modified", TIME, "meta.lastModified"),
    ),
    "zoom_users": _t(
        ("zoom_id", STR, "REST id (NA for pending invites, which Zoom returns without one)"),
        ("email", STR, "email"),
        ("first_name", STR, "first_name"),
        ("last_name", STR, "last_name"),
        ("display_name", STR, "display_name"),
        ("type", INT, "licence type: 1 Basic, 2 Licensed, 4 unassigned, 99 none; others kept"),
        ("status", STR, "active | inactive (deactivated) | pending (invited)"),
        ("dept", STR, "dept"),
        ("role_id", STR, "role_id (0 owner, 1 admin, 2 member on most accounts)"),
        ("last_login_time", TIME, "last_login_time (approximate: Zoom documents a ~3-day buffer)"),
        ("created_at", TIME, "created_at"),
        ("user_created_at", TIME, "user_created_at"),
        ("last_client_version", STR, "last_client_version"),
    ),
    "zoom_plans": _t(
        ("plan_key", STR, "key in plans/usage (plan_base, plan_webinar, ...), kept as it comes"),
        ("position", INT, "index within an array-valued plan key (0 for objects)"),
        ("plan_type", STR, "type (e.g. yearly, webinar500_yearly)"),
        ("hosts", INT, "purchased seats"),
        ("usage", INT, "assigned seats"),
        ("pending", INT, "invited, not yet active"),
        ("raw", JSON, "the plan object as received"),
    ),
    "zoom_domains": _t(
        ("domain", STR, "managed domain"),
        ("status", STR, "verified | pending | ... as sent"),
    ),
    "zoom_activities": _t(
        ("email", STR, "email"),
        ("time", TIME, "time of the sign-in/sign-out"),
        ("type", STR, "Sign in | Sign out"),
        ("client_type", STR, "client_type"),
        ("version", STR, "client version"),
    ),
}


def empty(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and dtypes."""
    return conform(pd.DataFrame(), table)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the contract's columns, in order, with their dtypes.

    Missing columns are added (NA, or empty lists for list columns); extra columns are dropped.
    """
    columns = TABLES[table]
    out = {}
    n = len(frame)
    for col in columns:
        if col.name in frame.columns:
            series = frame[col.name]
        elif col.dtype == LIST:
            series = pd.Series([[] for _ in range(n)], index=frame.index, dtype=object)
        else:
            series = pd.Series(pd.NA, index=frame.index)
        out[col.name] = _cast(series, col)
    return pd.DataFrame(
        out, index=pd.RangeIndex(n) if frame.index.equals(pd.RangeIndex(n)) else frame.index
    ).reset_index(drop=True)


def _cast(series: pd.Series, col: Column) -> pd.Series:
    if col.dtype == TIME:
        return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601").astype(TIME)
    if col.dtype == LIST:
        return series.map(
            lambda v: list(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist") else []
        ).astype(object)
    if col.dtype == BOOL:
        return series.map(_to_bool).astype(BOOL)
    if col.dtype == INT:
        return pd.to_numeric(series, errors="coerce").astype(INT)
    if col.dtype == STR:
        return series.astype(STR)
    return series.astype(col.dtype)


def _to_bool(value: object) -> object:
    if value is None or value is pd.NA:
        return pd.NA
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        return pd.NA
    if isinstance(value, float) and value != value:
        return pd.NA
    return bool(value)


def user_object_rows(table: pd.DataFrame) -> pd.Series:
    """True for rows of ``attribute_mappings``/``scoping_filters`` that belong to the *user*
    object mapping (not the group one): by sourceObjectName, else by the mapping's name.

    Rows that say neither are kept (True), so hand-made tables without these columns work.
    """
    missing = pd.Series(pd.NA, index=table.index, dtype="str")
    source = table.get("source_object", missing).astype("str").str.lower()
    name = table.get("object_mapping", missing).astype("str").str.lower()
    by_name = ~(name.str.contains("group", regex=False).fillna(False).astype(bool))
    by_source = source.eq("user").fillna(False).astype(bool)
    return by_source.where(source.notna().astype(bool), by_name).astype(bool)


def describe(table: str) -> pd.DataFrame:
    """The contract of one table as a DataFrame (for docs and notebooks)."""
    return pd.DataFrame([c.__dict__ for c in TABLES[table]])
