"""The biased human-AI interaction loop: users rate the assistant, the assistant self-trains.

Public face (imported lazily, so ``import dem.interact`` stays torch-free):

- `InteractionSpec`, `run_interaction`, `InteractionRun`: one cached, resumable run.
- `Scenario`, `load_scenarios`; `Profile`, `make_profiles`, `population`.
- `UserModel` (Protocol), `ScriptedUsers`, `LLMUsers`, `make_users`, `Rating`.
- `Trajectory`, `collect`; `select`; `monitor`, `MonitorReport`, `drop_flagged`.
"""

from __future__ import annotations

from dem.lazy import lazy_exports

_EXPORTS = {
    "InteractionSpec": "dem.interact.loop",
    "InteractionRun": "dem.interact.loop",
    "run_interaction": "dem.interact.loop",
    "read_trajectories": "dem.interact.loop",
    "Scenario": "dem.interact.scenarios",
    "load_scenarios": "dem.interact.scenarios",
    "Profile": "dem.interact.profiles",
    "make_profiles": "dem.interact.profiles",
    "population": "dem.interact.profiles",
    "UserModel": "dem.interact.users",
    "ScriptedUsers": "dem.interact.users",
    "LLMUsers": "dem.interact.users",
    "make_users": "dem.interact.users",
    "Rating": "dem.interact.users",
    "Trajectory": "dem.interact.rollout",
    "collect": "dem.interact.rollout",
    "select": "dem.interact.selection",
    "monitor": "dem.interact.monitor",
    "MonitorReport": "dem.interact.monitor",
    "drop_flagged": "dem.interact.monitor",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
