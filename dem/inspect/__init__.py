"""dem in Inspect (``pip install 'dem[inspect]'``).

- Tasks ``dem/mask`` and ``dem/deceptionbench`` (`dem.inspect.tasks`): dem's MASK and
  DeceptionBench evaluations as Inspect tasks, with dem's judges as Inspect scorers, so
  ``inspect eval dem/mask --model dem/organism`` runs them.
- The model provider ``dem`` (`dem.inspect.provider`): ``dem/<model>`` serves any model dem can
  load (``organism``, ``smollm2``, a folder, a hub id) through dem's backends, offline.
- Inspect logs of dem's own evaluations (`dem.inspect.log.write_inspect_log`), which
  ``inspect view`` opens: per-sample responses, verdicts, the belief and the scores.

Inspect finds the tasks and the provider through the ``inspect_ai`` entry point, which imports
`dem.inspect.registry`. The rest of dem imports this package only where a log is asked for
(``dem eval --inspect-log``, a preset's ``eval.inspect_log``), after `require_inspect`.
"""

from __future__ import annotations

from dem.errors import DemError

INSTALL_HINT = "pip install 'dem[inspect]'"


def require_inspect(feature: str) -> None:
    """Raise a clear `DemError` naming the extra when inspect-ai is not installed."""
    try:
        import inspect_ai  # noqa: F401
    except ImportError as exc:
        raise DemError(
            f"{feature} needs inspect-ai, which is not installed: {INSTALL_HINT}"
        ) from exc
