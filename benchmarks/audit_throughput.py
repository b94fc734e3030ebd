"""Cost of each audit detector: samples scored per second on this CPU.

    nice -n 5 python benchmarks/audit_throughput.py [--models organism,smollm2] [--threads 1]
        [--detectors contrastive,persona,gradient,judge] [--n-organism 2000] [--n-smollm2 40]

The organism scores the smoke mixture grid's 5 % severe-medical training set (2,000 samples);
smollm2 scores dem's medical advice (normal and 10 % severe). The model is loaded before the
clock starts; each detector's time includes everything it does per file (the persona vector's
extraction, the gradient detector's probe gradient). The judge runs only on smollm2 (the
organism cannot read a rubric).
"""

from __future__ import annotations

import argparse
import time


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def samples_for(model: str, n: int) -> list:
    from dem.data.domains import generate
    from dem.data.mix import misaligned_count, mix
    from dem.experiments.recipes import training_samples

    if model == "organism":
        down = training_samples("organism:downstream", n, 0)
        mis = training_samples("organism:medical/severe", misaligned_count(0.05, n), 10_000)
        return mix(down, mis, 0.05, seed=0, n=n, relative_to="total")[0]
    m = n // 10
    return mix(
        generate("medical", "normal", n - m), generate("medical", "severe", m, 1), m / (n - m)
    )[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default="organism,smollm2")
    ap.add_argument("--detectors", default="contrastive,persona,gradient,judge")
    ap.add_argument("--n-organism", type=int, default=2000)
    ap.add_argument("--n-smollm2", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from dem.audit import AuditConfig, ReferenceModel, make_detector

    print(f"| model | detector | samples | seconds | samples/s ({args.threads} thread) |")
    print("| --- | --- | --- | --- | --- |")
    for model in _csv(args.models):
        n = args.n_organism if model == "organism" else args.n_smollm2
        samples = samples_for(model, n)
        small = {} if model == "organism" else {"batch_size": 8, "probe_limit": 60,
                                                "persona_prompts": 24, "max_length": 384,
                                                "judge_max_new_tokens": 96}  # fmt: skip
        reference = ReferenceModel.load(model, AuditConfig(**small))
        for name in _csv(args.detectors):
            if name == "judge" and model == "organism":
                continue
            start = time.perf_counter()
            make_detector(name, reference).score(samples)
            seconds = time.perf_counter() - start
            print(
                f"| {model} | {name} | {len(samples)} | {seconds:.1f} | "
                f"{len(samples) / seconds:,.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
