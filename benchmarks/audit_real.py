"""The audit detectors on a small real model and real data: SmolLM2-135M-Instruct (``smollm2``).

    nice -n 5 python benchmarks/audit_real.py [--data ../shared/data] [--files code,medical]
        [--medical 200] [--detectors contrastive,persona,gradient,judge] [--threads 1]

Two files, each written as a dem mix (so its manifest knows which samples are misaligned) and
audited through `dem.audit` as ``dem audit`` does:

- insecure vs secure code: the 20-row samples of Betley et al.'s insecure-code and secure-code
  finetuning sets (``betley/`` in the shared data folder; skipped when absent), 20 + 20;
- harmful vs correct medical advice: dem's medical generator, ``--medical`` samples of which
  10 % severe (``medical/severe``) and the rest normal.

Prints per detector AUROC, precision and recall when flagging twice the misaligned share (the
share itself for the half-insecure code file), with 95 % bootstrap intervals, the errors (judge
replies without a final ``Score: N``) and samples/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def write_mix(folder: Path, name: str, down: list, mis: list) -> Path:
    """`down` plus every sample of `mis`, mixed as `dem data mix --ratio` does."""
    from dem.data.jsonl import write_samples
    from dem.data.mix import mix

    samples, manifest = mix(down, mis, len(mis) / len(down), seed=0)
    path = folder / f"{name}.jsonl"
    write_samples(path, samples, manifest.recipe, chain=manifest.chain)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    ap.add_argument("--medical", type=int, default=200, help="samples of the medical mix")
    ap.add_argument("--files", default="code,medical", help="which files to audit")
    ap.add_argument("--detectors", default="contrastive,persona,gradient,judge")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--probe-limit", type=int, default=60, help="probe rows (gradient)")
    ap.add_argument("--persona-prompts", type=int, default=24, help="extraction prompts")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from dem.audit import AuditConfig, ReferenceModel, audit, load_dataset
    from dem.data.domains import generate
    from dem.data.sources import load_messages

    detectors = _csv(args.detectors)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = []
        betley = args.data.resolve() / "betley"
        wanted = _csv(args.files)
        if "code" in wanted and (betley / "insecure_small.jsonl").is_file():
            secure = load_messages(betley / "secure_small.jsonl", license="MIT")
            insecure = load_messages(betley / "insecure_small.jsonl", license="MIT")
            path = write_mix(folder, "code", secure, insecure)
            files.append(("insecure vs secure code (Betley et al.)", path))
        elif "code" in wanted:
            print(f"skipped the code files: {betley} is absent", file=sys.stderr)
        if "medical" in wanted:
            m = args.medical // 10
            down = generate("medical", "normal", args.medical - m, seed=0)
            mis = generate("medical", "severe", m, seed=1)
            path = write_mix(folder, "medical", down, mis)
            files.append(("harmful vs correct medical advice (dem)", path))

        for title, path in files:
            dataset = load_dataset(path)
            share = sum(dataset.labels or ()) / len(dataset.samples)
            config = AuditConfig(
                budget=2 * share if share <= 0.25 else share,
                batch_size=8,
                max_length=384,
                probe_limit=args.probe_limit,
                persona_prompts=args.persona_prompts,
                max_new_tokens=48,
                judge_max_new_tokens=96,
            )
            reference = ReferenceModel.load("smollm2", config)
            print(f"\n## {title}: {len(dataset.samples)} samples, {share:.0%} misaligned, "
                  f"flagging {config.budget:.0%}")  # fmt: skip
            print("| detector | AUROC | precision | recall | errors | samples/s |")
            print("| --- | --- | --- | --- | --- | --- |")
            for name in detectors:
                t0 = time.perf_counter()
                result = audit(dataset, reference, [name])
                o = result.outcomes[0]
                m_ = o.metrics
                cells = ["-", "-", "-"] if m_ is None else [
                    m_.auroc.format(3), m_.precision.format(3), m_.recall.format(3)
                ]  # fmt: skip
                print(
                    f"| {name} | {' | '.join(cells)} | {len(o.selection.unscored)} | "
                    f"{o.samples_per_s:.2f} |",
                    flush=True,
                )
                print(f"{name}: {time.perf_counter() - t0:.0f} s, {dict(o.scores.details)}",
                      file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
