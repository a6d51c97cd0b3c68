"""Retry, backoff, rate limiting and response checks shared by the Graph and Zoom collectors.

Place in the flow: ``sources.graph`` and ``sources.zoom`` send requests through
:func:`fetch_json`, which applies one :class:`RetryPolicy` to both services: ``Retry-After``
(seconds, HTTP date or ISO date) is honoured, jittered exponential backoff is used where it is
absent, 5xx, HTML proxy pages and malformed/truncated JSON are retried a bounded number of
times, and an expired token is renewed once. When the budget is spent the caller gets one
clear :class:`~zoomaudit.errors.ThrottledError`, :class:`~zoomaudit.errors.ServiceError` or
:class:`~zoomaudit.errors.MalformedResponseError` naming the URL without query secrets.

:class:`RateLimiter` is an asyncio token bucket that starts at a published rate and adapts
downwards on 429 (and slowly back up). :class:`Stats` counts requests and retries for the
snapshot manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
import orjson

from zoomaudit.errors import (
    MalformedResponseError,
    ServiceError,
    SourceError,
    ThrottledError,
    ZoomAuditError,
)
from zoomaudit.secrets import scrub
from zoomaudit.sources.transport import cheaper_idle_checks

log = logging.getLogger("zoomaudit.sources")

# httpcore asks ``import sniffio`` on every async request; without sniffio installed (anyio 4
# no longer needs it) each failed import walks sys.path: ~0.5 ms CPU per request. A ``None``
# entry makes the failure immediate (documented import-system behaviour); httpcore then
# assumes asyncio, which is what we run.
try:
    import sniffio  # noqa: F401
except ImportError:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SECRET_KEYS = ("token", "secret", "code", "password", "key", "signature", "sig", "assertion")


@dataclass
class RetryPolicy:
    """How hard to try. Tests shrink ``max_delay``/``base_delay`` so nothing waits long.

    Attributes:
        max_attempts: attempts per request, including the first.
        base_delay: first backoff step in seconds when the server gives no Retry-After.
        max_delay: cap on a backoff the client chooses itself (no Retry-After given).
        max_retry_after: a Retry-After further away than this is not waited for: the request
            fails at once with ThrottledError (daily limits answer with tomorrow's date).
        malformed_attempts: attempts for 200 responses whose body is not the promised JSON.
        timeout: per-request timeout in seconds.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    malformed_attempts: int = 3
    timeout: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            # The server's Retry-After is honoured as given: Graph documents that retrying
            # earlier only prolongs throttling. Waits longer than max_retry_after never get
            # here (the request fails at once with ThrottledError).
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay = self.base_delay * (2 ** (attempt - 1))
        if self.jitter:
            delay = delay * (0.5 + random.random())
        return min(delay, self.max_delay)


def fast_policy() -> RetryPolicy:
    """A policy for tests: tiny delays, honours Retry-After up to 1 s."""
    return RetryPolicy(base_delay=0.01, max_delay=1.0, max_retry_after=60.0, timeout=30.0)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, an HTTP date or an ISO date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    now = now or datetime.now(UTC)
    when: datetime | None = None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def safe_url(url: str) -> str:
    """The URL with secret-looking query values masked and registered secrets scrubbed."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return scrub(str(url))
    if parts.query:
        pairs = [
            (
                k,
                "***"
                if any(s in k.lower() for s in _SECRET_KEYS)
                and "skiptoken" not in k.lower()
                and "page_token" not in k.lower()
                else v,
            )
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(pairs, quote_via=quote, safe="$,()'/:@"))
    return scrub(urlunsplit(parts))


class RateLimiter:
    """An asyncio token bucket: ``rate`` requests per second, ``burst`` at most at once.

    Waiters are served by priority, then in arrival order: a sequential chain (REST pages
    that need the previous page's token, priority 0) does not queue behind pages fetched in
    parallel (priority 1). ``penalize`` (on a 429) lowers the rate by ``factor``; every
    ``recover_after`` granted requests the rate climbs 5 % back towards the published
    ``ceiling``.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        name: str = "",
        floor: float = 0.05,
        recover_after: int = 200,
    ):
        self.ceiling = float(rate)
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else rate))
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.name = name
        self.floor = floor
        self.recover_after = recover_after
        self._granted = 0
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, priority: int = 1) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (priority, self._seq, future))
        self._dispatch()
        await future

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def _dispatch(self) -> None:
        # one timer at most: acquire() dispatches too, and must not arm a second one (every
        # timer re-arms itself while waiters remain, so extra ones multiply; measured: 7 % of
        # a 300k pull's CPU in this method and asyncio's timer heap)
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        while self._waiters and self.tokens >= 1.0:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # cancelled while waiting
                continue
            self.tokens -= 1.0
            future.set_result(None)
            self._granted += 1
            if self._granted % self.recover_after == 0 and self.rate < self.ceiling:
                self.rate = min(self.ceiling, self.rate * 1.05)
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        if self._waiters and self._timer is None:
            wait = (1.0 - self.tokens) / self.rate
            self._timer = asyncio.get_running_loop().call_later(wait, self._on_timer)

    def penalize(self, factor: float = 0.7) -> None:
        """Slow down after a 429 (and drop the banked burst)."""
        self.rate = max(self.floor, self.rate * factor)
        self.tokens = min(self.tokens, 0.0)


_gc_lock = threading.Lock()
_gc_state: dict = {"depth": 0, "saved": None}


@contextlib.contextmanager
def relaxed_gc(threshold0: int = 100_000, threshold1: int = 50, threshold2: int = 100):
    """Run the block with fewer cyclic-GC passes (the previous thresholds come back after).

    A pull allocates millions of dicts and lists (parsed pages) that stay alive until their
    listing is complete; with the default thresholds (700, 10, 10) CPython runs thousands of
    young collections and a dozen full ones that walk the whole heap: measured 3.9-4.1 s of
    9.5-10.2 s pull CPU at 100k users, 0.5 s with these thresholds. Cycles are still
    collected (every ``threshold0`` net allocations), so memory barely changes. Re-entrant
    and safe with pulls in several threads (the outermost block restores).
    """
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["saved"] = gc.get_threshold()
            gc.set_threshold(threshold0, threshold1, threshold2)
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0:
                gc.set_threshold(*_gc_state["saved"])


# ---------------------------------------------------------------------------- read-only guard
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteRefusedError(ZoomAuditError):
    """A kit HTTP client was asked to send a state-changing request it may not send."""


def _endpoint(url: httpx.URL | str) -> tuple[str, str, int | None, str]:
    url = httpx.URL(url)
    return url.scheme, url.host, url.port, url.path.rstrip("/")


class ReadOnlyGuard:
    """An httpx ``request`` event hook that refuses every non-GET request.

    Hooks run for every request the client sends (redirects, env proxies and transports
    swapped in by middleware included), before anything leaves the process.

    Args:
        allow_writes: let every method through. Only ``zoomaudit.apply`` enables this, and only
            by handing the collectors its own route-checking ``WriteGuard`` transport (see
            :func:`writes_delegated`).
        allow: ``(method, url)`` exceptions, matched on scheme, host, port and path (query
            ignored), e.g. Zoom's OAuth token endpoint (a POST).
        batch_reads: allow ``POST <base>/$batch`` when every request inside it is a GET
            (Graph JSON batching of reads).
    """

    def __init__(
        self,
        *,
        allow_writes: bool = False,
        allow: tuple[tuple[str, str], ...] = (),
        batch_reads: str | None = None,
    ):
        self.allow_writes = allow_writes
        self.allow = frozenset((m.upper(), _endpoint(u)) for m, u in allow)
        self.batch = _endpoint(batch_reads.rstrip("/") + "/$batch") if batch_reads else None

    async def __call__(self, request: httpx.Request) -> None:
        method = request.method.upper()
        if method in READ_METHODS or self.allow_writes:
            return
        where = _endpoint(request.url)
        if (method, where) in self.allow:
            return
        if method == "POST" and where == self.batch and await _batch_is_reads(request):
            return
        raise WriteRefusedError(
            f"refused {method} {safe_url(str(request.url))}: the kit's collector clients are "
            "read-only (only rollout apply/rollback with --apply may write)"
        )


async def _batch_is_reads(request: httpx.Request) -> bool:
    try:
        body = orjson.loads(await request.aread())
        requests = body["requests"]
        return bool(requests) and all(str(r.get("method", "")).upper() == "GET" for r in requests)
    except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
        return False


def writes_delegated(transport: httpx.AsyncBaseTransport | None) -> bool:
    """True when ``transport`` is ``zoomaudit.apply.WriteGuard`` (the only place that may
    write: it checks the method and route itself and refuses unless built with --apply)."""
    if transport is None:
        return False
    from zoomaudit.apply import WriteGuard

    return isinstance(transport, WriteGuard)


def read_only_client(
    policy: RetryPolicy,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: object = True,
    max_connections: int = 20,
    allow_writes: bool = False,
    allow: tuple[tuple[str, str], ...] = (),
    batch_reads: str | None = None,
) -> httpx.AsyncClient:
    """The kit's ``httpx.AsyncClient``: timeouts from ``policy``, keep-alive pool of
    ``max_connections`` and a :class:`ReadOnlyGuard` (writes refused unless ``allow_writes``
    or listed in ``allow``)."""
    guard = ReadOnlyGuard(allow_writes=allow_writes, allow=allow, batch_reads=batch_reads)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(policy.timeout, connect=min(30.0, policy.timeout)),
        verify=verify,
        transport=transport,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        event_hooks={"request": [guard]},
    )
    return client if transport is not None else cheaper_idle_checks(client)


@dataclass
class Stats:
    """Request and retry counters per source, for the manifest."""

    requests: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    renewals: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "requests": dict(self.requests),
            "retries": dict(self.retries),
            "retry_reasons": dict(self.reasons),
            "token_renewals": dict(self.renewals),
        }


class _Retry(Exception):
    """Internal: this attempt failed in a retryable way."""

    def __init__(
        self, reason: str, retry_after: float | None = None, error: Exception | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.error = error


def looks_html(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    if "html" in ctype:
        return True
    head = response.content[:64].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html"))


def parse_json(
    response: httpx.Response, parse: Callable[[bytes], object] = orjson.loads
) -> object:
    """The body as JSON (by ``parse``), or raise ``ValueError``."""
    content = response.content
    if not content:
        raise ValueError("empty body")
    return parse(content)


def error_text(response: httpx.Response, limit: int = 300) -> tuple[str | None, str]:
    """(code, message) from a Graph ``{"error":{code,message}}``, Zoom ``{code,message}`` or
    SCIM ``{detail,status}`` error body; falls back to the start of the body."""
    try:
        body = orjson.loads(response.content)
    except (orjson.JSONDecodeError, TypeError):
        text = response.text[:limit] if not looks_html(response) else "HTML page"
        return None, scrub(text.strip())
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            err = body["error"]
            return str(err.get("code") or "") or None, scrub(str(err.get("message") or ""))
        if "detail" in body:
            return str(body.get("status") or "") or None, scrub(str(body.get("detail") or ""))
        if "message" in body or "code" in body:
            return str(body.get("code") or "") or None, scrub(str(body.get("message") or ""))
    return None, scrub(str(body)[:limit])


async def fetch_json(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    url: str,
    source: str,
    policy: RetryPolicy,
    stats: Stats,
    on_error: Callable[[httpx.Response, str], Exception | None],
    renew: Callable[[], Awaitable[bool]] | None = None,
    limiter: RateLimiter | None = None,
    is_expired: Callable[[httpx.Response], bool] | None = None,
    priority: int = 1,
    parse: Callable[[bytes], object] = orjson.loads,
) -> tuple[object, httpx.Response]:
    """Send with retries; return ``(parsed JSON, response)`` of the first good answer.

    Args:
        send: makes one attempt (a fresh request each call; auth is applied inside).
        url: the URL for messages (made safe here).
        source: ``graph`` or ``zoom`` (for counters).
        on_error: maps a non-retryable error response to the exception to raise (or None to
            fall back to a generic SourceError).
        renew: renews the token after a 401 "expired"; called at most once per request.
        limiter: taken before every attempt (``priority`` 0 first); penalised on 429.
        is_expired: says whether a 401 means "token expired" (renew and retry).
        parse: body bytes -> JSON value, raising ``ValueError`` when it is not JSON (bulk
            pages use ``convert.page_parser``, straight into Arrow).
    """
    shown = safe_url(url)
    attempt = 0
    malformed = 0
    renewed = False
    last: _Retry | None = None
    while True:
        attempt += 1
        if limiter is not None:
            await limiter.acquire(priority)
        stats.requests[source] += 1
        try:
            response = await send()
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            last = _Retry(f"network error ({type(exc).__name__})")
        else:
            status = response.status_code
            if (
                status == 401
                and renew is not None
                and not renewed
                and (is_expired is None or is_expired(response))
            ):
                renewed = True
                stats.renewals[source] += 1
                if await renew():
                    attempt -= 1  # a renewal is not a failed attempt
                    continue
            if status in RETRY_STATUSES or (status >= 500):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if status == 429 and limiter is not None:
                    limiter.penalize()
                if retry_after is not None and retry_after > policy.max_retry_after:
                    raise ThrottledError(
                        f"{source} throttled {shown} and asks to wait {retry_after:.0f} s "
                        "(a daily limit?); try again later",
                        status=status,
                        url=shown,
                    )
                kind = "throttled (429)" if status == 429 else f"HTTP {status}"
                if looks_html(response):
                    kind += " HTML page"
                last = _Retry(kind, retry_after)
            elif 200 <= status < 300:
                if looks_html(response):
                    last = _Retry("HTML page instead of JSON")
                    malformed += 1
                else:
                    try:
                        return parse_json(response, parse), response
                    except (ValueError, orjson.JSONDecodeError):
                        malformed += 1
                        last = _Retry("malformed JSON")
                    if malformed >= policy.malformed_attempts:
                        raise MalformedResponseError(
                            f"{source} sent a body that is not valid JSON for {shown} "
                            f"{malformed} times; the service or a proxy is damaging responses",
                            status=status,
                            url=shown,
                        )
            elif status >= 400 and looks_html(response) and status not in (401, 403, 404):
                last = _Retry(f"HTTP {status} HTML page")
            else:
                err = on_error(response, shown)
                if err is None:
                    code, message = error_text(response)
                    err = SourceError(
                        f"{source} answered HTTP {status} {code or ''} for {shown}: {message}",
                        status=status,
                        url=shown,
                    )
                raise err
        if attempt >= policy.max_attempts:
            reason = last.reason if last else "unknown"
            if "429" in reason:
                raise ThrottledError(
                    f"{source} kept throttling {shown} ({attempt} attempts); wait a while or "
                    "lower the request rate, then pull again",
                    status=429,
                    url=shown,
                )
            if "JSON" in reason:
                raise MalformedResponseError(
                    f"{source} sent an invalid body for {shown} {attempt} times ({reason})",
                    url=shown,
                )
            raise ServiceError(
                f"{source} kept failing for {shown}: {reason} after {attempt} attempts; "
                "the service is unhealthy, try again later",
                url=shown,
            )
        stats.retries[source] += 1
        stats.reasons[last.reason if last else "?"] += 1
        delay = policy.backoff(attempt, last.retry_after if last else None)
        log.debug("retrying %s in %.2fs: %s", shown, delay, last.reason if last else "")
        await policy.sleep(delay)
