"""Requests per second of the OpenAI-compatible HTTP backend: the pre-change `urllib` client
against the `httpx` one, at 1, 4 and 16 concurrent requests.

    python benchmarks/http_throughput.py [--requests 600] [--latency 0] [--repeats 3]

The server is a real `http.server.ThreadingHTTPServer` on 127.0.0.1, started in a child process
(so that it does not share the client's interpreter lock), speaking HTTP/1.1 with keep-alive. It
answers ``POST /v1/chat/completions`` with a chat completion whose reply is the last user
message, after ``--latency`` seconds (the time a model would take; 0 measures the cost of HTTP
alone); ``GET /stats`` gives the peak number of requests it handled at once, and resets it. Each
client sends ``--requests`` conversations in one `generate` call with ``concurrency`` set to the
level measured; the figure is the median of ``--repeats`` runs, after a warm-up call, the two
clients taking turns. For https the server uses a self-signed certificate for 127.0.0.1 made with
the ``openssl`` command, which both clients trust through ``SSL_CERT_FILE`` (so the old client
loads that one certificate per request, not a full CA bundle: its https figures are a best case).

The pre-change client is a copy of dem's `urllib` backend as it was before the move to `httpx`
(`LegacyURLLibBackend` below: its request and generation code, unchanged). It opens a new
connection for every request; the `httpx` one keeps a pool of ``concurrency`` connections.

Figures on the development machine (2 CPU cores shared with other jobs, load average 5 to 8,
Python 3.11, httpx 0.28.1), ``python benchmarks/http_throughput.py``:

    server: http://127.0.0.1:43093 (http.server, HTTP/1.1 keep-alive, 0 ms per reply)
    concurrency  urllib req/s  httpx req/s  ratio  client CPU ms/req  peak in flight
              1           840          693   0.8x        0.42 / 0.71           1 / 1
              4           901          725   0.8x        0.53 / 0.96           1 / 1
             16           888          505   0.6x        0.55 / 1.80           1 / 1

    server: https://127.0.0.1:41637 (http.server, HTTP/1.1 keep-alive, 0 ms per reply)
    concurrency  urllib req/s  httpx req/s  ratio  client CPU ms/req  peak in flight
              1           169          598   3.5x        2.62 / 0.82           1 / 1
              4           438          748   1.7x        2.15 / 0.91           1 / 1
             16           334          792   2.4x        2.60 / 1.21           1 / 1

and ``python benchmarks/http_throughput.py --latency 0.02 --schemes http``:

    concurrency  urllib req/s  httpx req/s  ratio  client CPU ms/req  peak in flight
              1            44           44   1.0x        0.81 / 1.44           1 / 1
              4           169          172   1.0x        0.88 / 1.30           4 / 4
             16           669          653   1.0x        0.53 / 1.07         16 / 16

Over https (how a key travels to any host but this one) the pooled client is 1.7 to 4x faster in
every run: it does one TLS handshake per connection where the old one did one per request. Over
plain http on loopback, with a server that answers at once, a new TCP connection costs almost
nothing and httpx spends more CPU per request than `http.client` (about 0.7 to 1.8 ms against
0.5 ms); across five runs the ratio ranged from 0.3x to 1.4x, as the machine's load moved. When
the server takes model-like time (20 ms), both are bound by it and reach ``concurrency / 20 ms``;
the peak column shows that neither exceeds its concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LEVELS = (1, 4, 16)


# ---------------------------------------------------------------------- the server (child process)
def serve(latency: float, cert: str | None, key: str | None) -> None:
    """Serve chat completions on a free loopback port (over TLS with `cert` and `key`); print the
    port, then run until killed."""
    lock = threading.Lock()
    state = {"in_flight": 0, "peak": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as production servers do: no 40 ms delayed-ACK stalls

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with lock:
                peak, state["peak"] = state["peak"], 0
            self._send({"peak_in_flight": peak})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                state["in_flight"] += 1
                state["peak"] = max(state["peak"], state["in_flight"])
            try:
                if latency:
                    time.sleep(latency)
                reply = body["messages"][-1]["content"]
            finally:
                with lock:
                    state["in_flight"] -= 1
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }
            self._send({"object": "chat.completion", "model": body["model"], "choices": [choice]})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the listen backlog; 5 by default drops bursts of connections

    httpd = Server(("127.0.0.1", 0), Handler)
    if cert and key:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        # The handshake runs in the handler thread on its first read, not in the accept loop.
        httpd.socket = tls.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


# ---------------------------------------------------------------------- the pre-change client
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class HTTPFailure(Exception):
    """A request that failed for good (after retries, or with a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class LegacyURLLibBackend:
    """The pre-change client: dem's `urllib` OpenAI backend before the move to `httpx` (its
    `post`, `generate` and `_complete`, copied unchanged; scoring left out)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        concurrency: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = concurrency
        self.extra_body: dict[str, Any] = {}

    def _key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def _redact(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key else text

    def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{route.lstrip('/')}"
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = ""
        for attempt in range(self.max_retries + 1):
            delay = min(self.backoff * 2**attempt, self.max_backoff)
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read(500).decode("utf-8", "replace").strip()
                last = self._redact(f"POST {url}: HTTP {exc.code}: {detail}")
                if exc.code not in _RETRY_STATUS:
                    raise HTTPFailure(last, exc.code) from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = min(float(retry_after), self.max_backoff)
            except TimeoutError as exc:
                last = f"POST {url}: timed out after {self.timeout:g} s ({exc.__class__.__name__})"
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    last = f"POST {url}: timed out connecting after {self.timeout:g} s"
                else:
                    last = self._redact(f"POST {url}: {exc.reason}")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise HTTPFailure(f"POST {url}: the reply is not JSON ({exc})") from None
            if attempt < self.max_retries:
                time.sleep(delay)
        raise HTTPFailure(f"{last} (gave up after {self.max_retries + 1} attempts)")

    def generate(self, conversations: Sequence[Any], config: Any) -> list[list[Any]]:
        if self.concurrency == 1 or len(conversations) <= 1:
            return [self._complete(c, config) for c in conversations]
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda c: self._complete(c, config), conversations))

    def _complete(self, conversation: Any, config: Any) -> list[Any]:
        from dem.models.backends.base import Completion

        out: list[Any] = []
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
            request += 1
            try:
                reply = self.post("chat/completions", body)
            except HTTPFailure as exc:
                return out + [Completion(text=None, error=str(exc))] * want
            choices = reply.get("choices") or []
            if not choices:
                return (
                    out
                    + [Completion(text=None, error=f"no choices in reply: {reply!r:.200}")] * want
                )
            for choice in choices[:want]:
                content = (choice.get("message") or {}).get("content")
                if isinstance(content, str):
                    out.append(Completion(text=content, finish_reason=choice.get("finish_reason")))
                else:
                    out.append(Completion(text=None, error="the reply has no text content"))
        return out


# ---------------------------------------------------------------------- measurement
def _peak(root: str) -> int:
    with urllib.request.urlopen(f"{root}/stats", timeout=10) as resp:
        return int(json.loads(resp.read())["peak_in_flight"])


def run_once(client: Any, chats: list[list[dict[str, str]]]) -> tuple[float, float]:
    """One `generate` call over `chats`: requests per second and the client's CPU time per
    request in ms (all its threads). Every reply must be its request's message."""
    from dem.models.backends.base import GenerationConfig

    cpu, start = time.process_time(), time.perf_counter()
    out = client.generate(chats, GenerationConfig(max_new_tokens=16))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    bad = [row[0].error for row in out if not row[0].ok]
    if bad:
        raise SystemExit(f"{len(bad)} requests failed, e.g. {bad[0]}")
    if [row[0].text for row in out] != [chat[-1]["content"] for chat in chats]:
        raise SystemExit("a reply does not match its request")
    return len(chats) / wall, cpu * 1000 / len(chats)


def compare(clients: dict[str, Any], root: str, n: int, repeats: int) -> dict[str, tuple]:
    """Per client: median requests/s, median CPU ms per request, peak requests in flight. The
    clients take turns, run by run, so that a change in the machine's load hits both alike."""
    chats = [[{"role": "user", "content": f"Question {i}: is the sky green?"}] for i in range(n)]
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    peaks = dict.fromkeys(clients, 0)
    for client in clients.values():  # warm-up: imports, pools, server threads
        run_once(client, chats[: 2 * client.concurrency])
    for _ in range(repeats):
        for name, client in clients.items():
            _peak(root)
            runs[name].append(run_once(client, chats))
            peaks[name] = max(peaks[name], _peak(root))
    return {
        name: (
            statistics.median(r for r, _ in runs[name]),
            statistics.median(c for _, c in runs[name]),
            peaks[name],
        )
        for name in clients
    }


def make_certificate(folder: Path) -> Path | None:
    """A self-signed certificate for 127.0.0.1 (and its key beside it), made with the `openssl`
    command; None where there is none."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    files = ("-keyout", str(key), "-out", str(cert), "-days", "1")
    subject = ("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    subprocess.run(
        ["openssl", "req", "-x509", *ec, *files, *subject], check=True, capture_output=True
    )
    return cert


def table(scheme: str, args: argparse.Namespace, cert: Path | None) -> None:
    """Start the server over `scheme`, print one row per concurrency level."""
    import httpx

    from dem.models.backends.openai_http import OpenAIBackend

    cmd = [sys.executable, __file__, "--serve", "--latency", str(args.latency)]
    if cert is not None:
        cmd += ["--cert", str(cert), "--key", str(cert.with_name("key.pem"))]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        root = f"{scheme}://127.0.0.1:{int(server.stdout.readline())}"
        print(
            f"\nserver: {root} (http.server, HTTP/1.1 keep-alive, {args.latency * 1000:g} ms per "
            f"reply); {args.requests} requests per run, median of {args.repeats}; "
            f"httpx {httpx.__version__}",
            flush=True,
        )
        print(
            f"{'concurrency':>11} {'urllib req/s':>13} {'httpx req/s':>12} {'ratio':>6}"
            f" {'client CPU ms/req':>18} {'peak in flight':>15}"
        )
        for level in LEVELS:
            old = LegacyURLLibBackend(f"{root}/v1", "bench", concurrency=level)
            with OpenAIBackend(f"{root}/v1", "bench", api_key_env=None, concurrency=level) as new:
                got = compare({"old": old, "new": new}, root, args.requests, args.repeats)
            (old_rate, old_cpu, old_peak), (new_rate, new_cpu, new_peak) = got["old"], got["new"]
            cpu, peak = f"{old_cpu:.2f} / {new_cpu:.2f}", f"{old_peak} / {new_peak}"
            print(
                f"{level:>11} {old_rate:>13.0f} {new_rate:>12.0f} {new_rate / old_rate:>5.1f}x"
                f" {cpu:>18} {peak:>15}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="conversations per run")
    parser.add_argument("--latency", type=float, default=0.0, help="server seconds per reply")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--schemes", default="http,https", help="http, https (self-signed, needs openssl) or both"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cert", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--key", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency, args.cert, args.key)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in args.schemes.split(","):
            cert = None
            if scheme == "https":
                cert = make_certificate(Path(tmp))
                if cert is None:
                    print("\nhttps: skipped (no openssl command to make a certificate)")
                    continue
                # Both clients trust the certificate through the standard variable.
                os.environ["SSL_CERT_FILE"] = str(cert)
            table(scheme, args, cert)


if __name__ == "__main__":
    main()
