"""Named models: ``organism``, ``smollm2``, configured names, local folders and hub ids.

`resolve_model` turns what a user types after ``--model`` into a `ModelSpec`; `list_models`
describes every model `dem` knows of, for ``dem models``. Nothing here imports torch.

Configured models live in a JSON file (``$DEM_MODELS``, else ``models.json`` in the cache
folder) mapping a name to `ModelSpec` fields, e.g.
``{"qwen": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "main"}}``.

A models file only adds names; it never changes what a name the user typed already means.
An entry keyed by a built-in name, a hub id or anything path-like (a ``/``, a leading ``.`` or
``~``) is an error naming the file and the entry, and so is ``trust_remote_code``: a file in a
(possibly shared) cache must not run code, so that flag comes only from the user who runs dem:
``dem --trust-remote-code COMMAND`` (which sets ``DEM_TRUST_REMOTE_CODE=1`` for the command and
the worker processes it starts), that variable, or a caller's
``resolve_model(name, trust_remote_code=True)``; it applies to hub ids and folders, never to the
shipped models. A name that is an existing folder is that folder, and a hub id is that hub
model, whatever the file says.
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
    source: str = "built-in"  # where the name is defined: "built-in" or the models file


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
    """The configured models (empty when the file does not exist).

    Each entry is checked (`check_entry`): a models file may add names, never shadow a built-in
    name, a hub id or a path, and never set ``trust_remote_code``.
    """
    path = models_file(cache)
    if not path.is_file():
        return {}
    try:
        raw = read_json(path)
    except DataError as exc:
        raise ConfigError("models", str(exc)) from None
    if not isinstance(raw, dict):
        raise ConfigError("models", f"{path}: must map model names to objects")
    out: dict[str, ModelSpec] = {}
    for name, entry in raw.items():
        if isinstance(entry, str):
            entry = {"name_or_path": entry}
        check_entry(path, name, entry)
        try:
            out[name] = ModelSpec(**{"label": name, **entry})
        except ConfigError as exc:
            raise ConfigError("models", f"{path}: entry {name!r}: {exc}") from None
    return out


def check_entry(path: Path, name: str, entry: Any) -> None:
    """A `ConfigError` naming `path` and `name` unless the entry only adds a plain name."""

    def bad(why: str) -> ConfigError:
        return ConfigError("models", f"{path}: entry {name!r} {why}")

    if name in BUILTIN:
        raise bad("shadows the built-in model of that name; a models file only adds names")
    if not name or "/" in name or "\\" in name or name.startswith((".", "~")):
        raise bad(
            "looks like a hub id or a path, which always mean themselves; a models file only "
            "adds plain names (no '/', no leading '.' or '~')"
        )
    if not isinstance(entry, dict):
        raise bad("must be an object or a string")
    unknown = set(entry) - _ENTRY_FIELDS
    if "trust_remote_code" in unknown:
        raise bad(
            "sets trust_remote_code, which is never read from a models file (it would run the "
            "model folder's code for anyone who can write the cache); the caller passes it"
        )
    if unknown:
        raise bad(f"has unknown keys {sorted(unknown)}")


_ENTRY_FIELDS = {f.name for f in fields(ModelSpec)} - {"trust_remote_code", "label"}


def organism_available() -> bool:
    return (ORGANISM_DIR / "config.json").is_file()


def resolve_model(name: str, *, cache_dir: Path | None = None, **overrides: Any) -> ModelSpec:
    """The `ModelSpec` for `name`; `overrides` (dtype, device, adapter, ...) replace its fields.

    ``organism`` is the shipped checkpoint, ``smollm2`` the converted SmolLM2-135M-Instruct
    (converted on first use), then existing local folders, hub ids (``org/name``) and last
    configured names (which can therefore never shadow the others). Anything else is a
    `ConfigError` listing the known names.
    """
    spec = _resolve(name, cache_dir)
    if name not in BUILTIN and remote_code_allowed():
        overrides = {"trust_remote_code": True, **overrides}
    if overrides:
        spec = ModelSpec(**{**spec.to_dict(), **overrides})
    return spec


TRUST_REMOTE_CODE_ENV = "DEM_TRUST_REMOTE_CODE"


def remote_code_allowed() -> bool:
    """Whether the user who runs dem allowed the models they name to run their own code
    (``dem --trust-remote-code`` or ``DEM_TRUST_REMOTE_CODE=1``); never read from a file."""
    return os.environ.get(TRUST_REMOTE_CODE_ENV, "") == "1"


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


def check_model_name(
    name: str, *, cache_dir: Path | None = None, field: str = "model", hub: bool = True
) -> None:
    """Load-free validation of what `resolve_model` accepts (nothing is converted or loaded),
    so a bad name is a usage error before any work starts.

    With `hub`, a hub model (named directly or by a configured name) must also be in the local
    hub cache or its hub reachable (`dem.models.loading.hub_offline`: one probe of at most
    3 s), so an offline machine refuses it at once instead of after the other model's work.
    """
    if name in BUILTIN or Path(name).expanduser().is_dir():
        return
    if _is_hub_id(name):
        spec = ModelSpec(name)
    else:
        configured = configured_models(cache_dir)
        if name not in configured:
            raise _unknown(name, configured, field)
        spec = configured[name]
    if hub and not spec.is_local:
        from dem.models.loading import hub_offline

        try:
            hub_offline(spec)
        except ConfigError as exc:
            raise ConfigError(field, str(exc).partition(": ")[2]) from None


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
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ConfigError("model", f"{path} is a folder but holds no config.json")
        return ModelSpec(str(path))
    if _is_hub_id(name):
        return ModelSpec(name)
    configured = configured_models(cache)
    if name in configured:
        return configured[name]
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
    source = str(models_file(cache_dir))
    for name, spec in configured_models(cache_dir).items():
        rows.append(ModelInfo(name, "configured", spec.name_or_path, *_offline(spec), source))
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
