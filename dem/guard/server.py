"""The guard as an OpenAI-compatible HTTP proxy (stdlib `ThreadingHTTPServer`).

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
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dem.errors import ConfigError, DemError
from dem.guard.guard import Check, Guard
from dem.guard.stakes import LOW, TopicRule, assess
from dem.guard.upstream import UpstreamError

MAX_BODY = 8 * 1024 * 1024
ROLES = ("system", "user", "assistant")
SEVERITY = {"pass": 0, "flag": 1, "abstain": 2}


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


class GuardServer:
    """An OpenAI-compatible server answering from `upstream`, guarded by `guard` (None: a plain
    server, e.g. dem's own backend as an upstream). Use as a context manager (a background
    thread) or call `serve_forever`."""

    def __init__(
        self,
        upstream: Any,
        guard: Guard | None = None,
        rules: Sequence[TopicRule] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        serialize_checks: bool = False,
    ) -> None:
        self.upstream = upstream
        self.guard = guard
        self.rules = tuple(rules)
        self._check_lock = threading.Lock() if serialize_checks else None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # the decision log is the record
                pass

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if path in ("/health", "/v1/health"):
                    self._send(200, {"status": "ok", "guarded": server.guard is not None})
                elif path == "/v1/models":
                    model = getattr(server.upstream, "model", "")
                    self._send(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
                else:
                    self._send(404, _error(404, f"no route GET {self.path}", "not_found"))

            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if path != "/v1/chat/completions":
                    self._send(404, _error(404, f"no route POST {self.path}", "not_found"))
                    return
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    self._send(
                        411,
                        _error(411, "a Content-Length header is required", "invalid_request_error"),
                    )
                    return
                if not 0 <= length <= MAX_BODY:
                    self._send(
                        413,
                        _error(413, f"the body exceeds {MAX_BODY} bytes", "invalid_request_error"),
                    )
                    return
                raw = self.rfile.read(length)
                try:
                    status, payload, headers = server.handle_chat(raw)
                except Exception as exc:  # never a silent pass: the client sees the failure
                    status, payload, headers = (
                        500,
                        _error(500, f"guard: {type(exc).__name__}: {exc}", "guard_error"),
                        {},
                    )
                self._send(status, payload, headers)

        try:
            self._httpd = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise DemError(f"cannot listen on {host}:{port}: {exc}") from None
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The server's OpenAI base URL (``http://host:port/v1``)."""
        host, port = self.address
        return f"http://{host}:{port}/v1"

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
        checks = self._check(conversation, stakes, answers)
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
        self, conversation: list[dict[str, str]], stakes: Any, answers: list[str | None]
    ) -> list[Check]:
        assert self.guard is not None
        items = [(conversation, stakes, a) for a in answers]
        try:
            if self._check_lock is None:
                return self.guard.check(items)
            with self._check_lock:
                return self.guard.check(items)
        except Exception as exc:  # an unexpected failure is an error verdict under the policy
            reason = f"guard check failed: {type(exc).__name__}: {exc}"
            return [self.guard.failed(reason) for _ in answers]

    # ------------------------------------------------------------------ running
    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self) -> GuardServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
