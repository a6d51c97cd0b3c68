"""The emulator harness: env() for the kit, the HTTPS authority with real azure-identity, CLI."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from graph_tenant import build_tiny_tenant, start

from zoomaudit.config import Settings
from zoomaudit.emulator.core import EmulatorOptions
from zoomaudit.emulator.server import Emulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # msgraph-sdk internals


def _generator_ready() -> bool:
    try:
        importlib.import_module("zoomaudit.emulator.generate")
    except ImportError:
        return False
    return True


needs_generator = pytest.mark.skipif(not _generator_ready(), reason="tenant generator not ready")


def test_env_points_settings_at_the_emulator(make_emulator):
    emu = start(make_emulator)
    settings = Settings.from_env(emu.env(), dotenv=None, use_keyring=False)
    assert settings.graph_url == emu.graph_url
    assert settings.tenant_id == emu.tenant.tenant_id
    assert settings.app_id == emu.tenant.service_principal["appId"]
    token = settings.graph_token.get_secret_value()
    resp = httpx.get(emu.graph_url + "/users", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


def test_stop_releases_the_port():
    emu = Emulator(build_tiny_tenant(), zoom=False).start()
    url = emu.graph_url
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/users", headers={"Authorization": "Bearer t"})


def test_zoom_app_is_served_when_present(make_emulator):
    if importlib.util.find_spec("zoomaudit.emulator.zoom_app") is None:
        pytest.skip("zoom_app not written yet")
    emu = make_emulator(tenant=build_tiny_tenant())
    env = emu.env()
    assert env["ZOOMAUDIT_ZOOM_SCIM_URL"].endswith("/scim2")
    assert env["ZOOMAUDIT_ZOOM_API_URL"] != env["ZOOMAUDIT_GRAPH_URL"]
    resp = httpx.post(
        env["ZOOMAUDIT_ZOOM_OAUTH_URL"], params={"grant_type": "account_credentials"}
    )
    assert resp.status_code in (400, 401)  # reached the Zoom app: no client credentials sent


# ---- HTTPS authority with the real azure-identity credentials


@pytest.fixture
def authority_emu(make_emulator):
    return start(make_emulator, https_authority=True)


def _credential(emu, secret: str | None = None, *, aio: bool = False):
    env = emu.env()
    if aio:
        from azure.identity.aio import ClientSecretCredential
    else:
        from azure.identity import ClientSecretCredential
    return ClientSecretCredential(
        env["ZOOMAUDIT_TENANT_ID"],
        env["ZOOMAUDIT_CLIENT_ID"],
        secret or env["ZOOMAUDIT_CLIENT_SECRET"],
        authority=env["ZOOMAUDIT_AUTHORITY"],
        disable_instance_discovery=True,
        connection_verify=env["ZOOMAUDIT_CA_BUNDLE"],
    )


def test_env_with_authority_has_client_credentials_not_a_token(authority_emu):
    env = authority_emu.env()
    assert "ZOOMAUDIT_GRAPH_TOKEN" not in env
    assert env["ZOOMAUDIT_AUTHORITY"].startswith("https://127.0.0.1:")
    assert os.path.isfile(env["ZOOMAUDIT_CA_BUNDLE"])


def test_client_secret_credential_sync_gets_a_token_graph_accepts(authority_emu):
    token = _credential(authority_emu).get_token("https://graph.microsoft.com/.default")
    assert token.token in authority_emu.state.issued_tokens
    headers = {"Authorization": f"Bearer {token.token}"}
    assert httpx.get(authority_emu.graph_url + "/users", headers=headers).status_code == 200
    authority_emu.state.clock.advance(EmulatorOptions().token_ttl + 1)
    expired = httpx.get(authority_emu.graph_url + "/users", headers=headers)
    assert expired.status_code == 401
    paths = [e.path for e in authority_emu.state.journal.select("authority")]
    assert any(p.endswith("/oauth2/v2.0/token") for p in paths)
    assert all(e.body is None for e in authority_emu.state.journal.select("authority"))


def test_client_secret_credential_aio_with_the_sdk(authority_emu):
    from msgraph import GraphServiceClient

    async def run():
        cred = _credential(authority_emu, aio=True)
        try:
            client = GraphServiceClient(
                credentials=cred, scopes=["https://graph.microsoft.com/.default"]
            )
            client.request_adapter.base_url = authority_emu.graph_url
            return await client.users.get()
        finally:
            await cred.close()

    page = asyncio.run(run())
    assert len(page.value) == 11


def test_wrong_secret_is_invalid_client(authority_emu):
    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        _credential(authority_emu, "wrong").get_token("https://graph.microsoft.com/.default")


# ---- generated tenant and CLI


@needs_generator
def test_generated_tenant_fixture_serves_its_live_users(emulator):
    live = int(emulator.tenant.users["deletedDateTime"].isna().sum())
    resp = httpx.get(
        emulator.graph_url + "/users/$count",
        headers={"Authorization": "Bearer t", "ConsistencyLevel": "eventual"},
    )
    assert resp.text == str(live)


@needs_generator
def test_cli_serve_prints_exports_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoomaudit", "emulator", "serve", "--users", "60", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("export ZOOMAUDIT_GRAPH_URL=http://127.0.0.1:")
        url = line.strip().split("=", 1)[1]
        resp = httpx.get(url + "/users?$top=1", headers={"Authorization": "Bearer t"})
        assert resp.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for a child process, not for emulated time
    assert proc.returncode == 0


def test_authority_faults_and_openid_configuration(authority_emu):
    env = authority_emu.env()
    base = f"{env['ZOOMAUDIT_AUTHORITY']}/{env['ZOOMAUDIT_TENANT_ID']}"
    with httpx.Client(verify=env["ZOOMAUDIT_CA_BUNDLE"]) as http:
        doc = http.get(f"{base}/v2.0/.well-known/openid-configuration").json()
        assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
        authority_emu.state.faults.add("authority", "/token$", "429", value=3)
        form = {
            "grant_type": "client_credentials",
            "client_id": env["ZOOMAUDIT_CLIENT_ID"],
            "client_secret": env["ZOOMAUDIT_CLIENT_SECRET"],
            "scope": "x/.default",
        }
        throttled = http.post(doc["token_endpoint"], data=form)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        ok = http.post(doc["token_endpoint"], data=form)
        assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
        wrong_client = http.post(doc["token_endpoint"], data={**form, "client_id": "other"})
        assert wrong_client.status_code == 400
        assert wrong_client.json()["error"] == "unauthorized_client"
    statuses = [e.status for e in authority_emu.state.journal.select("authority", method="POST")]
    assert statuses == [429, 200, 400]


@needs_generator
def test_session_emulator_is_shared_and_serves_graph(emulator_session):
    resp = httpx.get(emulator_session.graph_url + "/users", headers={"Authorization": "Bearer t"})
    assert resp.status_code == 200 and resp.json()["value"]


def test_cli_serve_rejects_a_bad_now_or_scenario_in_one_line():
    for args in (["--now", "yesterday-ish"], ["--scenario", "no-such-scenario"]):
        proc = subprocess.run(
            [sys.executable, "-m", "zoomaudit", "emulator", "serve", "--users", "60", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
