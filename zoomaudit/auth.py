"""Credentials for the collectors: Entra (azure-identity or a static Graph token) and Zoom
(Server-to-Server OAuth or a static token).

Place in the flow: ``sources.graph`` hands :func:`graph_credential` to msgraph-sdk;
``sources.zoom`` asks :class:`ZoomAuth` for a bearer token before every request. Every secret
value is registered with :mod:`zoomaudit.secrets` so logs and errors never show it.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import time

import httpx
import orjson
from azure.core.credentials import AccessToken

from zoomaudit.config import Settings
from zoomaudit.errors import AuthenticationError, ConfigError
from zoomaudit.secrets import register, scrub

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]


class StaticTokenCredential:
    """A TokenCredential (sync and async) that returns a pre-acquired token.

    kiota calls ``get_token`` on every request with ``claims``/``tenant_id``/``enable_cae``.
    """

    def __init__(self, token: str, *, lifetime: int = 3600):
        register(token)
        self._token = token
        self._lifetime = lifetime

    def _access(self) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        return self._access()

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return "StaticTokenCredential(***)"


class AsyncStaticTokenCredential(StaticTokenCredential):
    """The async flavour (msgraph-sdk awaits ``get_token`` of async credentials)."""

    async def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        return self._access()

    async def close(self) -> None:
        return None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        return None


class _SyncToAsync:
    """Run a synchronous azure-identity credential (device code, browser) off the loop."""

    def __init__(self, inner):
        self.inner = inner

    async def get_token(self, *scopes, **kwargs):
        return await asyncio.to_thread(self.inner.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close:
            close()


def graph_method(settings: Settings) -> str:
    """Which Entra authentication method ``settings`` select (resolving ``auto``)."""
    if settings.graph_auth != "auto":
        return settings.graph_auth
    if settings.graph_token:
        return "token"
    if settings.client_secret:
        return "secret"
    if settings.client_certificate:
        return "certificate"
    raise ConfigError(
        "no Entra credentials: set ZOOMAUDIT_GRAPH_TOKEN, or ZOOMAUDIT_TENANT_ID + "
        "ZOOMAUDIT_CLIENT_ID + ZOOMAUDIT_CLIENT_SECRET (or ZOOMAUDIT_CLIENT_CERTIFICATE), "
        "or ZOOMAUDIT_GRAPH_AUTH=device_code|interactive|default"
    )


def graph_credential(settings: Settings):
    """An async TokenCredential for msgraph-sdk, per ``settings.graph_auth``.

    When ``settings.ca_bundle`` is set (an HTTPS authority with a private CA, e.g. the
    emulator's), the credential verifies against it and skips instance discovery.
    """
    method = graph_method(settings)
    register(*settings.secret_values())
    if method == "token" or (settings.graph_token and method == "auto"):
        if not settings.graph_token:
            raise ConfigError("ZOOMAUDIT_GRAPH_AUTH=token needs ZOOMAUDIT_GRAPH_TOKEN")
        return AsyncStaticTokenCredential(settings.graph_token.get_secret_value())
    kwargs: dict = {"authority": settings.authority}
    if settings.ca_bundle:
        kwargs["connection_verify"] = str(settings.ca_bundle)
        kwargs["disable_instance_discovery"] = True
    if method in ("secret", "certificate"):
        if not (settings.tenant_id and settings.client_id):
            raise ConfigError(
                f"ZOOMAUDIT_GRAPH_AUTH={method} needs ZOOMAUDIT_TENANT_ID and ZOOMAUDIT_CLIENT_ID"
            )
    if method == "secret":
        if not settings.client_secret:
            raise ConfigError("ZOOMAUDIT_GRAPH_AUTH=secret needs ZOOMAUDIT_CLIENT_SECRET")
        from azure.identity.aio import ClientSecretCredential

        return ClientSecretCredential(
            settings.tenant_id,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            **kwargs,
        )
    if method == "certificate":
        if not settings.client_certificate:
            raise ConfigError(
                "ZOOMAUDIT_GRAPH_AUTH=certificate needs ZOOMAUDIT_CLIENT_CERTIFICATE"
            )
        from azure.identity.aio import CertificateCredential

        return CertificateCredential(
            settings.tenant_id, settings.client_id, str(settings.client_certificate), **kwargs
        )
    if method == "device_code":
        from azure.identity import DeviceCodeCredential

        return _SyncToAsync(
            DeviceCodeCredential(
                client_id=settings.client_id or "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                tenant_id=settings.tenant_id,
                **kwargs,
            )
        )
    if method == "interactive":
        from azure.identity import InteractiveBrowserCredential

        return _SyncToAsync(
            InteractiveBrowserCredential(
                client_id=settings.client_id, tenant_id=settings.tenant_id, **kwargs
            )
        )
    if method == "default":
        from azure.identity.aio import DefaultAzureCredential

        kwargs.pop("authority", None)
        kwargs.pop("disable_instance_discovery", None)
        return DefaultAzureCredential(authority=settings.authority, **kwargs)
    raise ConfigError(f"ZOOMAUDIT_GRAPH_AUTH={method!r} is not a known method")


class ZoomAuth:
    """One Zoom bearer token shared by all requests.

    S2S OAuth: ``POST zoom_oauth_url`` with Basic client credentials and
    ``grant_type=account_credentials&account_id=...``; renewed ``renew_before`` seconds before
    expiry and once more when the API says the token expired. Or a static token.
    """

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        renew_before: float = 60,
        policy=None,
    ):
        self.settings = settings
        self.client = client
        self.renew_before = renew_before
        #: a ``sources.http.RetryPolicy`` for a busy token endpoint (429/5xx/network)
        self.policy = policy
        self._token: str | None = None
        self._expires = 0.0
        self._margin = renew_before
        self._lock = asyncio.Lock()
        self.fetched = 0
        register(*settings.secret_values())
        if settings.zoom_token:
            self._token = settings.zoom_token.get_secret_value()
            self._expires = float("inf")
        elif not settings.has_zoom_credentials:
            raise ConfigError(
                "no Zoom credentials: set ZOOMAUDIT_ZOOM_ACCOUNT_ID, ZOOMAUDIT_ZOOM_CLIENT_ID and "
                "ZOOMAUDIT_ZOOM_CLIENT_SECRET (Server-to-Server OAuth), or ZOOMAUDIT_ZOOM_TOKEN"
            )
        self.scopes: list[str] | None = None

    @property
    def static(self) -> bool:
        return bool(self.settings.zoom_token)

    async def token(self) -> str:
        if self._token and time.monotonic() < self._expires - self._margin:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires - self._margin:
                return self._token
            await self._fetch()
            return self._token  # type: ignore[return-value]

    async def renew(self, stale: str | None = None) -> bool:
        """Fetch a new token after a 401 "expired" (no-op for a static token)."""
        if self.static:
            return False
        async with self._lock:
            if stale is not None and self._token != stale:
                return True  # someone else already renewed
            await self._fetch()
        return True

    async def _post(self) -> httpx.Response:
        """POST the token request; a busy endpoint (429, 5xx, network error) is retried per
        ``policy`` and, when it stays busy, is reported as such (not as bad credentials)."""
        from zoomaudit.errors import ServiceError, ThrottledError
        from zoomaudit.sources.http import RetryPolicy, parse_retry_after

        s = self.settings
        policy = self.policy or RetryPolicy()
        raw = f"{s.zoom_client_id}:{s.zoom_client_secret.get_secret_value()}".encode()
        basic = base64.b64encode(raw).decode()
        register(basic)
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                resp = await self.client.post(
                    s.zoom_oauth_url,
                    headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                    data={"grant_type": "account_credentials", "account_id": s.zoom_account_id},
                )
            except httpx.HTTPError as exc:
                problem = f"cannot be reached ({type(exc).__name__})"
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                problem = f"answered HTTP {resp.status_code}"
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                if retry_after is not None and retry_after > policy.max_retry_after:
                    attempt = policy.max_attempts  # a long wait: do not sleep through it
            if attempt >= policy.max_attempts:
                error = ThrottledError if "429" in problem else ServiceError
                raise error(
                    f"the Zoom token endpoint {s.zoom_oauth_url} {problem} {attempt} times; "
                    "Zoom is busy or unreachable, try again later",
                    url=s.zoom_oauth_url,
                )
            await policy.sleep(policy.backoff(attempt, retry_after))

    async def _fetch(self) -> None:
        s = self.settings
        resp = await self._post()
        if resp.status_code != 200:
            try:
                body = orjson.loads(resp.content)
                text = body.get("reason") or body.get("message") or ""
                reason = f"{text} ({body.get('code', resp.status_code)})"
            except Exception:
                reason = f"HTTP {resp.status_code}"
            raise AuthenticationError(
                f"Zoom refused the Server-to-Server OAuth credentials: {scrub(reason)}; check "
                "ZOOMAUDIT_ZOOM_ACCOUNT_ID/CLIENT_ID/CLIENT_SECRET and that the app is activated",
                status=resp.status_code,
                url=s.zoom_oauth_url,
            )
        try:
            body = orjson.loads(resp.content)
            token = body["access_token"] if isinstance(body, dict) else None
        except (orjson.JSONDecodeError, KeyError):
            token = None
        if not token or not isinstance(token, str):
            raise AuthenticationError(
                f"the Zoom token endpoint {s.zoom_oauth_url} answered HTTP 200 without an "
                "access_token (a proxy or captive portal in the way?); check the OAuth URL",
                status=resp.status_code,
                url=s.zoom_oauth_url,
            )
        register(token)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._expires = time.monotonic() + lifetime
        # renew ``renew_before`` s ahead, but never so early that a short-lived token
        # (expires_in under a minute) counts as stale at once and is fetched per request
        self._margin = min(self.renew_before, lifetime / 2)
        self.scopes = str(body.get("scope") or "").split() or None
        self.fetched += 1


class RenewingCredential:
    """Caches the access token and can be told to fetch a fresh one after a 401 "expired".

    kiota calls ``get_token`` on every request; azure-identity caches too, so a forced renewal
    passes a claims challenge (which bypasses its cache).
    """

    def __init__(self, inner):
        self.inner = inner
        self._token: AccessToken | None = None
        self._force = False

    async def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kw):
        if (
            self._token
            and not self._force
            and not claims
            and (self._token.expires_on - time.time() > 120)
        ):
            return self._token
        if self._force and not claims:
            now = int(time.time())
            claims = f'{{"access_token":{{"nbf":{{"essential":true,"value":"{now}"}}}}}}'
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        try:
            try:
                result = self.inner.get_token(
                    *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kw
                )
            except TypeError:
                result = self.inner.get_token(*scopes)
            if inspect.isawaitable(result):
                result = await result
        except ClientAuthenticationError as exc:
            first = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
            raise AuthenticationError(
                f"Entra refused the app credentials ({first[:200]}); check ZOOMAUDIT_TENANT_ID, "
                "ZOOMAUDIT_CLIENT_ID and ZOOMAUDIT_CLIENT_SECRET/CERTIFICATE"
            ) from None
        except ServiceRequestError as exc:
            raise AuthenticationError(
                f"cannot reach the Entra authority ({type(exc).__name__}); check "
                "ZOOMAUDIT_AUTHORITY and ZOOMAUDIT_CA_BUNDLE"
            ) from None
        register(result.token)
        self._token = result
        self._force = False
        return result

    def invalidate(self) -> None:
        self._force = True

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close:
            result = close()
            if inspect.isawaitable(result):
                await result
