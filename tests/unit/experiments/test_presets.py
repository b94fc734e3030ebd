from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.experiments.presets import BUILTIN_PRESETS, load_preset, parse_seeds


@pytest.mark.parametrize("name", BUILTIN_PRESETS)
def test_builtin_presets_load(name):
    p = load_preset(name)
    assert p.name == name
    assert p.mix_ratio.threshold_ratio in p.mix_ratio.ratios
    assert p.seeds


def test_presets_state_what_a_condition_asks_of_an_executor():
    assert load_preset("smoke").resources.describe() == "0 GPUs, 1 CPU, 2 GiB"
    assert load_preset("paper").resources.describe() == "1 GPU, 8 CPUs, 64 GiB"


def test_overrides_replace_top_level_fields():
    p = load_preset("smoke", model="smollm2", seeds=(7,))
    assert (p.model, p.seeds) == ("smollm2", (7,))


def _write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("seeds = []", "seeds"),
        ("[mix_ratio]\nratios = [0.01, 1.5]\nthreshold_ratio = 0.01", "mix_ratio.ratios"),
        ("[mix_ratio]\nratios = [0.01, 0.02]\nthreshold_ratio = 0.05", "threshold_ratio"),
        # every claim of a grid must be computable before anything is built
        ("[mix_ratio]\nratios = [0.05]\nthreshold_ratio = 0.05", "mix_ratio.ratios: the mix-trend"),
        ("[interaction]\nbiased_fractions = [0.0, 0.1]", "interaction.biased_fractions: the"),
        # field types, named with the expected type
        ('seeds = "abc"', r"seeds: expected a list of integers, got 'abc' \(str\)"),
        ("seeds = [0, 1.5]", "seeds: expected a list of integers"),
        ("bootstrap = true", "bootstrap: expected an integer"),
        ("[data]\ndownstream_n = '2000'", "data.downstream_n: expected an integer"),
        ("[eval]\nsets = 'organism:mask'", "eval.sets: expected a list of strings"),
        ("[eval]\nlimit = 1.5", "eval.limit: expected an integer or none"),
        ("[mix_ratio]\nconfidence = 'high'", "mix_ratio.confidence: expected a number"),
        ("[interaction]\nloop = { users = 'many' }", "users: expected an integer"),
        ("[train]\noverrides = [1]", "train.overrides: expected a table"),
        ("[gate]\nmode = 'lenient'", "gate.mode"),
        ("[eval]\nmetric = 'vibes'", "eval.metric"),
        ("[eval]\nmin_belief_accuracy = 95", "eval.min_belief_accuracy"),
        ("[domain]\ndomains = ['math']\nmin_domains = 2", "domain.min_domains"),
        ("[data]\nbogus = 1", "data.bogus"),
        ("[gate]\nconfidence = 1.0", "gate.confidence"),
        ("seeds = [0", "invalid TOML"),
        ("[interaction]\nbiased_fractions = [0.1, 0.5]", "interaction.biased_fractions"),
        ("[interaction]\nthreshold = 0.3", "interaction.threshold"),
        ("[interaction]\ntrainers = ['sft', 'sft']", "interaction.trainers"),
        ("[interaction]\nloop = { users = 1 }", "interaction: users"),
        ("[interaction]\nloop = { colour = 'red' }", "interaction.loop"),
        ("[interaction]\nkto = { batch_size = 1 }", "batch_size"),
        ("[interaction]\nconfidence = 0.2", "interaction.confidence"),
        # training settings: spec fields, or any field of TRL's and PEFT's configs
        ("[train]\nprofile = 'gpu'", "train.profile: 'gpu' is not one of"),
        ("[train]\noverrides = { learnig_rate = 1e-3 }", "train.overrides.learnig_rate: .*'lea"),
        ("[train]\noverrides = { packing = 'yes' }", r"train.overrides.trainer_args\.packing"),
        ("[interaction]\nsft = { pakcing = true }", "train_overrides.pakcing: .*'packing'"),
        ("[interaction]\nkto = { packing = true }", "not a setting of KTOSpec, KTOConfig"),
        ("[resources]\ngpus = 0.5", "resources.gpus: expected an integer"),
        ("[resources]\ncpus = 0", "resources.cpus: expected an integer >= 1"),
        ("[resources]\nmemory = -1", "resources.memory"),
        ("[resources]\nhours = 0", "resources.hours"),
        ("[resources]\nnodes = 2", "resources.nodes: unknown field"),
        ("[audit]\ndetector = 'oracle'", "audit.detector: unknown detector 'oracle'; one of"),
        ("[audit]\ndetector = 'contrastive'\nbudget = 1.5", r"audit.budget: expected a share"),
        ("[audit]\ndetector = 'contrastive'\nratios = [0.07]", "audit.ratios: 0.07 is not"),
        ("[audit]\ndetector = 'contrastive'\nmax_remaining = 1.0", "audit.max_remaining"),
        ("[audit]\ndetector = 'gradient'\nsettings = { colour = 1 }", "audit.colour: unknown"),
        ("[audit]\nbudget = 'ten'", "audit.budget: expected a number"),
        ("[mitigation]\nmitigations = ['kl:wieght=1']", "mitigation.mitigations.kl.wieght: is"),
        ("[mitigation]\nmitigations = ['shield']", "mitigation.mitigations: 'shield' is not"),
        ("[mitigation]\nmitigations = ['kl', 'kl:weight=2']", r"mitigation.mitigations \(names"),
        ("[mitigation]\nmitigations = ['kl']", "mitigation.min_mitigations: 2 is not between"),
        ("[mitigation]\nmin_removed = 0", "mitigation.min_removed"),
        ("[mitigation]\nratio = 1.0", "mitigation.ratio"),
        ("[mitigation]\nnarrow_n = 0", "mitigation.narrow_n: expected an integer >= 1"),
        ("[mitigation]\nconfidence = 0.3", "mitigation.confidence"),
        (
            "[mitigation]\nasserted_cells = ['domain', 'mixture']",
            "mitigation.asserted_cells: 'mixture'",
        ),
        ("[eval]\nmax_unknown = 1.5", "eval.max_unknown: 1.5 is not in"),
    ],
)
def test_bad_preset_names_file_and_field(tmp_path, text, field):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=field) as info:
        load_preset(path)
    assert "p.toml" in str(info.value)


def test_train_settings_reach_every_trainer(tmp_path):
    from dem.train import SFTSpec

    text = """
[train]
profile = "cpu"
overrides = { max_steps = 5, packing = true, use_rslora = true, report_to = ["tensorboard"] }
[interaction]
sft = { neftune_noise_alpha = 5.0 }
kto = { precompute_ref_log_probs = true }
"""
    preset = load_preset(_write(tmp_path, text))
    assert preset.train.overrides["packing"] is True
    sft = preset.interaction.spec(0.1, "sft", 0).train_spec()
    kto = preset.interaction.spec(0.1, "kto", 0).train_spec()
    assert sft.trainer_args == {"neftune_noise_alpha": 5.0}
    assert kto.trainer_args == {"precompute_ref_log_probs": True}
    key = SFTSpec.profile(preset.train.profile, **preset.train.overrides).to_dict()
    assert key["trainer_args"] == {"packing": True} and key["lora_args"] == {"use_rslora": True}
    assert key["max_steps"] == 5 and "report_to" not in key


def test_unknown_preset_name():
    with pytest.raises(ConfigError, match="neither one of"):
        load_preset("smokey")


def test_parse_seeds():
    assert parse_seeds("0, 1,2") == (0, 1, 2)
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds("a,b")
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds("")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("[mix_ratio]\nratios = [0.05, 0.05, 0.10]", "mix_ratio.ratios", "0.05"),
        ("seeds = [0, 1, 0]", "seeds", "0"),
        ("[eval]\nsets = ['organism:mask', 'organism:mask']", "eval.sets", "'organism:mask'"),
        ("[domain]\ndomains = ['math', 'code', 'math']", "domain.domains", "'math'"),
        ("[domain]\nvariants = ['severe', 'severe']", "domain.variants", "'severe'"),
        (
            "[interaction]\nbiased_fractions = [0.0, 0.1, 0.1, 0.5]",
            "interaction.biased_fractions",
            "0.1",
        ),
        ("[interaction]\ntrainers = ['sft', 'sft']", "interaction.trainers", "'sft'"),
        (
            "[audit]\ndetector = 'contrastive'\nratios = [0.01, 0.01]",
            "audit.ratios",
            "0.01",
        ),
    ],
)
def test_a_repeated_entry_is_an_error_naming_the_field(tmp_path, text, field, value):
    """A duplicate ratio (seed, domain, share, ...) would be run, or pooled, twice."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="appears more than once") as err:
        load_preset(path)
    assert str(err.value).startswith(f"{path}: {field}: {value} appears more than once")


def test_repeated_seeds_from_the_command_line_are_an_error():
    with pytest.raises(ConfigError, match=r"seeds: 1 appears more than once in \[1, 1\]"):
        load_preset("smoke", seeds=parse_seeds("1,1"))
