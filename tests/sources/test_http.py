"""The shared retry layer: Retry-After parsing, backoff, bounded retries, clear errors."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from zoomaudit.errors import MalformedResponseError, ServiceError, ThrottledError
from zoomaudit.secrets import register
from zoomaudit.sources.http import (
    RateLimiter,
    RetryPolicy,
    Stats,
    fetch_json,
    parse_retry_after,
    safe_url,
)


def test_retry_after_seconds_http_date_and_iso():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    http_date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(http_date, now) == pytest.approx(30.0)
    assert parse_retry_after("2026-01-01T12:01:00Z", now) == pytest.approx(60.0)
    assert parse_retry_after("2025-01-01T00:00:00Z", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None) is None


def test_backoff_is_capped_and_honours_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, max_retry_after=300.0, jitter=False)
    assert [policy.backoff(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.backoff(1, 3.0) == 3.0
    # the server's Retry-After wins over our own cap: retrying earlier prolongs throttling
    assert policy.backoff(1, 60.0) == 60.0


def test_safe_url_masks_secret_query_values_but_keeps_paging_tokens():
    register("planted-secret-value-123")
    url = safe_url(
        "https://x/y?client_secret=abc&access_token=def&$skiptoken=KEEP&next_page_token=ALSO"
        "&note=planted-secret-value-123"
    )
    assert "abc" not in url and "def" not in url and "planted-secret" not in url
    assert "KEEP" in url and "ALSO" in url


class Script:
    """Serves the given responses in order (the last one repeats)."""

    def __init__(self, *responses: httpx.Response):
        self.responses = list(responses)
        self.calls = 0
        self.waits: list[float] = []

    async def send(self) -> httpx.Response:
        self.calls += 1
        return self.responses[min(self.calls, len(self.responses)) - 1]

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(script: Script, policy: RetryPolicy | None = None, **kw):
    policy = policy or RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=2.0)
    policy.sleep = script.sleep
    return asyncio.run(
        fetch_json(
            script.send,
            url="http://127.0.0.1/v1.0/users?$top=5",
            source="graph",
            policy=policy,
            stats=kw.pop("stats", Stats()),
            on_error=lambda r, u: None,
            **kw,
        )
    )


OK = httpx.Response(200, json={"value": [1]})


def test_429_then_success_waits_retry_after():
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}), OK)
    stats = Stats()
    body, _ = run(script, stats=stats)
    assert body == {"value": [1]}
    assert script.waits == [1.0]
    assert stats.retries["graph"] == 1 and stats.requests["graph"] == 2


def test_persistent_429_raises_throttled_with_url():
    script = Script(httpx.Response(429))
    with pytest.raises(ThrottledError, match="127.0.0.1/v1.0/users"):
        run(script)
    assert script.calls == 4


def test_far_retry_after_fails_fast():
    tomorrow = (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = Script(httpx.Response(429, headers={"Retry-After": tomorrow}))
    with pytest.raises(ThrottledError, match="daily limit"):
        run(script)
    assert script.calls == 1


def test_html_proxy_page_and_5xx_are_retried_then_service_error():
    html = httpx.Response(
        502, text="<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}
    )
    body, _ = run(Script(html, httpx.Response(503), OK))
    assert body == {"value": [1]}
    with pytest.raises(ServiceError, match="kept failing"):
        run(Script(html))


def test_malformed_and_truncated_json_retried_then_malformed_error():
    bad = httpx.Response(
        200, content=b'{"value": [1, 2', headers={"content-type": "application/json"}
    )
    body, _ = run(Script(bad, OK))
    assert body == {"value": [1]}
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        run(Script(bad))


def test_expired_token_renewed_once():
    renewals = []

    async def renew():
        renewals.append(1)
        return True

    expired = httpx.Response(401, json={"code": 124, "message": "Access token is expired."})
    body, _ = run(Script(expired, OK), renew=renew)
    assert body == {"value": [1]} and renewals == [1]
    # a second 401 after the renewal is not retried again
    script = Script(expired)
    with pytest.raises(Exception, match="401"):
        run(script, renew=renew)
    assert script.calls == 2


def test_rate_limiter_penalize_lowers_rate():
    limiter = RateLimiter(10.0)
    limiter.penalize()
    assert limiter.rate == pytest.approx(7.0)
    for _ in range(50):
        limiter.penalize()
    assert limiter.rate == pytest.approx(limiter.floor)


def test_rate_limiter_keeps_one_timer_however_many_wait():
    """Pages queued behind the limiter must not each arm a timer that re-arms itself: that
    multiplied timers and cost ~7 % of a large pull's CPU."""

    async def go():
        loop = asyncio.get_running_loop()
        armed = 0
        original = loop.call_later

        def counting(delay, callback, *args, **kwargs):
            nonlocal armed
            armed += 1
            return original(delay, callback, *args, **kwargs)

        loop.call_later = counting
        limiter = RateLimiter(400.0, burst=1)
        started = time.monotonic()
        await asyncio.gather(*(limiter.acquire() for _ in range(40)))
        return armed, time.monotonic() - started

    armed, elapsed = asyncio.run(go())
    assert armed <= 45  # about one per granted request, not one per waiter per grant
    assert elapsed >= 39 / 400 * 0.9  # and the pace is still the rate


def test_rate_limiter_serves_the_sequential_chain_first():
    async def go():
        limiter = RateLimiter(500.0, burst=1)
        await limiter.acquire()  # the burst is spent: everyone else waits for tokens
        order: list[str] = []

        async def take(tag: str, priority: int):
            await limiter.acquire(priority)
            order.append(tag)

        tasks = [asyncio.ensure_future(take(f"page{i}", 1)) for i in range(4)]
        await asyncio.sleep(0)
        tasks.append(asyncio.ensure_future(take("chain", 0)))
        await asyncio.gather(*tasks)
        return order

    order = asyncio.run(go())
    assert order[0] == "chain" and sorted(order[1:]) == [f"page{i}" for i in range(4)]
