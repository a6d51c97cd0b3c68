"""Shared machinery of the emulated services: clock, request journal, faults, rate buckets.

Both servers (Graph and Zoom) consult one :class:`FaultPlan` per request, record every request
in one :class:`Journal`, and read time only from one :class:`Clock`, so tests can assert call
sequences and move time forward (token expiry, page-token expiry, log retention) without
sleeping.

Fault spec (``--faults`` on ``zoomaudit emulator serve``, or ``FaultPlan.parse``)::

    SERVICE:PATH_REGEX:KIND[=VALUE][xCOUNT][@AFTER]   separated by ';'

* SERVICE: ``graph``, ``zoom``, ``oauth`` (Zoom token endpoint), ``authority`` or ``*``
* PATH_REGEX: searched in the request path (e.g. ``/users$``, ``/scim2/Users``)
* KIND: see :data:`FAULT_KINDS`; VALUE is seconds for 429/latency (ms for latency)
* COUNT: how many matching requests get the fault (default 1; ``x*`` = every one)
* AFTER: let this many matching requests through first (default 0)

Example: ``graph:/users:429=1x2;zoom:/scim2/Users:latency=20x*;zoom:/v2/users:500@3``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: fault kinds; the generic ones are applied before a route runs, the others by the route
FAULT_KINDS = {
    "429": "429 with Retry-After in seconds (VALUE, default 1)",
    "429-none": "429 without Retry-After",
    "429-date": "429 with Retry-After as an HTTP date VALUE seconds ahead",
    "500": "500 Internal Server Error",
    "502": "502 Bad Gateway",
    "503": "503 Service Unavailable (Retry-After 1)",
    "504": "504 Gateway Timeout",
    "latency": "add VALUE milliseconds before answering",
    "expire-token": "answer 401 'token expired' (the client must renew and retry)",
    "html": "an HTML error page from a proxy, status 502",
    "malformed": "status 200 with a body that is not JSON",
    "truncated": "status 200 with a JSON page cut in the middle",
    # route-specific: the collection routes look for these
    "empty-page": "a page with no items that still links to the next page",
    "short": "a page with fewer items than announced (totals stay as they are)",
    "shift": "users created/deleted between offset pages, so later pages shift",
}
GENERIC_KINDS = {
    "429",
    "429-none",
    "429-date",
    "500",
    "502",
    "503",
    "504",
    "expire-token",
    "html",
    "malformed",
    "truncated",
}


class Clock:
    """Time for the emulator. ``ticking`` clocks follow wall time from ``start``; others stand
    still until ``advance`` is called."""

    def __init__(self, start: datetime | None = None, *, ticking: bool = True):
        self._start = start or datetime.now(UTC).replace(microsecond=0)
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self.ticking = ticking
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds since the clock started (for rate buckets), honouring ``advance``."""
        with self._lock:
            base = time.monotonic() - self._mono0 if self.ticking else 0.0
            return base + self._offset

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class Fault:
    service: str
    path: str
    kind: str
    value: float | None = None
    count: int = 1  # -1 = unlimited
    after: int = 0
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._rx = re.compile(self.path)

    def matches(self, service: str, path: str) -> bool:
        return self.service in ("*", service) and bool(self._rx.search(path))

    @property
    def exhausted(self) -> bool:
        return self.count >= 0 and self.fired >= self.count


_SPEC = re.compile(
    r"^(?P<service>[a-z*]+):(?P<path>[^:]*):(?P<kind>[a-z0-9-]+?)"
    r"(?:=(?P<value>[0-9.]+))?(?:x(?P<count>\*|\d+))?(?:@(?P<after>\d+))?$"
)


class FaultPlan:
    """Deterministic, thread-safe fault injection: the n-th matching request gets the fault."""

    def __init__(self, faults: list[Fault] | None = None):
        self.faults: list[Fault] = list(faults or [])
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        plan = cls()
        for part in filter(None, (p.strip() for p in (spec or "").split(";"))):
            m = _SPEC.match(part)
            if not m:
                raise ValueError(
                    f"bad fault spec {part!r}; expected SERVICE:PATH:KIND[=VALUE][xCOUNT][@AFTER]"
                )
            count = m["count"]
            plan.add(
                m["service"],
                m["path"],
                m["kind"],
                value=float(m["value"]) if m["value"] else None,
                count=-1 if count == "*" else int(count or 1),
                after=int(m["after"] or 0),
            )
        return plan

    def add(
        self,
        service: str,
        path: str,
        kind: str,
        *,
        value: float | None = None,
        count: int = 1,
        after: int = 0,
    ) -> Fault:
        fault = Fault(service, path, kind, value, count, after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def take(self, service: str, path: str, kinds: set[str] | None = None) -> Fault | None:
        """The fault this request gets (and count it as fired), or None.

        ``kinds`` restricts the search (the generic middleware asks for generic kinds, a
        collection route for its own); latency faults are handled by :meth:`latency`.
        """
        with self._lock:
            for fault in self.faults:
                if fault.kind == "latency" or (kinds is not None and fault.kind not in kinds):
                    continue
                if fault.exhausted or not fault.matches(service, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                return fault
        return None

    def latency(self, service: str, path: str) -> float:
        """Seconds of added latency for this request (sum of matching latency faults)."""
        total = 0.0
        with self._lock:
            for fault in self.faults:
                if fault.kind != "latency" or fault.exhausted or not fault.matches(service, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                total += (fault.value or 0.0) / 1000.0
        return total


@dataclass
class JournalEntry:
    service: str
    method: str
    path: str
    query: str
    status: int
    time: datetime
    body: bytes | None = None
    fault: str | None = None

    @property
    def writes(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Journal:
    """Every request the emulator answered, in order (Authorization headers are never kept)."""

    entries: list[JournalEntry] = field(default_factory=list)
    keep_bodies: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> None:
        if not self.keep_bodies:
            entry.body = None
        with self._lock:
            self.entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def select(
        self, service: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        rx = re.compile(path) if path else None
        with self._lock:
            items = list(self.entries)
        return [
            e
            for e in items
            if (service is None or e.service == service)
            and (method is None or e.method == method)
            and (rx is None or rx.search(e.path))
        ]

    def state_changing(self, service: str | None = None) -> list[JournalEntry]:
        """Write requests that succeeded (status < 400)."""
        return [e for e in self.select(service) if e.writes and e.status < 400]


class TokenBucket:
    """A token bucket on the emulator clock: ``rate`` tokens per ``per`` seconds."""

    def __init__(self, rate: float, per: float, clock: Clock):
        self.capacity = max(1.0, rate)
        self.fill = rate / per
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take one token; 0.0 when granted, else the seconds until one is available."""
        with self._lock:
            now = self.clock.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.fill)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.fill

    @property
    def remaining(self) -> int:
        return int(self.tokens)


@dataclass
class EmulatorOptions:
    """Behaviour switches of the emulated services. Items the references mark unverified [U]
    are options, so tests can run the kit against each plausible behaviour."""

    # ---- Graph
    premium: bool = True  # signInActivity and provisioning logs available (else 403)
    strict_advanced_queries: bool = True  # advanced operators need $count + ConsistencyLevel
    graph_default_page: int = 100  # users default page size
    graph_max_top: int = 999
    signin_max_top: int = 500  # cap when signInActivity is selected
    audit_default_page: int = 100  # [U] provisioning logs page size
    assignments_default_page: int = 100  # [U]
    reports_limit: tuple[int, float] = (5, 10.0)  # /auditLogs: 5 requests per 10 s
    provision_on_demand_limit: tuple[int, float] = (5, 10.0)
    replication_delay: float = 0.0  # seconds before a new assignment is visible to GET
    graph_permissions: frozenset[str] | None = None  # None = all granted
    log_retention_days: int = 30  # 7 on a free tenant
    delta_token_days: int = 7
    # ---- Zoom
    scim_prefixes: tuple[str, ...] = ("/scim2", "/scim")
    scim_default_count: int = 10  # [U]
    scim_max_count: int = 100  # [U]
    scim_content_type: str = "application/json"  # or application/scim+json
    scim_discovery: bool = False  # /ServiceProviderConfig, /Schemas, /ResourceTypes
    scim_email_filter: bool = False  # emails[type eq "work"].value eq ... and `and` [U]
    scim_error_status_int: bool = True  # Zoom sends integer status; RFC says string
    legacy_put_quirk: bool = False  # PUT ignores userName/displayName/loginType changes
    admin_deactivate_quirk: bool = False  # active=false refused for admin-role users
    rest_page_size_default: int = 30
    rest_page_size_cap: int = 300  # [U] 300 per the guide, 2000 per the spec
    page_token_ttl: float = 900.0  # next_page_token expiry, seconds
    zoom_plan: str = "business"  # rate limits by plan: free | pro | business
    rate_limits: bool = True
    rate_limit_headers: bool = True
    scim_one_rps: bool = False  # old docs: 1 request/second per SCIM endpoint
    token_ttl: int = 3600
    zoom_account_id: str = "emu-account"
    zoom_client_id: str = "emu-client"
    zoom_client_secret: str = "emu-client-secret"  # emulator-only credential, not a real secret
    zoom_static_token: str | None = None  # legacy "secret token" mode
    zoom_scopes: tuple[str, ...] = (
        "scim2",
        "user:read:admin",
        "user:write:admin",  # REST PATCH /users/{id}, PUT /users/{id}/status
        "report:read:admin",
        "account:read:admin",
    )
    scim_list_pending: bool = False  # [U] pending invites in the unfiltered SCIM list
    scim_strict_patch: bool = False  # PATCH accepts only `active` (Entra attribute paths -> 400)
    inactive_licensed_uses_seat: bool = True  # [U] deactivated Licensed users hold a seat
    # ---- Authority (Entra token endpoint over HTTPS, for azure-identity)
    entra_client_id: str = "emu-app"
    entra_client_secret: str = "emu-app-secret"  # emulator-only credential


@dataclass
class EmulatorState:
    """What both servers share: the tenant plus clock, faults, journal and options."""

    tenant: object  # zoomaudit.emulator.model.Tenant (kept untyped to avoid an import cycle)
    clock: Clock = field(default_factory=Clock)
    faults: FaultPlan = field(default_factory=FaultPlan)
    journal: Journal = field(default_factory=Journal)
    options: EmulatorOptions = field(default_factory=EmulatorOptions)
    #: access tokens issued by the Zoom OAuth endpoint / the authority: token -> expiry (clock)
    issued_tokens: dict[str, datetime] = field(default_factory=dict)
