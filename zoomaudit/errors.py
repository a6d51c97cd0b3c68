"""The exception tree of zoomaudit: every error a user can meet is a ``ZoomAuditError``.

::

    ZoomAuditError
     ├── ConfigError                 settings missing or contradictory
     ├── SourceError                 an API answered something we cannot use
     │    ├── AuthenticationError    401: token missing, invalid or expired
     │    ├── PermissionDeniedError  403: names the missing permission or scope
     │    ├── ThrottledError         429s that outlasted the retry budget
     │    ├── ServiceError           5xx that outlasted the retry budget
     │    ├── MalformedResponseError a page that is not the JSON it should be
     │    └── LookupFailedError      the app, a group or a user cannot be found (or is ambiguous)
     ├── IncompleteDataError         received fewer rows than the API said exist
     ├── SnapshotError               a snapshot is missing, unreadable or refused
     ├── ExpressionError             an Entra mapping expression we cannot evaluate
     ├── PlanError                   a rollout configuration or plan is invalid
     ├── ApplyError                  a guarded write failed (the journal says what was done)
     └── ReportError                 a notebook or an export failed

Messages are written for the person at the terminal: one line that says what happened and
what to do. They never contain a secret (see ``zoomaudit.secrets``).
"""

from __future__ import annotations


class ZoomAuditError(Exception):
    """Root of every error zoomaudit raises on purpose."""

    #: process exit status used by the CLI for this kind of error
    exit_code: int = 1


class ConfigError(ZoomAuditError):
    """Settings are missing, malformed or contradictory."""

    exit_code = 2


class SourceError(ZoomAuditError):
    """An API call failed in a way the caller should hear about."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class AuthenticationError(SourceError):
    """The token was rejected (missing, invalid or expired)."""


class PermissionDeniedError(SourceError):
    """The credentials lack a permission; ``permission`` names it when known."""

    def __init__(self, message: str, *, permission: str | None = None, **kw):
        super().__init__(message, **kw)
        self.permission = permission


class ThrottledError(SourceError):
    """Throttling (429) persisted beyond the retry budget."""


class ServiceError(SourceError):
    """The service kept failing (5xx, timeouts, proxy pages) beyond the retry budget."""


class MalformedResponseError(SourceError):
    """A response body was not the JSON document the API promises."""


class LookupFailedError(SourceError):
    """An object the audit needs (the app, a group, a user) is missing or ambiguous."""


class IncompleteDataError(ZoomAuditError):
    """Rows received differ from the count the API announced."""


class SnapshotError(ZoomAuditError):
    """A snapshot is missing, unreadable, or refused (e.g. marked incomplete)."""


class ExpressionError(ZoomAuditError):
    """An Entra attribute-mapping expression could not be parsed or evaluated."""

    def __init__(
        self, message: str, *, expression: str | None = None, position: int | None = None
    ):
        where = ""
        if expression is not None:
            where = f" in {expression!r}"
            if position is not None:
                where += f" at position {position}"
        super().__init__(message + where)
        self.expression = expression
        self.position = position


class PlanError(ZoomAuditError):
    """A rollout wave configuration or plan file is invalid."""

    exit_code = 2


class ApplyError(ZoomAuditError):
    """A guarded write (rollout apply/rollback) failed part-way; see the journal."""


class ReportError(ZoomAuditError):
    """A notebook failed to execute or a report could not be written."""
