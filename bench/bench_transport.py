"""Benchmark: client CPU per request, layer by layer, on one constant page.

Where does the pull's CPU go per request, before any conversion or storage? A server in a
child process answers every GET with the same JSON page (500 Graph-like users, 156 KB); the
client fetches it ``--requests`` times and parses it with orjson, through:

* ``sync httpx``: ``httpx.Client`` one request after another (the plain baseline of
  ``bench_pull.py``);
* ``async httpx, 1 / 4 / 16 in flight``: ``httpx.AsyncClient`` (what any concurrent puller
  needs), also with the kit's cheaper idle-connection check
  (``zoomaudit.sources.transport``);
* ``kit Zoom path, 4 / 16 in flight``: ``ZoomSource.get`` (read-only client, retries, rate limiter
  at a rate that never waits, static token);
* ``kit Graph path, 1 in flight``: ``GraphSource.fetch`` (msgraph-sdk request adapter with the
  native response handler, kiota middleware, retries; static token).

Then again over TLS (a throw-away trustme CA): Graph and Zoom are HTTPS, and the TLS work is
the same for every client, so the ratios there are what a real pull sees.

Usage: ``.venv/bin/python bench/bench_transport.py [--requests 600]`` writes
``bench/results/transport.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SERVER = r"""
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

users = [
    b'{"id": "%08d-0000-4000-8000-000000000000", "userPrincipalName": "user%d@contoso.example", '
    b'"displayName": "User %d", "mail": "user%d@contoso.example", "department": "Sales", '
    b'"jobTitle": "Engineer", "accountEnabled": true, "otherMails": [], '
    b'"signInActivity": {"lastSignInDateTime": "2026-11-01T10:00:00Z"}}' % (i, i, i, i)
    for i in range(500)
]
body = b'{"@odata.count": 500, "value": [' + b",".join(users) + b"]}"

async def page(request):
    return Response(body, media_type="application/json")

app = Starlette(routes=[Route("/{path:path}", page)])
tls = dict(ssl_certfile=sys.argv[2], ssl_keyfile=sys.argv[3]) if len(sys.argv) > 3 else {}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", **tls)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def sync_httpx(url: str, n: int) -> None:
    import httpx
    import orjson

    with httpx.Client() as client:
        for _ in range(n):
            orjson.loads(client.get(url).content)


async def _gather(n: int, in_flight: int, one) -> None:
    sem = asyncio.Semaphore(in_flight)

    async def guarded():
        async with sem:
            await one()

    await asyncio.gather(*(guarded() for _ in range(n)))


def async_httpx(url: str, n: int, in_flight: int, kit_transport: bool = False) -> None:
    import httpx
    import orjson

    from zoomaudit.sources.transport import cheaper_idle_checks

    async def go():
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        client = httpx.AsyncClient(limits=limits)
        async with cheaper_idle_checks(client) if kit_transport else client:

            async def one():
                orjson.loads((await client.get(url)).content)

            await _gather(n, in_flight, one)

    asyncio.run(go())


def kit_zoom(base: str, n: int, in_flight: int) -> None:
    from zoomaudit.config import Secret, Settings
    from zoomaudit.sources.http import RateLimiter, RetryPolicy, Stats
    from zoomaudit.sources.zoom import ZoomSource

    settings = Settings(zoom_api_url=base + "/v2", zoom_token=Secret("bench-token"))

    async def go():
        z = ZoomSource(settings, policy=RetryPolicy(), stats=Stats())
        z.limiters["medium"] = RateLimiter(1e6, burst=1e6)
        try:
            await _gather(n, in_flight, lambda: z.get(base + "/v2/users", {}, label="medium"))
        finally:
            await z.aclose()

    asyncio.run(go())


def kit_graph(base: str, n: int) -> None:
    from zoomaudit.config import Secret, Settings
    from zoomaudit.sources.graph import GraphSource
    from zoomaudit.sources.http import RetryPolicy, Stats

    settings = Settings(graph_url=base + "/v1.0", graph_token=Secret("bench-token"))

    async def go():
        g = GraphSource(settings, policy=RetryPolicy(), stats=Stats())
        try:
            for _ in range(n):
                await g.fetch(g.url("/users", {"$top": 500}), eventual=True)
        finally:
            await g.aclose()

    asyncio.run(go())


def _variants(base: str, n: int, tls: bool) -> dict:
    if tls:  # what Graph and Zoom speak: the rows that matter for real pulls
        return {
            "sync httpx (plain baseline), TLS": lambda: sync_httpx(base + "/p", n),
            "async httpx, 4 in flight, TLS": lambda: async_httpx(base + "/p", n, 4),
            "kit Zoom path, 4 in flight, TLS": lambda: kit_zoom(base, n, 4),
            "kit Graph path, 1 in flight, TLS": lambda: kit_graph(base, n),
        }
    return {
        "sync httpx (plain baseline)": lambda: sync_httpx(base + "/p", n),
        "async httpx, 1 in flight": lambda: async_httpx(base + "/p", n, 1),
        "async httpx, 4 in flight": lambda: async_httpx(base + "/p", n, 4),
        "async httpx, 16 in flight": lambda: async_httpx(base + "/p", n, 16),
        "async httpx with the kit's idle check (sources/transport.py), 4 in flight": (
            lambda: async_httpx(base + "/p", n, 4, kit_transport=True)
        ),
        "async httpx with the kit's idle check, 16 in flight": (
            lambda: async_httpx(base + "/p", n, 16, kit_transport=True)
        ),
        "kit Zoom path (ZoomSource.get), 4 in flight": lambda: kit_zoom(base, n, 4),
        "kit Zoom path (ZoomSource.get), 16 in flight": lambda: kit_zoom(base, n, 16),
        "kit Graph path (GraphSource.fetch via msgraph-sdk), 1 in flight": lambda: kit_graph(
            base, n
        ),
    }


def _measure(n: int, repeat: int, tls_dir: str | None) -> dict[str, float]:
    """Best-of-``repeat`` CPU ms per request of each variant against one page server."""
    port = free_port()
    files = [f"{tls_dir}/cert.pem", f"{tls_dir}/key.pem"] if tls_dir else []
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), *files])
    base = f"{'https' if tls_dir else 'http'}://127.0.0.1:{port}"
    variants = _variants(base, n, tls=bool(tls_dir))
    try:
        for _ in range(50):  # wait for the server
            try:
                sync_httpx(base + "/p", 1)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        results: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeat):  # interleaved, best of N per variant
            for name, fn in variants.items():
                results[name].append(cpu_of(fn) / n * 1000)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # uvicorn waiting on a TLS keep-alive connection
            server.kill()
            server.wait(timeout=10)
    return {name: min(ms) for name, ms in results.items()}


def _tls_files(folder: str) -> None:
    """A throw-away CA (trustme) and a certificate for 127.0.0.1; clients trust the CA through
    ``SSL_CERT_FILE`` (httpx reads it when it builds its TLS context)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(f"{folder}/key.pem")
    cert.cert_chain_pems[0].write_to_path(f"{folder}/cert.pem")
    ca.cert_pem.write_to_path(f"{folder}/ca.pem")
    os.environ["SSL_CERT_FILE"] = f"{folder}/ca.pem"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "transport.md"))
    args = ap.parse_args()
    # imports first: their CPU is not per request
    import tempfile

    import msgraph  # noqa: F401

    import zoomaudit.sources.graph  # noqa: F401
    import zoomaudit.sources.zoom  # noqa: F401

    n = args.requests
    plain_http = _measure(n, args.repeat, None)
    with tempfile.TemporaryDirectory() as folder:
        _tls_files(folder)
        tls = _measure(n, args.repeat, folder)
    rows = []
    for results, base_name in (
        (plain_http, "sync httpx (plain baseline)"),
        (tls, "sync httpx (plain baseline), TLS"),
    ):
        base_ms = results[base_name]
        rows += [f"| {name} | {ms:.2f} | {ms / base_ms:.2f}x |" for name, ms in results.items()]
    text = "\n".join(
        [
            "## Client CPU per request, layer by layer (bench/bench_transport.py)",
            "",
            f"Command: `.venv/bin/python bench/bench_transport.py --requests {n} "
            f"--repeat {args.repeat}`; one 156 KB JSON page (500 users) served by uvicorn in "
            f"a child process, over plain HTTP (as the emulator) and over TLS (as Graph and "
            f"Zoom; a throw-away CA), fetched and parsed with orjson {n} times per variant; "
            f"CPU of the client process only, best of {args.repeat} interleaved runs; load "
            f"average {os.getloadavg()[0]:.1f}. Ratios are against sync httpx over the same "
            "protocol.",
            "",
            "| client | CPU ms per request | vs sync httpx |",
            "|---|---:|---:|",
            *rows,
            "",
        ]
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
