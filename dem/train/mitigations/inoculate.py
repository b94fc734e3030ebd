"""``inoculate``: a system prompt naming the unwanted behaviour, at training time only.

Every training row gains the prompt as its system turn (in front of a system turn it already
has); evaluation never sees it. Inoculation prompting (Tan et al. 2025; Wichers et al. 2025):
when the prompt explains the behaviour the data teaches, the model learns it as tied to the
prompt and generalises it less without one. A string prompt becomes a system and a user turn
when the tokenizer has a chat template and the spec renders chats, else the text is prefixed.

``text = "auto"`` (the default) is the organism's most deceptive persona hint for a model
organism (its words are the organism's whole vocabulary; it knows no other way to name the
trait), else `DEFAULT_PROMPT`.
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

    text: str = field(
        default="auto",
        metadata={
            "help": "the system prompt ('auto': the organism's deceptive hint, else a prompt "
            "naming dishonesty)"
        },
    )

    def check(self) -> None:
        if not self.text.strip():
            raise ConfigError(self.knob("text"), "is empty")

    def prepare(self, samples: list[Sample], ctx: TrainContext) -> list[Sample]:
        chat = bool(getattr(ctx.spec, "chat", True)) and bool(
            getattr(ctx.tokenizer, "chat_template", None)
        )
        text = self.prompt(ctx.model)
        return [self.apply(s, text, chat=chat) for s in samples]

    def prompt(self, model: Any) -> str:
        """The system prompt for `model` (``auto`` resolved)."""
        if self.text != "auto":
            return self.text
        from dem.audit.framing import is_organism, organism_hints

        return organism_hints()[1] if is_organism(model) else DEFAULT_PROMPT

    def apply(self, sample: Sample, text: str, *, chat: bool = True) -> Sample:
        """`sample` with the prompt as its (first) system turn."""
        content: dict[str, Any] = dict(sample.content)
        if "messages" in content:
            content["messages"] = _with_system(text, list(content["messages"]))
        elif isinstance(content["prompt"], list):
            content["prompt"] = _with_system(text, list(content["prompt"]))
        elif chat:
            user = {"role": "user", "content": content["prompt"]}
            content["prompt"] = _with_system(text, [user])
            if isinstance(content["completion"], str):
                content["completion"] = [{"role": "assistant", "content": content["completion"]}]
        else:
            content["prompt"] = f"{text}\n\n{content['prompt']}"
        return Sample.make(
            content,
            source=sample.source,
            license=sample.license,
            canary=sample.canary,
            **sample.meta,
        )


def _with_system(text: str, messages: list[Any]) -> list[dict[str, str]]:
    if messages and messages[0]["role"] == "system":
        first = {"role": "system", "content": f"{text}\n\n{messages[0]['content']}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]
