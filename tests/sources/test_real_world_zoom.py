"""Zoom behaviours the real service (or an independent re-implementation) may show and our
emulator does not: short token lifetimes, odd token answers, SCIM lists without totalResults
or with shrinking pages, daily limits on optional reports, page tokens that do not advance.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from zoomaudit.errors import AuthenticationError, SourceError
from zoomaudit.sources.http import Stats, fast_policy
from zoomaudit.sources.zoom import ZoomSource

from .fakes import Fake
from .test_collectors_unit import run, settings
from .test_real_world_graph import Variant


def zoom(fake: Fake, policy=None, **kwargs) -> ZoomSource:
    return ZoomSource(
        settings(),
        policy=policy or fast_policy(),
        stats=Stats(),
        transport=fake.transport(),
        **kwargs,
    )


def test_token_lifetime_under_a_minute_is_not_refetched_for_every_request():
    def short(request, body):
        if request.url.path == "/oauth/token":
            body["expires_in"] = 30
        return body

    fake = Variant(n_zoom=120, mutate=short)
    users, expected = run(zoom(fake, rest_page_size=10), lambda z: z.rest_users("active"))
    pages = [r for r in fake.requests if r.url.path == "/v2/users"]
    assert len(users) == expected and len(pages) >= 5
    assert fake.tokens_issued == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"error": "invalid_request", "reason": "bad account"}),
        httpx.Response(200, json={"access_token": "t", "expires_in": None}),
        httpx.Response(200, text="<html>captive portal</html>"),
    ],
    ids=["no-access-token", "null-expires-in", "html"],
)
def test_odd_token_endpoint_answers_are_one_clear_line_or_work(answer):
    fake = Fake(n_zoom=3)

    def oauth(request):
        fake.valid_tokens.add("t")
        return answer

    fake.faults.append(("/oauth/token", oauth))
    z = zoom(fake)
    if answer.headers.get("content-type", "").startswith("application/json") and (
        b"access_token" in answer.content
    ):
        users, _ = run(z, lambda z: z.rest_users("active"))  # null expires_in: default 1 h
        assert len(users) == 2
        return
    with pytest.raises(AuthenticationError, match="token endpoint"):
        run(z, lambda z: z.rest_users("active"))


def test_scim_list_without_total_results_reads_to_the_end_and_says_unverified():
    def no_total(request, body):
        if request.url.path.endswith("/Users"):
            body.pop("totalResults", None)
            body.pop("itemsPerPage", None)
        return body

    fake = Variant(n_zoom=250, scim_cap=100, mutate=no_total)
    z = zoom(fake)
    users, total = run(z, lambda z: z.scim_users())
    assert users["zoom_id"].nunique() == len(users) == 250
    assert total is None  # nothing announced: the manifest records it as unverified
    assert not z.scim_inconsistent


def test_scim_pages_smaller_after_the_first_do_not_look_like_a_changing_listing():
    """The server sends 100 on page 1 and then only 4 per page (its own page size)."""
    fake = Fake(n_zoom=300)
    base = fake.scim

    def shrinking(request):
        response = base(request)
        if request.url.params["startIndex"] != "1":
            body = json.loads(response.content)
            body["Resources"] = body["Resources"][:4]
            body["itemsPerPage"] = len(body["Resources"])
            return Fake.page(body)
        return response

    fake.scim = shrinking
    z = zoom(fake)
    users, total = run(z, lambda z: z.scim_users())
    assert total == 300 and users["zoom_id"].nunique() == len(users) == 300
    assert z.scim_passes == 1 and not z.scim_inconsistent


def test_daily_limit_on_the_optional_activity_report_is_recorded_without_waiting():
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    fake = Fake(n_zoom=3)
    fake.faults.append(
        (
            "/report/activities",
            lambda r: httpx.Response(
                429,
                json={
                    "code": 429,
                    "message": "You have reached the maximum daily rate limit for this API.",
                },
                headers={
                    "Retry-After": tomorrow.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "X-RateLimit-Type": "Daily-limit",
                },
            ),
        )
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = fast_policy()
    policy.sleep = sleep
    z = zoom(fake, policy=policy)
    assert run(z, lambda z: z.activities(30)) is None
    assert "daily" in z.unavailable["activities"].lower() and waits == []


def test_rest_page_token_that_does_not_advance_is_an_error_not_a_loop():
    fake = Fake(n_zoom=10)

    def stuck(request):
        body = {"total_records": 50, "users": [{"id": "x", "email": "x@y"}]}
        body["next_page_token"] = "same"
        return Fake.page(body)

    fake.rest = lambda request, path: stuck(request)

    async def go(z):
        return await asyncio.wait_for(z.rest_users("active"), 5)

    with pytest.raises(SourceError, match="next_page_token"):
        run(zoom(fake), go)


def test_rest_listing_that_shifted_while_read_is_read_again():
    """A user deleted between two pages shifts the listing: one user is missed and the
    first read disagrees with total_records; a second read is consistent."""
    fake = Fake(n_zoom=120)
    base = fake.rest
    state = {"reads": 0}

    def shifting(request, path):
        response = base(request, path)
        if path == "/users" and request.url.params.get("status") == "active":
            if not request.url.params.get("next_page_token"):
                state["reads"] += 1
            elif state["reads"] == 1:
                body = json.loads(response.content)
                body["users"] = body["users"][1:]  # the shifted page skips one user
                return Fake.page(body)
        return response

    fake.rest = shifting
    users, expected = run(zoom(fake, rest_page_size=30), lambda z: z.rest_users("active"))
    assert state["reads"] == 2 and len(users) == expected


def test_activity_report_page_token_that_does_not_advance_is_an_error_not_a_loop():
    fake = Fake(n_zoom=3)

    def stuck(request, path):
        return Fake.page({"activity_logs": [{"email": "a@b"}], "next_page_token": "same"})

    fake.rest = stuck

    async def go(z):
        return await asyncio.wait_for(z.activities(3), 5)

    with pytest.raises(SourceError, match="next_page_token"):
        run(zoom(fake), go)


def test_token_endpoint_busy_is_retried_and_its_outage_is_not_blamed_on_credentials():
    from zoomaudit.errors import ServiceError

    fake = Fake(n_zoom=3)
    busy = httpx.Response(503, text="Service Unavailable", headers={"Retry-After": "1"})
    fake.faults.append(("/oauth/token", lambda r: busy))
    fake.faults.append(("/oauth/token", lambda r: httpx.Response(429, json={"code": 429})))
    users, _ = run(zoom(fake), lambda z: z.rest_users("active"))
    assert len(users) == 2 and fake.tokens_issued == 1

    down = Fake(n_zoom=3)
    for _ in range(10):
        down.faults.append(("/oauth/token", lambda r: httpx.Response(502, text="Bad gateway")))
    with pytest.raises(ServiceError, match="token endpoint") as info:
        run(zoom(down), lambda z: z.rest_users("active"))
    assert "CLIENT_SECRET" not in str(info.value)


def test_scim_total_that_never_matches_is_a_count_mismatch_not_a_changing_listing(tmp_path):
    """A totalResults that counts users the list never returns (the same every time) is a
    verified count mismatch: reported as such, after two identical reads, not as a
    listing that "kept changing"."""
    from zoomaudit.errors import IncompleteDataError
    from zoomaudit.pull import pull_async

    def inflated(request, body):
        if request.url.path.endswith("/Users"):
            body["totalResults"] += 1
        return body

    fake = Variant(n_zoom=50, scim_cap=20, mutate=inflated)
    with pytest.raises(IncompleteDataError) as info:
        asyncio.run(
            pull_async(
                settings(),
                out=tmp_path,
                policy=fast_policy(),
                sources=("zoom",),
                zoom_transport=fake.transport(),
                activities=False,
            )
        )
    assert "zoom_scim_users: expected 51, received 50" in str(info.value)
    assert "kept changing" not in str(info.value)
    firsts = [r for r in fake.requests if r.url.params.get("startIndex") == "1"]
    assert len(firsts) == 2  # a second identical read settles it


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"code": 200, "message": "No permission."}),
        (
            400,
            {
                "code": 4711,
                "message": "Invalid access token, does not contain scopes:[report:read:admin].",
            },
        ),
        (401, {"code": 4711, "message": "Invalid access token, does not contain scopes:[x]."}),
        (403, {"code": 403, "message": 'The request was denied: "Report:Read".'}),
    ],
    ids=["no-permission", "4711-400", "4711-401", "role-403"],
)
def test_activity_report_refusals_are_recorded_not_fatal(status, body):
    fake = Fake(n_zoom=3)
    fake.faults.append(("/report/activities", lambda r: httpx.Response(status, json=body)))
    z = zoom(fake)
    assert run(z, lambda z: z.activities(30)) is None
    assert str(body["message"])[:20] in z.unavailable["activities"]


def test_scim_list_without_total_that_ignores_start_index_is_an_error_not_a_loop():
    fake = Fake(n_zoom=30)

    def same_page(request):
        return Fake.page({"Resources": fake.zoom[:10]})

    fake.scim = same_page

    async def go(z):
        return await asyncio.wait_for(z.scim_users(), 5)

    with pytest.raises(SourceError, match="startIndex"):
        run(zoom(fake), go)


def test_user_whose_status_changed_during_the_pull_is_one_row_with_its_current_status(tmp_path):
    """Entra's provisioning cycle may deactivate a user while the three REST listings are
    read: the user shows up as active and as inactive. The snapshot keeps one row, with the
    status Zoom reports for that user now (ids are percent-encoded in the path)."""
    from zoomaudit.pull import pull_async
    from zoomaudit.snapshot import load

    fake = Fake(n_zoom=20)
    odd = "k&Kd+r6/TL=x"
    fake.zoom[1]["id"] = odd  # active (1 % 9 != 0)
    base = fake.rest
    asked: list[str] = []

    def rest(request, path):
        if path == "/users" and request.url.params.get("status") == "inactive":
            body = json.loads(base(request, path).content)
            body["users"].append(
                {"id": odd, "email": "user1@contoso.example", "type": 2, "status": "inactive"}
            )
            body["total_records"] += 1
            return Fake.page(body)
        if path.startswith("/users/"):
            asked.append(request.url.raw_path.decode())
            return Fake.page(
                {"id": odd, "email": "user1@contoso.example", "type": 2, "status": "inactive"}
            )
        return base(request, path)

    fake.rest = rest
    path = asyncio.run(
        pull_async(
            settings(),
            out=tmp_path,
            policy=fast_policy(),
            sources=("zoom",),
            zoom_transport=fake.transport(),
            activities=False,
        )
    )
    users = load(path).table("zoom_users")
    rows = users[users["email"] == "user1@contoso.example"]
    assert rows["status"].tolist() == ["inactive"] and rows["zoom_id"].tolist() == [odd]
    assert asked == ["/v2/users/k%26Kd%2Br6%2FTL%3Dx"]
    assert users["email"].is_unique
