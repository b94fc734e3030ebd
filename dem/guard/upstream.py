"""What the guard's HTTP server answers from: an OpenAI-compatible server (`HTTPUpstream`) or a
dem backend in this process (`LocalUpstream`: dem's own backend served over HTTP).

Both take an OpenAI chat-completions request body and return the reply body, and both expose
the `Backend` the guard's belief check uses (a local one behind a lock: the transformers
backend is not thread-safe).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from dem.errors import ConfigError, DemError


class UpstreamError(DemError):
    """The upstream failed a request; `status` is its HTTP status where it gave one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class LockedBackend:
    """A backend whose calls take a lock (shared with the upstream's own generation)."""

    def __init__(self, backend: Any, lock: threading.Lock) -> None:
        self._inner = backend
        self._lock = lock
        self.name = getattr(backend, "name", "backend")

    def generate(self, conversations: Sequence[Any], config: Any) -> Any:
        with self._lock:
            return self._inner.generate(conversations, config)

    def score(self, conversation: Any, candidates: Sequence[str]) -> Any:
        with self._lock:
            return self._inner.score(conversation, candidates)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != "score_many":
            return attr

        def locked(*args: Any, **kw: Any) -> Any:
            with self._lock:
                return attr(*args, **kw)

        return locked


class HTTPUpstream:
    """An OpenAI-compatible server at `base_url` (``http://host:port/v1``)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        timeout: float = 60.0,
        max_retries: int = 1,
        template: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        allow_insecure_http: bool = False,
    ) -> None:
        from dem.models.backends.openai_http import OpenAIBackend

        spec: Any = None
        if template is not None:
            from dem.models.registry import resolve_model

            spec = resolve_model(template)
        self.base_url = base_url.rstrip("/")
        self.backend = OpenAIBackend(
            base_url,
            model,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            backoff=0.2,
            template=spec,
            allow_insecure_http=allow_insecure_http,
        )
        self.model = model

    def check_reachable(self, timeout: float = 5.0) -> None:
        """Raise `UpstreamError` when nothing accepts connections at the upstream's address."""
        parts = urlsplit(self.base_url)
        if not parts.hostname:
            raise ConfigError("upstream", f"{self.base_url!r} has no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
        except OSError as exc:
            raise UpstreamError(f"upstream {self.base_url} is unreachable: {exc}") from None

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        from dem.models.backends.openai_http import HTTPFailure

        try:
            return self.backend.post("chat/completions", body)
        except HTTPFailure as exc:
            raise UpstreamError(f"upstream: {exc}", exc.status) from None


class LocalUpstream:
    """A dem backend (e.g. the organism's transformers backend) answering in this process."""

    def __init__(self, backend: Any, model: str) -> None:
        self._lock = threading.Lock()
        self._raw = backend
        self.backend = LockedBackend(backend, self._lock)
        self.model = model

    def check_reachable(self, timeout: float = 5.0) -> None:
        return None

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        from dem.models.backends.base import GenerationConfig

        try:
            config = GenerationConfig(
                max_new_tokens=int(
                    body.get("max_tokens") or body.get("max_completion_tokens") or 256
                ),
                temperature=float(body.get("temperature", 1.0)),
                top_p=float(body.get("top_p", 1.0)),
                n=int(body.get("n", 1)),
                seed=int(body.get("seed", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise UpstreamError(f"bad sampling parameter: {exc}", 400) from None
        if config.n < 1 or config.max_new_tokens < 1 or not 0.0 <= config.temperature <= 5.0:
            raise UpstreamError("n and max_tokens must be >= 1, temperature in [0, 5]", 400)
        comps = self.backend.generate([body["messages"]], config)[0]
        failed = [c.error for c in comps if not c.ok]
        if failed:
            raise UpstreamError(f"generation failed: {failed[0]}")
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": c.text},
                    "finish_reason": c.finish_reason or "stop",
                }
                for i, c in enumerate(comps)
            ],
        }
