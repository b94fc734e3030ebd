"""What dem's pytest plugin costs a project that has dem installed but does not use it.

    python benchmarks/plugin_overhead.py [--repeats 15]

Times a one-test pytest run in a fresh folder with the plugin loaded (as pytest11 loads it) and
with it blocked (`-p no:dem`), alternating, in fresh processes; prints the medians of the CPU
time the run used (user + system: robust on a busy machine) and of its wall time, and their
differences.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def once(folder: Path, *extra: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one pytest run in a fresh process."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=folder, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_unrelated.py").write_text("def test_x():\n    assert 1 + 1 == 2\n")
        once(folder)  # warm the file system cache
        with_dem, without = [], []
        for _ in range(args.repeats):
            with_dem.append(once(folder))
            without.append(once(folder, "-p", "no:dem"))
    cpu = [statistics.median(x[0] for x in runs) for runs in (with_dem, without)]
    wall = [statistics.median(x[1] for x in runs) for runs in (with_dem, without)]
    print(f"| pytest run of one unrelated test ({args.repeats} runs each) | CPU | wall |")
    print("| --- | --- | --- |")
    print(f"| with dem's plugin | {cpu[0] * 1000:.0f} ms | {wall[0] * 1000:.0f} ms |")
    print(f"| with `-p no:dem` | {cpu[1] * 1000:.0f} ms | {wall[1] * 1000:.0f} ms |")
    print(
        f"| the plugin's cost | {(cpu[0] - cpu[1]) * 1000:+.0f} ms | "
        f"{(wall[0] - wall[1]) * 1000:+.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
