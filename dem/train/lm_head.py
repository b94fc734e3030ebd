"""How SFT turns hidden states into the loss: TRL's fused LM head, or the model's own logits.

TRL 1.16's `SFTTrainer.compute_loss` calls the model with ``fused_lm_head=True``
(`trl.trainer.utils.add_fused_lm_head`): a chunked projection that never holds the
``(batch, length, vocabulary)`` logits and also returns each token's entropy and whether the label
is the top-1 token, for the ``entropy`` and ``mean_token_accuracy`` metrics. On a GPU with Triton
it scores only the trained positions and saves the memory of the logits. Elsewhere it scores every
position, padding and prompt included, in fp32 torch ops, and its backward projects every tile
again: on the CPU that makes a LoRA step of SmolLM2-135M about a third slower than a plain loop
(``benchmarks/train_throughput.py``).

``logits`` mode computes the loss the way `transformers.Trainer` does: the model's forward with
the labels (the same summed negative log-likelihood over the trained tokens, divided by
``num_items_in_batch``), so the logged ``loss`` is the same quantity. It logs
``mean_token_accuracy`` (an argmax over the trained positions) but no ``entropy``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

LM_HEADS = ("auto", "fused", "logits")


def effective_lm_head(lm_head: str, device: str) -> str:
    """``fused`` or ``logits``: ``auto`` means fused on CUDA/XPU, logits elsewhere."""
    if lm_head != "auto":
        return lm_head
    return "fused" if device.split(":")[0] in ("cuda", "xpu") else "logits"


@cache
def sft_trainer_class() -> type:
    """`trl.SFTTrainer` with the ``logits`` loss when ``dem_lm_head == "logits"``, and its
    train rows tokenised once per process (`dem.train.token_memo`)."""
    from transformers import Trainer
    from trl import SFTTrainer

    class DemSFTTrainer(SFTTrainer):
        dem_lm_head = "fused"

        def _prepare_dataset(
            self, dataset, processing_class, args, packing, formatting_func, dataset_name
        ):
            from dem.train.token_memo import prepare_dataset

            own = super()._prepare_dataset
            return prepare_dataset(
                self, own, dataset, processing_class, args, packing, formatting_func, dataset_name
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.dem_lm_head != "logits":
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs["use_cache"] = False
            loss, outputs = Trainer.compute_loss(
                self, model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch
            )
            self._dem_token_metrics(inputs, outputs)
            return (loss, outputs) if return_outputs else loss

        def _dem_token_metrics(self, inputs: dict[str, Any], outputs: Any) -> None:
            """``mean_token_accuracy`` and ``num_tokens``, as SFTTrainer.compute_loss logs them."""
            import torch

            mode = "train" if self.model.training else "eval"
            gather = self.accelerator.gather_for_metrics
            with torch.no_grad():
                labels = inputs["labels"][:, 1:]
                mask = labels != -100
                top1 = outputs.logits[:, :-1].argmax(-1)  # no copy of the trained rows' logits
                correct = gather(((top1 == labels) & mask).sum()).sum()
                valid = gather(mask.sum()).sum()
            accuracy = (correct / valid).item() if valid > 0 else 0.0
            self._metrics[mode]["mean_token_accuracy"].append(accuracy)
            if mode == "train":
                if "attention_mask" in inputs:
                    tokens = gather(inputs["attention_mask"].sum()).sum().item()
                else:  # padding-free batches carry position ids instead
                    ids = inputs["position_ids"]
                    tokens = gather(torch.tensor(ids.size(1), device=ids.device)).sum().item()
                self._total_train_tokens += tokens // self._tp_size
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]

    return DemSFTTrainer
