"""Rate limits and generic faults of the Zoom emulator (zoom.md §2.9, §5 item 14).

Used by ``zoom_app`` before a route runs: :class:`RateLimiter` keeps per-account token buckets
per label (Light/Medium/Heavy) on the emulator clock, with the plan's daily caps;
:func:`fault_response` turns an injected fault (``state.faults``) into Zoom-shaped answers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from starlette.responses import Response

from .core import EmulatorState, TokenBucket
from .zoom_store import rest_error

#: requests per second per label and plan (zoom.md §2.9); Business+ covers Education/Enterprise
QPS = {
    "free": {"LIGHT": 4, "MEDIUM": 2, "HEAVY": 1},
    "pro": {"LIGHT": 30, "MEDIUM": 20, "HEAVY": 10},
    "business": {"LIGHT": 80, "MEDIUM": 60, "HEAVY": 40},
}
#: daily caps: per label on Free; Heavy (shared with Resource-intensive) on paid plans
DAILY = {
    "free": {"LIGHT": 6000, "MEDIUM": 2000, "HEAVY": 1000},
    "pro": {"HEAVY": 30000},
    "business": {"HEAVY": 60000},
}
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header "
    "for details on when you can make another request."
)


def _plan(options) -> str:
    plan = str(options.zoom_plan).lower()
    return plan if plan in QPS else "business"


class RateLimiter:
    """Per-account token buckets per label, plus daily caps, on the emulator clock."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.buckets: dict[tuple, TokenBucket] = {}
        #: (label, UTC date) -> requests counted today
        self.daily: dict[tuple, int] = {}

    def check(self, label: str, endpoint: str | None) -> Response | None:
        options = self.state.options
        if not options.rate_limits:
            return None
        plan = _plan(options)
        clock = self.state.clock
        cap = DAILY[plan].get(label)
        if cap is not None:
            today = clock.now().astimezone(UTC).date()
            used = self.daily.get((label, today), 0)
            if used >= cap:
                midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
                reset = (midnight + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                return self._limited(label, "Daily-limit", cap, reset, DAILY_MESSAGE)
        if endpoint is not None and options.scim_one_rps:
            key, rate = ("scim", endpoint), 1  # old docs: 1 request/second per SCIM endpoint
        else:
            key, rate = ("label", label), QPS[plan][label]
        bucket = self.buckets.get(key)
        if bucket is None or bucket.capacity != max(1.0, rate):
            bucket = self.buckets[key] = TokenBucket(rate, 1.0, clock)
        wait = bucket.take()
        if wait > 0:
            return self._limited(label, "QPS", rate, str(max(1, math.ceil(wait))), QPS_MESSAGE)
        if cap is not None:
            today = clock.now().astimezone(UTC).date()
            self.daily[(label, today)] = self.daily.get((label, today), 0) + 1
        return None

    def _limited(self, label, kind, limit, retry_after, message) -> Response:
        response = rest_error(429, 429, message)
        rate_headers(
            self.state.options,
            response,
            {
                "X-RateLimit-Category": label.title(),
                "X-RateLimit-Type": kind,
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "Retry-After": retry_after,
            },
        )
        return response


def rate_headers(options, response: Response, headers: dict[str, str]) -> None:
    """Add the headers ``options.rate_limit_headers`` allows (True, False or a set of names)."""
    allowed = options.rate_limit_headers
    if allowed is False:
        return
    names = None if allowed is True else {str(n).lower() for n in allowed}
    for name, value in headers.items():
        if names is None or name.lower() in names:
            response.headers[name] = value


# ---- faults --------------------------------------------------------------------------------
def fault_response(clock, kind: str, value: float | None) -> Response | None:
    """The answer of a generic injected fault (None for \"truncated\", applied after the route)."""
    if kind == "429":
        response = rest_error(429, 429, QPS_MESSAGE)
        response.headers["Retry-After"] = str(int(value or 1))
        response.headers["X-RateLimit-Type"] = "QPS"
        return response
    if kind == "429-none":
        return rest_error(429, 429, QPS_MESSAGE)
    if kind == "429-date":
        when = clock.now() + timedelta(seconds=value or 1)
        response = rest_error(429, 429, QPS_MESSAGE)
        response.headers["Retry-After"] = format_datetime(when.astimezone(UTC), usegmt=True)
        return response
    if kind in ("500", "502", "503", "504"):
        response = rest_error(int(kind), int(kind), "Internal error, please try again later.")
        if kind == "503":
            response.headers["Retry-After"] = "1"
        return response
    if kind == "expire-token":
        return rest_error(401, 124, "Access token is expired.")
    if kind == "html":
        html = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
        return Response(html, status_code=502, media_type="text/html")
    if kind == "malformed":
        return Response(b"<<not json>> upstream hiccup", status_code=200, media_type="text/plain")
    return None  # "truncated" is applied after the route ran
