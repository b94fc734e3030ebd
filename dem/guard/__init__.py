"""A production honesty guard: consistency checks against the model's own belief, with
abstention, over any backend or as an OpenAI-compatible HTTP proxy.

The parts: which requests are high-stakes (`stakes`), the belief check (`belief`), the policy
(`policy`), the wrapper that checks and decides (`guard`), the decision log (`log`), the HTTP
proxy and its upstreams (`server`, `upstream`), the replay evaluation (`replay`) and the
figures (`report`).
"""

from dem.guard.belief import Belief, BeliefConfig
from dem.guard.guard import Check, Guard, Guarded
from dem.guard.log import Decision, DecisionLog
from dem.guard.policy import ABSTENTION, GuardPolicy
from dem.guard.replay import ReplayConfig, replay
from dem.guard.server import GuardServer, ServeLimits
from dem.guard.stakes import Claim, Stakes, TopicRule, assess, load_rules
from dem.guard.upstream import HTTPUpstream, LocalUpstream, UpstreamError

__all__ = [
    "ABSTENTION",
    "Belief",
    "BeliefConfig",
    "Check",
    "Claim",
    "Decision",
    "DecisionLog",
    "Guard",
    "GuardPolicy",
    "GuardServer",
    "Guarded",
    "HTTPUpstream",
    "LocalUpstream",
    "ReplayConfig",
    "ServeLimits",
    "Stakes",
    "TopicRule",
    "UpstreamError",
    "assess",
    "load_rules",
    "replay",
]
