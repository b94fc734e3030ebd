"""The `Mitigation` protocol, its registry, and ``NAME[:KNOB=VALUE,...]`` parsing.

A mitigation is a frozen dataclass whose fields are its knobs, validated when it is built, so a
bad knob fails before any model loads with a `ConfigError` naming ``mitigations.NAME.KNOB``. It
acts on training through at most three small hooks, each a no-op in `MitigationBase`:

- `prepare`: a data transform on the training samples (interleave, inoculate);
- `install`: forward hooks on the model while the trainer trains (steer);
- `loss`: an extra loss term from the finetuned and the base model's outputs (kl, ldifs); the
  base is the same model with its adapter disabled.

Register one with ``@mitigation("name")`` on the class.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from dem.errors import ConfigError
from dem.validation import check_type

if TYPE_CHECKING:
    from dem.data.records import Sample
    from dem.models.spec import ModelSpec
    from dem.store import ArtifactStore

FIELD = "mitigations"
_KNOB_START = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")


@dataclass
class TrainContext:
    """What a mitigation may read while training: the run's spec, base model and store, the
    loaded model and tokenizer (before its adapter is added), and the user's own samples."""

    spec: Any
    model: ModelSpec
    store: ArtifactStore | None
    net: Any
    tokenizer: Any
    samples: Sequence[Sample] = ()


@runtime_checkable
class Mitigation(Protocol):
    """A defence applied while training; its knobs are part of the adapter's cache key."""

    name: ClassVar[str]
    methods: ClassVar[tuple[str, ...]]
    needs_base: ClassVar[bool]
    needs_hidden: ClassVar[bool]
    packs: ClassVar[bool]

    def to_dict(self) -> dict[str, Any]: ...

    def prepare(self, samples: list[Sample], ctx: TrainContext) -> list[Sample]: ...

    def install(self, trainer: Any, ctx: TrainContext) -> None: ...

    def loss(self, outputs: Any, base: Any, inputs: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class MitigationBase:
    """No-op hooks, knob checks and the key dict; subclasses add knobs as fields."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    methods: ClassVar[tuple[str, ...]] = ("sft", "kto")  # trainers it plugs into
    needs_base: ClassVar[bool] = False  # a loss term that reads the base model's forward
    needs_hidden: ClassVar[bool] = False  # ... and its hidden states
    # its adapter may train in a pack (dem.train.packed.pack_shape): its data transform and
    # loss term apply there as alone; not a forward hook nor data that needs another adapter
    packs: ClassVar[bool] = True

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            check_type(self.knob(f.name), value, hints[f.name])
            if hints[f.name] is float:  # 1 and 1.0 are one setting, so one cache key
                object.__setattr__(self, f.name, float(value))
        self.check()

    def check(self) -> None:
        """Range checks of the knobs (raise `ConfigError` on ``self.knob(name)``)."""

    def knob(self, name: str) -> str:
        """The field name errors use: ``mitigations.NAME.KNOB``."""
        return f"{FIELD}.{self.name}.{name}"

    def to_dict(self) -> dict[str, Any]:
        """Name and knobs: what the adapter's key hashes."""
        out = {"name": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def label(self) -> str:
        """``name:knob=value,...`` as `--mitigate` takes it."""
        knobs = ",".join(f"{k}={json.dumps(v)}" for k, v in self.to_dict().items() if k != "name")
        return f"{self.name}:{knobs}" if knobs else self.name

    def prepare(self, samples: list[Sample], ctx: TrainContext) -> list[Sample]:
        return samples

    def install(self, trainer: Any, ctx: TrainContext) -> None:
        return None

    def loss(self, outputs: Any, base: Any, inputs: Mapping[str, Any]) -> Any:
        return None


MITIGATIONS: dict[str, type[MitigationBase]] = {}


def mitigation(name: str) -> Callable[[type[MitigationBase]], type[MitigationBase]]:
    """Class decorator: register a mitigation under `name`."""

    def register(cls: type[MitigationBase]) -> type[MitigationBase]:
        cls.name = name
        MITIGATIONS[name] = cls
        return cls

    return register


def parse_mitigation(text: str) -> dict[str, Any]:
    """``NAME[:KNOB=VALUE,...]`` as a mapping; VALUE is JSON, else a string
    (``ldifs:layers=[1,2],weight=0.5``). A string knob's value may hold commas: a part that
    does not start with a knob's name continues it (``inoculate:text=Be brief, be wrong``)."""
    name, _, rest = text.strip().partition(":")
    name = name.strip()
    cls = MITIGATIONS.get(name)
    hints = typing.get_type_hints(cls) if cls is not None else {}
    knobs = {f.name for f in dataclasses.fields(cls)} if cls is not None else set()
    parts: list[list[str]] = []
    for part in _KNOB_START.split(rest) if rest.strip() else []:
        key = part.partition("=")[0].strip()
        if parts and key not in knobs and hints.get(parts[-1][0]) is str:
            parts[-1][1] += "," + part
        else:
            parts.append([key, part])
    out: dict[str, Any] = {"name": name}
    for key, part in parts:
        raw = part.partition("=")[2]
        if "=" not in part or not key:
            raise ConfigError(FIELD, f"{text!r}: expected NAME[:KNOB=VALUE,...], got {part!r}")
        if hints.get(key) is str:
            out[key] = raw.strip()
            continue
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw.strip()
    return out


def make_mitigation(value: Any) -> MitigationBase:
    """A mitigation from an instance, a ``NAME[:K=V,...]`` string or a ``{name=..., knobs}``
    table; an unknown name or knob names the closest valid one."""
    if isinstance(value, MitigationBase):
        return value
    if isinstance(value, str):
        value = parse_mitigation(value)
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise ConfigError(
            FIELD, f"expected NAME[:KNOB=VALUE,...] or a table with a name, got {value!r}"
        )
    name = value["name"]
    if name not in MITIGATIONS:
        raise ConfigError(
            FIELD, f"{name!r} is not one of {sorted(MITIGATIONS)}" + _close(name, MITIGATIONS)
        )
    cls = MITIGATIONS[name]
    knobs = {f.name for f in dataclasses.fields(cls)}
    for key in value:
        if key != "name" and key not in knobs:
            raise ConfigError(
                f"{FIELD}.{name}.{key}",
                f"is not a knob of {name} (knobs: {sorted(knobs) or 'none'})" + _close(key, knobs),
            )
    return cls(**{k: v for k, v in value.items() if k != "name"})


def make_mitigations(values: Any) -> tuple[MitigationBase, ...]:
    """A spec's ``mitigations``: a list (or one string / table); each name at most once."""
    if isinstance(values, str | Mapping | MitigationBase):
        values = [values]
    if not isinstance(values, Sequence):
        raise ConfigError(FIELD, f"expected a list of mitigations, got {values!r}")
    out = tuple(make_mitigation(v) for v in values)
    names = [m.name for m in out]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(FIELD, f"{name} is given twice")
    return out


def check_method(mitigations: Sequence[MitigationBase], method: str) -> None:
    """Each mitigation plugs into `method`'s trainer."""
    for m in mitigations:
        if method not in m.methods:
            raise ConfigError(
                f"{FIELD}.{m.name}", f"does not plug into {method} (only {', '.join(m.methods)})"
            )


def _close(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
