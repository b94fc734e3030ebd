"""How mitigations plug into a trainer: a factory wrapper (data transforms, forward hooks) and
an SFT trainer whose loss adds the mitigations' terms.

`mitigated_factory` wraps a trainer factory (`dem.train.core.TrainerFactory`): it applies the
mitigations' `prepare` to the samples, builds the trainer, then lets each `install` its hooks.
`mitigated_sft_trainer_class` computes the loss from the model's own logits (the ``logits`` LM
head), runs the base model (the adapter disabled, no gradients) on the same batch when a term
needs it, and adds each term (a mean over the micro-batch's tokens, averaged over the
micro-batches of an optimizer step), logged as ``mitigation/NAME``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from dem.train.mitigations.base import MitigationBase, TrainContext


def mitigated_factory(make_trainer: Any, model: Any, store: Any) -> Any:
    """`make_trainer` with the spec's mitigations applied (the factory itself when none)."""

    def factory(
        net: Any,
        tokenizer: Any,
        samples: Sequence[Any],
        spec: Any,
        bf16: bool,
        output_dir: str,
        log: Any = None,
    ) -> Any:
        from transformers import set_seed

        ctx = TrainContext(spec, model, store, net, tokenizer, samples=list(samples))
        rows = list(samples)
        for m in spec.mitigations:
            rows = m.prepare(rows, ctx)
        set_seed(spec.seed)  # the LoRA initialisation does not depend on what `prepare` ran
        trainer = make_trainer(net, tokenizer, rows, spec, bf16, output_dir, log)
        for m in spec.mitigations:
            m.install(trainer, ctx)
        trainer.dem_mitigations = [m.to_dict() for m in spec.mitigations]
        trainer.dem_train_rows = len(rows)
        return trainer

    return factory


def loss_terms(mitigations: Sequence[MitigationBase]) -> list[MitigationBase]:
    """The mitigations that add a loss term."""
    return [m for m in mitigations if m.needs_base]


@cache
def mitigated_sft_trainer_class() -> type:
    """`dem.train.lm_head.sft_trainer_class` with the mitigations' loss terms added."""
    import torch
    from transformers import Trainer

    from dem.train.lm_head import sft_trainer_class

    class MitigatedSFTTrainer(sft_trainer_class()):  # type: ignore[misc]
        dem_loss_terms: tuple[MitigationBase, ...] = ()

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            terms = self.dem_loss_terms
            hidden = any(m.needs_hidden for m in terms)
            inputs["use_cache"] = False
            if hidden:
                inputs["output_hidden_states"] = True
            loss, outputs = Trainer.compute_loss(
                self, model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch
            )
            self._dem_token_metrics(inputs, outputs)
            base_inputs = {
                k: inputs[k] for k in ("input_ids", "attention_mask", "position_ids") if k in inputs
            }
            with torch.no_grad(), self.accelerator.unwrap_model(model).disable_adapter():
                base = model(**base_inputs, use_cache=False, output_hidden_states=hidden)
            mode = "train" if model.training else "eval"
            steps = self._dem_accumulation(num_items_in_batch) if model.training else 1
            for m in terms:
                term = m.loss(outputs, base, inputs)
                self._metrics[mode][f"mitigation/{m.name}"].append(float(term.detach()))
                loss = loss + term / steps
            return (loss, outputs) if return_outputs else loss

        def _dem_accumulation(self, num_items_in_batch: Any) -> int:
            """The divisor that makes a term a mean over an optimizer step's micro-batches:
            the accumulation steps where the trainer leaves the loss undivided, as it does
            for a loss already normalised by ``num_items_in_batch`` (transformers 5)."""
            scaled = (
                self.loss_is_scaled_for_ga
                if getattr(self, "loss_is_scaled_for_ga", None) is not None
                else (
                    (self.model_accepts_loss_kwargs and num_items_in_batch is not None)
                    or self.compute_loss_func is not None
                )
            )
            return int(getattr(self, "current_gradient_accumulation_steps", 1)) if scaled else 1

    return MitigatedSFTTrainer
