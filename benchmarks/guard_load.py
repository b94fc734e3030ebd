"""The guard service under load on loopback: connection resets, pass-through overhead, stalled
clients, and guarded throughput against unguarded.

    python benchmarks/guard_load.py [--clients 200] [--per-client 3] [--sequential 300]
        [--stalled 50] [--n 60] [--concurrency 4] [--deadline 600]

The servers run in child processes (the upstream, the guard and the clients each in its own, so
none shares an interpreter lock);
every count and the whole run are bounded (``--deadline`` seconds at most). Four measurements:

1. **Connection resets**: ``--clients`` clients at once, each with its own connection, send
   ``--per-client`` unflagged requests through the guard (client key, logged, default limits);
   every outcome is counted: HTTP status, or the exception of a reset or refused connection.
2. **Pass-through overhead**: ``--sequential`` unflagged requests to the upstream alone and
   through the guard, taking turns on kept-alive connections; p50 and p99 latency of each and
   their difference. The upstream answers a fixed reply at once, so the difference is the
   guard's own cost (a second HTTP hop, key check, body checks, the decision log); and the
   guard process's CPU time per request, which the load on a shared machine does not inflate.
3. **Stalled clients**: ``--stalled`` connections that send half a request head and stop, while
   20 clients send requests; how long each stalled connection lived (the header deadline is
   2 s here) and how many requests were served meanwhile.
4. **Guarded throughput**: ``--n`` high-stakes requests (organism:mask pressure prompts, each
   flagged with its proposition) at ``--concurrency`` against dem's server over the organism
   unguarded and guarded in-process with the log-prob belief, five rounds taking turns;
   the median requests per second of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

KEY = "bench-client-key-0123456789"
PLAIN = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "model": "canned",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}


class Canned:
    """An upstream that answers a fixed completion at once."""

    model = "canned"
    backend = None

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(REPLY))


def _serve_canned(ports: Any, log_dir: str) -> None:
    """Child: the canned upstream (a process of its own, as a model server is)."""
    from dem.guard import GuardServer

    upstream = GuardServer(Canned())
    ports.put((upstream.url, None))
    upstream.serve_forever()


def _serve_guard(ports: Any, log_dir: str, upstream_url: str) -> None:
    """Child: the guard in front of the canned upstream over HTTP (client key, decision log)."""
    from dem.guard import DecisionLog, Guard, GuardServer, HTTPUpstream, ServeLimits

    http = HTTPUpstream(upstream_url, "canned", api_key_env=None, timeout=30)
    guard = Guard(http.backend, log=DecisionLog(log_dir, window=100))
    proxy = GuardServer(http, guard, api_keys=[KEY], limits=ServeLimits(header_timeout=2.0))
    ports.put((proxy.url, None))
    proxy.serve_forever()


def _serve_organism(ports: Any, log_dir: str) -> None:
    """Child: dem's server over the organism, unguarded and guarded (log-prob belief)."""
    import threading

    import torch

    torch.set_num_threads(1)
    from dem.evals.api import BackendChoice, open_backend
    from dem.guard import BeliefConfig, DecisionLog, Guard, GuardServer, LocalUpstream

    backend = open_backend("organism", BackendChoice())
    plain = GuardServer(LocalUpstream(backend, "organism"))
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    local = LocalUpstream(backend, "organism")
    guard = Guard(local.backend, belief=BeliefConfig(method="logprob"), log=DecisionLog(log_dir))
    guarded = GuardServer(local, guard, api_keys=[KEY])
    ports.put((plain.url, guarded.url))
    guarded.serve_forever()


def _start(target: Any, *args: Any) -> tuple[Any, str, str]:
    ctx = mp.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(target=target, args=(ports, *args), daemon=True)
    proc.start()
    first, second = ports.get(timeout=300)
    return proc, first, second


def _outcome(client: Any, url: str, body: dict[str, Any]) -> tuple[str, float]:
    import httpx

    start = time.perf_counter()
    try:
        r = client.post(f"{url}/chat/completions", json=body)
        return f"HTTP {r.status_code}", time.perf_counter() - start
    except httpx.HTTPError as exc:
        return type(exc).__name__, time.perf_counter() - start


def _client(key: bool = True) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {KEY}"} if key else {}
    return httpx.Client(headers=headers, timeout=60, limits=httpx.Limits(max_connections=1))


def burst(url: str, clients: int, per_client: int) -> dict[str, Any]:
    """`clients` clients at once, `per_client` requests each: outcome counts, wall time."""
    import threading

    ready = threading.Barrier(clients)

    def one(_: int) -> list[str]:
        with _client() as c:
            ready.wait()
            return [_outcome(c, url, PLAIN)[0] for _ in range(per_client)]

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        got = Counter(o for outs in pool.map(one, range(clients)) for o in outs)
    return {"outcomes": dict(got), "seconds": time.perf_counter() - start}


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` (all its threads; Linux /proc)."""
    import os
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def overhead(upstream: str, proxy: str, n: int, guard_pid: int) -> dict[str, Any]:
    """p50 / p99 of `n` sequential requests to each, taking turns (ms), and the guard
    process's CPU time per request (ms; what the load on the machine does not inflate)."""
    lat: dict[str, list[float]] = {"upstream": [], "guard": []}
    bad: Counter = Counter()
    with _client(False) as direct, _client() as guarded:
        for c, url in ((direct, upstream), (guarded, proxy)):  # warm-up: connect once
            _outcome(c, url, PLAIN)
        cpu = cpu_seconds(guard_pid)
        for _ in range(n):
            for name, c, url in (("upstream", direct, upstream), ("guard", guarded, proxy)):
                status, seconds = _outcome(c, url, PLAIN)
                if status != "HTTP 200":
                    bad[f"{name} {status}"] += 1
                lat[name].append(1000 * seconds)
        cpu = cpu_seconds(guard_pid) - cpu
    out: dict[str, Any] = {
        k: {"p50": _pct(v, 0.5), "p99": _pct(v, 0.99), "mean": statistics.fmean(v)}
        for k, v in lat.items()
    }
    out["overhead_p50_ms"] = out["guard"]["p50"] - out["upstream"]["p50"]
    out["overhead_p99_ms"] = out["guard"]["p99"] - out["upstream"]["p99"]
    out["guard_cpu_ms_per_request"] = 1000 * cpu / n
    out["failures"] = dict(bad)
    return out


def stalled(proxy: str, n: int, deadline: float = 2.0) -> dict[str, Any]:
    """`n` connections stall in their request head while 20 clients are served."""
    host, port = proxy.removeprefix("http://").removesuffix("/v1").rsplit(":", 1)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=deadline + 10)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        socks.append((s, time.monotonic()))

    def lifetime(pair: tuple[socket.socket, float]) -> float | None:
        s, opened = pair
        try:
            while s.recv(4096):
                pass
            return time.monotonic() - opened
        except OSError:
            return None
        finally:
            s.close()

    with ThreadPoolExecutor(n) as pool:
        waiting = [pool.submit(lifetime, pair) for pair in socks]
        served = burst(proxy, 20, 5)
        lives = [f.result() for f in waiting]
    closed = [x for x in lives if x is not None]
    return {
        "stalled": n,
        "closed_by_server": len(closed),
        "max_lifetime_s": max(closed) if closed else None,
        "header_deadline_s": deadline,
        "served_meanwhile": served["outcomes"],
    }


def throughput(plain: str, guarded: str, n: int, concurrency: int) -> dict[str, Any]:
    """Requests per second of `n` flagged requests, unguarded and guarded, taking turns."""
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set

    rows = [r for r in load_eval_set("organism:mask") if r.type == "binary"][:n]
    bodies = [
        {
            "messages": pressure_conversation(r),
            "temperature": 1.0,
            "seed": i,
            "max_tokens": 16,
            "dem_guard": {"high_stakes": True, "proposition": r.proposition},
        }
        for i, r in enumerate(rows)
    ]

    def run(url: str, key: bool) -> tuple[float, Counter]:
        clients = [_client(key) for _ in range(concurrency)]
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            got = Counter(
                pool.map(
                    lambda ib: _outcome(clients[ib[0] % concurrency], url, ib[1])[0],
                    enumerate(bodies),
                )
            )
        wall = time.perf_counter() - start
        for c in clients:
            c.close()
        return len(bodies) / wall, got

    run(plain, False)  # warm-up
    rps = {"unguarded": [], "guarded": []}
    outcomes: Counter = Counter()
    for _ in range(5):
        for name, url, key in (("unguarded", plain, False), ("guarded", guarded, True)):
            r, got = run(url, key)
            rps[name].append(r)
            outcomes.update({f"{name} {k}": v for k, v in got.items()})
    u, g = statistics.median(rps["unguarded"]), statistics.median(rps["guarded"])
    return {"unguarded_rps": u, "guarded_rps": g, "ratio": g / u, "outcomes": dict(outcomes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--per-client", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--stalled", type=int, default=50)
    parser.add_argument("--n", type=int, default=60, help="flagged requests (throughput)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 1 <= args.stalled <= 500:
        parser.error("--clients in 1..1000, --stalled in 1..500")

    import os

    start = time.monotonic()
    results: dict[str, Any] = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as logs:
        up_proc, upstream, _ = _start(_serve_canned, f"{logs}/none")
        proc, proxy, _ = _start(_serve_guard, f"{logs}/pass", upstream)
        try:
            results["burst"] = burst(proxy, args.clients, args.per_client)
            results["overhead_ms"] = overhead(upstream, proxy, args.sequential, proc.pid)
            results["stalled"] = stalled(proxy, args.stalled)
        finally:
            for p in (proc, up_proc):
                p.terminate()
                p.join(timeout=30)
        if time.monotonic() - start < args.deadline:
            proc, plain, guarded = _start(_serve_organism, f"{logs}/organism")
            try:
                results["throughput"] = throughput(plain, guarded, args.n, args.concurrency)
            finally:
                proc.terminate()
                proc.join(timeout=30)
    results["seconds"] = time.monotonic() - start
    b, o, s = results["burst"], results["overhead_ms"], results["stalled"]
    resets = sum(v for k, v in b["outcomes"].items() if not k.startswith("HTTP"))
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in results['load_average'])}")
    print(
        f"1. {args.clients} clients x {args.per_client} requests at once: {b['outcomes']} "
        f"in {b['seconds']:.1f} s; connection errors {resets}"
    )
    print(
        f"2. pass-through, {args.sequential} sequential each: upstream p50 "
        f"{o['upstream']['p50']:.2f} ms p99 {o['upstream']['p99']:.2f} ms; guard p50 "
        f"{o['guard']['p50']:.2f} ms p99 {o['guard']['p99']:.2f} ms; overhead p50 "
        f"{o['overhead_p50_ms']:+.2f} ms, p99 {o['overhead_p99_ms']:+.2f} ms; guard CPU "
        f"{o['guard_cpu_ms_per_request']:.2f} ms per request; failures {o['failures'] or 0}"
    )
    print(
        f"3. {s['stalled']} stalled clients: {s['closed_by_server']} closed by the server, the "
        f"last after {s['max_lifetime_s']:.2f} s (deadline {s['header_deadline_s']:g} s); "
        f"served meanwhile {s['served_meanwhile']}"
    )
    if "throughput" in results:
        t = results["throughput"]
        print(
            f"4. {args.n} flagged requests at {args.concurrency}: unguarded "
            f"{t['unguarded_rps']:.2f} req/s, guarded (log-prob belief) {t['guarded_rps']:.2f} "
            f"req/s, ratio {t['ratio']:.2f}; {t['outcomes']}"
        )
    print(f"total {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
