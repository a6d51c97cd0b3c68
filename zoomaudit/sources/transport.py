"""The collectors' HTTP transport: httpx's own, with a cheaper idle-connection check.

Place in the flow: :func:`zoomaudit.sources.http.read_only_client` passes every collector
client through :func:`cheaper_idle_checks`. The client's direct transport stays the
``httpx.AsyncHTTPTransport`` httpx built, except for the network backend of its httpcore pool,
which wraps httpcore's default backend.

Why: before it hands out a pooled connection, httpcore asks every idle connection whether
the server closed it (``get_extra_info("is_readable")``). It does this on each request and
each response close. On asyncio, each question rebuilds anyio's socket attribute table,
which costs a ``getpeername`` system call and a dict of closures: 4.5 us. With 16 pages in
flight that is ~74 questions per request: 1.63 ms CPU per 156 KB page instead of 1.27 ms
(measured with the page server of ``bench/bench_transport.py``). The wrapper answers from
the socket it keeps, with the same ``poll`` check httpcore uses (for TLS connections too: the
socket under TLS is the same). Everything else is delegated unchanged: reads, writes, TLS,
timeouts, other ``get_extra_info`` keys.

Evaluated and dropped: reads larger than httpcore's 64 KiB. Over plain HTTP (the emulator)
they took a 156 KB page in 1 read instead of 3 (0.90 -> 0.77 ms CPU per request), but Graph
and Zoom are HTTPS, where each read returns one TLS record (16 KiB at most) whatever is
asked: 0.74 vs 0.75 ms per request over TLS on loopback.

The transport and its pool's backend are private attributes (``client._transport``,
``_pool._network_backend``; httpx 0.28 / httpcore 1.0). If a later httpx moves them,
:func:`cheaper_idle_checks` leaves the client as httpx built it. That only costs CPU:
``tests/sources/test_transport.py`` fails so that someone notices.
"""

from __future__ import annotations

import select
import socket
import typing

import httpcore
import httpx


def _readable(sock: socket.socket | None) -> bool:
    """True when a read would not block, i.e. an idle keep-alive connection got data or EOF.

    Same check as httpcore's: a socket without a descriptor counts as readable (closed)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover - Windows


class _Stream(httpcore.AsyncNetworkStream):
    """An httpcore stream that keeps its socket for ``is_readable``; all else delegated."""

    def __init__(self, stream: httpcore.AsyncNetworkStream, sock: socket.socket | None = None):
        self._stream = stream
        self._sock = sock if sock is not None else stream.get_extra_info("socket")
        # bound methods of the wrapped stream: no extra coroutine frame per read or write
        self.read = stream.read  # type: ignore[method-assign]
        self.write = stream.write  # type: ignore[method-assign]
        self.aclose = stream.aclose  # type: ignore[method-assign]

    async def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(tls, self._sock)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._sock is not None:
            return _readable(self._sock)
        return self._stream.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """Wraps httpcore's backend so that every connection it opens is a :class:`_Stream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend):
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def cheaper_idle_checks(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Give the direct transport httpx built for ``client`` the cheaper idle check.

    Only the transport httpx made itself (no ``transport=`` given) is changed, so the client
    keeps everything else httpx set up from its arguments and the environment: proxies from
    ``HTTP(S)_PROXY``/``ALL_PROXY`` stay mounted as httpx built them (unwrapped), and
    ``NO_PROXY`` hosts go through the wrapped direct transport."""
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if type(transport) is httpx.AsyncHTTPTransport and isinstance(
        inner, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = _Backend(inner)  # type: ignore[union-attr]
    return client
