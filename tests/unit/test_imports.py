"""`import dem` (and every public subpackage) stays light: no torch, transformers or trl."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "trl",
    "peft",
    "datasets",
    "matplotlib",
    "ray",
    "submitit",
    "uvicorn",
    "starlette",
)


def test_public_packages_import_without_heavy_libraries():
    code = (
        "import sys, dem, dem.data, dem.models, dem.train, dem.evals, dem.experiments, "
        "dem.report, dem.organism, dem.interact, dem.executors, dem.redteam, dem.guard, "
        "dem.pytest_plugin, dem.cli\n"
        "dem.cli.build_parser()\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
