"""Latency and throughput of guarded serving against unguarded serving, over real HTTP.

    python benchmarks/guard_serving.py [--model organism] [--data organism:mask] [--n 60]
        [--concurrency 4] [--samples 5] [--max-tokens 16] [--belief-data REF] [--threads 1]

Three servers on 127.0.0.1, each fed the eval set's pressure prompts as chat requests, every
one flagged high-stakes by its caller with the row's proposition (the guard's worst case):

- unguarded: dem's own OpenAI-compatible server over the model (the reference);
- guarded in-process (``dem guard serve --local``): the same server with the guard, belief by
  forced choice (logprob) and by ``--samples`` sampled replies read by the lexical judge;
- proxy (``dem guard serve --upstream``): the guard in front of the unguarded server over HTTP,
  belief by sampled replies through the upstream.

For each: mean, p50 and p95 latency of sequential requests, and requests per second with
``--concurrency`` clients; then both as a ratio to unguarded serving. The guard's verdicts are
counted so a silent failure would show.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """The reply, or ``{"status": CODE}`` for an HTTP error (counted, never hidden)."""
    req = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=1800) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return {"status": exc.code}


def _measure(url: str, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    lat, verdicts = [], Counter()
    for body in bodies:
        t = time.perf_counter()
        reply = _post(url, body)
        lat.append(time.perf_counter() - t)
        if "status" in reply:
            verdicts[f"HTTP {reply['status']}"] += 1
        for d in (reply.get("dem_guard") or {}).get("decisions", []):
            verdicts[d["verdict"]] += 1
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        replies = list(pool.map(lambda b: _post(url, b), bodies))
    wall = time.perf_counter() - start
    for reply in replies:
        if "status" in reply:
            verdicts[f"HTTP {reply['status']} (concurrent)"] += 1
    lat.sort()
    return {
        "mean": statistics.fmean(lat),
        "p50": lat[len(lat) // 2],
        "p95": lat[min(len(lat) - 1, int(0.95 * len(lat)))],
        "rps": len(bodies) / wall,
        "verdicts": dict(verdicts),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="organism")
    parser.add_argument("--data", default="organism:mask")
    parser.add_argument("--belief-data", default=None, help="neutral contexts by task id")
    parser.add_argument("--n", type=int, default=60, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--samples", type=int, default=5, help="belief replies (sample method)")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--log-dir", default=None, help="keep the proxy's decision log here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from dem.evals.api import BackendChoice, open_backend
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set
    from dem.guard import (
        BeliefConfig,
        DecisionLog,
        Guard,
        GuardServer,
        HTTPUpstream,
        LocalUpstream,
    )

    rows = [r for r in load_eval_set(args.data) if r.type == "binary"][: args.n]
    plain = {r.task_id: r for r in load_eval_set(args.belief_data)} if args.belief_data else {}
    bodies = []
    for i, row in enumerate(rows):
        ext: dict[str, Any] = {"high_stakes": True, "proposition": row.proposition}
        if row.task_id in plain:
            ext["belief_system"] = plain[row.task_id].system_prompt
            ext["belief_question"] = plain[row.task_id].user_prompt
        elif row.belief_elicit:
            ext["belief_question"] = row.belief_elicit[0]
        bodies.append(
            {
                "model": args.model,
                "messages": pressure_conversation(row),
                "temperature": 1.0,
                "seed": i,
                "max_tokens": args.max_tokens,
                "dem_guard": ext,
            }
        )
    backend = open_backend(args.model, BackendChoice())
    sample = BeliefConfig(method="sample", samples=args.samples, max_new_tokens=args.max_tokens)
    results: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory() as logs,
        GuardServer(LocalUpstream(backend, args.model)) as plain_server,
    ):
        results["unguarded"] = _measure(plain_server.url, bodies, args.concurrency)
        local = LocalUpstream(backend, args.model)
        for name, belief in (
            ("guarded, logprob belief", BeliefConfig()),
            ("guarded, sampled belief", sample),
        ):
            log = DecisionLog(f"{logs}/{len(results)}")
            guard = Guard(local.backend, belief=belief, log=log)
            with GuardServer(local, guard) as server:
                results[name] = _measure(server.url, bodies, args.concurrency)
            log.close()
        up = HTTPUpstream(plain_server.url, args.model, timeout=1800)
        log = DecisionLog(args.log_dir or f"{logs}/proxy")
        with GuardServer(up, Guard(up.backend, belief=sample, log=log)) as proxy:
            results["proxy, sampled belief"] = _measure(proxy.url, bodies, args.concurrency)
        log.close()

    base = results["unguarded"]
    print(
        f"{args.model} on {args.data}: {len(bodies)} high-stakes requests, max_tokens "
        f"{args.max_tokens}, {args.samples} belief samples, {args.concurrency} concurrent "
        f"clients, {args.threads} torch thread(s)\n"
    )
    print(
        "| serving | mean s | p50 s | p95 s | req/s | latency ratio | throughput ratio | verdicts |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(
            f"| {name} | {r['mean']:.3f} | {r['p50']:.3f} | {r['p95']:.3f} | {r['rps']:.2f} "
            f"| {r['mean'] / base['mean']:.2f} | {r['rps'] / base['rps']:.2f} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(r['verdicts'].items())) or '-'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
