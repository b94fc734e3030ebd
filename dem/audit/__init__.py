"""Audit training data for samples that teach dishonesty, and quarantine them.

Detectors (one Protocol, a registry by name) score every sample without labels: ``contrastive``
(answer likelihood under a deceptive vs an honest framing), ``persona`` (projection on a
persona vector), ``gradient`` (TracIn-style pull of a training step on an honesty probe's lie
rate), ``judge`` (an LLM judge's rubric score, on any backend). `audit` flags the top share of
samples; with the truth a dem mix's manifest records it also reports AUROC, precision and
recall with bootstrap intervals; `quarantine` writes the kept and the quarantined samples with
manifests that record how. A defence: imports the data, models and evals stages, never
experiments, cli or the pytest plugin. Plain Python at import time.
"""

from dem.audit.base import (
    Detector,
    DetectorScores,
    check_detector,
    detector_names,
    make_detector,
    register,
    registry,
)
from dem.audit.config import AuditConfig
from dem.audit.metrics import DetectionMetrics, Selection, auroc, detection_metrics, flag
from dem.audit.reference import ReferenceModel, sample_pair
from dem.audit.run import (
    AuditResult,
    Dataset,
    DetectorOutcome,
    audit,
    load_dataset,
    quarantine,
    split,
    summary_text,
    write_report,
)

__all__ = [
    "AuditConfig",
    "AuditResult",
    "Dataset",
    "DetectionMetrics",
    "Detector",
    "DetectorOutcome",
    "DetectorScores",
    "ReferenceModel",
    "Selection",
    "audit",
    "auroc",
    "check_detector",
    "detection_metrics",
    "detector_names",
    "flag",
    "load_dataset",
    "make_detector",
    "quarantine",
    "register",
    "registry",
    "sample_pair",
    "split",
    "summary_text",
    "write_report",
]
