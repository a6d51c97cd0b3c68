"""Zoom collector: SCIM users, REST users of every status, plans usage, managed domains and
(optionally) the sign-in activity report, as raw pages.

Place in the flow: ``pull`` calls :class:`ZoomSource`; pages go as received to the snapshot's
raw sink and their items to ``convert``. One S2S OAuth token (``auth.ZoomAuth``) serves all
requests. Requests are paced per rate-limit label of the account's plan (zoom.md §2.9: the
limits are per account and label, shared by all apps) and slow down on 429.

SCIM paging relies on nothing the server does not promise: the page size actually returned
(``Resources``) sets the stride, pages are fetched in parallel once ``totalResults`` is known,
short pages are topped up, and a listing that shifted while it was read (duplicates, missing
ids, a changed ``totalResults``) is read again; two identical reads that still disagree with
``totalResults`` are a count mismatch (reported by ``pull``). A listing without
``totalResults`` is read page by page to the first empty page, and its count is unverifiable.
REST listings whose users disagree with ``total_records`` are read again the same way; page
tokens that do not advance are an error. Tokens: see ``auth.ZoomAuth`` (short lifetimes, a
busy token endpoint).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import httpx
import orjson
import pandas as pd

from zoomaudit import convert
from zoomaudit.auth import ZoomAuth
from zoomaudit.config import Settings
from zoomaudit.errors import (
    AuthenticationError,
    PermissionDeniedError,
    SourceError,
    ThrottledError,
)
from zoomaudit.sources.http import (
    RateLimiter,
    RetryPolicy,
    Stats,
    error_text,
    fetch_json,
    read_only_client,
)

log = logging.getLogger("zoomaudit.sources.zoom")

#: requests per second by plan and label (zoom.md §2.9); "ri" = resource-intensive
RATE_LIMITS = {
    "free": {"light": 4.0, "medium": 2.0, "heavy": 1.0, "ri": 10 / 60},
    "pro": {"light": 30.0, "medium": 20.0, "heavy": 10.0, "ri": 10 / 60},
    "business": {"light": 80.0, "medium": 60.0, "heavy": 40.0, "ri": 20 / 60},
}
SSO_MESSAGE = "Account has not enabled Single Sign-On."


class ZoomSource:
    """Reads Zoom SCIM and REST data.

    Args:
        settings: URLs, credentials and ``zoom_plan`` (sets the starting request rates).
        policy, stats: retry policy and shared counters.
        sink: ``sink(name, page_bytes)`` receives every page as received.
        scim_count: the page size asked for (the server may return fewer).
        concurrency: SCIM pages in flight at once (the rate limiter still paces them).
        rate_factor: fraction of the published rate to aim for.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy,
        stats: Stats,
        sink: Callable[[str, bytes], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        scim_count: int = 100,
        rest_page_size: int = 300,
        concurrency: int = 16,
        rate_factor: float = 0.95,
        max_passes: int = 3,
    ):
        self.settings = settings
        self.policy = policy
        self.stats = stats
        self.sink = sink or (lambda name, content: None)
        self.scim_count = scim_count
        self.rest_page_size = rest_page_size
        self.concurrency = concurrency
        self.max_passes = max_passes
        # read-only: the only POST allowed is the S2S OAuth token request
        self.client = read_only_client(
            policy,
            transport=transport,
            max_connections=32,
            allow=(("POST", settings.zoom_oauth_url),),
        )
        self.auth = ZoomAuth(settings, self.client, policy=policy)
        limits = RATE_LIMITS[settings.zoom_plan.lower()]
        self.limiters = {
            label: RateLimiter(
                rate * rate_factor, burst=max(1.0, rate * rate_factor / 2), name=label
            )
            for label, rate in limits.items()
        }
        self.queries: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.scim_passes = 0
        #: True when every pass of the SCIM listing shifted while it was read
        self.scim_inconsistent = False

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ transport
    async def get(
        self,
        url: str,
        params: dict,
        *,
        label: str,
        optional: str | None = None,
        priority: int = 0,
        parse: Callable[[bytes], object] = orjson.loads,
    ) -> tuple[dict, bytes]:
        """GET with the shared token, pacing and retries: ``(JSON body, bytes)`` (the body is
        a ``convert.ArrowPage`` when ``parse`` made one)."""
        token_used: dict[str, str] = {}

        async def send() -> httpx.Response:
            token = await self.auth.token()
            token_used["t"] = token
            return await self.client.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )

        async def renew() -> bool:
            return await self.auth.renew(token_used.get("t"))

        body, response = await fetch_json(
            send,
            url=str(httpx.URL(url, params=params)),
            source="zoom",
            policy=self.policy,
            stats=self.stats,
            on_error=lambda r, u: self._error(r, u, optional),
            renew=None if self.auth.static else renew,
            limiter=self.limiters[label],
            is_expired=_is_expired,
            priority=priority,
            parse=parse,
        )
        if not isinstance(body, dict | convert.ArrowPage):
            raise SourceError(f"zoom sent a non-object JSON body for {url}")
        return body, response.content

    def _error(self, response: httpx.Response, url: str, optional: str | None) -> Exception:
        code, message = error_text(response)
        status = response.status_code
        path = url.split("?", 1)[0]
        if code == "4700" or "does not contain scopes" in message:
            return PermissionDeniedError(
                f"the Zoom app lacks scopes for {path} (code 4700: {message}); add them to the "
                "Server-to-Server OAuth app (scim2, user:read:admin, account:read:admin, "
                "report:read:admin) and pull again",
                permission=message,
                status=status,
                url=url,
            )
        if status == 401:
            return AuthenticationError(
                f"Zoom rejected the token for {path} ({message}): token invalid or expired; "
                "check ZOOMAUDIT_ZOOM_* credentials (or renew ZOOMAUDIT_ZOOM_TOKEN)",
                status=status,
                url=url,
            )
        if SSO_MESSAGE.lower().rstrip(".") in message.lower():
            return SourceError(
                f"Zoom SCIM refused: {SSO_MESSAGE} Enable SSO (and a vanity URL) on the Zoom "
                "account; SCIM requires it",
                status=status,
                url=url,
            )
        if status == 403:
            return PermissionDeniedError(
                f"Zoom denied {path} ({message}); the app's owner needs an admin role with "
                "user and account read permissions",
                status=status,
                url=url,
            )
        return SourceError(
            f"zoom answered HTTP {status} ({code}: {message}) for {url}", status=status, url=url
        )

    # ------------------------------------------------------------------ SCIM
    async def scim_users(self) -> tuple[pd.DataFrame, int | None]:
        """All SCIM users as a ``zoom_scim_users`` table, de-duplicated by id, and
        ``totalResults``; re-read if the listing shifted underneath.

        Pages are converted as they arrive (``convert.Chunks``): only ids and positions are
        kept as Python objects for the checks, which keeps a 1M-user pull in a few GB.
        """
        url = self.settings.zoom_scim_url.rstrip("/") + "/Users"
        self.queries.append(f"{url}?startIndex=1&count={self.scim_count}")
        last: tuple[pd.DataFrame, int | None] = (convert.zoom_scim_users([]), None)
        previous: tuple | None = None
        for _ in range(self.max_passes):
            self.scim_passes += 1
            users, ids, total, consistent = await self._scim_pass(url)
            last = (users, total)
            if consistent:
                return last
            # two identical reads: the listing is stable, its totalResults just disagrees
            # with what it lists (a count mismatch the caller reports as such)
            signature = (total, tuple(ids))
            if signature == previous:
                return last
            previous = signature
            log.warning("Zoom SCIM listing changed while it was read; reading it again")
        self.scim_inconsistent = True
        return last

    async def _scim_page(self, url: str, start: int) -> tuple[int, list[dict], int | None]:
        body, content = await self.get(
            url,
            {"startIndex": start, "count": self.scim_count},
            label="medium",
            priority=1,
            parse=convert.SCIM_USERS_PAGE,
        )
        self.sink("scim_users", content)
        resources = body.get("Resources") or []
        total = body.get("totalResults")
        return start, resources, int(total) if total is not None else None

    async def _scim_pass(self, url: str) -> tuple[pd.DataFrame, list[str], int | None, bool]:
        """One read of the whole listing: ``(users, their ids, totalResults, consistent)``.

        Every item is placed at its 1-based position. Gaps (short or missing pages) are read
        again from where they start; a position read twice with different ids, an id at two
        positions, or a changed ``totalResults`` means the listing shifted (not consistent).
        """
        started = time.monotonic()
        _, first, total = await self._scim_page(url, 1)
        elapsed = time.monotonic() - started
        totals = {total}
        if total is None:
            return await self._scim_sequential(url, first)
        stride = len(first)
        if stride == 0:
            return convert.zoom_scim_users([]), [], total, total == 0
        rows = convert.Chunks(convert.zoom_scim_users)
        ids: list[str] = []  # the id of every row read
        at: dict[int, int] = {}  # position -> row
        conflicts = 0

        def place(start: int, resources: list[dict]) -> None:
            nonlocal conflicts
            row = rows.add(resources)
            ids.extend(convert.ids_of(resources))
            for offset in range(len(resources)):
                pos = start + offset
                old = at.get(pos)
                if old is not None and ids[old] != ids[row + offset]:
                    conflicts += 1
                at[pos] = row + offset

        place(1, first)
        # enough pages in flight to use the label's rate at the latency seen on page 1
        # (more would only queue at the server), at most ``concurrency``
        rate = self.limiters["medium"].rate
        in_flight = max(4, min(self.concurrency, math.ceil(rate * elapsed * 3)))
        sem = asyncio.Semaphore(in_flight)

        async def one(s: int):
            async with sem:
                return await self._scim_page(url, s)

        pending = list(range(1 + stride, total + 1, stride))
        rounds = 0
        while pending and rounds < 20:
            rounds += 1
            results = await asyncio.gather(*(one(s) for s in pending))
            empty_starts = set()
            for s, resources, t in results:
                totals.add(t)
                place(s, resources)
                if not resources:
                    empty_starts.add(s)
                elif len(resources) < stride:
                    # the server pages by its own size (smaller than page 1's): stride by it,
                    # so gaps fill in one more round instead of a few items per round
                    stride = len(resources)
            pending = []
            pos = 1
            while pos <= total:  # the start of every gap, one stride apart within a gap
                if pos in at:
                    pos += 1
                    continue
                if pos in empty_starts:
                    break  # the server has nothing there: the listing changed under us
                pending.append(pos)
                end = pos
                while end <= total and end not in at:
                    end += 1
                pending.extend(range(pos + stride, end, stride))
                pos = end
        placed = [ids[row] for row in at.values()]
        totals.discard(None)
        consistent = (
            len(totals) <= 1
            and conflicts == 0
            and len(set(placed)) == len(placed) == total
            and all(p in at for p in range(1, total + 1))
        )
        by_id = {ids[row]: row for _, row in sorted(at.items())}
        return rows.take(by_id.values()), list(by_id), total, consistent

    async def _scim_sequential(
        self, url: str, first: list[dict]
    ) -> tuple[pd.DataFrame, list[str], int | None, bool]:
        """A listing without ``totalResults`` (which RFC 7644 requires, but an implementation
        may omit): read page after page until an empty one; nothing can be verified, so the
        total is None (the manifest records the count as unverified)."""
        rows = convert.Chunks(convert.zoom_scim_users)
        rows.add(first)
        ids = convert.ids_of(first)
        seen = set(ids)
        start = 1 + len(first)
        while first:
            _, first, _ = await self._scim_page(url, start)
            page_ids = convert.ids_of(first)
            new = set(page_ids) - seen
            if first and not new:
                raise SourceError(
                    f"Zoom SCIM sent only users it had already listed at startIndex={start} "
                    f"of {url} (and no totalResults); it seems to ignore startIndex"
                )
            seen |= new
            rows.add(first)
            ids.extend(page_ids)
            start += len(first)
        by_id = {key: row for row, key in enumerate(ids)}
        return rows.take(by_id.values()), list(by_id), None, len(by_id) == len(ids)

    # ------------------------------------------------------------------ REST
    async def rest_users(self, status: str) -> tuple[pd.DataFrame, int | None]:
        """``/users?status=...`` following next_page_token as a ``zoom_users`` table
        (de-duplicated by id, else email; pages converted as they arrive), and
        ``total_records``.

        A listing whose unique users disagree with ``total_records`` (users added or removed
        while it was read shift the pages) is read again, up to ``max_passes`` times.
        """
        url = self.settings.zoom_api_url.rstrip("/") + "/users"
        self.queries.append(
            str(httpx.URL(url, params={"status": status, "page_size": self.rest_page_size}))
        )
        result: tuple[pd.DataFrame, int | None] = (convert.zoom_users([]), None)
        for _ in range(self.max_passes):
            result = await self._rest_users_pass(url, status)
            users, expected = result
            if expected is None or expected == len(users):
                break
            log.warning(
                "Zoom /users?status=%s: %s received, %s announced; reading again",
                status,
                len(users),
                expected,
            )
        return result

    async def _rest_users_pass(self, url: str, status: str) -> tuple[pd.DataFrame, int | None]:
        params = {"status": status, "page_size": self.rest_page_size}
        rows = convert.Chunks(convert.zoom_users)
        expected = None
        first = True
        while True:
            body, content = await self.get(
                url, params, label="medium", parse=convert.REST_USERS_PAGE
            )
            self.sink(f"users_{status}", content)
            if first:
                total = body.get("total_records")
                expected = int(total) if total is not None else None
                first = False
            rows.add(body.get("users") or [])
            token = body.get("next_page_token")
            if not token:
                break
            if token == params.get("next_page_token"):
                raise SourceError(
                    f"Zoom sent the same next_page_token twice for {url} (status={status}); "
                    "the listing does not advance, pull again later"
                )
            params = {**params, "next_page_token": token}
        users = rows.frame()
        key = users["zoom_id"].fillna("email:" + users["email"].fillna("").str.lower())
        return rows.take(convert.last_by_key(key)), expected

    async def rest_user(self, ref: str) -> dict | None:
        """``GET /users/{id or email}`` (the id percent-encoded); None if Zoom has no such
        user (any more)."""
        url = self.settings.zoom_api_url.rstrip("/") + "/users/" + quote(str(ref), safe="@")
        self.queries.append(url)
        try:
            body, content = await self.get(url, {}, label="light")
        except AuthenticationError:
            raise
        except SourceError as exc:
            if exc.status != 404:
                raise
            return None
        self.sink("users_resolved", content)
        return body

    async def plans(self) -> dict | None:
        url = self.settings.zoom_api_url.rstrip("/") + "/accounts/me/plans/usage"
        self.queries.append(url)
        try:
            body, content = await self.get(url, {}, label="heavy")
        except (PermissionDeniedError, SourceError) as exc:
            if isinstance(exc, AuthenticationError) or exc.status not in (400, 401, 403, 404):
                raise
            self.unavailable["plans_usage"] = str(exc)
            return None
        self.sink("plans_usage", content)
        return body

    async def domains(self) -> list[dict]:
        url = self.settings.zoom_api_url.rstrip("/") + "/accounts/me/managed_domains"
        self.queries.append(url)
        try:
            body, content = await self.get(url, {}, label="light")
        except (PermissionDeniedError, SourceError) as exc:
            if isinstance(exc, AuthenticationError) or exc.status not in (400, 401, 403, 404):
                raise
            self.unavailable["managed_domains"] = str(exc)
            return []
        self.sink("managed_domains", content)
        return list(body.get("domains") or [])

    async def activities(
        self, since_days: int, *, now: datetime | None = None
    ) -> pd.DataFrame | None:
        """Sign-in/out activity over the last ``since_days`` (max 6 months), in windows of at
        most 28 days, as a ``zoom_activities`` table; None (and a reason in ``unavailable``)
        when the account may not read it."""
        url = self.settings.zoom_api_url.rstrip("/") + "/report/activities"
        today = (now or datetime.now(UTC)).astimezone(UTC).date()
        start = max(today - timedelta(days=since_days), today - timedelta(days=180))
        out = convert.Chunks(convert.zoom_activities)
        for lo, hi in _windows(start, today, 28):
            params = {"from": lo.isoformat(), "to": hi.isoformat(), "page_size": 300}
            self.queries.append(str(httpx.URL(url, params=params)))
            while True:
                try:
                    body, content = await self.get(url, params, label="heavy")
                except ThrottledError as exc:
                    # the report is optional: a (daily) limit that asks to wait longer than
                    # the retry policy allows leaves it out, recorded, instead of failing
                    # the whole pull (HEAVY shares a daily cap with other apps)
                    self.unavailable["activities"] = (
                        f"report/activities rate-limited (daily limit?): {exc}"
                    )
                    return None
                except (PermissionDeniedError, SourceError) as exc:
                    if isinstance(exc, AuthenticationError) or exc.status not in (
                        400,
                        401,
                        403,
                        404,
                    ):
                        raise
                    self.unavailable["activities"] = f"report/activities not permitted: {exc}"
                    return None
                self.sink("activities", content)
                out.add(body.get("activity_logs") or [])
                token = body.get("next_page_token")
                if not token:
                    break
                if token == params.get("next_page_token"):
                    raise SourceError(
                        f"Zoom sent the same next_page_token twice for {url} "
                        f"({lo}..{hi}); the report does not advance, pull again later"
                    )
                params = {**params, "next_page_token": token}
        return out.frame()


def _windows(start: date, end: date, days: int):
    lo = start
    while lo <= end:
        hi = min(end, lo + timedelta(days=days - 1))
        yield lo, hi
        lo = hi + timedelta(days=1)


def _is_expired(response: httpx.Response) -> bool:
    code, message = error_text(response)
    return "expired" in (message or "").lower()
