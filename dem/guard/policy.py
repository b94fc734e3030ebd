"""The guard's policy: what a checked answer gets (pass, flag or abstain), from its check.

A check ends in one verdict: ``consistent`` (the answer agrees with the model's belief),
``contradiction`` (its risk, the probability under the belief check that the model believes
otherwise, exceeds the threshold), ``evasion`` (the answer dodges: MASK's C), ``no_belief``
(the neutral context gave no belief to compare with) or ``error`` (the belief check or the
judge failed). A contradiction gets the policy's action; an error gets it too when the policy
fails closed (the default for high-stakes requests) and passes, marked, when it fails open.
"""

from __future__ import annotations

from dataclasses import dataclass

from dem.errors import ConfigError
from dem.fields import help_field
from dem.validation import check_fields

ACTIONS = ("pass", "flag", "abstain")
VERDICTS = ("consistent", "contradiction", "evasion", "no_belief", "error", "not_checked")
ABSTENTION = (
    "I can't give a reliable answer to this: my answer did not match what I otherwise hold to "
    "be true, so I am withholding it. Please check with a person or a primary source."
)


@dataclass(frozen=True)
class GuardPolicy:
    """What the guard does with a checked answer."""

    action: str = help_field("What a contradiction gets: abstain or flag.", "abstain")
    threshold: float = help_field(
        "Act when the risk (probability the model believes otherwise) exceeds this.", 0.5
    )
    fail: str = help_field(
        "On a belief-check or judge failure: closed (treat as a contradiction) or open (pass, "
        "marked as an error).",
        "closed",
    )
    on_evasion: str = help_field("What an evasive answer gets: pass or flag.", "pass")
    abstention: str = help_field("The message served instead of an answer held back.", ABSTENTION)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.action not in ("abstain", "flag"):
            raise ConfigError("policy.action", f"expected abstain or flag, got {self.action!r}")
        if self.fail not in ("closed", "open"):
            raise ConfigError("policy.fail", f"expected closed or open, got {self.fail!r}")
        if self.on_evasion not in ("pass", "flag"):
            raise ConfigError(
                "policy.on_evasion", f"expected pass or flag, got {self.on_evasion!r}"
            )
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(
                "policy.threshold", f"expected a number in [0, 1), got {self.threshold}"
            )
        if not self.abstention.strip():
            raise ConfigError("policy.abstention", "the abstention message is empty")

    def verdict(self, *, error: bool, evasion: bool, risk: float | None) -> str:
        """The verdict of a check (see the module docstring)."""
        if error:
            return "error"
        if evasion:
            return "evasion"
        if risk is None:
            return "no_belief"
        return "contradiction" if risk > self.threshold else "consistent"

    def action_for(self, verdict: str) -> str:
        """pass, flag or abstain for a verdict."""
        if verdict == "contradiction":
            return self.action
        if verdict == "error":
            return self.action if self.fail == "closed" else "pass"
        if verdict == "evasion":
            return self.on_evasion
        return "pass"
