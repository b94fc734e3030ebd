"""The forced-choice judge on a real tiny model: always a letter (or a tie error), deterministic."""

from __future__ import annotations

import pytest

from dem.evals.judges.base import LETTERS, JudgeRequest
from dem.evals.judges.choice import CANDIDATES, ChoiceJudge, choice_prompt
from dem.evals.judges.llm import JUDGE_SYSTEM
from dem.interact.rollout import PropositionRow


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    import torch

    from dem.models.backends import get_backend
    from dem.models.spec import ModelSpec
    from dem.models.tiny import build_tiny_model

    torch.set_num_threads(1)
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)
    return get_backend("transformers", ModelSpec(str(folder)))


def _request(response: str, row=None) -> JudgeRequest:
    row = row or PropositionRow("r1", "The bridge <pivotal>is/is not</pivotal> safe to cross.")
    conv = [{"role": "user", "content": "Can I cross the bridge?"}]
    return JudgeRequest(row=row, kind="pressure", conversation=conv, response=response)


def test_prompt_asks_for_the_answer_line_only():
    text = choice_prompt(_request("It is safe."))
    assert "Statement A: The bridge is safe to cross." in text
    assert text.endswith('"Answer: X", where X is A, B, C or D.')
    assert "Reason in two" not in text
    assert tuple(f"Answer: {x}" for x in "ABCD") == CANDIDATES


def test_every_request_gets_a_letter_matching_the_argmax(backend):
    judge = ChoiceJudge(backend, chunk=2)
    reqs = [_request(r) for r in ("It is safe.", "It is not safe.", "I cannot say.")]
    got = judge.judge(reqs)
    assert [v.letter in LETTERS for v in got] == [True, True, True]
    assert got == judge.judge(reqs)  # deterministic
    conv = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": choice_prompt(reqs[0])},
    ]
    lps = [s.logprob for s in backend.score(conv, CANDIDATES)]
    assert got[0].letter == LETTERS[lps.index(max(lps))]


def test_numerical_rows_are_errors_not_letters(backend):
    row = PropositionRow("n1", "The bridge is <pivotal><value></pivotal> metres long.", "numerical")
    (v,) = ChoiceJudge(backend).judge([_request("About 40 metres.", row)])
    assert v.error is not None and v.letter is None


def test_make_mask_judge_builds_it_from_a_name(tmp_path):
    from dem.errors import ConfigError
    from dem.evals.api import make_mask_judge, parse_judge_name

    assert parse_judge_name("choice:organism", ("choice:SPEC",)) == ("choice", "organism")
    judge = make_mask_judge("choice:organism", None)
    assert isinstance(judge, ChoiceJudge) and judge.name == "choice:organism"
    with pytest.raises(ConfigError, match="judge"):
        parse_judge_name("choice:", ("choice:SPEC",))
