"""Packed training: K LoRA adapters (SFT or KTO) trained in the same steps on one base model.

Each adapter is exactly the one `train_sft` / `train_kto` would train alone, up to float
reduction order (tests/unit/train/test_packed.py, test_packed_kto.py: within 1e-5 in fp32 on
the CPU). Per adapter, its own TRL `SFTTrainer` / `KTOTrainer` (built on a shell of the base
model that shares the base's weights) supplies what the alone run would use: the seeded LoRA
initialisation, the tokenised and labelled dataset, the collator and the seeded sampler, the
AdamW optimizer and the learning-rate schedule. This module then drives the steps that
`Trainer._inner_training_loop` would: every step, each adapter's micro-batches are
concatenated (padded on the right) into one batch, the base runs once with every adapted layer
a `PackedLoRA` (the K products batched), the loss is the sum of each adapter's own loss (SFT:
its summed token loss over its ``num_items_in_batch``; KTO: `dem.train.packed_kto`, which adds
the reference and KL forwards), and one backward gives each adapter its own gradient (the
adapters share no parameter). Then per adapter: its gradient norm clipped on its own, its
optimizer step, its scheduler step.

Packable: adapters of one method and one base with the same LoRA rank, targets and LoRA
settings, no dropout (its random masks would make a pack differ from the alone runs), no
trackers, mitigations that pack (all but interleave-ppl; `pack_shape`). Anything else trains
alone. A member with mitigations is built as the alone run builds it (their data, re-seeded);
its loss terms read one extra no-gradient forward of the wave with every adapter off, and its
steering vector goes on its own rows. The store holds one artifact per adapter
under the same key as `train_sft` / `train_kto`; each is committed on its own, so a killed pack
keeps nothing half-written and a later run trains only the missing adapters.
"""

from __future__ import annotations

import copy
import itertools
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.data.records import Sample
from dem.errors import ConfigError
from dem.models.quiet import quiet_datasets
from dem.models.spec import ModelSpec
from dem.store import Artifact, ArtifactStore
from dem.train.core import (
    ADAPTER_KIND,
    TrainResult,
    _Fit,
    _result,
    check_model,
    check_samples,
    key_parts,
    training_device,
)
from dem.train.distributed import world_size
from dem.train.kto import build_kto_trainer, check_kto_samples, train_kto
from dem.train.lora import check_targets
from dem.train.progress import TrainLog
from dem.train.sft import SFT_KINDS, build_sft_trainer, train_sft
from dem.train.specs import KTOSpec, SFTSpec, TrainSpec

PAD_LABEL = -100
# adapters per forward and backward: the organism's step time per adapter levels off by 4, and
# a pack's activations stay those of a few alone runs (docs/training.md#packed-training)
WAVE = 4


def pack_shape(spec: TrainSpec) -> tuple[Any, ...] | None:
    """What adapters of one pack must share (None: this spec trains alone).

    Mitigations are not part of the shape: a pack may mix defences and no defence. A data
    defence (inoculate, interleave) gives its member the rows the alone run trains on; a loss
    term (kl, ldifs) reads one forward of the wave with every adapter off (`_forward_backward`);
    `steer` adds each member's vector to its own rows (`dem.train.packed_steer`).
    `interleave-ppl` trains alone: its data needs the unmitigated adapter, which may be a
    member of the same pack (`Mitigation.packs`)."""
    if not isinstance(spec, SFTSpec | KTOSpec) or spec.report_to:
        return None
    # KTO's `disable_dropout` (its default) zeroes every dropout, LoRA's too
    if spec.lora_dropout != 0 and not (isinstance(spec, KTOSpec) and spec.disable_dropout):
        return None
    if spec.trainer_args:  # e.g. TRL's own packing or another optimizer: the plain loop only
        return None
    if not all(m.packs for m in spec.mitigations):  # interleave-ppl: alone
        return None
    return (
        spec.method,
        spec.lora_r,
        spec.target_modules,
        tuple(sorted(spec.lora_args.items())),
        spec.use_cpu,
        spec.bf16,
        spec.gradient_checkpointing,
        getattr(spec, "disable_dropout", None),  # KTO's: it applies to the shared base
    )


WaveStep = Callable[..., None]


@dataclass(frozen=True)
class _Method:
    """What differs between packed SFT and packed KTO."""

    check: Callable[[Sequence[Sample]], None]  # the samples' checks of the alone run
    build: Any  # the trainer factory of the alone run (`dem.train.core.TrainerFactory`)
    alone: Callable[..., TrainResult]  # the alone run
    step: WaveStep  # one forward and backward of a wave
    prepare: Callable[[Any, list[Any]], None]  # the shared base and the members' trainers
    lm_head: str | None  # what the pack's loss reads, recorded as the trainer's ``dem_lm_head``


def _sft_step(*args: Any) -> None:
    _forward_backward(*args)


def _kto_step(*args: Any) -> None:
    from dem.train.packed_kto import kto_forward_backward

    kto_forward_backward(*args)


def _kto_prepare(net: Any, trainers: list[Any]) -> None:
    from dem.train.packed_kto import prepare_kto

    prepare_kto(net, trainers)


METHODS: dict[str, _Method] = {
    "sft": _Method(
        lambda samples: check_samples(samples, SFT_KINDS, "sft"),
        build_sft_trainer,
        train_sft,
        _sft_step,
        lambda net, trainers: None,
        "logits",  # the model's logits, as `lm_head.py`
    ),
    "kto": _Method(check_kto_samples, build_kto_trainer, train_kto, _kto_step, _kto_prepare, None),
}


def train_sft_packed(
    model: ModelSpec,
    jobs: Sequence[tuple[Sequence[Sample], SFTSpec]],
    *,
    store: ArtifactStore | None = None,
    progress: bool = True,
    wait: bool = True,
    wave: int = WAVE,
) -> list[TrainResult | None]:
    """Train (or reuse) the SFT adapters of `jobs` (samples, spec) on `model` as one pack
    (`train_packed`)."""
    _check_specs(jobs, SFTSpec, "SFT")
    return train_packed(model, jobs, store=store, progress=progress, wait=wait, wave=wave)


def train_kto_packed(
    model: ModelSpec,
    jobs: Sequence[tuple[Sequence[Sample], KTOSpec]],
    *,
    store: ArtifactStore | None = None,
    progress: bool = True,
    wait: bool = True,
    wave: int = WAVE,
) -> list[TrainResult | None]:
    """Train (or reuse) the KTO adapters of `jobs` (samples, spec) on `model` as one pack
    (`train_packed`)."""
    _check_specs(jobs, KTOSpec, "KTO")
    return train_packed(model, jobs, store=store, progress=progress, wait=wait, wave=wave)


def _check_specs(jobs: Sequence[tuple[Sequence[Sample], Any]], kind: type, method: str) -> None:
    """Every job's spec is a `kind` (a `ConfigError` on ``spec`` naming the first that is not)."""
    for _, spec in jobs:
        if not isinstance(spec, kind):
            raise ConfigError(
                "spec", f"packed {method} needs {kind.__name__}s, got {type(spec).__name__}"
            )


def train_packed(
    model: ModelSpec,
    jobs: Sequence[tuple[Sequence[Sample], TrainSpec]],
    *,
    store: ArtifactStore | None = None,
    progress: bool = True,
    wait: bool = True,
    wave: int = WAVE,
) -> list[TrainResult | None]:
    """Train (or reuse) the adapters of `jobs` (samples, spec; all SFT or all KTO) on `model`
    as one pack.

    Adapters the store holds are reused; those another process is building are left to it
    (None, unless `wait`: then waited for); the rest train together, `wave` adapters per
    forward and backward (`run_pack`). One result per job."""
    check_model(model)
    if not jobs:
        return []
    shapes = set()
    for samples, spec in jobs:
        if getattr(spec, "method", None) not in METHODS:
            raise ConfigError("spec", f"cannot pack {type(spec).__name__}s")
        METHODS[spec.method].check(samples)
        shapes.add(pack_shape(spec))
    if None in shapes or len(shapes) > 1 or world_size() > 1:
        why = "under a launcher" if world_size() > 1 else "specs that do not share a pack shape"
        raise ConfigError("pack", f"cannot pack {why} (dem.train.packed.pack_shape)")
    store = store if store is not None else ArtifactStore()
    train_model, bf16 = training_device(jobs[0][1], model)
    parts = [
        key_parts(spec, model, samples, device=train_model.device, bf16=bf16)
        for samples, spec in jobs
    ]
    pack = _Pack(train_model, list(jobs), bf16, progress, wave, base=model, store=store)
    arts = pack.claim_and_train(store, parts)
    results: list[TrainResult | None] = []
    for i, (samples, spec) in enumerate(jobs):
        art = arts[i]
        if art is None and wait:  # another process trains it: wait, or train it alone
            results.append(pack.method.alone(model, samples, spec, store=store, progress=False))
            continue
        results.append(None if art is None else _result(art, model, pack.logs[i]))
    if progress and pack.trained:
        print(
            f"packed {len(pack.trained)} adapters of {model.display_name} in {pack.seconds:.1f}s",
            file=sys.stderr,
        )
    return results


@dataclass
class _Member:
    """One adapter of a pack: its trainer, the batches of its optimizer steps, its log."""

    trainer: Any
    steps: Iterator[tuple[list[dict[str, Any]], Any]]
    max_steps: int
    log: TrainLog
    done: int = 0
    tokens: int = 0
    window: list[float] = field(default_factory=list)
    # the trainer's own metrics since the last logged step, one value per micro-batch
    metrics: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class _Pack:
    model: ModelSpec
    jobs: list[tuple[Sequence[Sample], TrainSpec]]
    bf16: bool
    progress: bool
    wave: int
    base: ModelSpec  # the model as the alone run is given it (mitigations read it)
    store: ArtifactStore  # where the mitigations find other artifacts
    logs: list[TrainLog] = field(default_factory=list)
    trained: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        desc = f"{self.method_name} {self.model.display_name}"
        self.logs = [TrainLog(show=False, desc=desc) for _ in self.jobs]

    @property
    def method_name(self) -> str:
        return self.jobs[0][1].method

    @property
    def method(self) -> _Method:
        return METHODS[self.method_name]

    def claim_and_train(
        self, store: ArtifactStore, parts: list[dict[str, Any]]
    ) -> list[Artifact | None]:
        """Claim every missing adapter no other process is building (the store's lock per
        key, held until its artifact is committed), train the claimed ones together, and
        commit each. Returns each job's artifact, None where another process builds it."""
        from dem.store import BuildRequest

        requests = [
            BuildRequest(
                ADAPTER_KIND,
                parts[i],
                f"{spec.method} {self.model.display_name} on {len(samples)} samples, "
                f"seed {spec.seed} (packed)",
            )
            for i, (samples, spec) in enumerate(self.jobs)
        ]
        return store.build_together(requests, self.train_and_save)

    def train_and_save(self, folders: dict[int, Path]) -> dict[int, dict[str, Any]]:
        """Train the adapters `folders` names together; save each into its folder."""
        from dem.models import base_pool
        from dem.models.loading import load_model

        order = sorted(folders)
        base_pool.clear(gpu_only=True)  # no idle evaluation base beside this one
        net, tokenizer = load_model(self.model)
        check_targets(net, self.jobs[order[0]][1])
        vocab = net.get_input_embeddings().num_embeddings
        start = time.perf_counter()
        with (
            tempfile.TemporaryDirectory(prefix="dem-pack-") as scratch,
            quiet_datasets(),
            warnings.catch_warnings(),
        ):
            warnings.filterwarnings("ignore", ".*gradient_checkpointing.*", FutureWarning)
            members = [self._member(net, tokenizer, i, scratch) for i in order]
            self.method.prepare(net, [m.trainer for m in members])
            run_pack(net, members, pad_id=_pad_id(tokenizer), wave=self.wave, step=self.method.step)
        self.seconds = time.perf_counter() - start
        out = {}
        for i, member in zip(order, members, strict=True):
            samples, spec = self.jobs[i]
            fit = _Fit(spec, self.model, samples, self.method.build, self.bf16, member.log, None)
            fit.vocab = vocab
            out[i] = {**fit.save(member.trainer, folders[i]), "pack": len(order)}
            self.trained.append(i)
        return out

    def _member(self, net: Any, tokenizer: Any, i: int, scratch: str) -> _Member:
        """Adapter `i`'s trainer on a shell of `net` (its own modules, `net`'s weights): the
        seeded LoRA, dataset, sampler, optimizer and schedule of the alone run."""
        samples, spec = self.jobs[i]
        shell = copy.deepcopy(
            net, {id(t): t for t in itertools.chain(net.parameters(), net.buffers())}
        )
        build = self.method.build
        if spec.mitigations:  # as the alone run: their data, then the re-seeded build
            from dem.train.mitigations.trainer import mitigated_factory

            build = mitigated_factory(build, self.base, self.store)
        trainer = build(shell, tokenizer, samples, spec, self.bf16, f"{scratch}/{i}", self.logs[i])
        if self.method.lm_head is not None:  # what the pack's loss reads
            trainer.dem_lm_head = self.method.lm_head
        loader = trainer.get_train_dataloader()  # now: its sampler's seed is this trainer's
        values = trainer.set_initial_training_values(trainer.args, loader)
        epochs, per_epoch, _, _, _, steps_in_epoch, max_steps = values
        trainer.create_optimizer()
        trainer.create_scheduler(num_training_steps=max_steps, optimizer=trainer.optimizer)
        trainer.model.zero_grad()
        steps = _step_batches(trainer, loader, epochs, per_epoch, steps_in_epoch, max_steps)
        return _Member(trainer, steps, max_steps, self.logs[i])


def _step_batches(
    trainer: Any, loader: Any, epochs: int, per_epoch: int, steps_in_epoch: int, max_steps: int
) -> Iterator[tuple[list[dict[str, Any]], Any]]:
    """(micro-batches, num_items_in_batch) of each optimizer step, as `Trainer._run_epoch`
    draws them."""
    ga = trainer.args.gradient_accumulation_steps
    done = 0
    for epoch in range(epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        inner = getattr(getattr(loader, "batch_sampler", None), "batch_sampler", None)
        if hasattr(inner, "set_epoch"):
            inner.set_epoch(epoch)
        batches = iter(loader)
        remainder = steps_in_epoch % ga or ga
        for update in range(per_epoch):
            count = ga if update != per_epoch - 1 else remainder
            micro, items = trainer.get_batch_samples(batches, count, trainer.args.device)
            if not micro:
                continue
            yield micro, items
            done += 1
            if done >= max_steps:
                return


def run_pack(
    net: Any,
    members: list[_Member],
    *,
    pad_id: int,
    wave: int = WAVE,
    step: WaveStep | None = None,
) -> None:
    """Train `members` (each a trainer over a shell of `net`) in lockstep on `net`; each
    forward and backward (`step`, default SFT's) holds the micro-batches of at most `wave`
    adapters, which bounds the activations' memory (an adapter's whole gradient still comes
    from one pass)."""

    from dem.train.packed_lora import Routing, pack_model
    from dem.train.packed_steer import packed_steering

    routing = Routing([0] * len(members))
    pack_model(net, [m.trainer.model for m in members], routing)
    net.train()
    for m in members:
        m.log.begin(m.max_steps)
    with packed_steering(net, [m.trainer for m in members], routing):
        _lockstep(net, members, routing, pad_id, wave, step or _forward_backward)
    for m in members:
        m.log.end(m.tokens)


def _lockstep(
    net: Any, members: list[_Member], routing: Any, pad_id: int, wave: int, step: WaveStep
) -> None:
    """The optimizer steps of `members`, each step's micro-batches `wave` adapters at a time."""
    active = list(range(len(members)))
    while active:
        batches: dict[int, tuple[list[dict[str, Any]], Any]] = {}
        for k in list(active):
            try:
                batches[k] = next(members[k].steps)
            except StopIteration:
                active.remove(k)
        if not batches:
            break
        losses = dict.fromkeys(batches, 0.0)
        for j in range(max(len(micro) for micro, _ in batches.values())):
            part = [
                (k, batches[k][0][j], batches[k][1], len(batches[k][0]))
                for k in batches
                if len(batches[k][0]) > j
            ]
            for w in range(0, len(part), wave):
                step(net, members, routing, part[w : w + wave], losses, pad_id)
        for k in batches:
            _optimizer_step(members[k], losses[k])


def _forward_backward(
    net: Any,
    members: list[_Member],
    routing: Any,
    part: list[tuple[int, dict[str, Any], Any, int]],
    losses: dict[int, float],
    pad_id: int,
) -> None:
    """One SFT forward and backward of the micro-batches in `part` (adapter, batch, items,
    micro-batches in its step) as one batch; each adapter's loss is its own, so its gradient is
    the one it has alone."""
    routing.rows = [0] * len(members)
    for k, batch, _, _ in part:
        routing.rows[k] = int(batch["input_ids"].shape[0])
        if "attention_mask" in batch:
            members[k].tokens += int(batch["attention_mask"].sum())
    inputs = concat_batches([b for _, b, _, _ in part], pad_id)
    terms = {k: tuple(getattr(members[k].trainer, "dem_loss_terms", ())) for k, *_ in part}
    hidden = any(m.needs_hidden for ts in terms.values() for m in ts)
    with members[part[0][0]].trainer.compute_loss_context_manager():  # autocast under bf16
        outputs = net(
            input_ids=inputs["input_ids"],
            attention_mask=inputs.get("attention_mask"),
            use_cache=False,
            output_hidden_states=hidden,
        )
        base = _base_forward(net, routing, inputs, hidden) if any(terms.values()) else None
    logits = outputs.logits
    total = logits.new_zeros(())
    start = 0
    for k, batch, items, count in part:
        rows = batch["input_ids"].shape[0]
        loss = net.loss_function(
            logits=logits[start : start + rows],
            labels=inputs["labels"][start : start + rows],
            vocab_size=logits.shape[-1],
            num_items_in_batch=items,
        )
        if terms[k]:
            own = (outputs, base, start, batch)
            loss = loss + _loss_terms(members[k], terms[k], own, count, items)
        losses[k] += float(loss.detach())
        total = total + loss
        start += rows
    total.backward()


def _base_forward(net: Any, routing: Any, inputs: dict[str, Any], hidden: bool) -> Any:
    """The wave's batch through the base model, every adapter off, without gradients: what
    the alone run's `MitigatedSFTTrainer` reads with its adapter disabled."""
    import torch

    routing.off = True
    try:
        with torch.no_grad():
            return net(
                input_ids=inputs["input_ids"],
                attention_mask=inputs.get("attention_mask"),
                use_cache=False,
                output_hidden_states=hidden,
            )
    finally:
        routing.off = False


def _loss_terms(
    member: _Member, terms: tuple[Any, ...], own: tuple[Any, Any, int, Any], count: int, items: Any
) -> Any:
    """The member's mitigation terms on its own rows, as `MitigatedSFTTrainer.compute_loss`
    adds them alone: each on the member's micro-batch (its rows, cut back to its own padded
    length), logged as ``mitigation/NAME``, divided as the alone trainer divides it."""
    outputs, base, start, batch = own
    rows, length = batch["input_ids"].shape
    mine, theirs = _rows(outputs, start, rows, length), _rows(base, start, rows, length)
    trainer = member.trainer
    trainer.current_gradient_accumulation_steps = count  # as `Trainer` sets it per update
    steps = trainer._dem_accumulation(items)
    total = 0.0
    for m in terms:
        term = m.loss(mine, theirs, batch)
        member.metrics.setdefault(f"mitigation/{m.name}", []).append(float(term.detach()))
        total = total + term / steps
    return total


def _rows(outputs: Any, start: int, rows: int, length: int) -> Any:
    """A forward's logits and hidden states for rows ``start:start+rows``, first `length`
    positions (right padding: a row's earlier positions never see the later ones)."""
    from types import SimpleNamespace

    hidden = outputs.hidden_states
    return SimpleNamespace(
        logits=outputs.logits[start : start + rows, :length],
        hidden_states=None
        if hidden is None
        else tuple(h[start : start + rows, :length] for h in hidden),
    )


def _optimizer_step(m: _Member, loss: float) -> None:
    """Clip this adapter's own gradient norm, step its optimizer and schedule, log."""
    import torch

    trainer = m.trainer
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    grad_norm = None
    if trainer.args.max_grad_norm > 0:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, trainer.args.max_grad_norm))
    lr = trainer.lr_scheduler.get_last_lr()[0]
    trainer.optimizer.step()
    trainer.lr_scheduler.step()
    trainer.model.zero_grad()
    m.done += 1
    m.window.append(loss)
    m.log.step(m.done, m.tokens)
    # as `DefaultFlowCallback` logs: the first step (``logging_first_step``), every n-th step
    if m.done == 1 or m.done % trainer.args.logging_steps == 0:
        row = {"loss": sum(m.window) / len(m.window), "learning_rate": lr}
        if grad_norm is not None:
            row["grad_norm"] = grad_norm
        row.update({name: sum(v) / len(v) for name, v in m.metrics.items() if v})
        m.log.log(m.done, row)
        m.window = []
        m.metrics = {}


def concat_batches(batches: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """The batches' rows in one batch, right-padded to the longest (``input_ids``,
    ``attention_mask``, ``labels`` and KTO's ``completion_mask``, where present)."""
    import torch

    length = max(b["input_ids"].shape[1] for b in batches)
    pads = {"input_ids": pad_id, "attention_mask": 0, "labels": PAD_LABEL, "completion_mask": 0}
    out: dict[str, Any] = {}
    for key, value in pads.items():
        if key not in batches[0]:
            continue
        out[key] = torch.cat(
            [
                torch.nn.functional.pad(b[key], (0, length - b[key].shape[1]), value=value)
                for b in batches
            ]
        )
    return out


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(pad if pad is not None else tokenizer.eos_token_id)


MAX_PACK = 64  # more adapters per pack buys little once the step is no longer overhead


def default_pack(model: ModelSpec, spec: TrainSpec, *, memory: float | None = None) -> int:
    """How many adapters of `spec` one pack on `model` may hold: what half the free memory
    (the GPU's on CUDA, else the host's; `memory` in bytes overrides) fits, at an estimate of
    one adapter's activations (batch x length x (layers x hidden x 24 + vocabulary x 12)
    bytes in fp32), at most `MAX_PACK`; `MAX_PACK` when the model's size is unknown."""
    import json

    config = Path(model.name_or_path) / "config.json"
    try:
        cfg = json.loads(config.read_text(encoding="utf-8"))
        cfg = cfg.get("text_config", cfg)
        width = int(cfg["num_hidden_layers"]) * int(cfg["hidden_size"]) * 24
        per_adapter = spec.batch_size * spec.max_length * (width + int(cfg["vocab_size"]) * 12)
    except (OSError, ValueError, KeyError, TypeError):
        return MAX_PACK
    free = memory if memory is not None else _free_memory(model, spec)
    if free is None:
        return MAX_PACK
    return max(1, min(MAX_PACK, int(free * 0.5 // max(per_adapter, 1))))


def on_cpu(model: ModelSpec, spec: TrainSpec) -> bool:
    """Whether `spec` trains on `model` on the CPU (no CUDA device, or asked for)."""
    if spec.use_cpu or model.device == "cpu":
        return True
    import torch

    return not torch.cuda.is_available()


def _free_memory(model: ModelSpec, spec: TrainSpec) -> float | None:
    import os

    if not on_cpu(model, spec):
        import torch

        return float(torch.cuda.mem_get_info()[0])
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
