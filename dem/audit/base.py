"""The detector Protocol, the registry of detectors by name, and what a detector returns.

A detector scores every sample of a training set for how likely it is to teach dishonesty,
without labels: higher is more suspect. A sample it could not score (a judge whose answer does
not parse) gets ``None`` and its error, never a guess. Detectors register a factory under their
name with `register`; `make_detector` builds one over a `dem.audit.reference.ReferenceModel`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dem.errors import ConfigError

if TYPE_CHECKING:
    from dem.audit.reference import ReferenceModel
    from dem.data.records import Sample

#: The modules that hold the detectors, imported when the registry is first read.
DETECTOR_MODULES = (
    "dem.audit.contrastive",
    "dem.audit.persona",
    "dem.audit.gradient",
    "dem.audit.judge",
)


@dataclass(frozen=True)
class DetectorScores:
    """One score per sample (None where the detector failed on it, with the reason in
    ``errors``), plus what the detector wants on record (layer chosen, probe lie rate, ...)."""

    detector: str
    scores: tuple[float | None, ...]
    errors: Mapping[int, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [i for i, s in enumerate(self.scores) if s is None and i not in self.errors]
        if missing:
            raise ValueError(f"{self.detector}: samples {missing[:5]} have no score and no error")


@runtime_checkable
class Detector(Protocol):
    """Scores samples for how likely each is to teach dishonesty (higher: more suspect)."""

    name: str

    def score(self, samples: Sequence[Sample]) -> DetectorScores:
        """One score per sample, in order."""
        ...


Factory = Callable[["ReferenceModel"], Detector]


@dataclass(frozen=True)
class DetectorInfo:
    """A registered detector: its factory and a one-line description."""

    name: str
    factory: Factory
    help: str
    model_based: bool = True


_REGISTRY: dict[str, DetectorInfo] = {}


def register(name: str, help: str, *, model_based: bool = True) -> Callable[[Factory], Factory]:
    """Decorator: register `factory` (reference model -> detector) under `name`."""

    def wrap(factory: Factory) -> Factory:
        _REGISTRY[name] = DetectorInfo(name, factory, help, model_based)
        return factory

    return wrap


def registry() -> Mapping[str, DetectorInfo]:
    """Every registered detector by name, dem's own in `DETECTOR_MODULES` order first (the
    detector modules are imported on first use)."""
    for module in DETECTOR_MODULES:
        importlib.import_module(module)

    def place(info: DetectorInfo) -> tuple[int, str]:
        module = getattr(info.factory, "__module__", "")
        known = module in DETECTOR_MODULES
        return (DETECTOR_MODULES.index(module) if known else len(DETECTOR_MODULES), info.name)

    return {info.name: info for info in sorted(_REGISTRY.values(), key=place)}


def detector_names() -> tuple[str, ...]:
    return tuple(registry())


def check_detector(name: str, field: str = "detector") -> str:
    """`name` when a detector is registered under it, else a `ConfigError` listing them."""
    known = registry()
    if name not in known:
        raise ConfigError(field, f"unknown detector {name!r}; one of {', '.join(known)}")
    return name


def make_detector(name: str, reference: ReferenceModel) -> Detector:
    """The detector `name` over `reference`."""
    check_detector(name)
    return _REGISTRY[name].factory(reference)
