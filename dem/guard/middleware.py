"""The guard service's gates, as plain ASGI middleware: trusted hosts and origins, client keys,
admission (a bound on requests in flight) and the request body (JSON only, a size limit and a
read deadline). Each answers a refused request itself, in the OpenAI error shape, before the
app (and so before any upstream call) sees it.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from dem.errors import ConfigError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Routes open to anyone who reaches the port (liveness probes): they reveal nothing.
OPEN_PATHS = frozenset({"/health", "/v1/health"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MIN_KEY_LENGTH = 16


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_error(
    send: Send,
    status: int,
    message: str,
    kind: str,
    headers: Sequence[tuple[str, str]] = (),
    *,
    close: bool = False,
) -> None:
    """An OpenAI-shaped JSON error; `close` asks the server to close the connection after."""
    body = json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
    ]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def check_client_keys(keys: Sequence[str], operator_keys: Sequence[str | None] = ()) -> tuple:
    """The client keys, checked: non-empty, no whitespace, at least `MIN_KEY_LENGTH`
    characters, never equal to a key the guard itself sends upstream."""
    out = []
    for i, key in enumerate(keys):
        where = f"api key #{i + 1}"
        if not key or key != key.strip() or any(c.isspace() for c in key):
            raise ConfigError(where, "empty or contains whitespace")
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(where, f"shorter than {MIN_KEY_LENGTH} characters; use a random key")
        if any(op and hmac.compare_digest(key.encode(), op.encode()) for op in operator_keys):
            raise ConfigError(
                where,
                "equals the upstream's API key; clients get keys of their own, the upstream "
                "key never leaves the guard",
            )
        out.append(key)
    return tuple(dict.fromkeys(out))


def host_of(value: str) -> str:
    """The host part of a Host header (``name``, ``name:port``, ``[v6]:port``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class TrustedRequests:
    """Refuses a request whose Host is not one of `hosts` (400; ``*`` allows any) and a browser
    request from an Origin not in `origins` (403)."""

    def __init__(self, app: ASGIApp, hosts: Collection[str], origins: Collection[str]) -> None:
        self.app = app
        self.hosts = frozenset(h.lower().strip("[]") for h in hosts)
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = host_of(header(scope, b"host") or "")
        if "*" not in self.hosts and host not in self.hosts:
            return await send_error(
                send, 400, f"Host {host or '(none)'!r} is not served here", "invalid_host"
            )
        origin = header(scope, b"origin")
        if (
            origin is not None
            and "*" not in self.origins
            and origin.rstrip("/") not in self.origins
        ):
            return await send_error(
                send,
                403,
                f"cross-origin requests from {origin!r} are refused (see --allow-origin)",
                "forbidden_origin",
            )
        await self.app(scope, receive, send)


class ClientKeys:
    """Requires ``Authorization: Bearer KEY`` with one of `keys` (constant-time comparison) on
    every route but `OPEN_PATHS` and CORS preflights; 401 otherwise."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError("api_keys", "no client key given")
        self.app = app
        self.keys = tuple(k.encode() for k in keys)

    def accepts(self, presented: str | None) -> bool:
        if presented is None or not presented.lower().startswith("bearer "):
            return False
        token = presented[7:].strip().encode("latin-1")
        ok = False
        for key in self.keys:  # every key compared: the time does not say which one matched
            ok |= hmac.compare_digest(token, key)
        return ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or scope["method"] == "OPTIONS"
            or self.accepts(header(scope, b"authorization"))
        ):
            return await self.app(scope, receive, send)
        await send_error(
            send,
            401,
            "a valid client key is required (Authorization: Bearer KEY)",
            "authentication_error",
            [("WWW-Authenticate", "Bearer")],
        )


class Admission:
    """At most `limit` requests admitted at once (working or waiting for a worker); the next
    gets 503 with ``Retry-After`` instead of a queue without end or a dropped connection."""

    def __init__(self, app: ASGIApp, limit: int, retry_after: float) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = str(max(1, math.ceil(retry_after)))
        self.admitted = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        if self.admitted >= self.limit:
            self.refused += 1
            return await send_error(
                send,
                503,
                f"the guard is at its limit of {self.limit} requests in flight; retry later",
                "overloaded",
                [("Retry-After", self.retry_after)],
            )
        self.admitted += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.admitted -= 1


class JSONBody:
    """A request with a body must be ``application/json`` (415), at most `max_bytes` (413) and
    arrive within `timeout` seconds of its headers (408); the app then gets it in one message."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        kind = (header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            return await send_error(
                send,
                415,
                f"the body must be application/json, got {kind or 'no Content-Type'!r}",
                "invalid_request_error",
                close=True,
            )
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await send_error(
                send, 413, f"the body exceeds {self.max_bytes} bytes", "invalid_request_error",
                close=True,
            )  # fmt: skip
        body = await self._read(receive, send)
        if body is None:
            return None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, send: Send) -> bytes | None:
        import anyio

        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    await send_error(
                        send, 413, f"the body exceeds {self.max_bytes} bytes",
                        "invalid_request_error", close=True,
                    )  # fmt: skip
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        assert deadline.cancelled_caught
        await send_error(
            send,
            408,
            f"the body did not arrive within {self.timeout:g} s",
            "request_timeout",
            close=True,
        )
        return None
