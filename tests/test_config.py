"""Settings from the environment: defaults, overrides, .env, and secrets that never print."""

from __future__ import annotations

import logging
import pickle

import pytest

from zoomaudit.config import (
    DEFAULT_GRAPH_URL,
    DEFAULT_ZOOM_API_URL,
    DEFAULT_ZOOM_OAUTH_URL,
    DEFAULT_ZOOM_SCIM_URL,
    Secret,
    Settings,
)
from zoomaudit.errors import ConfigError
from zoomaudit.secrets import SecretFilter, register, scrub

PLANTED = "pl4nted-S3cret-value-0042"


def test_defaults_point_at_the_commercial_cloud():
    s = Settings.from_env({}, dotenv=None, use_keyring=False)
    assert s.graph_url == DEFAULT_GRAPH_URL == "https://graph.microsoft.com/v1.0"
    assert s.zoom_scim_url == DEFAULT_ZOOM_SCIM_URL == "https://api.zoom.us/scim2"
    assert s.zoom_api_url == DEFAULT_ZOOM_API_URL == "https://api.zoom.us/v2"
    assert s.zoom_oauth_url == DEFAULT_ZOOM_OAUTH_URL == "https://zoom.us/oauth/token"
    assert s.client_secret is None and s.zoom_token is None
    assert not s.has_graph_credentials and not s.has_zoom_credentials


def test_overrides_from_environment_for_sovereign_clouds_and_the_emulator():
    env = {
        "ZOOMAUDIT_GRAPH_URL": "https://graph.microsoft.us/v1.0/",
        "ZOOMAUDIT_ZOOM_SCIM_URL": "http://127.0.0.1:9000/scim2",
        "ZOOMAUDIT_ZOOM_API_URL": "http://127.0.0.1:9000/v2",
        "ZOOMAUDIT_ZOOM_OAUTH_URL": "http://127.0.0.1:9000/oauth/token",
        "ZOOMAUDIT_TENANT_ID": "contoso.example",
        "ZOOMAUDIT_CLIENT_ID": "app-1",
        "ZOOMAUDIT_CLIENT_SECRET": PLANTED,
        "ZOOMAUDIT_APP_NAME": "Zoom",
        "ZOOMAUDIT_ZOOM_PLAN": "pro",
        "ZOOMAUDIT_DATA_DIR": "/tmp/za-data",
    }
    s = Settings.from_env(env, dotenv=None, use_keyring=False)
    assert s.graph_url == "https://graph.microsoft.us/v1.0"  # trailing slash dropped
    assert s.zoom_scim_url.endswith(":9000/scim2")
    assert s.client_secret.get_secret_value() == PLANTED
    assert s.app_name == "Zoom" and s.zoom_plan == "pro"
    assert str(s.data_dir) == "/tmp/za-data"
    assert s.has_graph_credentials


def test_dotenv_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("ZOOMAUDIT_APP_ID=from-dotenv\nZOOMAUDIT_ZOOM_TOKEN=dotenv-token-123\n")
    s = Settings.from_env({"ZOOMAUDIT_APP_ID": "from-env"}, dotenv=dotenv, use_keyring=False)
    assert s.app_id == "from-env"
    assert s.zoom_token.get_secret_value() == "dotenv-token-123"


@pytest.mark.parametrize(
    "name",
    [
        "ZOOMAUDIT_CLIENT_SECRET",
        "ZOOMAUDIT_GRAPH_TOKEN",
        "ZOOMAUDIT_ZOOM_CLIENT_SECRET",
        "ZOOMAUDIT_ZOOM_TOKEN",
        "ZOOMAUDIT_REDACT_KEY",
    ],
)
def test_secrets_never_appear_in_repr_str_or_format(name):
    s = Settings.from_env({name: PLANTED}, dotenv=None, use_keyring=False)
    for text in (repr(s), str(s), f"{s}", f"{s.secret_values()!r}"[:0]):
        assert PLANTED not in text
    field = name.removeprefix("ZOOMAUDIT_").lower()
    value = getattr(s, field)
    assert PLANTED not in repr(value) and PLANTED not in str(value) and PLANTED not in f"{value}"
    assert PLANTED in s.secret_values()


def test_secret_refuses_pickling():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(PLANTED))


def test_invalid_values_name_the_variable():
    with pytest.raises(ConfigError, match="ZOOMAUDIT_ZOOM_PLAN"):
        Settings.from_env({"ZOOMAUDIT_ZOOM_PLAN": "platinum"}, dotenv=None, use_keyring=False)
    with pytest.raises(ConfigError, match="ZOOMAUDIT_GRAPH_URL"):
        Settings.from_env({"ZOOMAUDIT_GRAPH_URL": "graph.local"}, dotenv=None, use_keyring=False)


def test_scrub_and_log_filter_mask_registered_secrets_and_bearer_tokens(caplog):
    register(PLANTED)
    assert PLANTED not in scrub(f"failed with client_secret={PLANTED}")
    assert "eyJabc.def" not in scrub("Authorization: Bearer eyJabc.def.ghi123")
    logger = logging.getLogger("zoomaudit.test")
    handler = logging.Handler()
    records = []
    handler.emit = records.append
    handler.addFilter(SecretFilter())
    logger.addHandler(handler)
    try:
        logger.warning("token %s rejected", PLANTED)
    finally:
        logger.removeHandler(handler)
    assert records and PLANTED not in records[0].getMessage()
