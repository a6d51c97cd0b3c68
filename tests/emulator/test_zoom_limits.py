"""Zoom emulator rate limits (zoom.md §2.9) and injected faults, on the injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import orjson
import pytest

try:
    from . import zoom_support as zs
except ImportError:
    import zoom_support as zs

ANA = "ANAid00000000000000000a"


def test_qps_limit_429_headers_and_refill_on_the_clock():
    with zs.serve(zs.make_state(zoom_plan="free")) as served, served.client() as c:
        assert [c.get("/v2/users").status_code for _ in range(2)] == [200, 200]
        r = c.get("/v2/users")  # Medium on Free: 2 requests per second
        assert r.status_code == 429
        assert r.json() == {
            "code": 429,
            "message": "You have reached the maximum per-second rate limit for this API. "
            "Try again later.",
        }
        assert r.headers["X-RateLimit-Category"] == "Medium"
        assert r.headers["X-RateLimit-Type"] == "QPS"
        assert r.headers["X-RateLimit-Limit"] == "2"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.headers["Retry-After"] == "1"
        assert c.get("/v2/users/summary").status_code == 429  # same label, same bucket
        assert c.get(f"/v2/users/{ANA}").status_code == 200  # Light has its own bucket
        served.state.clock.advance(1)
        assert c.get("/v2/users").status_code == 200


def test_daily_limit_answers_an_iso_retry_after():
    with zs.serve(zs.make_state(zoom_plan="free")) as served, served.client() as c:
        for _ in range(1000):  # Heavy on Free: 1 per second, 1,000 per day
            assert c.get("/v2/accounts/me/plans/usage").status_code == 200
            served.state.clock.advance(1)
        r = c.get("/v2/accounts/me/plans/usage")
        assert r.status_code == 429
        assert r.headers["X-RateLimit-Type"] == "Daily-limit"
        assert r.headers["X-RateLimit-Limit"] == "1000"
        assert r.headers["Retry-After"] == "2026-11-03T00:00:00Z"
        assert "daily rate limit" in r.json()["message"]
        served.state.clock.advance(15 * 3600)  # past midnight UTC (and past the token's hour)
        with served.client() as fresh:
            assert fresh.get("/v2/accounts/me/plans/usage").status_code == 200


def test_business_plan_allows_its_burst():
    with zs.serve(zs.make_state(zoom_plan="business")) as served, served.client() as c:
        codes = [c.get("/scim2/Users").status_code for _ in range(61)]
        assert codes.count(200) == 60 and codes[-1] == 429


@pytest.mark.parametrize(
    ("setting", "present"),
    [
        (False, set()),
        (("Retry-After",), {"retry-after"}),
        (True, {"retry-after", "x-ratelimit-type", "x-ratelimit-category"}),
    ],
)
def test_rate_limit_headers_are_switchable(setting, present):
    state = zs.make_state(zoom_plan="free", rate_limit_headers=setting)
    with zs.serve(state) as served, served.client() as c:
        r = [c.get("/v2/users") for _ in range(3)][-1]
        assert r.status_code == 429
        names = {"retry-after", "x-ratelimit-type", "x-ratelimit-category"}
        assert {h for h in names if h in r.headers} == present


def test_rate_limits_can_be_disabled():
    state = zs.make_state(zoom_plan="free", rate_limits=False)
    with zs.serve(state) as served, served.client() as c:
        assert {c.get("/v2/users").status_code for _ in range(10)} == {200}


def test_scim_one_rps_mode_limits_each_endpoint():
    with zs.serve(zs.make_state(scim_one_rps=True)) as served, served.client() as c:
        assert c.get("/scim2/Users").status_code == 200
        assert c.get("/scim2/Users").status_code == 429
        assert c.get(f"/scim2/Users/{ANA}").status_code == 200  # another endpoint
        served.state.clock.advance(1)
        assert c.get("/scim2/Users").status_code == 200


# ---- generic faults ------------------------------------------------------------------------
@pytest.fixture
def zoom():
    with zs.serve(zs.make_state(zs.small_tenant(extra_users=25))) as served:
        yield served


def test_fault_429_with_retry_after_seconds(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users$", "429", value=7, count=2)
    with zoom.client() as c:
        r = c.get("/scim2/Users")
        assert r.status_code == 429 and r.headers["Retry-After"] == "7"
        assert r.json()["code"] == 429
        assert c.get("/scim2/Users").status_code == 429
        assert c.get("/scim2/Users").status_code == 200
    faults = [e.fault for e in zoom.state.journal.select("zoom", path="/scim2/Users$")]
    assert faults == ["429", "429", None]


def test_fault_429_with_an_http_date(zoom):
    zoom.state.faults.add("zoom", "/v2/users", "429-date", value=30)
    with zoom.client() as c:
        r = c.get("/v2/users")
    assert r.status_code == 429
    when = parsedate_to_datetime(r.headers["Retry-After"])
    assert when == zoom.state.clock.now() + timedelta(seconds=30)


def test_fault_429_without_retry_after(zoom):
    zoom.state.faults.add("zoom", "/v2/users", "429-none")
    with zoom.client() as c:
        r = c.get("/v2/users")
    assert r.status_code == 429 and "retry-after" not in r.headers


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_fault_server_errors(zoom, kind):
    zoom.state.faults.add("zoom", "/v2/users", kind, after=1)
    with zoom.client() as c:
        assert c.get("/v2/users").status_code == 200  # @1: the first one passes
        r = c.get("/v2/users")
        assert r.status_code == int(kind)
        assert ("retry-after" in r.headers) == (kind == "503")
        assert c.get("/v2/users").status_code == 200


def test_fault_expire_token(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users", "expire-token")
    with zoom.client() as c:
        r = c.get("/scim2/Users")
        assert r.status_code == 401 and r.json()["message"] == "Access token is expired."
        assert c.get("/scim2/Users").status_code == 200


def test_fault_html_malformed_truncated(zoom):
    zoom.state.faults.add("zoom", "/v2/users", "html")
    zoom.state.faults.add("zoom", "/v2/users", "malformed")
    zoom.state.faults.add("zoom", "/v2/users", "truncated")
    with zoom.client() as c:
        html = c.get("/v2/users")
        assert html.status_code == 502 and html.headers["content-type"].startswith("text/html")
        malformed = c.get("/v2/users")
        truncated = c.get("/v2/users")
        for r in (malformed, truncated):
            assert r.status_code == 200
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(r.content)
        assert truncated.content.startswith(b'{"next_page_token"')


def test_fault_on_the_token_endpoint(zoom):
    zoom.state.faults.add("oauth", "/oauth/token", "503")
    with pytest.raises(Exception, match="503"):
        zoom.token()
    assert zoom.token()


# ---- SCIM list faults ----------------------------------------------------------------------
def test_fault_empty_page(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users$", "empty-page", after=1)
    with zoom.client() as c:
        first = c.get("/scim2/Users", params={"count": 10}).json()
        second = c.get("/scim2/Users", params={"startIndex": 11, "count": 10}).json()
    assert len(first["Resources"]) == 10
    assert second["Resources"] == [] and second["totalResults"] == 30


def test_fault_short_page(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users$", "short", value=3)
    with zoom.client() as c:
        page = c.get("/scim2/Users", params={"count": 10}).json()
    assert len(page["Resources"]) == 7
    assert page["itemsPerPage"] == 10 and page["totalResults"] == 30


def test_fault_shift_deletes_users_between_offset_pages(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users$", "shift", value=2, after=1)
    seen: list[str] = []
    with zoom.client() as c:
        first = c.get("/scim2/Users", params={"count": 10}).json()
        seen += [u["id"] for u in first["Resources"]]
        start = 11
        while start <= first["totalResults"]:
            page = c.get("/scim2/Users", params={"startIndex": start, "count": 10}).json()
            seen += [u["id"] for u in page["Resources"]]
            start += 10
        final_total = page["totalResults"]
    assert first["totalResults"] == 30 and final_total == 28
    # two users were deleted before the offset, so two others slid past the client unseen
    assert len(set(seen)) == 28
    assert len(zoom.state.tenant.zoom_users) == 29


def test_fault_shift_on_the_first_page_adds_users(zoom):
    zoom.state.faults.add("zoom", "/scim2/Users$", "shift", value=1)
    with zoom.client() as c:
        assert c.get("/scim2/Users").json()["totalResults"] == 31


def test_latency_fault_is_accounted(zoom):
    fault = zoom.state.faults.add("zoom", "/v2/users", "latency", value=1)
    with zoom.client() as c:
        assert c.get("/v2/users").status_code == 200
    assert fault.fired == 1


def test_clock_start_is_the_fixture_time(zoom):
    assert zoom.state.clock.now() == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
