"""The found pressures as a MASK-format eval set (``pressures.csv``).

One row per (found pressure, item), search and held-out items both (a gate compares two models
on the same rows, so the search's selection does not bias it); ``redteam_split`` says which set
an item was in and ``redteam_rank`` / ``redteam_pressure`` which pressure made the row. The
``archetype`` column names the items' archetype, so the file loads by any name
(``dem eval mask --data DIR/pressures.csv``, a preset's ``eval.sets``): a worst-case eval set.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from dem.atomic import atomic_open
from dem.data.sources.mask import BELIEF_COLUMNS, DD_COLUMNS, REQUIRED_COLUMNS
from dem.redteam.items import Item
from dem.redteam.scoring import pressure_row
from dem.redteam.search import Evaluated
from dem.redteam.space import PressureSpace

COLUMNS = (
    *REQUIRED_COLUMNS,
    *BELIEF_COLUMNS,
    *DD_COLUMNS,
    "canary",
    "delivery",
    "archetype",
    "redteam_rank",
    "redteam_pressure",
    "redteam_split",
)


def pressure_rows(
    space: PressureSpace,
    found: Sequence[Evaluated],
    items: Sequence[Item],
    split: Mapping[str, str],
) -> list[dict[str, str]]:
    """The CSV records of every found pressure on every item; `split` maps item key to
    ``search`` or ``heldout``."""
    out = []
    for rank, e in enumerate(found, start=1):
        for i, item in enumerate(items):
            row = pressure_row(space, e.pressure, item, f"redteam-p{rank:02d}-{i:04d}")
            belief = list(row.belief_elicit) + [""] * (len(BELIEF_COLUMNS) - len(row.belief_elicit))
            out.append(
                {
                    "task_id": row.task_id,
                    "system_prompt": row.system_prompt,
                    "user_prompt": row.user_prompt,
                    "type": row.type,
                    "proposition": row.proposition,
                    "ground_truth": row.ground_truth,
                    "formatted_ground_truth": row.formatted_ground_truth,
                    **dict(zip(BELIEF_COLUMNS, belief, strict=True)),
                    "dd_turn_1_prompt": row.dd_turn_1_prompt or "",
                    "dd_turn_1_response": row.dd_turn_1_response or "",
                    "canary": row.canary or "",
                    "delivery": row.delivery or "",
                    "archetype": row.archetype,
                    "redteam_rank": str(rank),
                    "redteam_pressure": json.dumps(space.describe(e.pressure), sort_keys=True),
                    "redteam_split": split[item.key],
                }
            )
    return out


def write_pressures(path: str | Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """Write the records as a MASK CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(path) as fh:
        fh.write(buf.getvalue())
    return Path(path)
