"""The collectors' transport: httpx's pool with a cheaper idle-connection check.

Real sockets on loopback: a keep-alive connection the server closed must not be reused, TLS
must work through the wrapper, proxies from the environment must still be used, and the
wrapper must be in effect (else its CPU saving is silently lost after an httpx upgrade).
"""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

import zoomaudit.sources.transport as transport_module
from zoomaudit.sources.http import RetryPolicy, read_only_client
from zoomaudit.sources.transport import cheaper_idle_checks

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


async def _server(
    close_after: float | None, ssl_context: ssl.SSLContext | None = None, size: int = 0
):
    """A tiny HTTP/1.1 server: answers each request with keep-alive; with ``close_after``,
    closes the connection that long after its first answer (like a server's idle timeout)."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                body = b'{"n": %d, "pad": "%s"}' % (len(connections), b"x" * size)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nconnection: keep-alive\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                if close_after is not None:
                    await asyncio.sleep(close_after)
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    return server, port, connections


async def _two_requests(url: str, verify: object = True, pause: float = 0.3):
    client = cheaper_idle_checks(httpx.AsyncClient(verify=verify, limits=LIMITS))
    async with client:
        first = await client.get(url)
        await asyncio.sleep(pause)
        second = await client.get(url)
        return first, second


def test_collector_clients_use_the_cheaper_idle_check():
    async def go():
        client = read_only_client(RetryPolicy())
        async with client:
            pool = client._transport._pool  # noqa: SLF001 - what this test guards
            return pool._network_backend  # noqa: SLF001

    backend = asyncio.run(go())
    assert isinstance(backend, transport_module._Backend), (
        "httpx no longer exposes its pool's network backend: the collectors lost the cheaper "
        "idle-connection check (see zoomaudit/sources/transport.py)"
    )


def test_a_keepalive_connection_the_server_closed_is_not_reused():
    async def go():
        server, port, connections = await _server(close_after=0.05)
        async with server:
            first, second = await _two_requests(f"http://127.0.0.1:{port}/")
        return first, second, connections

    first, second, connections = asyncio.run(go())
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"n": 2, "pad": ""}
    assert len(connections) == 2


def test_the_idle_check_is_what_keeps_a_closed_connection_out(monkeypatch):
    # Without the readability check the pool hands out the dead connection: the request fails.
    # This proves the test above exercises the wrapper's check.
    monkeypatch.setattr(transport_module, "_readable", lambda sock: False)

    async def go():
        server, port, _ = await _server(close_after=0.05)
        async with server:
            await _two_requests(f"http://127.0.0.1:{port}/")

    with pytest.raises(httpx.TransportError):
        asyncio.run(go())


def test_an_open_keepalive_connection_is_reused():
    async def go():
        server, port, connections = await _server(close_after=None)
        async with server:
            first, second = await _two_requests(f"http://127.0.0.1:{port}/", pause=0.05)
        return first, second, connections

    first, second, connections = asyncio.run(go())
    assert second.json() == {"n": 1, "pad": ""}
    assert len(connections) == 1


def test_tls_goes_through_the_wrapper(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def go():
        server, port, connections = await _server(close_after=None, ssl_context=server_context)
        async with server:
            client = cheaper_idle_checks(httpx.AsyncClient(verify=client_context, limits=LIMITS))
            async with client:
                response = await client.get(f"https://127.0.0.1:{port}/")
                stream = response.extensions["network_stream"]
                again = await client.get(f"https://127.0.0.1:{port}/")
                return response, stream, again, connections

    response, stream, again, connections = asyncio.run(go())
    assert response.status_code == again.status_code == 200
    assert isinstance(stream, transport_module._Stream)
    assert stream.get_extra_info("ssl_object") is not None
    assert len(connections) == 1


def test_large_bodies_arrive_whole_on_a_reused_connection():
    size = 3 * 1024 * 1024 + 17

    async def go():
        server, port, connections = await _server(close_after=None, size=size)
        async with server:
            first, second = await _two_requests(f"http://127.0.0.1:{port}/", pause=0.01)
        return first, second, connections

    first, second, connections = asyncio.run(go())
    assert first.json() == second.json() == {"n": 1, "pad": "x" * size}
    assert len(connections) == 1


def test_collector_clients_still_go_through_a_proxy_from_the_environment(monkeypatch):
    # Behind a corporate proxy (HTTPS_PROXY / HTTP_PROXY), the collectors must use it: httpx
    # only mounts proxies from the environment when it builds the transport itself.
    seen: list[bytes] = []

    async def go():
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
            await writer.drain()
            writer.close()

        proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        async with proxy:
            client = read_only_client(RetryPolicy())
            async with client:
                return await client.get("http://zoom.invalid/v2/users")

    response = asyncio.run(go())
    assert response.status_code == 200
    assert seen and seen[0].startswith(b"GET http://zoom.invalid/v2/users HTTP/1.1")
