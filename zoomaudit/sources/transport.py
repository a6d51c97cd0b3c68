"""The collectors' HTTP transport: httpx's own, with a cheaper idle-connection check and
larger reads.

Place in the flow: :func:`zoomaudit.sources.http.read_only_client` builds every collector
client on :func:`pooled_transport`. It is ``httpx.AsyncHTTPTransport`` unchanged except for
the network backend of its httpcore pool, which wraps httpcore's default backend.

Why: before it hands out a pooled connection, httpcore asks every idle connection whether
the server closed it (``get_extra_info("is_readable")``). It does this on each request and
each response close. On asyncio, each question rebuilds anyio's socket attribute table,
which costs a ``getpeername`` system call and a dict of closures: 4.5 us. With 16 pages in
flight that is ~74 questions per request: 1.63 ms CPU per 156 KB page instead of 1.27 ms
(measured with the page server of ``bench/bench_transport.py``). The wrapper answers from
the socket it keeps, with the same ``poll`` check httpcore uses. Reads ask for
:data:`READ_BYTES` at least. Everything else is delegated unchanged: writes, TLS, timeouts,
other ``get_extra_info`` keys.

The pool's backend is a private attribute of httpx's transport (``_pool._network_backend``,
httpx 0.28 / httpcore 1.0). If a later httpx moves it, :func:`pooled_transport` leaves the
transport as httpx built it. That only costs CPU: ``tests/sources/test_transport.py`` fails
so that someone notices.
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


#: bytes asked for per read. httpcore asks 64 KiB; asyncio receives up to 256 KiB per system
#: call and anyio hands over at most one received chunk per read, so 256 KiB takes each chunk
#: whole instead of in up to four reads, each passing ~6 layers of async iterators (a 156 KB
#: page: 3 reads -> 1, 0.90 -> 0.77 ms CPU per request). h11 buffers whatever it is given.
READ_BYTES = 256 * 1024


class _Stream(httpcore.AsyncNetworkStream):
    """An httpcore stream that keeps its socket for ``is_readable`` and reads in larger
    pieces; all else delegated."""

    def __init__(self, stream: httpcore.AsyncNetworkStream, sock: socket.socket | None = None):
        self._stream = stream
        self._sock = sock if sock is not None else stream.get_extra_info("socket")
        self._read = stream.read
        # bound methods of the wrapped stream: no extra coroutine frame per write
        self.write = stream.write  # type: ignore[method-assign]
        self.aclose = stream.aclose  # type: ignore[method-assign]

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._read(max(max_bytes, READ_BYTES), timeout)

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


def pooled_transport(*, verify: typing.Any, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """``httpx.AsyncHTTPTransport(verify=..., limits=...)`` with the cheaper idle check."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if isinstance(inner, httpcore.AsyncNetworkBackend):
        pool._network_backend = _Backend(inner)  # type: ignore[union-attr]
    return transport
