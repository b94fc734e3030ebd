"""An OpenAI-compatible HTTP backend (OpenAI, a vLLM server, ``transformers serve``, ...).

One `httpx.Client` per backend, its connection pool sized to ``concurrency``; at most
``concurrency`` requests are in flight at once, across a `generate` batch and across threads.

The API key is read from an environment variable at request time and sent only in the
``Authorization`` header: it is never stored, logged or put in an error message. It is sent only
over https, or over plain http to a loopback host (127.0.0.0/8, ::1, localhost); anything else
needs ``allow_insecure_http=True``. Redirects are never followed (a redirected POST would carry
the key to wherever the ``Location`` points): a 3xx reply is an error naming the target origin.

Timeouts (connect and read apart), connection failures, HTTP 408, 409, 425, 429 and 5xx
(except 501 and 505) are retried with exponential back-off, or after the server's
``Retry-After`` (seconds or an HTTP date, capped by ``max_backoff``); what still fails ends as
``Completion(text=None, error=...)``, never as an answer. With ``logprobs=True`` chat completions
ask for the per-token log-probs of the reply, and `Completion.token_logprobs` carries them
whenever the server returns them.

Scoring needs echoed prompt log-probs from the legacy ``/completions`` route (vLLM serves them)
and the model's chat template (``template``: a `ModelSpec` or folder whose tokenizer renders
the conversation exactly as the server's model expects it).
"""

from __future__ import annotations

import email.utils
import math
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from dem.errors import ConfigError, DemError
from dem.loopback import is_loopback
from dem.models.backends.base import Completion, Conversation, GenerationConfig, Score
from dem.models.spec import ModelSpec

# Statuses worth a retry: the same request can succeed later. 501 and 505 cannot.
_RETRY_STATUS = frozenset(
    {408, 409, 425, 429, *(s for s in range(500, 600) if s not in (501, 505))}
)


class HTTPFailure(DemError):
    """A request that failed for good (after retries, or with a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110);
    None when the header is absent or unreadable. A date in the past gives 0."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


class OpenAIBackend:
    """A `Backend` speaking the OpenAI chat-completions protocol over HTTP.

    ``timeout`` bounds each read and write of a request, ``connect_timeout`` opening a connection;
    ``max_retries`` retries follow ``backoff * 2**attempt`` seconds, at most ``max_backoff``;
    ``concurrency`` is the number of requests in flight at once (and of pooled connections);
    ``logprobs`` asks chat completions for the reply's token log-probs; ``allow_insecure_http``
    lets the key travel over plain http to a host that is not loopback.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        concurrency: int = 4,
        template: ModelSpec | str | Path | None = None,
        extra_body: dict[str, Any] | None = None,
        logprobs: bool = False,
        allow_insecure_http: bool = False,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("base_url", f"{base_url!r} is not an http(s) URL")
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ConfigError("base_url", f"{base_url!r} is not a valid URL ({exc})") from None
        if not url.host:
            raise ConfigError("base_url", f"{base_url!r} names no host")
        for field, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if not value > 0:
                raise ConfigError(field, f"must be positive, got {value}")
        if max_retries < 0:
            raise ConfigError("max_retries", "must be >= 0")
        if backoff < 0 or max_backoff < 0:
            raise ConfigError("backoff", "backoff and max_backoff must be >= 0")
        if concurrency < 1:
            raise ConfigError("concurrency", "must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = concurrency
        self.extra_body = dict(extra_body or {})
        self.logprobs = logprobs
        self.allow_insecure_http = allow_insecure_http
        self._insecure = url.scheme == "http" and not is_loopback(url.host)
        self._template = template
        self._tokenizer: Any = None
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._check_key_transport()

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r})"

    # ------------------------------------------------------------------ HTTP
    def _key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def _redact(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key else text

    def _check_key_transport(self) -> None:
        """Refuse to send a key in clear text to a host that is not this machine."""
        if self._insecure and self._key() and not self.allow_insecure_http:
            raise ConfigError(
                "base_url",
                f"{self.base_url!r} is plain http to a host that is not loopback, and the API key "
                f"in ${self.api_key_env} would travel unencrypted; use https, unset "
                f"{self.api_key_env} (or pass api_key_env=None) if the server needs no key, or "
                "pass allow_insecure_http=True (dem eval: --allow-insecure-http) to send it anyway",
            )

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                    limits=httpx.Limits(
                        max_connections=self.concurrency,
                        max_keepalive_connections=self.concurrency,
                    ),
                    follow_redirects=False,
                )
            return self._client

    def close(self) -> None:
        """Close the connection pool (a later request opens a new one)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _timeout_message(self, url: str, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"POST {url}: timed out connecting after {self.connect_timeout:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"POST {url}: timed out waiting for a free connection after {self.timeout:g} s"
        return f"POST {url}: timed out after {self.timeout:g} s ({exc.__class__.__name__})"

    def _redirect_failure(self, url: str, response: httpx.Response) -> HTTPFailure:
        location = response.headers.get("Location")
        try:
            target = f"to {_origin(response.request.url.join(location))}" if location else ""
        except httpx.InvalidURL:
            target = "to an unreadable Location"
        code = response.status_code
        message = (
            f"POST {url}: HTTP {code} redirect {target or 'without a Location'} not followed "
            "(a redirected request would carry the API key elsewhere); set base_url to the "
            "server's final address"
        )
        return HTTPFailure(self._redact(message), code)

    def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to ``base_url + route``, retrying transient failures; the parsed reply.
        Raises `HTTPFailure` when it fails for good, and `ConfigError` when the key would go
        over plain http to a host that is not loopback (a key set after construction)."""
        url = f"{self.base_url}/{route.lstrip('/')}"
        headers = {"Accept": "application/json"}
        key = self._key()
        if key:
            self._check_key_transport()
            headers["Authorization"] = f"Bearer {key}"
        last = ""
        for attempt in range(self.max_retries + 1):
            delay = min(self.backoff * 2**attempt, self.max_backoff)
            try:
                with self._slots:
                    response = self._http().post(url, json=body, headers=headers)
            except httpx.TimeoutException as exc:
                last = self._timeout_message(url, exc)
            except httpx.RequestError as exc:  # connection refused or reset, protocol errors
                last = self._redact(f"POST {url}: {exc.__class__.__name__}: {exc}")
            else:
                code = response.status_code
                if 300 <= code < 400:
                    raise self._redirect_failure(url, response)
                if code < 300:
                    return self._parse_json(url, response)
                detail = response.text[:500].strip()
                last = self._redact(f"POST {url}: HTTP {code}: {detail}")
                if code not in _RETRY_STATUS:
                    raise HTTPFailure(last, code)
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is not None:
                    delay = min(wait, self.max_backoff)
            if attempt < self.max_retries:
                time.sleep(delay)
        raise HTTPFailure(f"{last} (gave up after {self.max_retries + 1} attempts)")

    def _parse_json(self, url: str, response: httpx.Response) -> dict[str, Any]:
        try:
            reply = response.json()
        except ValueError as exc:
            raise HTTPFailure(self._redact(f"POST {url}: the reply is not JSON ({exc})")) from None
        if not isinstance(reply, dict):
            message = f"POST {url}: the reply is not a JSON object: {reply!r:.200}"
            raise HTTPFailure(self._redact(message))
        return reply

    # ------------------------------------------------------------------ generation
    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        """``config.n`` completions per conversation; a failed request yields error completions.
        At most ``concurrency`` requests are in flight at once."""
        if self.concurrency == 1 or len(conversations) <= 1:
            return [self._complete(c, config) for c in conversations]
        with ThreadPoolExecutor(min(self.concurrency, len(conversations))) as pool:
            return list(pool.map(lambda c: self._complete(c, config), conversations))

    def _complete(self, conversation: Conversation, config: GenerationConfig) -> list[Completion]:
        out: list[Completion] = []
        request = 0
        while len(out) < config.n:
            want = config.n - len(out)
            body: dict[str, Any] = {
                "model": self.model,
                "messages": [dict(m) for m in conversation],
                "max_tokens": config.max_new_tokens,
                "temperature": config.temperature,
                "top_p": config.top_p,
                "seed": config.seed + request,
                **self.extra_body,
            }
            if want > 1:
                body["n"] = want
            if self.logprobs:
                body["logprobs"] = True
            request += 1
            try:
                reply = self.post("chat/completions", body)
            except HTTPFailure as exc:
                return out + [Completion(text=None, error=str(exc))] * want
            choices = reply.get("choices") or []
            if not choices:
                error = self._redact(f"no choices in reply: {reply!r:.200}")
                return out + [Completion(text=None, error=error)] * want
            for choice in choices[:want]:
                out.append(_choice_completion(choice))
        return out

    # ------------------------------------------------------------------ scoring
    def _template_tokenizer(self) -> Any:
        if self._tokenizer is None:
            if self._template is None:
                raise DemError(
                    f"{self!r}: scoring needs the model's chat template; pass template= (a model "
                    "folder or ModelSpec whose tokenizer matches the served model)"
                )
            from dem.models.loading import load_tokenizer

            spec = self._template
            if not isinstance(spec, ModelSpec):
                spec = ModelSpec(str(spec))
            self._tokenizer = load_tokenizer(spec)
        return self._tokenizer

    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        """Log-prob of each candidate as the whole assistant reply (end-of-turn included), from
        the server's echoed prompt log-probs. Raises `DemError` where the server has none."""
        tok = self._template_tokenizer()
        prompt = tok.apply_chat_template(
            [dict(m) for m in conversation], tokenize=False, add_generation_prompt=True
        )
        scores = []
        for candidate in candidates:
            reply = _reply_text(tok, conversation, candidate, prompt)
            body = {
                "model": self.model,
                "prompt": prompt + reply,
                "max_tokens": 1,
                "temperature": 0.0,
                "echo": True,
                "logprobs": 0,
                **self.extra_body,
            }
            reply_json = self.post("completions", body)
            scores.append(self._parse_echo(reply_json, len(prompt), len(prompt) + len(reply)))
        return scores

    def _parse_echo(self, reply: dict[str, Any], start: int, end: int) -> Score:
        try:
            lp = reply["choices"][0]["logprobs"]
            offsets, values = lp["text_offset"], lp["token_logprobs"]
        except (KeyError, IndexError, TypeError):
            raise DemError(
                f"{self!r}: the server returns no echoed prompt log-probs on /completions, so "
                "log-prob scoring is unsupported on it (use generate-then-judge, or a vLLM server)"
            ) from None
        picked = [v for o, v in zip(offsets, values, strict=False) if start <= o < end]
        if not picked or any(v is None for v in picked):
            raise DemError(f"{self!r}: the echoed log-probs do not cover the candidate reply")
        return Score(logprob=float(sum(picked)), n_tokens=len(picked), token_logprobs=tuple(picked))


def _choice_completion(choice: dict[str, Any]) -> Completion:
    """One chat-completion choice as a `Completion`, with its token log-probs when present."""
    content = (choice.get("message") or {}).get("content")
    if not isinstance(content, str):
        return Completion(text=None, error="the reply has no text content")
    return Completion(
        text=content,
        finish_reason=choice.get("finish_reason"),
        token_logprobs=_token_logprobs(choice.get("logprobs")),
    )


def _token_logprobs(logprobs: Any) -> tuple[float, ...] | None:
    """``choice.logprobs.content[*].logprob`` as floats; None unless every entry has a number."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    values = [entry.get("logprob") if isinstance(entry, dict) else None for entry in content]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return tuple(float(v) for v in values)


def _reply_text(tok: Any, conversation: Conversation, candidate: str, prompt: str) -> str:
    """The reply as the template writes it, through its first end-of-turn marker."""
    full = tok.apply_chat_template(
        [*(dict(m) for m in conversation), {"role": "assistant", "content": candidate}],
        tokenize=False,
        add_generation_prompt=False,
    )
    if not full.startswith(prompt):
        raise DemError("the chat template does not extend the generation prompt with the reply")
    suffix = full[len(prompt) :]
    eos = tok.eos_token or ""
    body = candidate.strip()
    start = suffix.find(body) + len(body) if body and body in suffix else 0
    cut = suffix.find(eos, start) if eos else -1
    return suffix[: cut + len(eos)] if cut >= 0 else suffix + eos
