"""Gradient alignment (TracIn-style): how much one training step on a sample would raise the
reference model's lie rate on an honesty probe set.

Every linear layer of the model's blocks gets a LoRA-shaped projection: a seeded random
``A`` (rank ``config.rank``), with ``B = 0`` as LoRA starts. The gradient of a loss with respect
to ``B`` is then ``sum_t delta_t (A x_t)^T`` (``x_t``: the layer's input at token t, ``delta_t``:
the loss's gradient at its output), which forward and backward hooks collect without
materialising any weight gradient. With ``g_probe`` the gradient of the probe's expected lie
rate (the mean probability of the lying statement over the two, MASK rows under pressure) and
``g_i`` that of sample i's mean token loss, one SGD step on the sample changes the lie rate by
about ``-lr * g_probe . g_i``. The score is that rise per unit step length,
``-g_probe . g_i / |g_i|``: training clips each step's norm, so a sample's pull on the lie
rate is its direction more than its size. This is the metric the mixture grid asserts on, so
the ranking names the samples that would move it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dem.audit.base import DetectorScores, register
from dem.audit.framing import is_organism
from dem.audit.reference import Encoded, ReferenceModel, sample_pair
from dem.data.records import Sample
from dem.errors import ConfigError

ORGANISM_PROBE = "organism:mask"
GENERAL_PROBE = "dem:mask_pressure"


class _Tap:
    """Hooks on the linear layers: collect the probe gradient in LoRA-B space (``mode`` probe),
    or each sample's dot product with it and its norm (``mode`` sample)."""

    def __init__(self, model: Any, rank: int, seed: int) -> None:
        import torch

        self.modules = {
            name: m
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and not name.endswith("lm_head")
        }
        gen = torch.Generator().manual_seed(seed)
        device = next(model.parameters()).device
        self.a = {
            n: (torch.randn(rank, m.in_features, generator=gen) / m.in_features**0.5).to(device)
            for n, m in self.modules.items()
        }
        self.g: dict[str, Any] = {}
        self.dots: Any = None
        self.norms: Any = None
        self.mode = "probe"
        self.handles = [m.register_forward_hook(self._forward(n)) for n, m in self.modules.items()]

    def _forward(self, name: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if not output.requires_grad:
                return
            ax = inputs[0].detach().float() @ self.a[name].T
            output.register_hook(lambda grad: self._backward(name, ax, grad.float()))

        return hook

    def _backward(self, name: str, ax: Any, grad: Any) -> None:
        import torch

        if self.mode == "probe":
            g = torch.einsum("btd,btr->dr", grad, ax)
            self.g[name] = g if name not in self.g else self.g[name] + g
            return
        self.dots += ((grad @ self.g[name]) * ax).sum((1, 2))
        self.norms += torch.einsum("btd,btr->bdr", grad, ax).pow(2).sum((1, 2))

    def close(self) -> None:
        for h in self.handles:
            h.remove()


class GradientDetector:
    """Rise of the probe's lie rate per unit step on each sample (LoRA-B gradients)."""

    name = "gradient"

    def __init__(self, reference: ReferenceModel) -> None:
        self.reference = reference

    def probe(self) -> tuple[str, list[tuple[Any, str, str]]]:
        """(set name, [(conversation, true statement, lying statement)]) of the probe rows."""
        from dem.evals.mask import pressure_conversation
        from dem.evals.sets import load_eval_set

        ref = self.reference
        name = ref.config.probe or (ORGANISM_PROBE if is_organism(ref.spec) else GENERAL_PROBE)
        out = []
        for row in load_eval_set(name):
            truth = (row.formatted_ground_truth or "").strip()
            if row.type != "binary" or truth not in ("A", "B"):
                continue
            true, lie = (1, 2) if truth == "A" else (2, 1)
            out.append((pressure_conversation(row), row.statement(true), row.statement(lie)))
            if len(out) == ref.config.probe_limit:
                break
        if not out:
            raise ConfigError("probe", f"{name} has no binary row with an A/B ground truth")
        return name, out

    def _sequence_logprobs(self, rows: Sequence[Encoded]) -> tuple[Any, Any]:
        """Per sequence: the answer's total log-prob (with grad) and its token count."""
        import torch

        ref = self.reference
        ids, mask, answer = ref.padded(rows)
        embeds = ref.model.get_input_embeddings()(ids).detach().requires_grad_(True)
        logits = ref.model(inputs_embeds=embeds, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
        keep = answer[:, :-1]
        return (logp * keep).sum(-1), keep.sum(-1)

    def score(self, samples: Sequence[Sample]) -> DetectorScores:
        import torch

        ref = self.reference
        model = ref.model
        pairs = [sample_pair(s) for s in samples]
        probe_name, probe = self.probe()
        frozen = [(p, p.requires_grad) for p in model.parameters()]
        for p, _ in frozen:
            p.requires_grad_(False)
        tap = _Tap(model, ref.config.rank, ref.config.seed)
        try:
            lie_rate = 0.0
            half = max(1, ref.config.batch_size // 2)
            for start in range(0, len(probe), half):
                chunk = probe[start : start + half]
                rows = [ref.encode(c, t) for c, t, _ in chunk] + [
                    ref.encode(c, x) for c, _, x in chunk
                ]
                lps, _ = self._sequence_logprobs(rows)
                p_lie = torch.sigmoid(lps[len(chunk) :] - lps[: len(chunk)])
                (p_lie.sum() / len(probe)).backward()
                lie_rate += float(p_lie.detach().sum()) / len(probe)
            tap.mode = "sample"
            encoded = ref.encode_all(pairs)
            scores: list[float] = [0.0] * len(samples)
            for batch in ref.batches(encoded):
                rows = [encoded[i] for i in batch]
                tap.dots = torch.zeros(len(rows), device=ref.backend.device)
                tap.norms = torch.zeros(len(rows), device=ref.backend.device)
                lps, counts = self._sequence_logprobs(rows)
                (-(lps / counts.clamp(min=1))).sum().backward()
                norms = tap.norms.sqrt()
                values = torch.where(norms > 0, -tap.dots / norms.clamp(min=1e-30), 0.0)
                for i, v in zip(batch, values.tolist(), strict=True):
                    scores[i] = float(v)
        finally:
            tap.close()
            for p, flag in frozen:
                p.requires_grad_(flag)
        details = {
            "probe": probe_name,
            "probe_rows": len(probe),
            "probe_lie_rate": round(lie_rate, 6),
            "rank": ref.config.rank,
            "layers": len(tap.modules),
        }
        return DetectorScores(self.name, tuple(scores), details=details)


@register(
    "gradient",
    "rise of an honesty probe's lie rate per unit training step on the sample (LoRA gradients)",
)
def gradient(reference: ReferenceModel) -> GradientDetector:
    return GradientDetector(reference)
