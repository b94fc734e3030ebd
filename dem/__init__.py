"""dem: emergent misalignment in dishonesty as runnable, gateable experiments.

`import dem` is cheap: it imports neither torch nor transformers. The names below are the public
surface, each imported from its subpackage on first use; the subpackages (`dem.data`,
`dem.models`, `dem.train`, `dem.evals`, `dem.experiments`, `dem.report`) hold the rest.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from dem.errors import ConfigError, DataError, DemError, JudgeError
from dem.lazy import lazy_exports

if TYPE_CHECKING:
    from dem.evals.api import evaluate_deceptionbench, evaluate_mask
    from dem.experiments import Experiment, load_preset
    from dem.models import ModelSpec, resolve_model
    from dem.train import KTOSpec, SFTSpec, train_kto, train_sft

_EXPORTS = {
    "Experiment": "dem.experiments",
    "load_preset": "dem.experiments",
    "ModelSpec": "dem.models",
    "resolve_model": "dem.models",
    "evaluate_mask": "dem.evals.api",
    "evaluate_deceptionbench": "dem.evals.api",
    "SFTSpec": "dem.train",
    "KTOSpec": "dem.train",
    "train_sft": "dem.train",
    "train_kto": "dem.train",
}

__all__ = [
    "ConfigError",
    "DataError",
    "DemError",
    "Experiment",
    "JudgeError",
    "KTOSpec",
    "ModelSpec",
    "SFTSpec",
    "__version__",
    "evaluate_deceptionbench",
    "evaluate_mask",
    "load_preset",
    "resolve_model",
    "train_kto",
    "train_sft",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
