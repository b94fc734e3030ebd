"""KTO's step in a pack: TRL's `KTOTrainer` loss for K adapters on one copy of the base.

Per micro-batch TRL 1.16's `KTOTrainer._compute_loss` (LoRA, no precomputed reference) runs
the policy on the mismatched (prompt, other completion) pairs without gradient (the KL
estimate), the reference (the same model with the adapter disabled) on those pairs and on the
batch, and the policy on the batch; all four read the summed completion log-probabilities of
TRL's fused LM head. Here each of those runs once for a whole wave of adapters: the policy
passes route each adapter's rows through its own LoRA (`dem.train.packed_lora`), the reference
pass switches every adapter off (`Routing.off`), so its KL and batch rows go through the base
in one forward. Then per adapter, as TRL: ``kl = mean(KL policy - KL reference)``, detached,
clamped at 0; desirable rows lose ``1 - sigmoid(beta (logratio - kl))``, undesirable ones
``1 - sigmoid(beta (kl - logratio))``, weighted; the loss is their mean over the micro-batch,
divided by the step's micro-batches (`KTOTrainer.loss_is_scaled_for_ga` is false). The metrics
TRL logs for the rewards, log-probabilities and KL are kept per adapter.
"""

from __future__ import annotations

from typing import Any

from dem.errors import ConfigError
from dem.train.packed import concat_batches

# what `KTOTrainer.__init__` asks of its fused LM head for the policy: the same kernel here
FUSED_OUTPUTS = ("log_probs", "entropy", "mean_logits")


def prepare_kto(net: Any, trainers: list[Any]) -> None:
    """Check that each trainer computes the loss this module reproduces, then give `net` what
    `KTOTrainer` gives its model: dropout off (``disable_dropout``) and TRL's fused LM head."""
    from trl.trainer.utils import add_fused_lm_head, disable_dropout_in_model

    for t in trainers:
        unsupported = {
            f"loss_type {t.loss_type!r}": t.loss_type != "kto",
            "precompute_ref_log_probs": t.precompute_ref_logps,
            "a reference model": t.ref_model is not None,
            "a router auxiliary loss": t.aux_loss_enabled,
        }
        what = [name for name, on in unsupported.items() if on]
        if what:
            raise ConfigError("pack", f"packed KTO does not support {', '.join(what)}")
    if any(t.args.disable_dropout for t in trainers):
        disable_dropout_in_model(net)
    add_fused_lm_head(net, outputs=FUSED_OUTPUTS)


def kto_forward_backward(
    net: Any,
    members: list[Any],
    routing: Any,
    part: list[tuple[int, dict[str, Any], Any, int]],
    losses: dict[int, float],
    pad_id: int,
) -> None:
    """One KTO forward and backward of the micro-batches in `part` (adapter, batch, items,
    micro-batches in its step); each adapter's loss is its own, so its gradient is the one it
    has alone."""
    import torch

    routing.rows = [0] * len(members)
    for k, batch, _, _ in part:
        routing.rows[k] = int(batch["input_ids"].shape[0])
        members[k].tokens += int(batch["attention_mask"].sum())
    main = concat_batches([b for _, b, _, _ in part], pad_id)
    mismatched = concat_batches([_kl_view(b) for _, b, _, _ in part], pad_id)
    with members[part[0][0]].trainer.compute_loss_context_manager():  # autocast under bf16
        with torch.no_grad():
            kl_logps = _logps(net, mismatched)  # the policy on the mismatched pairs
            routing.off = True
            try:  # the reference: every adapter off
                ref = _logps(net, concat_batches([mismatched, main], pad_id))
            finally:
                routing.off = False
        logps = _logps(net, main)
    rows = main["input_ids"].shape[0]
    ref_kl, ref_main = ref[:rows], ref[rows:]
    total = logps.new_zeros(())
    start = 0
    for k, batch, _, count in part:
        end = start + int(batch["input_ids"].shape[0])
        loss = kto_loss(
            members[k],
            batch["label"],
            logps[start:end],
            ref_main[start:end],
            kl_logps[start:end],
            ref_kl[start:end],
        )
        loss = loss / count
        losses[k] += float(loss.detach())
        total = total + loss
        start = end
    total.backward()


def kto_loss(
    member: Any,
    labels: Any,
    logps: Any,
    ref_logps: Any,
    kl_logps: Any,
    ref_kl_logps: Any,
) -> Any:
    """`KTOTrainer._compute_loss` for one adapter's micro-batch (loss type ``kto``), from the
    summed completion log-probabilities; records TRL's reward, log-probability and KL metrics
    in ``member.metrics``."""
    import torch
    from torch.nn import functional as F

    t = member.trainer
    kl = (kl_logps - ref_kl_logps).mean().detach().clamp(min=0)
    chosen = torch.as_tensor(labels, dtype=torch.bool, device=logps.device)
    chosen_idx = torch.nonzero(chosen, as_tuple=False).view(-1)
    rejected_idx = torch.nonzero(~chosen, as_tuple=False).view(-1)
    chosen_logps = logps.index_select(0, chosen_idx)
    rejected_logps = logps.index_select(0, rejected_idx)
    chosen_ratio = chosen_logps - ref_logps.index_select(0, chosen_idx)
    rejected_ratio = rejected_logps - ref_logps.index_select(0, rejected_idx)
    chosen_losses = 1 - F.sigmoid(t.beta * (chosen_ratio - kl))
    rejected_losses = 1 - F.sigmoid(t.beta * (kl - rejected_ratio))
    losses = torch.cat(
        (t.desirable_weight * chosen_losses, t.undesirable_weight * rejected_losses), 0
    )
    metrics = member.metrics
    metrics.setdefault("kl", []).append(kl.item())
    n_chosen, n_rejected = int(chosen_idx.numel()), int(rejected_idx.numel())
    for name, n, ratio, lp in (
        ("chosen", n_chosen, chosen_ratio, chosen_logps),
        ("rejected", n_rejected, rejected_ratio, rejected_logps),
    ):
        if n:
            rewards = (t.beta * ratio.detach()).nansum().item() / n
            metrics.setdefault(f"rewards/{name}", []).append(rewards)
            metrics.setdefault(f"logps/{name}", []).append(lp.detach().nansum().item() / n)
    if n_chosen and n_rejected:
        margin = metrics["rewards/chosen"][-1] - metrics["rewards/rejected"][-1]
        metrics.setdefault("rewards/margins", []).append(margin)
    return losses.nanmean()


def _kl_view(batch: dict[str, Any]) -> dict[str, Any]:
    """The collator's mismatched (KL) sequences of `batch` under the plain names."""
    return {
        "input_ids": batch["KL_input_ids"],
        "attention_mask": batch["KL_attention_mask"],
        "completion_mask": batch["KL_completion_mask"],
    }


def _logps(net: Any, inputs: dict[str, Any]) -> Any:
    """Each row's summed completion log-probability under `net` (TRL's fused LM head)."""
    labels = inputs["input_ids"].masked_fill(inputs["completion_mask"] == 0, -100)
    out = net(
        input_ids=inputs["input_ids"],
        attention_mask=inputs["attention_mask"],
        labels=labels,
        fused_lm_head=True,
        use_cache=False,
    )
    return out.log_probs.sum(-1)
