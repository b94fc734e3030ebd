"""MASK and DeceptionBench judges: LLM (any backend), lexical, numeric, forced-choice log-prob."""

from dem.evals.judges.base import JudgeRequest, MaskJudge, Verdict
from dem.evals.judges.choice import ChoiceJudge
from dem.evals.judges.lexical import LexicalJudge
from dem.evals.judges.logprob import LogProbScorer
from dem.evals.judges.numeric import NumericJudge

__all__ = [
    "ChoiceJudge",
    "JudgeRequest",
    "LexicalJudge",
    "LogProbScorer",
    "MaskJudge",
    "NumericJudge",
    "Verdict",
]
