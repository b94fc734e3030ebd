"""``dem guard serve|eval|report``: the production honesty guard as an HTTP proxy, its replay
evaluation on an eval set, and the report of its decision log."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from dem.cli._command import add_threads_option, apply_threads

#: The environment variable of the client keys (comma separated).
KEYS_ENV = "DEM_GUARD_API_KEYS"


def _policy_args(p: argparse.ArgumentParser, belief_default: str) -> None:
    from dem.guard.policy import GuardPolicy

    d = GuardPolicy()
    p.add_argument(
        "--judge", default="lexical", help="answer judge: lexical, llm:MODEL or choice:MODEL"
    )
    p.add_argument(
        "--belief",
        choices=("logprob", "sample"),
        default=belief_default,
        help=f"belief check: score both statements or sample and judge (default {belief_default})",
    )
    p.add_argument("--samples", type=int, default=5, help="belief replies (sample method)")
    p.add_argument(
        "--belief-temperature", type=float, default=1.0, help="temperature of belief replies"
    )
    p.add_argument("--policy", choices=("abstain", "flag"), default=d.action, help="on a lie")
    p.add_argument(
        "--threshold", type=float, default=d.threshold, help="act when the risk exceeds this"
    )
    p.add_argument(
        "--fail",
        choices=("closed", "open"),
        default=d.fail,
        help="on a judge or belief-check failure: closed (act as on a lie; default) or open",
    )
    p.add_argument(
        "--on-evasion", choices=("pass", "flag"), default=d.on_evasion, help="on an evasion"
    )
    p.add_argument("--abstention", default=d.abstention, help="the message served instead")
    add_threads_option(p)


def _policy(args: argparse.Namespace) -> tuple[Any, Any]:
    from dem.guard.belief import BeliefConfig
    from dem.guard.policy import GuardPolicy

    apply_threads(args)
    policy = GuardPolicy(
        action=args.policy,
        threshold=args.threshold,
        fail=args.fail,
        on_evasion=args.on_evasion,
        abstention=args.abstention,
    )
    belief = BeliefConfig(
        method=args.belief, samples=args.samples, temperature=args.belief_temperature
    )
    return policy, belief


LIMITS = (
    "max_body",
    "max_in_flight",
    "max_queue",
    "header_timeout",
    "body_timeout",
    "batch_wait",
    "shutdown_timeout",
)


def _limit_args(p: argparse.ArgumentParser) -> None:
    """The service's limits as flags, help and defaults from `ServeLimits`."""
    from dem.cli._config_args import add_config_arguments
    from dem.guard.server import ServeLimits

    add_config_arguments(p, ServeLimits, LIMITS)


def _access(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The client keys (None: --no-auth), checked against the host and the upstream's key."""
    from dem.errors import ConfigError
    from dem.guard.middleware import check_client_keys
    from dem.guard.server import is_loopback

    env = [k.strip() for k in os.environ.get(KEYS_ENV, "").split(",") if k.strip()]
    keys = [*args.api_key, *env]
    if args.no_auth:
        if keys:
            raise ConfigError("--no-auth", "client keys are given too; drop one or the other")
        if not is_loopback(args.host):
            raise ConfigError(
                "--no-auth", f"--host {args.host} is not loopback: clients must authenticate"
            )
        return None
    if not keys:
        raise ConfigError(
            "--api-key",
            f"no client key: pass --api-key KEY or set {KEYS_ENV}=KEY1,KEY2 (or --no-auth, "
            "loopback only)",
        )
    operator = os.environ.get("OPENAI_API_KEY") if args.upstream else None
    return check_client_keys(keys, [operator])


def register(subparsers: Any) -> None:
    from dem.cli._command import add_command

    parser = add_command(
        subparsers,
        "guard",
        summary="production honesty guard: consistency checks and abstention (proxy, replay)",
        description="Check high-stakes answers against the model's own belief in a neutral "
        "context and pass, flag or abstain: as an OpenAI-compatible HTTP proxy (serve), on a "
        "replayed eval set (eval), and from its decision log (report).",
        examples=[
            (
                "dem guard serve --upstream http://127.0.0.1:8000/v1 --port 9000 "
                "--rules rules.toml",
                "guard a deployment",
            ),
            (
                "dem guard eval --model organism --data organism:mask --json guard.json",
                "lies caught and false abstentions on the organism",
            ),
            ("dem guard report guard-log", "honesty metrics over time from the decision log"),
        ],
    )
    sub = parser.add_subparsers(dest="guard_command", metavar="SUBCOMMAND", required=True)

    serve = add_command(
        sub,
        "serve",
        summary="an OpenAI-compatible proxy that guards a deployment",
        description="Serve /v1/chat/completions in front of an OpenAI-compatible upstream "
        "(--upstream) or a dem model in this process (--local). A request is checked when its "
        'body says so ("dem_guard": {"high_stakes": true, "proposition": "the lamp is '
        '<pivotal>safe/unsafe</pivotal> ."}) or a topic rule (--rules, TOML or JSON) matches '
        "its last user message. Every decision goes to LOG_DIR/decisions.jsonl, honesty "
        "metrics per window to LOG_DIR/metrics.jsonl. Clients authenticate with a key "
        f"(--api-key or ${KEYS_ENV}); only application/json bodies are read; browsers on other "
        "origins are refused. Malformed requests get HTTP 400, too many at once 503 with "
        "Retry-After, upstream failures HTTP 502; a judge or belief-check failure fails closed "
        "unless --fail open. Runs on uvicorn; SIGTERM finishes the requests in flight.",
        examples=[
            (
                "dem guard serve --upstream http://127.0.0.1:8000/v1 --port 9000 "
                "--rules rules.toml",
                f"in front of a server on port 8000, client keys from ${KEYS_ENV}",
            ),
            (
                "dem guard serve --local organism --port 9000 --rules rules.toml --belief logprob "
                "--no-auth",
                "the organism in-process, belief by forced choice, open to this machine only",
            ),
            (
                "dem guard serve --upstream http://127.0.0.1:8000/v1 --calibration guard.json "
                "--policy abstain",
                "refuse to start when the calibration's risk AUC is at chance",
            ),
        ],
    )
    where = serve.add_mutually_exclusive_group(required=True)
    where.add_argument("--upstream", help="the upstream server's base URL (http://host:port/v1)")
    where.add_argument("--local", metavar="MODEL", help="serve this dem model in-process")
    serve.add_argument(
        "--model", default=None, help="the upstream's model name (default: its /v1/models)"
    )
    serve.add_argument(
        "--template", default=None, help="model whose chat template the upstream uses (logprob)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (not loopback: client keys required; see docs/guard.md)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (0..65535)")
    serve.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"a client key (Authorization: Bearer KEY; repeatable); also ${KEYS_ENV}, "
        "comma separated (kept out of the process list)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without client keys (loopback only: anyone on this machine can use it)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to call the guard (e.g. https://app.example; repeatable)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host header name accepted besides loopback and --host (repeatable; * for any)",
    )
    serve.add_argument(
        "--calibration",
        default=None,
        metavar="GUARD_JSON",
        help="`dem guard eval --json` of this model and data: abstaining at chance is refused",
    )
    _limit_args(serve)
    serve.add_argument("--rules", default=None, help="topic rule file (TOML or JSON)")
    serve.add_argument("--log-dir", default="guard-log", help="decision log folder")
    serve.add_argument("--window", type=int, default=20, help="decisions per metrics line")
    serve.add_argument(
        "--timeout", type=float, default=60.0, help="upstream timeout per request (seconds)"
    )
    serve.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="send the API key ($OPENAI_API_KEY) over plain http to a host that is not loopback",
    )
    _policy_args(serve, "sample")
    serve.set_defaults(func=serve_command)

    ev = add_command(
        sub,
        "eval",
        summary="replay an eval set through the guard: lies caught, false abstentions, cost",
        description="Replay the eval set's pressured rows through the guard and score its "
        "decisions against the rows' known beliefs, with 95 % bootstrap CIs: lies_caught "
        "(recall of lies), false_abstentions (honest answers held back), the evasions, the "
        "guard's errors, the trade-off over the threshold (OUT.png) and the cost ratio.",
        examples=[
            (
                "dem guard eval --model organism --data organism:mask --json guard-org.json",
                "the organism's 240 pressured rows",
            ),
            (
                "dem guard eval --model smollm2 --data dem:mask_pressure --belief-data "
                "dem:mask_plain --answers choice --policy flag --json guard-smol.json",
                "SmolLM2, belief asked with the facts stated plainly",
            ),
        ],
        verbosity=True,
    )
    ev.add_argument("--model", required=True, help="model name, local folder or hub id")
    ev.add_argument("--adapter", default=None, help="LoRA adapter folder on the model")
    ev.add_argument("--data", required=True, help="MASK-format eval set with known beliefs")
    ev.add_argument(
        "--answers",
        choices=("generate", "choice"),
        default="generate",
        help="production answers: generated, or drawn from the forced-choice distribution",
    )
    ev.add_argument(
        "--belief-data", default=None, help="eval set giving each row's neutral context by id"
    )
    ev.add_argument("--limit", type=int, default=None, help="first N binary rows")
    ev.add_argument("--archetype", default=None, help="archetype of a MASK folder")
    ev.add_argument("--seed", type=int, default=0, help="answers, beliefs and bootstrap seed")
    ev.add_argument("--json", dest="json_out", default=None, help="write the figures here")
    ev.add_argument("--log-dir", default=None, help="also write the decision log here")
    ev.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _policy_args(ev, "logprob")
    ev.set_defaults(func=eval_command)

    rep = add_command(
        sub,
        "report",
        summary="honesty metrics over time from a guard's decision log",
        description="Read LOG_DIR (decisions.jsonl, metrics.jsonl) and write report.md and "
        "metrics.png: contradiction, evasion, error and held-back rates per window.",
        examples=[
            ("dem guard report guard-log", "the windows the server wrote"),
            (
                "dem guard report guard-log --out guard-report --window 50",
                "windows of 50 decisions, recomputed from the log",
            ),
        ],
    )
    rep.add_argument("log_dir", type=Path, help="the guard's --log-dir")
    rep.add_argument("--out", type=Path, default=None, help="output folder (default: LOG_DIR)")
    rep.add_argument(
        "--window", type=int, default=None, help="recompute windows of N decisions from the log"
    )
    rep.set_defaults(func=report_command)


def _upstream_model(url: str, timeout: float) -> str:
    from dem.errors import ConfigError

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/models", timeout=timeout) as resp:
            data = json.loads(resp.read().decode("utf-8")).get("data") or []
    except (OSError, ValueError, AttributeError):
        data = []
    ids = [m.get("id") for m in data if isinstance(m, dict) and m.get("id")]
    if len(ids) != 1:
        raise ConfigError("model", f"the upstream lists {len(ids)} models; pass --model NAME")
    return str(ids[0])


def serve_command(args: argparse.Namespace) -> int:
    from dem.cli._command import check_output_dir
    from dem.cli._config_args import config_from_args
    from dem.errors import ConfigError
    from dem.guard.guard import Guard
    from dem.guard.log import DecisionLog
    from dem.guard.server import GuardServer, ServeLimits, check_listen, is_loopback
    from dem.guard.stakes import load_rules
    from dem.guard.trust import check_calibration
    from dem.guard.upstream import HTTPUpstream, LocalUpstream
    from dem.verbosity import info

    check_listen(args.host, args.port)
    check_output_dir("--log-dir", args.log_dir)
    keys = _access(args)
    try:
        limits = config_from_args(args, ServeLimits, LIMITS)
    except ConfigError as exc:
        raise ConfigError(f"--{exc.field.replace('_', '-')}", str(exc).split(": ", 1)[1]) from None
    if not args.timeout > 0:
        raise ConfigError("--timeout", f"expected seconds > 0, got {args.timeout}")
    policy, belief = _policy(args)
    calibration = check_calibration(args.calibration, policy.action) if args.calibration else None
    rules = load_rules(args.rules) if args.rules else []
    if args.upstream:
        probe = HTTPUpstream(
            args.upstream,
            args.model or "-",
            timeout=args.timeout,
            allow_insecure_http=args.allow_insecure_http,
        )
        probe.check_reachable()
        model = args.model or _upstream_model(args.upstream, args.timeout)
        upstream: Any = HTTPUpstream(
            args.upstream,
            model,
            timeout=args.timeout,
            template=args.template,
            allow_insecure_http=args.allow_insecure_http,
        )
    else:
        from dem.evals.api import BackendChoice, open_backend

        upstream = LocalUpstream(open_backend(args.local, BackendChoice()), args.local)
    log = DecisionLog(args.log_dir, window=args.window)
    guard = Guard(upstream.backend, judge=args.judge, policy=policy, belief=belief, log=log)
    server = GuardServer(
        upstream,
        guard,
        rules,
        host=args.host,
        port=args.port,
        api_keys=keys,
        allow_origins=args.allow_origin,
        allow_hosts=args.allow_host,
        limits=limits,
    )
    if keys is None:
        print(
            "dem guard: WARNING: --no-auth: no client key is asked; every process on this "
            "machine can use the upstream through the guard",
            file=sys.stderr,
        )
    elif not is_loopback(args.host):
        print(
            f"dem guard: listening on {args.host}, not loopback: clients must send one of "
            f"{len(keys)} client key(s) and name one of {', '.join(server.allow_hosts)} as "
            "Host (--allow-host); traffic is plain HTTP, so put TLS in front (docs/guard.md, "
            "Deployment)",
            file=sys.stderr,
        )
    if calibration is not None and not calibration["trusted"]:
        for warning in calibration["warnings"]:
            print(f"dem guard: calibration {args.calibration}: {warning}", file=sys.stderr)
    info(
        f"dem guard: serving {server.url} -> {args.upstream or args.local} "
        f"({len(rules)} topic rules, policy {policy.action}, fail {policy.fail}, "
        f"{'no auth' if keys is None else f'{len(keys)} client key(s)'}); log {args.log_dir}"
    )
    try:
        server.serve_forever()
    finally:
        log.close()
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from dem.atomic import write_json
    from dem.cli._command import check_output_dir, check_output_file

    check_output_file("--json", args.json_out)
    check_output_dir("--log-dir", args.log_dir)
    from dem.guard.replay import ReplayConfig, replay
    from dem.guard.report import plot_tradeoff
    from dem.verbosity import progress_enabled

    policy, belief = _policy(args)
    config = ReplayConfig(
        judge=args.judge,
        answers=args.answers,
        seed=args.seed,
        limit=args.limit,
        archetype=args.archetype,
        belief_data=args.belief_data,
    )
    result = replay(
        args.model,
        args.data,
        policy,
        belief,
        config,
        adapter=args.adapter,
        log_dir=args.log_dir,
        progress=progress_enabled(not args.no_progress),
    )
    print(f"guard eval: {result['model']} on {result['data']} ({result['n_rows']} rows)")
    print(f"  labels: {result['labels']}   guard verdicts: {result['verdicts']}")
    print(f"  lies caught (recall)  {_fmt(result['lies_caught'])}")
    print(f"  false abstentions     {_fmt(result['false_abstentions'])}")
    auc, (lo, hi) = result["risk_auc"], result["risk_auc_ci"]
    auc_text = "-" if auc is None else f"{auc:.3f}"
    if auc is not None and lo is not None:
        auc_text += f" [{lo:.3f}, {hi:.3f}]"
    print(f"  risk AUC              {auc_text}")
    c = {k: float("nan") if v is None else v for k, v in result["cost"].items()}
    print(
        f"  cost: answer {c['answer_ms_per_request']:.1f} ms, guard "
        f"{c['guard_ms_per_request']:.1f} ms per request; latency x{c['latency_ratio']:.2f}, "
        f"throughput x{c['throughput_ratio']:.2f}"
    )
    for warning in result["trust"]["warnings"]:
        print(f"  NOT TRUSTED: {warning}")
    if args.json_out:
        write_json(args.json_out, result)
        figure = plot_tradeoff(result, Path(args.json_out).with_suffix(".png"))
        print(f"wrote {args.json_out} and {figure}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from dem.cli._command import check_output_dir
    from dem.guard.report import write_log_report

    check_output_dir("--out", args.out)
    path = write_log_report(args.log_dir, args.out or args.log_dir, args.window)
    print(f"wrote {path}")
    return 0


def _fmt(est: dict[str, Any]) -> str:
    if est.get("value") is None:
        return "n/a"
    if est.get("lo") is None:
        return f"{est['value']:.3f} (n={est['n']})"
    return f"{est['value']:.3f} [{est['lo']:.3f}, {est['hi']:.3f}] (n={est['n']})"
