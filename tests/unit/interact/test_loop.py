"""`run_interaction` on the shipped organism: real rollouts, selection and LoRA training, cached."""

from __future__ import annotations

import json

import pytest

from dem.errors import ConfigError
from dem.interact.loop import InteractionSpec, read_trajectories, run_interaction
from dem.store import ArtifactStore

FAST = {"learning_rate": 2e-3, "max_steps": 4, "batch_size": 8, "lora_r": 4, "lora_alpha": 8}


def spec(**kw) -> InteractionSpec:
    base = {
        "scenarios": "organism",
        "users": 24,
        "biased_fraction": 0.5,
        "top_fraction": 0.25,
        "max_new_tokens": 12,
        "batch_size": 32,
        "train_profile": "cpu",
        "train_overrides": FAST,
    }
    return InteractionSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def organism():
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    return resolve_model("organism")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("users", 1),
        ("biased_fraction", 1.5),
        ("rounds", 0),
        ("trainer", "dpo"),
        ("top_fraction", 0.0),
        ("iterations", 0),
        ("user_model", "gpt"),
        ("stance_judge", "logprob"),
        ("scenarios", "no/such/file.json"),
        ("train_profile", "fast"),
        ("profile_writer", "smollm2"),  # the organism's users come from its world
    ],
)
def test_spec_rejects_bad_fields(field, value):
    with pytest.raises(ConfigError, match=field):
        spec(**{field: value})


def test_kto_needs_a_disjoint_bottom():
    with pytest.raises(ConfigError, match="top_fraction"):
        spec(trainer="kto", top_fraction=0.6)


def test_unknown_train_override_is_named():
    with pytest.raises(ConfigError, match="warmup"):
        spec(train_overrides={"warmup": 3})


def test_sft_run_is_cached_and_resumable(organism, tmp_path):
    store = ArtifactStore(tmp_path)
    run = run_interaction(organism, spec(), store=store, progress=False)
    assert (run.adapter / "adapter_config.json").is_file()
    (it,) = run.iterations
    found = read_trajectories(it["rollout"])
    assert len(found) == 24 and sum(t.biased for t in found) == 12
    summary = json.loads((tmp_path / it["rollout"] / "summary.json").read_text())
    assert summary["biased"]["users"] == 12 and "precision" in summary["monitor"]
    rows = (tmp_path / it["selection"] / "data.jsonl").read_text().splitlines()
    assert it["selected"]["samples"] == len(rows) == 2 * 6  # ceil(0.25 x 24) x 2 rounds
    kinds = {tuple(sorted(json.loads(r))) for r in rows}
    assert kinds == {("_dem", "completion", "prompt")}
    again = run_interaction(organism, spec(), store=store, progress=False)
    assert again.adapter == run.adapter
    assert again.iterations[0]["rollout"] == it["rollout"]


def test_kto_selects_both_labels(organism, tmp_path):
    run = run_interaction(
        organism, spec(trainer="kto"), store=ArtifactStore(tmp_path), progress=False
    )
    rows = [
        json.loads(line)
        for line in (tmp_path / run.iterations[0]["selection"] / "data.jsonl")
        .read_text()
        .splitlines()
    ]
    assert {r["label"] for r in rows} == {True, False}


def test_monitor_filter_drops_biased_users(organism, tmp_path):
    run = run_interaction(
        organism, spec(filter_flagged=True), store=ArtifactStore(tmp_path), progress=False
    )
    (it,) = run.iterations
    monitor = it["summary"]["monitor"]
    assert monitor["precision"] == 1.0  # scripted raters are told apart exactly
    rows = (tmp_path / it["selection"] / "data.jsonl").read_text().splitlines()
    flagged = set(monitor["flagged"])
    assert all(json.loads(r)["_dem"]["meta"]["user_id"] not in flagged for r in rows)


def test_iterations_roll_out_with_the_previous_adapter(organism, tmp_path):
    run = run_interaction(
        organism, spec(iterations=2), store=ArtifactStore(tmp_path), progress=False
    )
    first, second = run.iterations
    assert first["rollout"] != second["rollout"]
    assert first["adapter"] != second["adapter"]
    assert run.adapter == second["adapter"] or str(run.adapter) == second["adapter"]


@pytest.mark.slow
def test_therapist_scenarios_on_smollm2(tmp_path):
    """The real small model, the shipped scenarios, scripted users through a forced-choice
    judge (smollm2 judging itself): every reply is judged and rated, training runs."""
    from dem.interact.users import SCRIPTED_SCORES

    s = spec(
        scenarios="dem:therapist",
        users=8,
        stance_judge="choice:smollm2",
        max_new_tokens=48,
        temperature=0.7,
        train_overrides={**FAST, "max_steps": 2, "batch_size": 2, "max_length": 512},
    )
    run = run_interaction("smollm2", s, store=ArtifactStore(tmp_path), progress=False)
    (it,) = run.iterations
    found = read_trajectories(it["rollout"])
    assert len(found) == 8 and all(t.ok for t in found)
    for t in found:
        table = SCRIPTED_SCORES["biased" if t.biased else "benign"]
        assert list(t.scores) == [table["C" if x in "CD" else x] for x in t.stances]
        assert t.messages[0]["content"].startswith("You are an AI therapist")
    assert (run.adapter / "adapter_config.json").is_file()


def test_files_that_are_not_utf8_name_file_and_line(tmp_path):
    from dem.errors import DataError
    from dem.interact.rollout import Trajectory
    from dem.models.spec import ModelSpec

    scenarios = tmp_path / "scenarios.json"
    scenarios.write_bytes(b'{\n  "scenarios": [\n    {"name": "caf\xe9"}\n  ]\n}\n')
    store = ArtifactStore(tmp_path / "cache")
    with pytest.raises(DataError, match=r"scenarios\.json:3: not UTF-8") as err:
        run_interaction(ModelSpec("org/model"), spec(scenarios=str(scenarios)), store=store)
    assert err.value.line == 3

    one = Trajectory(0, False, "caf\u00e9", ({"role": "user", "content": "hi"},), (), (), ())
    good = json.dumps(one.to_dict()).encode()  # the e-acute escaped: ASCII
    bad = json.dumps(one.to_dict(), ensure_ascii=False).encode("latin-1")
    (tmp_path / "trajectories.jsonl").write_bytes(good + b"\n" + bad + b"\n")
    with pytest.raises(DataError, match=r"trajectories\.jsonl:2: not UTF-8") as err:
        read_trajectories(tmp_path)
    assert err.value.line == 2
