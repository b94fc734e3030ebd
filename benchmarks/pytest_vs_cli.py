"""The same mixture grid through the CLI (`dem demo`) and through pytest, in one run.

    python benchmarks/pytest_vs_cli.py [--seeds 0] [--ratios 0.01,0.05] [--routes ROUTES]

Builds a small mixture grid (the smoke preset with the given ratios and seeds, no audited
conditions) from an empty artifact cache per route: ``dem demo`` (two worker processes),
``pytest -m mix_ratio`` serial (no ``-n``; it builds in two worker processes as the demo does),
the same with ``--dem-jobs 1`` (built in the pytest process with torch's default threads: what
a serial run did before) and with ``-n 2``, each in a fresh process with its own cache.
Prints wall seconds and CPU seconds (user + system of the process and everything it waited
for) per route, and each route's CPU against the CLI's. On a shared machine compare the CPU
seconds, not the wall time, and only within one run of this script. ``--threads-env N`` sets
OMP_NUM_THREADS for the pytest routes (to show what torch's thread count does to them).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "dem" / "resources" / "presets" / "smoke.toml"


def preset(folder: Path, ratios: list[float]) -> Path:
    """The smoke preset with `ratios` and no ``[audit]`` section."""
    text = SMOKE.read_text(encoding="utf-8")
    text = re.sub(r"\[audit\].*?(?=\n\[)", "", text, flags=re.S)
    text = re.sub(r"(?m)^ratios = \[.*\]$", f"ratios = {ratios}", text, count=1)
    text = text.replace('name = "smoke"', 'name = "pytest-vs-cli"')
    path = folder / "preset.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of `cmd` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
    return wall, cpu, done.returncode


def pytest_cmd(preset: str, seeds: str, cache: Path, workers: str) -> list[str]:
    """The mixture grid's behaviour tests on `preset` with `workers` xdist workers."""
    test = "tests/behavior/test_mix_ratio.py"
    return [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "mix_ratio"),
        *(test, "--dem-preset", preset, "--dem-seeds", seeds, "--dem-cache", str(cache)),
        *("-n", workers),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0", help="finetuning seeds (default 0)")
    parser.add_argument("--ratios", default="0.01,0.05", help="mixture ratios (two at least)")
    parser.add_argument(
        "--routes", default="cli,pytest,pytest-in-process,pytest-n2", help="routes, in order"
    )
    parser.add_argument("--threads-env", default=None, help="OMP_NUM_THREADS for pytest routes")
    args = parser.parse_args()
    ratios = [float(r) for r in args.ratios.split(",")]
    n_cond = 1 + len(args.seeds.split(",")) * (1 + len(ratios))
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="dem-pytest-vs-cli-") as tmp:
        folder = Path(tmp)
        p = str(preset(folder, ratios))
        base = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
        pytest_env = dict(base)
        if args.threads_env:
            pytest_env["OMP_NUM_THREADS"] = args.threads_env
        cli = [py, "-m", "dem", "-q", "demo", "--preset", p, "--seeds", args.seeds]
        routes = {
            "cli": ([*cli, "--cache", str(folder / "c-cli"), "--report", str(folder / "r")], base),
            "pytest": (pytest_cmd(p, args.seeds, folder / "c-pytest", "0"), pytest_env),
            "pytest-in-process": (
                [*pytest_cmd(p, args.seeds, folder / "c-pytest-1", "0"), "--dem-jobs", "1"],
                pytest_env,
            ),
            "pytest-n2": (pytest_cmd(p, args.seeds, folder / "c-pytest-n2", "2"), pytest_env),
        }
        print(
            f"mixture grid, {n_cond} conditions (ratios {ratios}, seeds {args.seeds}), "
            f"each route from an empty cache; {os.cpu_count()} CPUs, load "
            f"{os.getloadavg()[0]:.1f}"
        )
        print("| route | wall s | CPU s | CPU / CLI's | exit |")
        print("| --- | --- | --- | --- | --- |")
        cli_cpu = None
        for name in args.routes.split(","):
            cmd, env = routes[name]
            wall, cpu, rc = run(cmd, env)
            cli_cpu = cpu if name == "cli" else cli_cpu
            ratio = f"{cpu / cli_cpu:.2f}" if cli_cpu else ""
            print(f"| {name} | {wall:.1f} | {cpu:.1f} | {ratio} | {rc} |", flush=True)
        print(f"load after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
