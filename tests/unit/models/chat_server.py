"""A small real OpenAI-compatible server for tests: `http.server` on 127.0.0.1, backed by a real
`TransformersBackend`.

Routes, under ``/v1`` (and the same under a mode prefix):
- ``POST /v1/chat/completions``: generation through the backend (``n``, ``seed``, ...); with
  ``logprobs`` true each choice carries the per-token log-probs of its reply (``logprobs.content``,
  as OpenAI and vLLM send them), from one forward pass over prompt and reply;
- ``POST /v1/completions`` with ``echo`` and ``logprobs``: echoed prompt-token log-probs from
  one forward pass (what vLLM's server returns), with character ``text_offset``.
Mode prefixes: ``/flaky`` answers HTTP 500 to its first `flaky_failures` requests (the body
echoes the Authorization header, as careless servers do); ``/busy`` answers HTTP 429 with a
``Retry-After: {retry_after}`` header to its first `busy_failures` requests; ``/reset`` closes
the connection without an answer on its first `reset_failures` requests; ``/slow`` waits
`slow_seconds` before answering; ``/hold`` waits `hold_seconds`, so that concurrent requests
overlap; ``/redirect`` answers `redirect_status` with ``Location: {redirect_to}``; ``/plain``
ignores ``echo`` and ``logprobs`` (as ``transformers serve`` does).
``GET`` on any path answers a fixed chat completion, as a server a redirect leads to might.

The server speaks HTTP/1.1 with keep-alive. Every request is recorded in `requests` (a `Seen`:
method, path, headers, JSON body, the client's port); `max_in_flight` is the largest number of
requests the server was handling at once.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from dem.models.backends.base import GenerationConfig

GET_REPLY = "an answer from a server the client was redirected to"


class Seen(NamedTuple):
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    port: int


class ChatServer:
    def __init__(
        self,
        backend: Any,
        *,
        flaky_failures: int = 2,
        busy_failures: int = 1,
        reset_failures: int = 1,
        retry_after: str = "1",
        slow_seconds: float = 5.0,
        hold_seconds: float = 0.2,
        redirect_status: int = 302,
        redirect_to: str = "",
    ):
        self.backend = backend
        self.flaky_failures = flaky_failures
        self.busy_failures = busy_failures
        self.reset_failures = reset_failures
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.hold_seconds = hold_seconds
        self.redirect_status = redirect_status
        self.redirect_to = redirect_to
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._stopping = threading.Event()
        self._seen: dict[str, int] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, mode: str = "") -> str:
        return f"{self.root}{'/' + mode if mode else ''}/v1"

    def reset(self) -> None:
        """Forget the requests seen so far; the failing modes fail afresh."""
        with self._count_lock:
            self.requests.clear()
            self.max_in_flight = 0
            self._seen.clear()

    def __enter__(self) -> ChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no delayed-ACK stalls on kept-alive connections

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                self._serve(body, lambda: server.handle(self.path, body, dict(self.headers)))

            def do_GET(self) -> None:
                self._serve({}, lambda: (200, server.canned(self.path), {}))

            def _serve(self, body: dict[str, Any], answer: Any) -> None:
                seen = Seen(
                    self.command, self.path, dict(self.headers), body, self.client_address[1]
                )
                with server._count_lock:
                    server.requests.append(seen)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    status, payload, headers = answer()
                finally:
                    with server._count_lock:
                        server.in_flight -= 1
                if status == 0:  # no answer: the connection closes (a reset, or a stopping server)
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def handle(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        mode, _, route = path.partition("/v1/")
        mode = mode.strip("/")
        if mode == "flaky":
            if self._fails(mode, self.flaky_failures):
                auth = headers.get("Authorization", "")
                return 500, {"error": f"overloaded; request had header {auth}"}, {}
        elif mode == "busy":
            if self._fails(mode, self.busy_failures):
                return 429, {"error": "rate limited"}, {"Retry-After": self.retry_after}
        elif mode == "reset":
            if self._fails(mode, self.reset_failures):
                return 0, None, {}
        elif mode == "slow":
            if self._stopping.wait(self.slow_seconds):
                return 0, None, {}
        elif mode == "hold":
            if self._stopping.wait(self.hold_seconds):
                return 0, None, {}
        elif mode == "redirect":
            return self.redirect_status, {}, {"Location": self.redirect_to}
        elif mode not in ("", "plain"):
            return 404, {"error": f"no route {path}"}, {}
        if route == "chat/completions":
            return 200, self.chat(body, logprobs=mode != "plain"), {}
        if route == "completions":
            return 200, self.completions(body, echo_logprobs=mode != "plain"), {}
        return 404, {"error": f"no route {path}"}, {}

    def _fails(self, mode: str, failures: int) -> bool:
        """Whether this request is one of the first `failures` of `mode` since the last reset."""
        with self._count_lock:
            self._seen[mode] = self._seen.get(mode, 0) + 1
            return self._seen[mode] <= failures

    def canned(self, path: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": GET_REPLY}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {"object": "chat.completion", "model": path, "choices": [choice]}

    def chat(self, body: dict[str, Any], *, logprobs: bool) -> dict[str, Any]:
        config = GenerationConfig(
            max_new_tokens=int(body.get("max_tokens", 16)),
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            n=int(body.get("n", 1)),
            seed=int(body.get("seed", 0)),
        )
        with self._lock:
            comps = self.backend.generate([body["messages"]], config)[0]
        choices = []
        for i, c in enumerate(comps):
            choice = {
                "index": i,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
            }
            if logprobs and body.get("logprobs"):
                choice["logprobs"] = {"content": self.reply_logprobs(body["messages"], c.text)}
            choices.append(choice)
        return {"object": "chat.completion", "model": body.get("model"), "choices": choices}

    def reply_logprobs(self, messages: list[dict[str, str]], reply: str) -> list[dict[str, Any]]:
        """Each reply token with its log-prob after the generation prompt (OpenAI's shape)."""
        prompt = self.backend.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        tokens, values, offsets = self.echo(prompt + reply)
        return [
            {"token": t, "logprob": v, "bytes": list(t.encode()), "top_logprobs": []}
            for t, v, o in zip(tokens, values, offsets, strict=True)
            if o >= len(prompt)
        ]

    def echo(self, text: str) -> tuple[list[str], list[float | None], list[int]]:
        """Tokens of `text`, the log-prob of each given those before it (None for the first),
        and each token's character offset: one forward pass."""
        import torch

        tok, model = self.backend.tokenizer, self.backend.model
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        with self._lock, torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        lps = torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[1:])[:, None])
        values: list[float | None] = [None, *lps.squeeze(-1).tolist()]
        return [tok.decode([i]) for i in ids], values, [s for s, _ in enc["offset_mapping"]]

    def completions(self, body: dict[str, Any], *, echo_logprobs: bool) -> dict[str, Any]:
        prompt = body["prompt"]
        choice: dict[str, Any] = {"index": 0, "text": "", "finish_reason": "length"}
        if echo_logprobs and body.get("echo") and body.get("logprobs") is not None:
            tokens, values, offsets = self.echo(prompt)
            choice["text"] = prompt
            choice["logprobs"] = {
                "tokens": tokens,
                "token_logprobs": values,
                "text_offset": offsets,
            }
        return {"object": "text_completion", "model": body.get("model"), "choices": [choice]}
