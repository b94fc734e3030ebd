"""Progress of a training run: a tqdm bar over optimizer steps, the logged metrics, a summary.

`TrainLog` is plain Python (it records); `TrainLog.callback()` wraps it in a transformers
`TrainerCallback` (imported lazily) to hand to a trainer.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainLog:
    """What happened in one training run; `to_dict` is the artifact's ``train_log.json``."""

    show: bool = True
    desc: str = "train"
    steps: int = 0
    total_steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    _start: float = 0.0
    _cpu_start: float = 0.0
    _bar: Any = None

    # -- events -------------------------------------------------------------------------
    def begin(self, total_steps: int) -> None:
        self.total_steps = int(total_steps)
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        if self.show:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total_steps, desc=self.desc, unit="step", file=sys.stderr)

    def step(self, global_step: int, tokens_seen: int) -> None:
        if self._bar is not None:
            self._bar.update(global_step - self.steps)
        self.steps = int(global_step)
        self.tokens = int(tokens_seen)

    def log(self, step: int, logs: dict[str, Any]) -> None:
        row = {"step": int(step)}
        row.update(
            {
                k: float(v)
                for k, v in logs.items()
                if isinstance(v, int | float) and not k.startswith("train_")
            }
        )
        self.history.append(row)
        if self._bar is not None and "loss" in row:
            self._bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)

    def end(self, tokens_seen: int) -> None:
        self.seconds = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start
        self.tokens = int(tokens_seen)
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # -- summaries ------------------------------------------------------------------------
    def series(self, name: str) -> list[float]:
        """Values of a logged metric in step order (e.g. ``loss``, ``rewards/margins``)."""
        return [row[name] for row in self.history if name in row]

    @property
    def first_loss(self) -> float | None:
        losses = self.series("loss")
        return losses[0] if losses else None

    @property
    def final_loss(self) -> float | None:
        losses = self.series("loss")
        return losses[-1] if losses else None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "tokens_per_s": round(self.tokens_per_s, 2),
            "first_loss": self.first_loss,
            "final_loss": self.final_loss,
            "history": self.history,
        }

    def callback(self) -> Any:
        """A `TrainerCallback` that feeds this log."""
        from transformers import TrainerCallback

        log = self

        class _Progress(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                log.begin(state.max_steps)

            def on_step_end(self, args, state, control, **kwargs):
                log.step(state.global_step, state.num_input_tokens_seen)

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "train_loss" not in logs:  # the closing summary is not a step
                    log.log(state.global_step, logs)

            def on_train_end(self, args, state, control, **kwargs):
                log.end(state.num_input_tokens_seen)

        return _Progress()


def closing_line(
    *,
    steps: int,
    seconds: float,
    first_loss: float | None,
    final_loss: float | None,
    tokens_per_s: float,
) -> str:
    """``trained N steps in S s, loss A -> B, T tokens/s``."""
    loss = "loss n/a"
    if first_loss is not None and final_loss is not None:
        loss = f"loss {first_loss:.4f} -> {final_loss:.4f}"
    return f"trained {steps} steps in {seconds:.1f} s, {loss}, {tokens_per_s:,.0f} tokens/s"


def reused_line(key: str, built_at: float, steps: int) -> str:
    """``reused artifact KEY (built ...), 0 training steps``."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(built_at))
    return f"reused artifact {key[:12]} (built {when}, {steps} steps), 0 training steps"
