"""The guard as an OpenAI-compatible service: a Starlette app on uvicorn.

Routes: ``POST /v1/chat/completions`` (forwarded to the upstream; high-stakes requests are
checked and the policy applied), ``GET /v1/models`` and ``GET /health``. A request may carry
``"dem_guard": {"high_stakes": true, "proposition": "...", "belief_question": "...",
"belief_system": "..."}`` (stripped before forwarding); topic rules flag the others. The reply
is the upstream's, with an abstained answer's content replaced by the policy's message
(``finish_reason`` ``content_filter``), a ``dem_guard`` object (per choice: decision id,
verdict, action, risk, error) and an ``X-Dem-Guard`` header (the strictest action).

Bad input never passes silently: malformed JSON or a malformed request is HTTP 400, streaming
is refused (400: the guard must see the whole answer), an upstream failure is HTTP 502 (or the
upstream's own 4xx), and a judge or belief-check failure is an ``error`` verdict under the
policy's fail-closed (default) or fail-open choice, logged.

In front of the routes (`dem.guard.middleware`): trusted Host and Origin, client keys, the JSON
body (type, size, read deadline) and admission (requests in flight). The server adds a deadline
on request headers, a listen backlog, keep-alive and graceful shutdown (`ServeLimits`). The
upstream is called from worker threads, at most ``max_in_flight`` at once; the client's own
headers (its key among them) are never forwarded. The checks of answers that arrive together
run as one batch, from one thread (`dem.guard.batching`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import ConfigError, DemError
from dem.fields import help_field
from dem.guard.batching import Batcher
from dem.guard.guard import Check, Guard
from dem.guard.stakes import LOW, TopicRule, assess
from dem.guard.upstream import UpstreamError
from dem.loopback import is_loopback
from dem.validation import check_fields

ROLES = ("system", "user", "assistant")
SEVERITY = {"pass": 0, "flag": 1, "abstain": 2}


@dataclass(frozen=True)
class ServeLimits:
    """What the service accepts and how long it waits."""

    max_body: int = help_field("Largest request body in bytes (413 above).", 4 * 1024 * 1024)
    header_timeout: float = help_field(
        "Seconds a connection may take to send a request's headers before it is closed.", 10.0
    )
    body_timeout: float = help_field("Seconds a request's body may take to arrive (408).", 30.0)
    keep_alive: float = help_field("Seconds an idle keep-alive connection stays open.", 5.0)
    max_in_flight: int = help_field("Requests worked on at once (upstream calls, checks).", 32)
    max_queue: int = help_field(
        "Requests that may wait for a worker; beyond in-flight plus queue, 503.", 256
    )
    retry_after: float = help_field("Seconds a refused client is told to wait (Retry-After).", 1.0)
    batch_wait: float = help_field(
        "Seconds a check may wait for the answers still being generated to join its batch.", 0.15
    )
    backlog: int = help_field("Connections the kernel queues before they are accepted.", 2048)
    shutdown_timeout: float = help_field(
        "Seconds a graceful shutdown waits for requests in flight.", 30.0
    )

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("max_body", "max_in_flight", "backlog"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"expected an integer >= 1, got {getattr(self, name)}")
        if self.max_queue < 0:
            raise ConfigError("max_queue", f"expected an integer >= 0, got {self.max_queue}")
        for name in ("header_timeout", "body_timeout", "keep_alive", "retry_after"):
            if not getattr(self, name) > 0:
                raise ConfigError(name, f"expected seconds > 0, got {getattr(self, name)}")
        if self.batch_wait < 0:
            raise ConfigError("batch_wait", f"expected seconds >= 0, got {self.batch_wait}")
        if self.shutdown_timeout < 0:
            raise ConfigError(
                "shutdown_timeout", f"expected seconds >= 0, got {self.shutdown_timeout}"
            )


def check_listen(host: str, port: int) -> None:
    """A `ConfigError` naming ``--host`` or ``--port`` unless both can be listened on."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError("--port", f"expected a port in 0..65535, got {port!r}")
    if not host or any(c.isspace() for c in host):
        raise ConfigError("--host", f"expected an address or a host name, got {host!r}")
    try:
        socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConfigError("--host", f"{host!r} is not an address of this machine: {exc}") from None


class RequestError(Exception):
    """A request the proxy refuses: HTTP `status` with `message`."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self.status = status
        self.kind = kind
        super().__init__(message)


def parse_chat_request(raw: bytes) -> tuple[dict[str, Any], list[dict[str, str]], Any]:
    """``(body without dem_guard, messages, the dem_guard object)``; `RequestError` (400) for
    anything malformed."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    if body.get("stream"):
        raise RequestError(400, "streaming is not supported by the guard (it checks whole answers)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise RequestError(400, f"messages[{i}]: 'role' must be one of {', '.join(ROLES)}")
        if not isinstance(m.get("content"), str):
            raise RequestError(400, f"messages[{i}]: 'content' must be a string")
    ext = body.pop("dem_guard", None)
    return body, [{"role": m["role"], "content": m["content"]} for m in messages], ext


def _error(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status}}


def _header_deadline_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol with a deadline on request headers: a connection that has not
    sent a whole request head `seconds` after connecting (or after its first byte of a next
    request) is closed, so stalled clients hold no connection (uvicorn itself has no such
    deadline)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _deadline: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()  # a request head has begun (or nothing yet): it has a deadline
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


class GuardServer:
    """An OpenAI-compatible server answering from `upstream`, guarded by `guard` (None: a plain
    server, e.g. dem's own backend as an upstream). Use as a context manager (a background
    thread) or call `serve_forever`.

    `api_keys`: the client keys (None: no authentication, refused unless `host` is loopback);
    `allow_origins`: browser origins allowed to call it (CORS); `allow_hosts`: Host header names
    accepted besides loopback's and `host`'s own (``*``: any). The socket is bound here, so a
    busy port or a bad address is an error before anything starts."""

    def __init__(
        self,
        upstream: Any,
        guard: Guard | None = None,
        rules: Sequence[TopicRule] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Sequence[str] | None = None,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        limits: ServeLimits | None = None,
    ) -> None:
        from dem.guard.middleware import LOOPBACK_NAMES, check_client_keys

        check_listen(host, port)
        if api_keys is None and not is_loopback(host):
            raise ConfigError(
                "--host", f"{host} is not loopback: clients must authenticate (pass --api-key)"
            )
        self.upstream = upstream
        self.guard = guard
        self.rules = tuple(rules)
        self.limits = limits or ServeLimits()
        self.api_keys = None if api_keys is None else check_client_keys(api_keys)
        self.allow_origins = tuple(allow_origins)
        self.allow_hosts = tuple(dict.fromkeys((*LOOPBACK_NAMES, host, *allow_hosts)))
        self._limiter: Any = None
        self._sock = self._bind(host, port)
        self._address = self._sock.getsockname()[:2]
        self._batcher = (
            Batcher(guard.check, max_wait=self.limits.batch_wait) if guard is not None else None
        )
        self.app = self._build_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _bind(self, host: str, port: int) -> socket.socket:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        family, kind, proto, _, addr = infos[0]
        # the protocol named (IPPROTO_TCP), or asyncio leaves Nagle on for accepted connections
        # and each answer waits ~40 ms for a delayed ACK between its head and its body
        sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(self.limits.backlog)
        except OSError as exc:
            sock.close()
            raise DemError(f"cannot listen on {host}:{port}: {exc}") from None
        return sock

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._address
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The server's OpenAI base URL (``http://host:port/v1``)."""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    # ------------------------------------------------------------------ the app
    def _build_app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from dem.guard.middleware import Admission, ClientKeys, JSONBody, TrustedRequests

        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok", "guarded": self.guard is not None})

        async def models(request: Request) -> JSONResponse:
            model = getattr(self.upstream, "model", "")
            return JSONResponse({"object": "list", "data": [{"id": model, "object": "model"}]})

        async def chat(request: Request) -> JSONResponse:
            import anyio

            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self.limits.max_in_flight)
            raw = await request.body()
            status, payload, headers = await anyio.to_thread.run_sync(
                self._answer, raw, limiter=self._limiter
            )
            return JSONResponse(payload, status, headers)

        async def http_error(request: Request, exc: Exception) -> JSONResponse:
            assert isinstance(exc, HTTPException)
            kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
            message = f"no route {request.method} {request.url.path}"
            return JSONResponse(_error(exc.status_code, message, kind), exc.status_code)

        limits = self.limits
        stack = [Middleware(TrustedRequests, hosts=self.allow_hosts, origins=self.allow_origins)]
        if self.allow_origins:
            stack.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=self.allow_origins,
                    allow_methods=("GET", "POST"),
                    allow_headers=("authorization", "content-type"),
                )
            )
        if self.api_keys is not None:
            stack.append(Middleware(ClientKeys, keys=self.api_keys))
        stack += [
            Middleware(JSONBody, max_bytes=limits.max_body, timeout=limits.body_timeout),
            Middleware(
                Admission,
                limit=limits.max_in_flight + limits.max_queue,
                retry_after=limits.retry_after,
            ),
        ]
        routes = [
            Route("/health", health, methods=["GET"]),
            Route("/v1/health", health, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
        return Starlette(
            routes=routes, middleware=stack, exception_handlers={HTTPException: http_error}
        )

    def _answer(self, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            return self.handle_chat(raw)
        except Exception as exc:  # never a silent pass: the client sees the failure
            return 500, _error(500, f"guard: {type(exc).__name__}: {exc}", "guard_error"), {}

    # ------------------------------------------------------------------ the chat route
    def handle_chat(self, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``(status, reply body, extra headers)`` of one chat-completions request."""
        try:
            body, conversation, ext = parse_chat_request(raw)
            stakes = assess(conversation, self.rules, ext) if self.guard is not None else LOW
        except RequestError as exc:
            return exc.status, _error(exc.status, str(exc), exc.kind), {}
        except ConfigError as exc:
            return 400, _error(400, str(exc), "invalid_request_error"), {}
        # a checked answer on its way: the batch of checks may wait for it
        ticket = self._batcher.announce() if self._batcher is not None and stakes.high else None
        try:
            return self._forward(body, conversation, stakes, ticket)
        finally:
            if ticket is not None:
                ticket.cancel()

    def _forward(
        self, body: dict[str, Any], conversation: list[dict[str, str]], stakes: Any, ticket: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        start = time.perf_counter()
        try:
            reply = self.upstream.chat(body)
        except UpstreamError as exc:
            status = exc.status if exc.status is not None and 400 <= exc.status < 500 else 502
            return status, _error(status, str(exc), "upstream_error"), {}
        upstream_seconds = time.perf_counter() - start
        choices = reply.get("choices") if isinstance(reply, dict) else None
        if not isinstance(choices, list) or not choices:
            return (
                502,
                _error(502, f"upstream reply has no choices: {reply!r:.200}", "upstream_error"),
                {},
            )
        if self.guard is None:
            return 200, reply, {}
        answers = []
        for c in choices:
            content = (c.get("message") or {}).get("content") if isinstance(c, dict) else None
            answers.append(content if isinstance(content, str) else None)
        start = time.perf_counter()
        checks = self._check(conversation, stakes, answers, ticket)
        guard_seconds = time.perf_counter() - start
        summary = []
        for choice, answer, check in zip(choices, answers, checks, strict=True):
            done = self.guard.decide(
                conversation,
                stakes,
                answer,
                check,
                upstream_seconds=upstream_seconds,
                guard_seconds=guard_seconds,
            )
            if check.action == "abstain" and isinstance(choice, dict):
                choice["message"] = {"role": "assistant", "content": done.served}
                choice["finish_reason"] = "content_filter"
            summary.append(
                {
                    "id": done.decision.id,
                    "verdict": check.verdict,
                    "action": check.action,
                    "risk": check.risk,
                    "error": check.error,
                }
            )
        reply["dem_guard"] = {
            "high_stakes": stakes.high,
            "source": stakes.source,
            "proposition": None if stakes.claim is None else stakes.claim.proposition,
            "decisions": summary,
        }
        worst = max((c.action for c in checks), key=SEVERITY.__getitem__)
        return 200, reply, {"X-Dem-Guard": worst}

    def _check(
        self,
        conversation: list[dict[str, str]],
        stakes: Any,
        answers: list[str | None],
        ticket: Any = None,
    ) -> list[Check]:
        assert self.guard is not None
        assert self._batcher is not None
        items = [(conversation, stakes, a) for a in answers]
        try:
            if not stakes.high:  # nothing to check: no hop to the batch thread
                return self.guard.check(items)
            return self._batcher(items, ticket)
        except Exception as exc:  # an unexpected failure is an error verdict under the policy
            reason = f"guard check failed: {type(exc).__name__}: {exc}"
            return [self.guard.failed(reason) for _ in answers]

    # ------------------------------------------------------------------ running
    def _uvicorn(self) -> Any:
        import uvicorn

        limits = self.limits
        config = uvicorn.Config(
            self.app,
            http=_header_deadline_protocol(limits.header_timeout),
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            backlog=limits.backlog,
            timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
            timeout_graceful_shutdown=limits.shutdown_timeout,  # type: ignore[arg-type]
        )
        self._server = uvicorn.Server(config)
        return self._server

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then finish the requests in flight (graceful) and
        return, so the caller closes its log (uvicorn re-raises the signal it caught once it
        is done: the handlers installed here absorb it)."""
        import signal

        server = self._uvicorn()
        caught: list[int] = []
        main = threading.current_thread() is threading.main_thread()
        previous = {}
        if main:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda s, _f: caught.append(s))
        try:
            server.run(sockets=[self._sock])
        finally:
            self._sock.close()
            if self._batcher is not None:
                self._batcher.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def shutdown(self) -> None:
        """Stop accepting connections and return once the requests in flight are answered."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.limits.shutdown_timeout + 5)
            self._thread = None
        self._sock.close()
        if self._batcher is not None:
            self._batcher.close()

    def __enter__(self) -> GuardServer:
        server = self._uvicorn()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise DemError(f"the guard server at {self.url} did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
