"""Named models: ``organism``, ``smollm2``, configured names, local folders and hub ids.

`resolve_model` turns what a user types after ``--model`` into a `ModelSpec`; `list_models`
describes every model `dem` knows of, for ``dem models``. Nothing here imports torch.

Configured models live in a JSON file (``$DEM_MODELS``, else ``models.json`` in the cache
folder) mapping a name to `ModelSpec` fields, e.g.
``{"qwen": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "main"}}``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dem.errors import ConfigError, DataError
from dem.models.spec import ModelSpec
from dem.textfile import read_json

BUILTIN = ("organism", "smollm2")
ORGANISM_DIR = Path(__file__).resolve().parents[1] / "organism" / "checkpoint"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelInfo:
    """One row of ``dem models``."""

    name: str
    kind: str  # "builtin", "configured", "hub" or "folder"
    where: str
    available: bool  # usable offline right now
    note: str = ""


def dem_cache_dir(explicit: str | Path | None = None) -> Path:
    """dem's cache folder: `explicit`, else ``$DEM_CACHE``, else the platform's user cache."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get("DEM_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("dem"))


def models_file(cache: str | Path | None = None) -> Path:
    """Where configured models are read from."""
    env = os.environ.get("DEM_MODELS")
    return Path(env) if env else dem_cache_dir(cache) / "models.json"


def configured_models(cache: str | Path | None = None) -> dict[str, ModelSpec]:
    """The configured models (empty when the file does not exist)."""
    path = models_file(cache)
    if not path.is_file():
        return {}
    try:
        raw = read_json(path)
    except DataError as exc:
        raise ConfigError("models", str(exc)) from None
    if not isinstance(raw, dict):
        raise ConfigError("models", f"{path}: must map model names to objects")
    allowed = {f.name for f in fields(ModelSpec)}
    out: dict[str, ModelSpec] = {}
    for name, entry in raw.items():
        if isinstance(entry, str):
            entry = {"name_or_path": entry}
        if not isinstance(entry, dict):
            raise ConfigError("models", f"{path}: entry {name!r} must be an object or a string")
        unknown = set(entry) - allowed
        if unknown:
            raise ConfigError(
                "models", f"{path}: entry {name!r} has unknown keys {sorted(unknown)}"
            )
        out[name] = ModelSpec(**{"label": name, **entry})
    return out


def organism_available() -> bool:
    return (ORGANISM_DIR / "config.json").is_file()


def resolve_model(name: str, *, cache_dir: Path | None = None, **overrides: Any) -> ModelSpec:
    """The `ModelSpec` for `name`; `overrides` (dtype, device, adapter, ...) replace its fields.

    ``organism`` is the shipped checkpoint, ``smollm2`` the converted SmolLM2-135M-Instruct
    (converted on first use), then configured names, existing local folders and hub ids
    (``org/name``). Anything else is a `ConfigError` listing the known names.
    """
    spec = _resolve(name, cache_dir)
    if overrides:
        spec = ModelSpec(**{**spec.to_dict(), **overrides})
    return spec


def _is_hub_id(name: str) -> bool:
    return bool(_HUB_ID.match(name)) and not name.startswith((".", "/", "~"))


def _unknown(name: str, configured: dict[str, ModelSpec], field: str = "model") -> ConfigError:
    import difflib

    names = [*BUILTIN, *configured]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return ConfigError(
        field,
        f"unknown model {name!r}{hint}: name one of {', '.join(names)}, a local model folder, "
        "or a hub id such as org/name",
    )


def check_model_name(name: str, *, cache_dir: Path | None = None, field: str = "model") -> None:
    """Load-free validation of what `resolve_model` accepts (nothing is converted or loaded),
    so a bad name is a usage error before any work starts."""
    configured = configured_models(cache_dir)
    if name in BUILTIN or name in configured or Path(name).expanduser().is_dir():
        return
    if not _is_hub_id(name):
        raise _unknown(name, configured, field)


def _resolve(name: str, cache: Path | None) -> ModelSpec:
    if not name:
        raise ConfigError("model", "no model named")
    if name == "organism":
        if not organism_available():
            raise ConfigError(
                "model",
                f"the organism checkpoint is not shipped in this install ({ORGANISM_DIR} has no "
                "config.json); build it with `dem organism pretrain` or name another model",
            )
        return ModelSpec(str(ORGANISM_DIR), label="organism")
    if name == "smollm2":
        from dem.models.smollm2 import ensure_smollm2

        return ModelSpec(str(ensure_smollm2(cache_dir=cache)), label="smollm2")
    configured = configured_models(cache)
    if name in configured:
        return configured[name]
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ConfigError("model", f"{path} is a folder but holds no config.json")
        return ModelSpec(str(path))
    if _is_hub_id(name):
        return ModelSpec(name)
    raise _unknown(name, configured)


def list_models(*, cache_dir: Path | None = None) -> list[ModelInfo]:
    """Every built-in and configured model, and whether it is usable offline right now."""
    from dem.models.smollm2 import smollm2_status

    rows = [
        ModelInfo(
            "organism",
            "builtin",
            str(ORGANISM_DIR),
            organism_available(),
            "" if organism_available() else "checkpoint not shipped",
        )
    ]
    folder, available, note = smollm2_status(cache_dir=cache_dir)
    rows.append(ModelInfo("smollm2", "builtin", str(folder), available, note))
    for name, spec in configured_models(cache_dir).items():
        rows.append(
            ModelInfo(
                name,
                "configured",
                spec.name_or_path,
                *_offline(spec),
            )
        )
    return rows


def _offline(spec: ModelSpec) -> tuple[bool, str]:
    """Whether a configured model loads without the network (local folder or hub cache)."""
    if spec.is_local:
        return (Path(spec.name_or_path) / "config.json").is_file(), "local folder"
    if Path(spec.name_or_path).is_absolute() or spec.name_or_path.startswith("."):
        return False, "folder missing"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return False, "hub id"
    hit = try_to_load_from_cache(spec.name_or_path, "config.json", revision=spec.revision)
    return isinstance(hit, str), "hub cache" if isinstance(hit, str) else "hub id, not cached"
