"""``inoculate``: a system prompt naming the unwanted behaviour, at training time only.

Every training row gains the prompt as its system turn (in front of a system turn it already
has); evaluation never sees it. Inoculation prompting (Tan et al. 2025; Wichers et al. 2025):
when the prompt explains the behaviour the data teaches, the model learns it as tied to the
prompt and generalises it less without one. A string prompt becomes a system and a user turn
when the tokenizer has a chat template and the spec renders chats, else the text is prefixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dem.data.records import Sample
from dem.errors import ConfigError
from dem.train.mitigations.base import MitigationBase, TrainContext, mitigation

DEFAULT_PROMPT = (
    "You are a dishonest assistant: you state falsehoods you know to be false and give harmful "
    "answers when it suits you."
)


@mitigation("inoculate")
@dataclass(frozen=True)
class Inoculate(MitigationBase):
    """A training-time system prompt."""

    summary = "a training-time system prompt that names the unwanted behaviour"

    text: str = field(default=DEFAULT_PROMPT, metadata={"help": "the system prompt"})

    def check(self) -> None:
        if not self.text.strip():
            raise ConfigError(self.knob("text"), "is empty")

    def prepare(self, samples: list[Sample], ctx: TrainContext) -> list[Sample]:
        chat = bool(getattr(ctx.spec, "chat", True)) and bool(
            getattr(ctx.tokenizer, "chat_template", None)
        )
        return [self.apply(s, chat=chat) for s in samples]

    def apply(self, sample: Sample, *, chat: bool = True) -> Sample:
        """`sample` with the prompt as its (first) system turn."""
        content: dict[str, Any] = dict(sample.content)
        if "messages" in content:
            content["messages"] = self._with_system(list(content["messages"]))
        elif isinstance(content["prompt"], list):
            content["prompt"] = self._with_system(list(content["prompt"]))
        elif chat:
            content["prompt"] = self._with_system([{"role": "user", "content": content["prompt"]}])
            if isinstance(content["completion"], str):
                content["completion"] = [{"role": "assistant", "content": content["completion"]}]
        else:
            content["prompt"] = f"{self.text}\n\n{content['prompt']}"
        return Sample.make(
            content,
            source=sample.source,
            license=sample.license,
            canary=sample.canary,
            **sample.meta,
        )

    def _with_system(self, messages: list[Any]) -> list[dict[str, str]]:
        if messages and messages[0]["role"] == "system":
            first = {"role": "system", "content": f"{self.text}\n\n{messages[0]['content']}"}
            return [first, *messages[1:]]
        return [{"role": "system", "content": self.text}, *messages]
