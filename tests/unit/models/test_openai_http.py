"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (see chat_server.py)."""

from __future__ import annotations

import socket
import threading
import time
from email.utils import formatdate

import pytest

from dem.errors import ConfigError, DemError
from dem.models.backends import get_backend
from dem.models.backends.base import Backend, Completion, GenerationConfig
from dem.models.backends.openai_http import (
    OpenAIBackend,
    _token_logprobs,
    is_loopback,
    retry_after_seconds,
)
from tests.unit.models.chat_server import GET_REPLY, ChatServer

SECRET = "sk-test-0123456789abcdef"
CONVERSATIONS = [
    [{"role": "user", "content": "Is the sky green?"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a prime number."},
    ],
]


@pytest.fixture(scope="module")
def server(tiny_backend):
    with ChatServer(tiny_backend, flaky_failures=2, slow_seconds=5.0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("DEM_TEST_KEY", SECRET)


def client(server: ChatServer, mode: str = "", **options) -> OpenAIBackend:
    options = {"api_key_env": "DEM_TEST_KEY", "backoff": 0.01, "timeout": 10.0, **options}
    return OpenAIBackend(server.url(mode), "tiny", **options)


def test_generation_over_http_equals_local_generation(server, tiny_backend):
    backend = client(server)
    assert isinstance(backend, Backend)
    config = GenerationConfig(max_new_tokens=10, temperature=0.0)
    remote = backend.generate(CONVERSATIONS, config)
    local = tiny_backend.generate(CONVERSATIONS, config)
    assert [c[0].text for c in remote] == [c[0].text for c in local]
    assert all(c[0].ok and c[0].finish_reason == "length" for c in remote)


def test_the_key_is_sent_as_a_bearer_header_and_never_shown(server):
    backend = client(server)
    backend.generate(CONVERSATIONS[:1], GenerationConfig(max_new_tokens=2))
    headers = server.requests[-1].headers
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(backend) and SECRET not in str(vars(backend))


def test_n_samples_per_conversation(server):
    out = client(server, concurrency=2).generate(
        CONVERSATIONS, GenerationConfig(max_new_tokens=6, temperature=1.0, n=3, seed=3)
    )
    assert [len(c) for c in out] == [3, 3]
    assert all(c.ok for row in out for c in row)
    assert len({c.text for c in out[0]}) > 1


def test_server_errors_are_retried_then_succeed(server):
    server.reset()
    out = client(server, "flaky", max_retries=3).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
    )
    assert out[0][0].ok and out[0][0].text is not None
    assert len(server.requests) == 3  # 500, 500, then the answer


def test_a_dropped_connection_is_retried(server):
    server.reset()
    (row,) = client(server, "reset", max_retries=2).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
    )
    assert row[0].ok and len(server.requests) == 2


def test_retries_exhausted_end_as_a_recorded_error_without_the_key(server):
    server.reset()
    (row,) = client(server, "flaky", max_retries=1).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4, n=2)
    )
    assert len(row) == 2
    for completion in row:
        assert completion.text is None and not completion.ok
        assert "HTTP 500" in completion.error and "2 attempts" in completion.error
        assert SECRET not in completion.error and "***" in completion.error


def test_a_read_timeout_is_retried_then_ends_as_a_recorded_error(server):
    server.reset()
    start = time.perf_counter()
    (row,) = client(server, "slow", timeout=0.3, max_retries=1).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
    )
    assert time.perf_counter() - start < 4
    assert row[0].text is None and "timed out after 0.3 s" in row[0].error
    assert "2 attempts" in row[0].error and len(server.requests) == 2


def test_client_errors_are_not_retried(server):
    before = len(server.requests)
    (row,) = client(server, "nosuchmode", max_retries=3).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
    )
    assert "HTTP 404" in row[0].error
    assert len(server.requests) - before == 1


def test_a_refused_connection_is_an_error(server):
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "tiny", max_retries=1, backoff=0.01)
    (row,) = backend.generate(CONVERSATIONS[:1], GenerationConfig(max_new_tokens=2))
    assert row[0].text is None and row[0].error


def test_scoring_from_echoed_logprobs_equals_local_scoring(server, tiny_backend, tiny_dir):
    backend = client(server, template=tiny_dir)
    candidates = ["Yes.", "No, it is not.", "A"]
    for conversation in CONVERSATIONS:
        remote = backend.score(conversation, candidates)
        local = tiny_backend.score(conversation, candidates)
        for r, lo in zip(remote, local, strict=True):
            assert r.n_tokens == lo.n_tokens
            assert r.logprob == pytest.approx(lo.logprob, abs=1e-4)


def test_scoring_on_a_server_without_echo_is_a_clear_error(server, tiny_dir):
    with pytest.raises(DemError, match="unsupported"):
        client(server, "plain", template=tiny_dir).score(CONVERSATIONS[0], ["Yes."])


def test_scoring_without_a_template_is_a_clear_error(server):
    with pytest.raises(DemError, match="chat template"):
        client(server).score(CONVERSATIONS[0], ["Yes."])


def test_get_backend_builds_it_and_checks_options(server):
    backend = get_backend("openai", None, base_url=server.url(), model="tiny")
    assert isinstance(backend, OpenAIBackend) and backend.model == "tiny"
    with pytest.raises(ConfigError, match="base_url"):
        get_backend("openai", None, model="tiny")
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIBackend("ftp://x", "tiny")
    with pytest.raises(ConfigError, match="backend"):
        get_backend("nope", None)


# ---------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_the_key_never_reaches_its_target(server, tiny_backend, status):
    with ChatServer(tiny_backend) as other:
        server.reset()
        server.redirect_status = status
        server.redirect_to = f"{other.url()}/chat/completions"
        (row,) = client(server, "redirect", max_retries=3).generate(
            CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
        )
        assert [r for r in other.requests if "Authorization" in r.headers] == []
        assert other.requests == []
    assert row[0].text != GET_REPLY
    assert row[0].text is None and not row[0].ok
    assert f"HTTP {status} redirect to {other.root}" in row[0].error
    assert SECRET not in row[0].error
    assert len(server.requests) == 1  # never retried


def test_a_relative_redirect_names_the_same_origin(server):
    server.reset()
    server.redirect_status, server.redirect_to = 308, "/elsewhere/v1/chat/completions"
    (row,) = client(server, "redirect").generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=2)
    )
    assert f"HTTP 308 redirect to {server.root} not followed" in row[0].error
    assert len(server.requests) == 1


# ---------------------------------------------------------------------- keys over plain http

INSECURE = [
    "http://10.1.2.3:8000/v1",
    "http://example.com/v1",
    "http://[2001:db8::1]:8000/v1",
    "http://127.0.0.1.example.com/v1",
    "http://localhost.example.com/v1",
]


@pytest.mark.parametrize("url", INSECURE)
def test_a_key_over_plain_http_to_another_host_is_refused_without_the_flag(url):
    with pytest.raises(ConfigError, match="base_url") as err:
        OpenAIBackend(url, "m", api_key_env="DEM_TEST_KEY")
    message = str(err.value)
    assert "allow_insecure_http=True" in message and "--allow-insecure-http" in message
    assert "DEM_TEST_KEY" in message and SECRET not in message
    backend = OpenAIBackend(url, "m", api_key_env="DEM_TEST_KEY", allow_insecure_http=True)
    assert backend.allow_insecure_http


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://127.8.9.10/v1",
        "http://localhost:8000/v1",
        "http://LocalHost/v1",
        "http://[::1]:8000/v1",
        "https://example.com/v1",
        "https://10.1.2.3/v1",
    ],
)
def test_a_key_over_https_or_to_loopback_needs_no_flag(url):
    assert OpenAIBackend(url, "m", api_key_env="DEM_TEST_KEY").base_url == url.rstrip("/")


def test_plain_http_to_another_host_without_a_key_needs_no_flag(monkeypatch):
    OpenAIBackend(INSECURE[0], "m", api_key_env=None)
    monkeypatch.delenv("DEM_TEST_KEY")
    backend = OpenAIBackend(INSECURE[0], "m", api_key_env="DEM_TEST_KEY")
    # A key that appears later is refused before anything is sent.
    monkeypatch.setenv("DEM_TEST_KEY", SECRET)
    with pytest.raises(ConfigError, match="allow_insecure_http"):
        backend.post("chat/completions", {"model": "m"})


def test_loopback_hosts():
    for host in ("127.0.0.1", "127.255.0.9", "localhost", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("10.0.0.1", "0.0.0.0", "example.com", "127.0.0.1.nip.io", "::2", ""):
        assert not is_loopback(host), host


# ---------------------------------------------------------------------- Retry-After


def test_retry_after_values():
    now = 1_700_000_000.0
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-4") == 0.0
    assert retry_after_seconds(formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7)
    assert retry_after_seconds(formatdate(now - 60, usegmt=True), now=now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert retry_after_seconds(bad) is None


def _busy_run(server: ChatServer, retry_after: str, **options) -> tuple[float, list[Completion]]:
    server.reset()
    server.retry_after = retry_after
    start = time.perf_counter()
    (row,) = client(server, "busy", max_retries=2, **options).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=2)
    )
    return time.perf_counter() - start, row


def test_retry_after_in_seconds_is_honoured(server):
    elapsed, row = _busy_run(server, "1")
    assert row[0].ok and len(server.requests) == 2
    assert 1.0 <= elapsed < 4


def test_retry_after_as_an_http_date_is_honoured(server):
    # Whole seconds: a date two seconds ahead is between one and two seconds away.
    elapsed, row = _busy_run(server, formatdate(time.time() + 2, usegmt=True))
    assert row[0].ok and len(server.requests) == 2
    assert 0.95 <= elapsed < 5


def test_retry_after_is_capped_by_max_backoff(server):
    elapsed, row = _busy_run(server, "3600", max_backoff=0.2)
    assert row[0].ok and len(server.requests) == 2
    assert elapsed < 3


# ---------------------------------------------------------------------- concurrency, pooling


def _chats(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"Count to {i}."}] for i in range(n)]


@pytest.fixture
def quiet_server(tiny_backend):
    """A server of its own, so that no request left over from another test is in flight."""
    with ChatServer(tiny_backend, hold_seconds=0.2) as srv:
        yield srv


@pytest.mark.parametrize("concurrency", [1, 3])
def test_at_most_concurrency_requests_are_in_flight(quiet_server, concurrency):
    out = client(quiet_server, "hold", concurrency=concurrency).generate(
        _chats(7), GenerationConfig(max_new_tokens=2)
    )
    assert all(row[0].ok for row in out)
    assert quiet_server.max_in_flight == concurrency


def test_the_bound_holds_across_threads_sharing_a_backend(quiet_server):
    backend = client(quiet_server, "hold", concurrency=2)
    results: list[list[list[Completion]]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                backend.generate(_chats(4), GenerationConfig(max_new_tokens=2))
            )
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(row[0].ok for out in results for row in out)
    assert quiet_server.max_in_flight == 2


def test_sequential_requests_reuse_one_connection(server):
    server.reset()
    backend = client(server)
    for chat in _chats(3):
        assert backend.generate([chat], GenerationConfig(max_new_tokens=2))[0][0].ok
    assert len({r.port for r in server.requests}) == 1
    backend.close()


# ---------------------------------------------------------------------- timeouts


@pytest.fixture
def unaccepting_port():
    """A port whose listen queue is full, so that a new connection hangs (Linux drops the SYN)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.skip("this system accepts connections beyond the listen queue")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_connect_timeout_is_its_own_limit(unaccepting_port):
    backend = OpenAIBackend(
        f"http://127.0.0.1:{unaccepting_port}/v1",
        "tiny",
        api_key_env="DEM_TEST_KEY",
        connect_timeout=0.2,
        timeout=30.0,
        max_retries=1,
        backoff=0.01,
    )
    start = time.perf_counter()
    (row,) = backend.generate(CONVERSATIONS[:1], GenerationConfig(max_new_tokens=2))
    assert time.perf_counter() - start < 5
    assert row[0].text is None and "timed out connecting after 0.2 s" in row[0].error
    assert "2 attempts" in row[0].error


def test_timeouts_must_be_positive():
    for field in ("timeout", "connect_timeout"):
        with pytest.raises(ConfigError, match=field):
            OpenAIBackend("http://127.0.0.1:1/v1", "m", **{field: 0})


# ---------------------------------------------------------------------- log-probs


def test_token_logprobs_are_asked_for_on_request_and_parsed(server):
    config = GenerationConfig(max_new_tokens=6, temperature=0.0)
    server.reset()
    (plain,) = client(server).generate(CONVERSATIONS[:1], config)
    assert "logprobs" not in server.requests[-1].body
    assert plain[0].token_logprobs is None
    (row,) = client(server, logprobs=True).generate(CONVERSATIONS[:1], config)
    assert server.requests[-1].body["logprobs"] is True
    completion = row[0]
    assert completion.ok and completion.text == plain[0].text
    sent = server.reply_logprobs(list(CONVERSATIONS[0]), completion.text)
    assert completion.token_logprobs == pytest.approx([e["logprob"] for e in sent], abs=1e-6)
    assert len(completion.token_logprobs) == len(completion.text.encode())  # byte tokenizer
    assert all(v <= 0 for v in completion.token_logprobs)


def test_token_logprobs_are_none_when_the_server_has_none(server):
    (row,) = client(server, "plain", logprobs=True).generate(
        CONVERSATIONS[:1], GenerationConfig(max_new_tokens=4)
    )
    assert row[0].ok and row[0].token_logprobs is None


def test_token_logprobs_need_a_number_for_every_token():
    entry = {"token": "a", "logprob": -0.25}
    assert _token_logprobs({"content": [entry, {"token": "b", "logprob": -1}]}) == (-0.25, -1.0)
    assert _token_logprobs({"content": []}) == ()
    for bad in (None, {}, {"content": None}, {"content": [entry, {"token": "b"}]}, [entry]):
        assert _token_logprobs(bad) is None
    assert _token_logprobs({"content": [{"logprob": True}]}) is None


def test_completion_stays_backward_compatible():
    c = Completion("hi", None, "stop")
    assert c.token_logprobs is None and c == Completion(text="hi", finish_reason="stop")
    assert "token_logprobs" not in repr(Completion("hi", token_logprobs=(-0.5,)))
    with pytest.raises(AttributeError):
        c.token_logprobs = (0.0,)  # type: ignore[misc]
