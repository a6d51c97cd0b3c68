"""An HTTPS stand-in for the Entra token authority (login.microsoftonline.com), for the emulator.

Place in the flow: lets the kit's real azure-identity ``ClientSecretCredential`` (sync and aio)
obtain Graph tokens in tests and the demo, exactly as against Entra. azure-identity and MSAL
refuse ``http://`` authorities, so :func:`make_tls_files` issues a throw-away certificate from a
trustme CA generated at run time into a temporary folder (never committed); clients trust it with
``connection_verify=<ca path>`` and ``disable_instance_discovery=True`` (feasibility.md §4).

Routes: ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
``POST /{tenant}/oauth2/v2.0/token`` (client credentials). Issued tokens go into
``state.issued_tokens`` with their expiry on the emulator clock, so the Graph emulator rejects
them once the clock passes it.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zoomaudit.emulator.core import GENERIC_KINDS, EmulatorState, JournalEntry


def make_tls_files(folder: Path) -> tuple[Path, Path]:
    """Write a fresh CA and a 127.0.0.1/localhost server certificate; return (ca, server pem)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_path, server_path = folder / "emulator-ca.pem", folder / "emulator-server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_path))
    return ca_path, server_path


def _aad_error(status: int, error: str, code: int, text: str, headers: dict | None = None):
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {corr} "
        f"Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
    }
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def create_app(state: EmulatorState) -> Starlette:
    """The token authority as a Starlette app (serve it over TLS)."""

    async def openid(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        base = f"{request.url.scheme}://{request.url.netloc}/{tenant}"
        doc = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{request.url.scheme}://{request.url.netloc}/{tenant}/discovery/v2.0/keys",
            "issuer": f"{base}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }
        return Response(orjson.dumps(doc), media_type="application/json")

    async def token(request: Request) -> Response:
        # parsed by hand: starlette's form parser needs python-multipart
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        opts = state.options
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", 70003,
                              "The app requested an unsupported grant type.")  # fmt: skip
        if form.get("client_id") != opts.entra_client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                "directory.",
            )
        if form.get("client_secret") != opts.entra_client_secret:
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID.",
            )
        access = "emu-graph-" + secrets.token_urlsafe(24)
        state.issued_tokens[access] = state.clock.now() + timedelta(seconds=opts.token_ttl)
        body = {
            "token_type": "Bearer",
            "expires_in": opts.token_ttl,
            "ext_expires_in": opts.token_ttl,
            "access_token": access,
        }
        return Response(orjson.dumps(body), media_type="application/json")

    routes = [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
    inner = Starlette(routes=routes)

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        path = scope["path"]
        fault = state.faults.take("authority", path, GENERIC_KINDS)
        status_holder = {"status": 500}

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        if fault is not None and fault.kind.startswith(("429", "5")):
            status = 429 if fault.kind.startswith("429") else int(fault.kind)
            headers = {"Retry-After": str(int(fault.value or 1))} if fault.kind == "429" else {}
            resp = _aad_error(status, "temporarily_unavailable", 50196,
                              "The server is temporarily unavailable.", headers)  # fmt: skip
            await resp(scope, receive, send_wrapper)
        elif fault is not None and fault.kind in ("html", "malformed", "truncated"):
            body = b"<html>Bad Gateway</html>" if fault.kind == "html" else b'{"token_type": "Be'
            resp = Response(body, 502 if fault.kind == "html" else 200)
            await resp(scope, receive, send_wrapper)
        else:
            await inner(scope, receive, send_wrapper)
        state.journal.record(
            JournalEntry(
                service="authority",
                method=scope["method"],
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status_holder["status"],
                time=state.clock.now(),
                body=None,  # the token request carries the client secret: never journal it
                fault=fault.kind if fault else None,
            )
        )

    return app
