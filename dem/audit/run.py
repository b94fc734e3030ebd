"""Run detectors over a dataset, write the report, quarantine the flagged samples.

`load_dataset` reads a training file (any format `dem.data.load_samples` takes), checks it
against its manifest when it has one (a line that does not match is a `DataError` naming it)
and reads which samples are misaligned when the manifest (or the rows' own provenance) knows.
`audit` scores the samples with each detector, flags them (`dem.audit.metrics.flag`) and, with
the truth, measures the detectors. `write_report` writes ``audit.json`` and one ranked
``<detector>.scores.jsonl`` per detector; `quarantine` writes the kept and the quarantined
samples as two dataset files whose manifests record the detector, the threshold and the scores.
Nothing is written until everything is computed, and each folder is filled from a finished
temporary one, so a failure leaves no partial output.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.atomic import apply_umask, atomic_open, write_json
from dem.audit.base import DetectorScores, check_detector, make_detector
from dem.audit.config import AuditConfig
from dem.audit.metrics import DetectionMetrics, Selection, detection_metrics, flag
from dem.audit.reference import ReferenceModel, sample_pair
from dem.audit.selfcheck import Canaries, Readability, SelfCheck, SelfCheckConfig, power_check
from dem.data.records import Manifest, Sample, canonical_json, origin_of
from dem.errors import ConfigError, DataError

REPORT_FILE = "audit.json"
KEPT_FILE = "kept.jsonl"
QUARANTINED_FILE = "quarantined.jsonl"


@dataclass(frozen=True)
class Dataset:
    """A training file read for an audit: samples, their line numbers, its manifest's chain
    and which samples are misaligned (None when neither manifest nor rows say)."""

    path: str
    samples: tuple[Sample, ...]
    lines: tuple[int, ...]
    chain: tuple[Mapping[str, Any], ...]
    labels: tuple[bool, ...] | None
    sha256: str

    @classmethod
    def of(
        cls, samples: Sequence[Sample], *, path: str, chain: Sequence[Mapping[str, Any]] = ()
    ) -> Dataset:
        """Samples in memory (a recipe step): line i + 1 is sample i, the truth read from the
        samples' own origins."""
        from dem.data.provenance import misaligned_labels

        labels = misaligned_labels([origin_of(s) for s in samples])
        return cls(
            path=path,
            samples=tuple(samples),
            lines=tuple(range(1, len(samples) + 1)),
            chain=tuple(chain),
            labels=None if labels is None else tuple(labels),
            sha256=Manifest.of(samples).sha256,
        )


def load_dataset(path: str | Path) -> Dataset:
    """Read and check a training file (module docstring)."""
    from dem.data.jsonl import manifest_path
    from dem.data.provenance import file_chain, misaligned_labels, verify
    from dem.data.sources import load_samples
    from dem.data.sources._common import read_records

    path = Path(path)
    if not path.is_file():
        raise DataError("no such file" if not path.exists() else "not a file", path)
    samples = load_samples(path)
    lines = [line for line, _ in read_records(path)]
    if len(lines) != len(samples):  # pragma: no cover - loaders keep one sample per record
        raise DataError(f"{len(lines)} records but {len(samples)} samples", path)
    for s, line in zip(samples, lines, strict=True):
        try:
            sample_pair(s)
        except DataError as exc:
            raise DataError(str(exc), path, line) from None
    origins = [origin_of(s) for s in samples]
    if manifest_path(path).is_file():
        checked = verify(path)
        if not checked.samples_ok:
            raise DataError(
                f"does not match its manifest ({manifest_path(path).name}): {checked.problem}; "
                "fix the file or remove the stale manifest",
                path,
                checked.line,
            )
        if checked.manifest.samples:
            origins = list(checked.manifest.sample_origins())
    labels = misaligned_labels(origins)
    return Dataset(
        path=str(path),
        samples=tuple(samples),
        lines=tuple(lines),
        chain=tuple(file_chain(path, samples)),
        labels=None if labels is None else tuple(labels),
        sha256=Manifest.of(samples).sha256,
    )


@dataclass(frozen=True)
class DetectorOutcome:
    """One detector's scores, flags, timing and (with the truth) metrics."""

    scores: DetectorScores
    selection: Selection
    metrics: DetectionMetrics | None
    seconds: float

    @property
    def name(self) -> str:
        return self.scores.detector

    @property
    def samples_per_s(self) -> float:
        return len(self.scores.scores) / self.seconds if self.seconds > 0 else float("inf")

    def quarantined(self) -> tuple[int, ...]:
        """The flagged samples and those the detector could not score, in file order."""
        return tuple(sorted({*self.selection.flagged, *self.selection.unscored}))

    def to_dict(self, config: AuditConfig) -> dict[str, Any]:
        out: dict[str, Any] = {
            "detector": self.name,
            "budget": None if config.threshold is not None else config.budget,
            "threshold": _finite(self.selection.threshold),
            "flagged": self.selection.k,
            "errors": len(self.selection.unscored),
            "seconds": round(self.seconds, 3),
            "samples_per_s": round(self.samples_per_s, 1),
            "details": dict(self.scores.details),
        }
        if self.metrics is not None:
            out.update(self.metrics.to_dict())
            out["budget"] = out["budget"] if config.threshold is None else None
        return out


def _finite(x: float) -> float | None:
    return None if x != x else float(x)  # NaN -> None


@dataclass(frozen=True)
class AuditResult:
    """An audit of one dataset by one or more detectors."""

    dataset: Dataset
    model: Mapping[str, Any]
    config: AuditConfig
    outcomes: tuple[DetectorOutcome, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    self_check: SelfCheck | None = None

    def outcome(self, name: str) -> DetectorOutcome:
        for o in self.outcomes:
            if o.name == name:
                return o
        raise ConfigError("detector", f"{name!r} did not run in this audit")

    def to_dict(self) -> dict[str, Any]:
        d = self.dataset
        return {
            "file": d.path,
            "samples": len(d.samples),
            "dataset_sha256": d.sha256,
            "misaligned": None if d.labels is None else sum(d.labels),
            "truth": "provenance" if d.labels is not None else None,
            "model": dict(self.model),
            "config": self.config.to_dict(),
            "detectors": {o.name: o.to_dict(self.config) for o in self.outcomes},
            "self_check": None if self.self_check is None else self.self_check.to_dict(),
            **dict(self.extra),
        }


def audit(
    dataset: Dataset,
    reference: ReferenceModel,
    detectors: Sequence[str],
    *,
    progress: bool = False,
    canaries: Canaries | None = None,
    self_check: SelfCheckConfig | None = None,
    readability: Readability | None = None,
) -> AuditResult:
    """Score `dataset` with each detector, flag by the config's budget or threshold, and
    measure against the truth when the dataset has it. With `canaries` each detector scores
    them planted in a copy of the data (after its samples), and the result's `self_check`
    measures the detector's power on them (`dem.audit.selfcheck`); they are never in the
    outcomes' scores, flags or metrics."""
    config = reference.config
    names = list(dict.fromkeys(check_detector(d) for d in detectors))
    if not names:
        raise ConfigError("detector", "name at least one detector")
    planted = tuple(canaries.samples) if canaries is not None else ()
    n = len(dataset.samples)
    outcomes, checks = [], []
    for name in names:
        if progress:
            extra = f" (+{len(planted)} canaries)" if planted else ""
            print(f"audit: {name} on {n} samples{extra} ...", file=sys.stderr)
        start = time.perf_counter()
        scored = make_detector(name, reference).score((*dataset.samples, *planted))
        seconds = time.perf_counter() - start
        if len(scored.scores) != n + len(planted):
            raise DataError(f"detector {name} returned {len(scored.scores)} scores")
        scores = DetectorScores(
            name,
            scored.scores[:n],
            {i: e for i, e in scored.errors.items() if i < n},
            scored.details,
        )
        selection = flag(
            scores.scores,
            budget=None if config.threshold is not None else config.budget,
            threshold=config.threshold,
        )
        metrics = None
        if dataset.labels is not None and selection.ranked:
            metrics = detection_metrics(
                scores.scores,
                dataset.labels,
                selection,
                budget=None if config.threshold is not None else config.budget,
                n_resamples=config.n_resamples,
                confidence=config.confidence,
                seed=config.seed,
            )
        outcomes.append(DetectorOutcome(scores, selection, metrics, seconds))
        if planted:
            checks.append(
                power_check(
                    name,
                    scores.scores,
                    scored.scores[n:],
                    selection,
                    labels=dataset.labels,
                    floor=(self_check or SelfCheckConfig()).min_power,
                    n_resamples=config.n_resamples,
                    confidence=config.confidence,
                    seed=config.seed,
                )
            )
    check = None
    if canaries is not None:
        check = SelfCheck(self_check or SelfCheckConfig(), readability, canaries, tuple(checks))
    return AuditResult(dataset, reference.identity(), config, tuple(outcomes), self_check=check)


# -- writing --------------------------------------------------------------------------------------
@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out`; on success its files move into `out` (created when
    missing), on failure it is removed and `out` is untouched."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        apply_umask(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for item in sorted(tmp.iterdir()):
            item.replace(out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ranked_rows(result: AuditResult, outcome: DetectorOutcome) -> list[dict[str, Any]]:
    """The detector's ranked list: one row per sample, most suspect first, unscored last."""
    d = result.dataset
    flagged = set(outcome.selection.flagged)
    rows = []
    order = [*outcome.selection.ranked, *outcome.selection.unscored]
    for position, i in enumerate(order, start=1):
        score = outcome.scores.scores[i]
        row: dict[str, Any] = {
            "rank": position if score is not None else None,
            "line": d.lines[i],
            "sha256": d.samples[i].sha256,
            "score": score,
            "flagged": i in flagged,
            "source": d.samples[i].source,
        }
        if score is None:
            row["error"] = outcome.scores.errors.get(i, "not scored")
        if d.labels is not None:
            row["misaligned"] = d.labels[i]
        rows.append(row)
    return rows


def write_report(result: AuditResult, out: str | Path) -> Path:
    """Write ``audit.json`` and ``<detector>.scores.jsonl`` into `out`; returns audit.json."""
    out = Path(out)
    with _staged(out) as tmp:
        write_json(tmp / REPORT_FILE, result.to_dict())
        for o in result.outcomes:
            with atomic_open(tmp / f"{o.name}.scores.jsonl") as fh:
                for row in ranked_rows(result, o):
                    fh.write(canonical_json(row) + "\n")
    return out / REPORT_FILE


def audit_operation(result: AuditResult, outcome: DetectorOutcome) -> dict[str, Any]:
    """The chain entry of an audit: detector, model, budget or threshold, what it flagged."""
    config = result.config
    return {
        "op": "audit",
        "detector": outcome.name,
        "model": dict(result.model),
        "budget": None if config.threshold is not None else config.budget,
        "threshold": _finite(outcome.selection.threshold),
        "flagged": outcome.selection.k,
        "unscored": len(outcome.selection.unscored),
        "settings": {k: v for k, v in config.to_dict().items() if k not in ("budget", "threshold")},
        "sha256": result.dataset.sha256,
        "count": len(result.dataset.samples),
    }


def split(result: AuditResult, detector: str) -> tuple[list[int], list[int]]:
    """(kept, quarantined) sample indices by `detector`'s flags, each in file order."""
    outcome = result.outcome(detector)
    out = set(outcome.quarantined())
    n = len(result.dataset.samples)
    return [i for i in range(n) if i not in out], sorted(out)


def quarantine(result: AuditResult, out: str | Path, detector: str | None = None) -> list[Path]:
    """Write the kept and the quarantined samples (``kept.jsonl``, ``quarantined.jsonl``, each
    with its manifest) into `out`, split by `detector` (default: the first that ran). Their
    chains extend the input's with the audit and a ``quarantine`` operation that records the
    part, the detector, the threshold and each written sample's score and input line."""
    from dem.data.jsonl import write_samples
    from dem.data.provenance import operation

    outcome = result.outcome(detector or result.outcomes[0].name)
    d = result.dataset
    audit_op = audit_operation(result, outcome)
    kept, held = split(result, outcome.name)
    out = Path(out)
    with _staged(out) as tmp:
        for name, part, idx in ((KEPT_FILE, "kept", kept), (QUARANTINED_FILE, "quarantined", held)):
            samples = [d.samples[i] for i in idx]
            op = operation(
                "quarantine",
                samples,
                part=part,
                detector=outcome.name,
                threshold=_finite(outcome.selection.threshold),
                input=d.sha256,
                lines=[d.lines[i] for i in idx],
                scores=[outcome.scores.scores[i] for i in idx],
            )
            recipe = {"kind": "quarantine", "part": part, "detector": outcome.name}
            write_samples(tmp / name, samples, recipe, chain=[*d.chain, audit_op, op])
    return [out / KEPT_FILE, out / QUARANTINED_FILE]


def summary_text(result: AuditResult) -> str:
    """The table ``dem audit`` prints: per detector, flags, speed and (with the truth) metrics."""
    d = result.dataset
    head = [
        f"file        {d.path} ({len(d.samples)} samples"
        + (f", {sum(d.labels)} misaligned per its manifest)" if d.labels is not None else ")"),
        f"model       {result.model.get('name')}",
        "flagging    "
        + (
            f"scores >= {result.config.threshold}"
            if result.config.threshold is not None
            else f"top {result.config.budget:g} of the samples (budget)"
        ),
    ]
    header = ["detector", "flagged", "errors", "samples/s"]
    if d.labels is not None:
        header += ["auroc", "precision", "recall"]
    rows = []
    for o in result.outcomes:
        row = [o.name, str(o.selection.k), str(len(o.selection.unscored)), f"{o.samples_per_s:.0f}"]
        if o.metrics is not None:
            row += [
                o.metrics.auroc.format(3),
                o.metrics.precision.format(3),
                o.metrics.recall.format(3),
            ]
        elif d.labels is not None:
            row += ["-", "-", "-"]
        rows.append(row)
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines = [*head, "", *table]
    if result.self_check is not None:
        from dem.audit.selfcheck import summary_lines

        lines += ["", *summary_lines(result.self_check, result.model)]
    return "\n".join(lines)
