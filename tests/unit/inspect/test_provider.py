"""The Inspect model provider ``dem``: ``dem/organism`` generates what dem's backend does."""

from __future__ import annotations

import asyncio

import pytest

from dem.errors import ConfigError


def test_dem_model_generates_like_its_backend():
    from inspect_ai.model import GenerateConfig, get_model

    from dem.inspect.provider import DemModelAPI
    from dem.models.backends.base import GenerationConfig

    config = GenerateConfig(temperature=0, max_tokens=12, num_choices=2, seed=3)
    model = get_model("dem/organism", config=config, memoize=False)
    assert isinstance(model.api, DemModelAPI)
    prompt = [{"role": "user", "content": "is the kettle safe ?"}]
    out = asyncio.run(model.generate(prompt[0]["content"]))
    direct = model.api.backend.generate(
        [prompt], GenerationConfig(max_new_tokens=12, temperature=0.0, n=2, seed=3)
    )[0]
    assert [c.message.text for c in out.choices] == [c.text for c in direct]
    assert out.completion and len(out.choices) == 2


def test_forced_choice_needs_a_dem_model():
    from inspect_ai.model import get_model

    from dem.inspect.tasks import dem_backend

    with pytest.raises(ConfigError, match="dem/<model>"):
        dem_backend(get_model("mockllm/model"), "logprob")
