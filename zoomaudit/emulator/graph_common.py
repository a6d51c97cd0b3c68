"""Shared pieces of the Graph emulator: request context, error type, JSON, query decoding.

Part of the emulator (``graph_app`` and its route modules use it); nothing in the kit's analysis
path imports it.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import orjson
import pandas as pd

ODATA_NAMES = {"select", "filter", "top", "count", "orderby", "search", "expand", "skiptoken",
               "deltatoken", "skip", "format"}  # fmt: skip
DEFAULT_USER_PROPS = (
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
)  # fmt: skip
#: user properties that exist in Graph but are not modelled: selectable, always null/empty
EXTRA_USER_PROPS = {
    "businessPhones": list, "mobilePhone": None, "officeLocation": None, "preferredLanguage": None,
    "employeeType": None, "companyName": None, "onPremisesImmutableId": None,
    "onPremisesSamAccountName": None, "licenseAssignmentStates": list, "city": None,
    "state": None, "streetAddress": None, "postalCode": None, "ageGroup": None,
    "externalUserState": None, "creationType": None, "identities": list,
}  # fmt: skip
NOT_IN_COLLECTIONS = {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects",
                      "preferredName", "responsibilities", "schools", "skills",
                      "mailboxSettings"}  # fmt: skip
SIGNIN_FIELDS = ("lastSignInDateTime", "lastSuccessfulSignInDateTime",
                 "lastNonInteractiveSignInDateTime")  # fmt: skip
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
READ_DIR = {"Directory.Read.All", "Directory.ReadWrite.All"}
GRAPH_PREFIX = "/v1.0"


class GraphError(Exception):
    """An error answer in Graph's envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Resp:
    """A response before it becomes a Starlette one (or a $batch entry)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One request, independent of Starlette (so ``$batch`` can dispatch inner requests)."""

    method: str
    path: str  # normalised, relative to /v1.0, no leading slash
    raw_path: str  # as received, for journal and faults
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # scheme://host:port
    rid: str
    q: dict[str, str] = field(default_factory=dict)
    fault: str | None = None

    @property
    def eventual(self) -> bool:
        return self.headers.get("consistencylevel", "").lower() == "eventual"

    @property
    def count(self) -> bool:
        return self.q.get("$count", "").lower() == "true"

    @property
    def advanced(self) -> bool:
        return self.eventual and self.count


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def _default(obj: Any) -> Any:
    if isinstance(obj, pd.Timestamp):
        return obj.strftime("%Y-%m-%dT%H:%M:%SZ")
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not serialisable: {type(obj).__name__}")


def clean(series: pd.Series) -> list:
    """Python values of ``series`` with every kind of missing value as None."""
    return series.astype(object).where(series.notna(), None).tolist()


def parse_query(raw: str) -> dict[str, str]:
    """Decode ``$``/``%24`` keys and ``%20`` spaces; bare OData names get their ``$`` back."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        k = key.lower()
        if not k.startswith("$") and k in ODATA_NAMES:
            k = "$" + k
        out[k] = value
    return out


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def encode_token(obj: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(obj)).decode().rstrip("=")


def decode_token(tok: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
    except Exception as exc:  # any garbage in an opaque token is the client's fault
        raise GraphError(400, "Request_BadRequest", "Invalid $skiptoken value.") from exc


def assignment_id(principal_id: str, app_role_id: str) -> str:
    """An opaque 43-character base64url id like Graph's (not a GUID)."""
    raw = (
        uuid.UUID(principal_id).bytes
        + hashlib.sha256(f"{principal_id}/{app_role_id}".encode()).digest()[:16]
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class LRU(OrderedDict):
    """A small least-recently-used cache: at most ``size`` entries and, for ``bytes`` values,
    at most ``max_bytes`` in total."""

    def __init__(self, size: int, max_bytes: int | None = None):
        super().__init__()
        self.size = size
        self.max_bytes = max_bytes
        self.nbytes = 0

    def put(self, key: Any, value: Any) -> Any:
        if key in self:
            self._drop(key)
        self[key] = value
        self.nbytes += len(value) if isinstance(value, bytes) else 0
        while len(self) > self.size or (self.max_bytes and self.nbytes > self.max_bytes):
            self._drop(next(iter(self)))
        return value

    def _drop(self, key: Any) -> None:
        value = self.pop(key)
        self.nbytes -= len(value) if isinstance(value, bytes) else 0

    def hit(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


#: application permissions that satisfy a route (any one of a set; routes may need several sets)
U_READ = READ_DIR | {"User.Read.All", "User.ReadWrite.All"}
G_READ = READ_DIR | {"Group.Read.All", "GroupMember.Read.All", "Group.ReadWrite.All"}
A_READ = READ_DIR | {"Application.Read.All", "Application.ReadWrite.All"}
A_WRITE = {"AppRoleAssignment.ReadWrite.All"}
AUDIT = {"AuditLog.Read.All"}
S_READ = {"Synchronization.Read.All", "Synchronization.ReadWrite.All"}
S_WRITE = {"Synchronization.ReadWrite.All"}
