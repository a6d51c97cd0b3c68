"""Provisioning-log analytics: events as a tidy table, failures grouped, causes explained.

Place in the flow: analysis over the ``provisioning_events`` table (Graph
``/auditLogs/provisioning``). ``reconcile`` takes its evidence (latest event per user) from the
same table; notebooks use :func:`events`, :func:`failures_by`, :func:`failure_summary` and
:data:`CATALOGUE` to say why users are not provisioned and what to do.

Error codes arrive with an optional application-name prefix (Microsoft's example:
``ContosoEntryConflict``; for Zoom ``ZoomEntryConflict``). :func:`normalize_error_code` strips
it by matching the longest known code suffix.
"""

from __future__ import annotations

import json

import pandas as pd

from zoomaudit.snapshot import Snapshot

# (code, category, plain-language cause, fix). Drawn from Microsoft's "Understand how
# provisioning integrates with Azure Monitor logs / analyze provisioning logs" error list
# (graph.md §5) and common Zoom/Entra admin issues.
_CATALOGUE_ROWS: tuple[tuple[str, str, str, str], ...] = (
    (
        "EntryConflict",
        "matching",
        "A Zoom user already exists with the value Entra tried to create (or the matching "
        "attribute points at someone else).",
        "Find the Zoom user holding the address; fix the matching attribute (userName) or "
        "delete/rename the stray Zoom account, then provision on demand.",
    ),
    (
        "Conflict",
        "matching",
        "Zoom answered 409: an account with this userName or e-mail exists, possibly in another "
        "Zoom account or as a pending invite.",
        "Check Zoom (and other Zoom accounts for the domain) for the address; associate or "
        "remove the conflicting account.",
    ),
    (
        "DuplicateTargetEntries",
        "matching",
        "Several Zoom users match the user's matching attribute.",
        "Remove duplicates in Zoom so one user has the userName.",
    ),
    (
        "DuplicateSourceEntries",
        "matching",
        "Several Entra users have the same matching attribute value.",
        "Make userPrincipalName (or the mapped source) unique in Entra.",
    ),
    (
        "ImportSkipped",
        "mapping",
        "The matching attribute is empty in Entra, so the user could not be evaluated.",
        "Populate the source of userName (UPN or mail) or change the mapping.",
    ),
    (
        "MandatoryFieldsMissing",
        "mapping",
        "A required Zoom attribute (userName, e-mail) has no value for this user.",
        "Fill the source attribute in Entra or add a default/expression in the mapping.",
    ),
    (
        "MissingValues",
        "mapping",
        "A mapped value needed to create the user is missing.",
        "Fill the source attribute or adjust the attribute mapping.",
    ),
    (
        "SchemaAttributeNotFound",
        "mapping",
        "A mapping targets an attribute Zoom's SCIM schema does not have.",
        "Remove or correct the target attribute in the attribute mapping.",
    ),
    (
        "SchemaPropertyCanOnlyAcceptValue",
        "mapping",
        "A multi-valued source was mapped to a single-valued Zoom attribute.",
        "Use an expression (Item, Join, SingleAppRoleAssignment) to produce one value.",
    ),
    (
        "SystemForCrossDomainIdentityManagementBadResponse",
        "target",
        "Zoom rejected the request (HTTP 4xx/5xx); the reason holds Zoom's message, e.g. an "
        "invalid userType, an unverified domain or a licence limit.",
        "Read the reason text; fix the value Zoom rejects (userType must be Basic, Licensed or "
        "On-Prem) or the Zoom account setting.",
    ),
    (
        "SystemForCrossDomainIdentityManagementServiceIncompatible",
        "target",
        "Zoom's SCIM response could not be parsed.",
        "Usually transient on Zoom's side; retry. If persistent, open a case with Zoom.",
    ),
    (
        "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse",
        "matching",
        "Zoom returned several users for a userName filter.",
        "Remove the duplicate Zoom users.",
    ),
    (
        "InvalidDomain",
        "target",
        "The user's e-mail domain is not an associated/verified domain of the Zoom account.",
        "Verify the domain in Zoom (Account Management > Associated Domains) or change the "
        "user's address.",
    ),
    (
        "LicenseLimitExceeded",
        "licence",
        "The Zoom account has no free seat of the requested licence type.",
        "Buy seats, free seats held by inactive users, or assign the Basic role.",
    ),
    (
        "TooManyRequests",
        "throttling",
        "Zoom throttled the provisioning service (HTTP 429); Entra retries automatically.",
        "Usually resolves itself on the next cycles; avoid bulk changes during business hours.",
    ),
    (
        "InternalServerError",
        "transient",
        "Zoom returned a server error; Entra retries in the next cycle (~40 minutes).",
        "Wait for the retry; if it persists, check Zoom's status page.",
    ),
    (
        "WebExceptionProtocolError",
        "transient",
        "The HTTP call to Zoom failed at protocol level; retried next cycle.",
        "Wait for the retry; check Zoom's status and the tenant URL.",
    ),
    (
        "Timeout",
        "transient",
        "Zoom did not answer in time; retried next cycle.",
        "Wait for the retry; persistent timeouts point at Zoom-side problems.",
    ),
    (
        "InternalError",
        "transient",
        "An internal provisioning-service error; retried next cycle.",
        "Wait for the retry; restart provisioning if it persists.",
    ),
    (
        "InsufficientRights",
        "credentials",
        "The OAuth authorisation lacks rights on the Zoom account.",
        "Re-authorise the app with a Zoom admin/owner (Provisioning > Admin credentials > "
        "Authorize) and test the connection.",
    ),
    (
        "Unauthorized",
        "credentials",
        "Zoom rejected the credentials (token expired or revoked): test connection fails and "
        "the job may be quarantined.",
        "Re-authorise with Zoom admin credentials; the Bearer-token method is no longer "
        "supported by Zoom.",
    ),
    (
        "NotPermitted",
        "credentials",
        "The operation is not permitted for this Zoom account or user.",
        "Check the Zoom account's SCIM/API permissions and the admin role used to authorise.",
    ),
    (
        "MethodNotAllowed",
        "target",
        "Zoom does not support the HTTP method Entra used.",
        "Check the tenant URL (https://api.zoom.us/scim) and the app template.",
    ),
    (
        "UnprocessableEntity",
        "target",
        "Zoom could not process the request (often a value it does not accept).",
        "Read the reason and fix the value in Entra or in the mapping.",
    ),
    (
        "NotImplemented",
        "target",
        "Zoom does not implement the requested operation.",
        "Remove the mapping or feature that triggers it.",
    ),
    (
        "InvalidAnchor",
        "matching",
        "A user matched before no longer exists in Zoom (deleted outside provisioning).",
        "Restart provisioning (clear state) so Entra matches or creates the user again.",
    ),
    (
        "EntrySynchronizationSkipped",
        "scope",
        "Entra skipped the user: out of scope (not assigned, disabled, scoping filter, nested "
        "group) or nothing changed.",
        "Check the assignment (direct or direct member of an assigned group) and scoping "
        "filters; provision on demand shows the evaluation.",
    ),
    (
        "RedundantExport",
        "scope",
        "Nothing to do: Zoom already matches Entra.",
        "No action needed.",
    ),
)

CATALOGUE = pd.DataFrame(_CATALOGUE_ROWS, columns=["error_code", "category", "cause", "fix"])
"""The error-code catalogue: error_code, category, cause, fix (one row per known code)."""

_KNOWN = sorted(CATALOGUE["error_code"], key=len, reverse=True)


def normalize_error_code(code: str | None) -> str | None:
    """Strip an application-name prefix: ``ZoomEntryConflict`` -> ``EntryConflict``."""
    if code is None or (isinstance(code, float) and code != code) or code is pd.NA:
        return None
    text = str(code).strip()
    if not text:
        return None
    for known in _KNOWN:
        if text.lower() == known.lower():
            return known
    for known in _KNOWN:
        if text.lower().endswith(known.lower()):
            return known
    return text


def _domain(values: pd.Series) -> pd.Series:
    return values.astype("str").str.rsplit("@", n=1).str[-1].str.lower()


def events(snapshot: Snapshot) -> pd.DataFrame:
    """Provisioning events joined to the Entra users they concern.

    Columns: the ``provisioning_events`` columns, plus error_code_normalized,
    user_principal_name, department, country, domain (of the UPN), modified_attributes
    (comma-separated displayName of modifiedProperties).
    """
    ev = snapshot.table("provisioning_events").copy()
    users = snapshot.table("entra_users").drop_duplicates("entra_id").set_index("entra_id")
    ev["error_code_normalized"] = ev["error_code"].map(normalize_error_code).astype("str")
    ev["user_principal_name"] = ev["source_id"].map(users["user_principal_name"]).astype("str")
    ev["department"] = ev["source_id"].map(users["department"]).astype("str")
    ev["country"] = ev["source_id"].map(users["country"]).astype("str")
    ev["domain"] = _domain(ev["user_principal_name"])
    ev["modified_attributes"] = ev["modified_properties"].map(_modified_names).astype("str")
    return ev.sort_values(["activity_at", "event_id"], kind="stable").reset_index(drop=True)


def _modified_names(text) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    names = [i.get("displayName") for i in items or [] if isinstance(i, dict)]
    return ",".join(n for n in names if n) or None


def failures(snapshot: Snapshot) -> pd.DataFrame:
    """Failed events (status failure) joined to users and the catalogue (cause, fix)."""
    ev = events(snapshot)
    f = ev[ev["status"].str.lower() == "failure"]
    cat = CATALOGUE.rename(columns={"error_code": "error_code_normalized",
                                    "category": "error_group"})  # fmt: skip
    return f.merge(cat, on="error_code_normalized", how="left").reset_index(drop=True)


def failures_by(snapshot: Snapshot, by: str | list[str] = "error_code_normalized") -> pd.DataFrame:
    """Failure counts grouped by a column of :func:`failures` (error code, department, ...).

    Columns: the ``by`` columns, events (failed events), users (distinct users),
    first_at, last_at — sorted by users, descending.
    """
    keys = [by] if isinstance(by, str) else list(by)
    f = failures(snapshot)
    for k in keys:
        f[k] = f[k].fillna("(none)")
    g = f.groupby(keys, dropna=False)
    out = pd.DataFrame(
        {
            "events": g.size(),
            "users": g["source_id"].nunique(),
            "first_at": g["activity_at"].min(),
            "last_at": g["activity_at"].max(),
        }
    ).reset_index()
    return out.sort_values(["users", "events", *keys], ascending=[False, False] + [True] *
                           len(keys)).reset_index(drop=True)  # fmt: skip


def failure_summary(snapshot: Snapshot) -> pd.DataFrame:
    """Failures per normalised error code with cause and fix, for people fixing them.

    Columns: error_code_normalized, events, users, first_at, last_at, error_group, cause,
    fix, example_reason (one reason text as Entra sent it).
    """
    by_code = failures_by(snapshot, "error_code_normalized")
    f = failures(snapshot)
    example = (
        f.dropna(subset=["error_reason"]).groupby("error_code_normalized")["error_reason"].first()
    )
    cat = CATALOGUE.rename(columns={"error_code": "error_code_normalized",
                                    "category": "error_group"})  # fmt: skip
    out = by_code.merge(cat, on="error_code_normalized", how="left")
    out["example_reason"] = out["error_code_normalized"].map(example).astype("str")
    out["cause"] = out["cause"].fillna("Not in the catalogue: read the reason text.")
    return out


def latest_per_user(snapshot: Snapshot) -> pd.DataFrame:
    """The latest event of each source user: entra_id + the event columns."""
    ev = events(snapshot)
    ev = ev[ev["source_id"].notna()]
    last = ev.drop_duplicates("source_id", keep="last").rename(columns={"source_id": "entra_id"})
    return last.reset_index(drop=True)
