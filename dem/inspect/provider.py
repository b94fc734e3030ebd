"""The Inspect model provider ``dem``: ``dem/<model>`` generates with one of dem's backends.

``<model>`` is anything `dem.models.registry.resolve_model` takes (``organism``, ``smollm2``, a
folder, a hub id). Model arguments (``-M`` on the command line): ``backend`` (``transformers``,
``vllm`` or ``openai``), ``base_url`` (for ``openai``), ``adapter`` (a LoRA folder) and
``batch_size``. Generation maps ``max_tokens``, ``temperature``, ``top_p``, ``num_choices`` and
``seed`` onto dem's `GenerationConfig`; a failed generation raises, so Inspect records the sample
as an error. The backend itself is `DemModelAPI.backend`, which dem's forced-choice scorers use.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

DEFAULT_MAX_TOKENS = 256


def to_dem_messages(messages: list[ChatMessage]) -> list[dict[str, str]]:
    """Inspect chat messages as dem's ``{"role", "content"}`` turns (text only)."""
    return [{"role": m.role, "content": m.text} for m in messages]


class DemModelAPI(ModelAPI):
    """An Inspect `ModelAPI` over a dem `Backend`."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (Inspect's own signature)
        backend: str = "transformers",
        adapter: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        from dem.evals.api import BackendChoice, open_backend

        choice = BackendChoice(backend, base_url, dict(options))
        self.backend = open_backend(model_name, choice, adapter)

    def max_connections(self) -> int:
        return 1  # one local model: requests run one after another

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        from dem.models.backends.base import GenerationConfig

        gen = GenerationConfig(
            max_new_tokens=config.max_tokens or DEFAULT_MAX_TOKENS,
            temperature=1.0 if config.temperature is None else config.temperature,
            top_p=1.0 if config.top_p is None else config.top_p,
            n=config.num_choices or 1,
            seed=config.seed or 0,
        )
        completions = self.backend.generate([to_dem_messages(input)], gen)[0]
        choices = []
        for c in completions:
            if c.error is not None:
                raise RuntimeError(f"{self.model_name}: generation failed: {c.error}")
            message = ChatMessageAssistant(content=c.text or "", model=self.model_name)
            stop = "max_tokens" if c.finish_reason == "length" else "stop"
            choices.append(ChatCompletionChoice(message=message, stop_reason=stop))
        return ModelOutput(model=self.model_name, choices=choices)


@modelapi(name="dem")
def dem_provider() -> type[ModelAPI]:
    return DemModelAPI


def dem_model(model: str, config: GenerateConfig | None = None, **model_args: Any) -> Any:
    """The Inspect `Model` ``dem/<model>``, built directly (no registry look-up, which loads
    every installed Inspect extension)."""
    from inspect_ai.model import Model

    config = config or GenerateConfig()
    api = dem_provider(model_name=model, config=config, **model_args)  # tagged for the registry
    return Model(api, config, model_args)
