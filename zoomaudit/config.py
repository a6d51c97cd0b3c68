"""Settings: where the services are and how to authenticate, read explicitly from the environment.

Nothing here runs at import time. ``Settings.from_env()`` reads ``ZOOMAUDIT_*`` variables from the
process environment, then from an optional ``.env`` file, then (for secrets only) from the
operating system keyring under the service name ``zoomaudit``. Secret values are wrapped in
:class:`Secret`, which never shows its value in ``repr``/``str``/f-strings; call
``.get_secret_value()`` at the single place a value goes on the wire.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zoomaudit.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PREFIX = "ZOOMAUDIT_"
KEYRING_SERVICE = "zoomaudit"

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_ZOOM_SCIM_URL = "https://api.zoom.us/scim2"
DEFAULT_ZOOM_API_URL = "https://api.zoom.us/v2"
DEFAULT_ZOOM_OAUTH_URL = "https://zoom.us/oauth/token"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"

ZOOM_PLANS = ("free", "pro", "business")


class Secret:
    """A string that refuses to be printed. ``get_secret_value()`` returns the real value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pickling would carry the value into files: refuse
        raise TypeError("Secret values cannot be pickled")


@dataclass(frozen=True)
class Settings:
    """Everything zoomaudit needs to reach Entra (Graph) and Zoom. Build with ``from_env``.

    Secret fields hold :class:`Secret` or ``None``.
    """

    graph_url: str = DEFAULT_GRAPH_URL
    zoom_scim_url: str = DEFAULT_ZOOM_SCIM_URL
    zoom_api_url: str = DEFAULT_ZOOM_API_URL
    zoom_oauth_url: str = DEFAULT_ZOOM_OAUTH_URL
    # Entra authentication (azure-identity) or a pre-acquired Graph token
    authority: str = DEFAULT_AUTHORITY
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = field(default=None, repr=False)
    client_certificate: Path | None = None
    graph_auth: str = "auto"  # auto | secret | certificate | device_code | interactive | default
    graph_token: Secret | None = field(default=None, repr=False)
    ca_bundle: Path | None = None  # extra CA for an HTTPS authority (the emulator's)
    # Zoom authentication
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: Secret | None = field(default=None, repr=False)
    zoom_token: Secret | None = field(default=None, repr=False)
    zoom_plan: str = "business"
    # the Zoom enterprise app in Entra
    app_id: str | None = None
    app_name: str | None = None
    # local folders
    data_dir: Path = PROJECT_ROOT / "data" / "snapshots"
    reports_dir: Path = PROJECT_ROOT / "reports"
    # key for stable pseudonyms in redacted reports (kept outside any report)
    redact_key: Secret | None = field(default=None, repr=False)

    SECRET_FIELDS = (
        "client_secret",
        "graph_token",
        "zoom_client_secret",
        "zoom_token",
        "redact_key",
    )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv: Path | str | None = ".env",
        use_keyring: bool = True,
    ) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), ``.env`` and the keyring.

        The process environment wins over ``.env``; the keyring is consulted for secrets only,
        and only when neither has them.
        """
        env: dict[str, str] = {}
        if dotenv is not None and Path(dotenv).is_file():
            from dotenv import dotenv_values

            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name.upper())
            return value.strip() if value and value.strip() else None

        def secret(name: str) -> Secret | None:
            value = env.get(PREFIX + name.upper())
            if not value and use_keyring:
                value = _from_keyring(PREFIX + name.upper())
            return Secret(value) if value else None

        kwargs: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if f.name in cls.SECRET_FIELDS:
                kwargs[f.name] = secret(f.name)
                continue
            value = get(f.name)
            if value is None:
                continue
            if f.name in ("client_certificate", "ca_bundle", "data_dir", "reports_dir"):
                kwargs[f.name] = Path(value).expanduser()
            elif f.name.endswith("_url") or f.name == "authority":
                kwargs[f.name] = value.rstrip("/")
            else:
                kwargs[f.name] = value
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject contradictory values with a message naming the variable."""
        if self.zoom_plan.lower() not in ZOOM_PLANS:
            raise ConfigError(
                f"{PREFIX}ZOOM_PLAN={self.zoom_plan!r} is not one of {', '.join(ZOOM_PLANS)}"
            )
        if self.graph_auth not in (
            "auto",
            "secret",
            "certificate",
            "device_code",
            "interactive",
            "default",
        ):
            raise ConfigError(f"{PREFIX}GRAPH_AUTH={self.graph_auth!r} is not a known method")
        for name in ("graph_url", "zoom_scim_url", "zoom_api_url", "zoom_oauth_url", "authority"):
            value = getattr(self, name)
            if not value.startswith(("https://", "http://")):
                raise ConfigError(f"{PREFIX}{name.upper()} must be an http(s) URL, got {value!r}")

    def secret_values(self) -> list[str]:
        """The raw secret strings, for scrubbing logs and outputs."""
        out = []
        for name in self.SECRET_FIELDS:
            value = getattr(self, name)
            if value:
                out.append(value.get_secret_value())
        return out

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (e.g. to point at the emulator)."""
        return dataclasses.replace(self, **changes)

    @property
    def has_graph_credentials(self) -> bool:
        return bool(
            self.graph_token
            or (
                self.tenant_id
                and self.client_id
                and (self.client_secret or self.client_certificate)
            )
            or self.graph_auth in ("device_code", "interactive", "default")
        )

    @property
    def has_zoom_credentials(self) -> bool:
        return bool(
            self.zoom_token
            or (self.zoom_account_id and self.zoom_client_id and self.zoom_client_secret)
        )


def _from_keyring(name: str) -> str | None:
    """Look a secret up in the OS keyring; any keyring failure means "not there"."""
    if os.environ.get("ZOOMAUDIT_NO_KEYRING"):
        return None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # no backend, locked keyring, D-Bus missing: treat as absent
        return None
