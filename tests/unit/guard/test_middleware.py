"""The guard service's gates over real loopback: the proxy on uvicorn in front of a real
upstream (the test chat server over the organism), which records every request it sees."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from dem.errors import ConfigError
from dem.guard.middleware import check_client_keys, host_of
from dem.guard.server import GuardServer, ServeLimits
from dem.guard.upstream import HTTPUpstream
from tests.unit.models.chat_server import ChatServer

CLIENT = "client-key-0123456789abcdef"
OPERATOR = "operator-upstream-secret-42"
BODY = {"messages": [{"role": "user", "content": "repeat : lamp"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def upstream(organism_backend):
    with ChatServer(organism_backend, hold_seconds=0.6) as server:
        yield server


@pytest.fixture
def operator_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPERATOR)


def guard(upstream_url: str, **kw: Any) -> GuardServer:
    kw.setdefault("api_keys", [CLIENT])
    return GuardServer(HTTPUpstream(upstream_url, "organism", timeout=10), **kw)


def chat(url: str, key: str | None = CLIENT, body: Any = BODY, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(f"{url}/chat/completions", json=body, headers=headers, timeout=10)


def test_only_a_client_key_gets_an_answer_and_the_upstream_never_sees_it(upstream, operator_key):
    upstream.reset()
    with guard(upstream.url()) as px:
        refused = [
            chat(px.url, None),
            chat(px.url, "not-the-client-key-at-all"),
            chat(px.url, OPERATOR),  # the upstream's key is no client key
            httpx.get(f"{px.url}/models", timeout=10),
        ]
        assert upstream.requests == []  # 401 before any upstream call
        ok = chat(px.url)
        health = httpx.get(f"{px.url.removesuffix('/v1')}/health", timeout=10)
    assert [r.status_code for r in refused] == [401] * 4
    assert refused[0].headers["www-authenticate"] == "Bearer"
    assert refused[0].json()["error"]["type"] == "authentication_error"
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]
    assert health.status_code == 200  # liveness probes need no key
    (seen,) = upstream.requests
    assert seen.headers["Authorization"] == f"Bearer {OPERATOR}"
    assert not any(CLIENT in v for v in seen.headers.values())


def test_keys_are_checked_before_the_server_starts():
    with pytest.raises(ConfigError, match="upstream's API key"):
        check_client_keys([CLIENT, OPERATOR], [OPERATOR])
    with pytest.raises(ConfigError, match="shorter than 16"):
        check_client_keys(["short"])
    with pytest.raises(ConfigError, match="whitespace"):
        check_client_keys(["a key with spaces in it"])
    with pytest.raises(ConfigError, match="not loopback"):
        GuardServer(None, host="0.0.0.0", api_keys=None)
    with pytest.raises(ConfigError, match="--port"):
        GuardServer(None, port=70000)
    assert host_of("[::1]:8000") == "::1" and host_of("Example.org:80") == "example.org"


def test_only_json_from_a_trusted_host_and_origin_is_read(upstream):
    upstream.reset()
    app = "https://app.example"
    with guard(upstream.url(), allow_origins=[app]) as px:
        auth = {"Authorization": f"Bearer {CLIENT}"}
        text = httpx.post(
            f"{px.url}/chat/completions",
            content=b'{"messages": []}',
            headers={**auth, "Content-Type": "text/plain"},
            timeout=10,
        )
        foreign = chat(px.url, Origin="https://evil.example")
        rebound = chat(px.url, Host="attacker.example")
        assert upstream.requests == []
        allowed = chat(px.url, Origin=app)
        preflight = httpx.options(
            f"{px.url}/chat/completions",
            headers={
                "Origin": app,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
            timeout=10,
        )
    assert text.status_code == 415 and "application/json" in text.json()["error"]["message"]
    assert foreign.status_code == 403 and "--allow-origin" in foreign.json()["error"]["message"]
    assert rebound.status_code == 400
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == app
    assert preflight.status_code == 200
    assert len(upstream.requests) == 1


def test_a_body_over_the_limit_is_413_declared_or_streamed(upstream):
    upstream.reset()
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    with guard(upstream.url(), limits=ServeLimits(max_body=2000)) as px:
        declared = chat(px.url, body=big)
        chunked = httpx.post(
            f"{px.url}/chat/completions",
            content=iter([b'{"messages": "', b"x" * 1500, b"x" * 1500, b'"}']),
            headers={"Authorization": f"Bearer {CLIENT}", "Content-Type": "application/json"},
            timeout=10,
        )
        small = chat(px.url)
    assert declared.status_code == 413 and chunked.status_code == 413
    assert small.status_code == 200 and len(upstream.requests) == 1


def test_overload_is_answered_503_with_retry_after(upstream):
    upstream.reset()
    limits = ServeLimits(max_in_flight=1, max_queue=1, retry_after=2)
    with guard(upstream.url("hold"), limits=limits) as px, ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: chat(px.url), range(4)))
    codes = sorted(r.status_code for r in got)
    assert codes == [200, 200, 503, 503], codes
    busy = next(r for r in got if r.status_code == 503)
    assert busy.headers["retry-after"] == "2" and busy.json()["error"]["type"] == "overloaded"
    assert upstream.max_in_flight == 1  # the second admitted request waited for the worker


def _stalled(port: int, data: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    return s


def _closed_after(s: socket.socket) -> tuple[float, bytes]:
    start = time.monotonic()
    got = b""
    while chunk := s.recv(4096):
        got += chunk
    s.close()
    return time.monotonic() - start, got


def test_stalled_clients_are_cut_off_while_others_are_served(upstream):
    upstream.reset()
    limits = ServeLimits(header_timeout=0.4, body_timeout=0.4)
    with guard(upstream.url(), limits=limits) as px:
        port = px.address[1]
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {CLIENT}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{"
        ).encode()
        silent = [_stalled(port, b"") for _ in range(5)]
        partial = [_stalled(port, b"POST /v1/chat/completions HTTP/1.1\r\nHo") for _ in range(5)]
        bodiless = [_stalled(port, head) for _ in range(3)]
        served = chat(px.url)  # while twelve clients stall
        waits = [_closed_after(s) for s in silent + partial + bodiless]
    assert served.status_code == 200
    assert all(seconds < 3 for seconds, _ in waits), waits
    assert all(got == b"" for _, got in waits[:10])  # no request head: closed, no answer
    assert all(b" 408 " in got.split(b"\r\n", 1)[0] for _, got in waits[10:])
    assert len(upstream.requests) == 1


def test_shutdown_finishes_the_requests_in_flight(upstream):
    upstream.reset()
    px = guard(upstream.url("hold")).__enter__()
    with ThreadPoolExecutor(2) as pool:
        pending = pool.submit(chat, px.url)
        deadline = time.monotonic() + 5
        while not upstream.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        stopping = threading.Thread(target=px.shutdown)
        stopping.start()
        time.sleep(0.15)
        with pytest.raises(httpx.ConnectError):
            chat(px.url)  # no new connection once the shutdown began
        reply = pending.result(timeout=10)
        stopping.join(timeout=10)
    assert reply.status_code == 200 and reply.json()["choices"]
    assert not stopping.is_alive()


def test_an_answer_does_not_wait_for_a_delayed_ack(upstream):
    """Head and body of an answer leave at once (TCP_NODELAY): no ~40 ms stall per request."""
    with guard(upstream.url()) as px, httpx.Client() as client:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            got = client.get(f"{px.url}/models", headers={"Authorization": f"Bearer {CLIENT}"})
            times.append(time.perf_counter() - start)
            assert got.status_code == 200
    assert sorted(times)[4] < 0.03, times
