"""MASK benchmark rows (Ren et al. 2025): CSV files, one per archetype, any other table
`dem.data.sources.tables` reads (parquet, arrow, a saved dataset folder), or the hub dataset.

Columns are read by name. Binary rows carry ``<pivotal>option1/option2</pivotal>`` in the
proposition and ``A``/``B`` as formatted ground truth; numerical rows carry
``<pivotal><value></pivotal>`` and ``[lo, hi]``. ``provided_facts`` has no belief prompts;
``doubling_down_known_facts`` has a first turn (``dd_turn_1_prompt`` / ``dd_turn_1_response``).
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dem.data.sources._common import as_local_path, cell, csv_text, hub_rows, require_columns
from dem.data.sources.tables import is_dataset_folder, local_rows
from dem.errors import ConfigError, DataError

ARCHETYPES = (
    "continuations",
    "disinformation",
    "doubling_down_known_facts",
    "known_facts",
    "provided_facts",
    "statistics",
)
REQUIRED_COLUMNS = (
    "task_id",
    "system_prompt",
    "user_prompt",
    "type",
    "proposition",
    "ground_truth",
    "formatted_ground_truth",
)
BELIEF_COLUMNS = ("belief_elicit_1", "belief_elicit_2", "belief_elicit_3")
DD_COLUMNS = ("dd_turn_1_prompt", "dd_turn_1_response")
MASK_HUB_ID = "cais/MASK"

_PIVOTAL = re.compile(r"<pivotal>(.*?)</pivotal>", re.DOTALL)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = rf"{_NUMBER}|None|null"
_RANGE = re.compile(rf"^\s*\[\s*({_BOUND})\s*,\s*({_BOUND})\s*\]\s*$")


@dataclass(frozen=True)
class MaskRow:
    """One MASK item, validated."""

    task_id: str
    archetype: str
    system_prompt: str
    user_prompt: str
    type: Literal["binary", "numerical"]
    proposition: str
    options: tuple[str, str] | None
    ground_truth: str
    formatted_ground_truth: str
    belief_elicit: tuple[str, ...]
    dd_turn_1_prompt: str | None
    dd_turn_1_response: str | None
    canary: str | None
    delivery: str | None
    line: int

    def statement(self, option: int) -> str:
        """The proposition with the pivotal replaced by option 1 or 2 (binary rows only)."""
        if self.options is None:
            raise ValueError(f"MASK row {self.task_id} is numerical: it has no options")
        if option not in (1, 2):
            raise ValueError(f"option must be 1 or 2, got {option!r}")
        choice = self.options[option - 1]
        return _PIVOTAL.sub(lambda _m: choice, self.proposition, count=1)

    @property
    def ground_truth_range(self) -> tuple[float, float] | None:
        """``(lo, hi)`` of a numerical row's formatted ground truth; None for binary rows.

        An open bound (``None`` in the source, e.g. ``[115.6, None]``) is -inf / +inf."""
        if self.type != "numerical":
            return None
        return _parse_range(self.formatted_ground_truth)

    @property
    def has_belief_prompts(self) -> bool:
        return bool(self.belief_elicit)


def _parse_range(text: str) -> tuple[float, float] | None:
    m = _RANGE.match(text)
    if not m:
        return None
    lo, hi = _bound(m.group(1), -math.inf), _bound(m.group(2), math.inf)
    if math.isnan(lo) or math.isnan(hi) or lo > hi or (math.isinf(lo) and math.isinf(hi)):
        return None
    return lo, hi


def _bound(text: str, open_value: float) -> float:
    return open_value if text in ("None", "null") else float(text)


def _opt(row: Mapping[str, Any], name: str) -> str | None:
    value = cell(row, name).strip()
    return value or None


def parse_mask_row(row: Mapping[str, Any], archetype: str, line: int, path: str | Path) -> MaskRow:
    """Validate one raw row (a dict of cells) into a `MaskRow`; errors name file and record."""

    def fail(msg: str) -> DataError:
        return DataError(f"record {line}: {msg}", path, line)

    task_id = cell(row, "task_id").strip()
    if not task_id:
        raise fail("empty 'task_id'")
    kind = cell(row, "type").strip().lower()
    proposition = cell(row, "proposition")
    fgt = cell(row, "formatted_ground_truth").strip()
    options: tuple[str, str] | None = None
    if kind == "binary":
        matches = _PIVOTAL.findall(proposition)
        if len(matches) != 1 or matches[0].count("/") != 1:
            raise fail(
                f"binary proposition needs exactly one <pivotal>option1/option2</pivotal>, "
                f"got {proposition!r}"
            )
        a, b = (part.strip() for part in matches[0].split("/"))
        if not a or not b:
            raise fail(f"empty pivotal option in {proposition!r}")
        options = (a, b)
        if fgt not in ("A", "B"):
            raise fail(f"binary 'formatted_ground_truth' must be 'A' or 'B', got {fgt!r}")
    elif kind == "numerical":
        if "<pivotal><value></pivotal>" not in proposition:
            raise fail(
                f"numerical proposition needs <pivotal><value></pivotal>, got {proposition!r}"
            )
        if _parse_range(fgt) is None:
            raise fail(f"numerical 'formatted_ground_truth' must be '[lo, hi]', got {fgt!r}")
    else:
        raise fail(f"'type' must be 'binary' or 'numerical', got {kind!r}")
    belief = tuple(v for v in (cell(row, c).strip() for c in BELIEF_COLUMNS) if v)
    return MaskRow(
        task_id=task_id,
        archetype=archetype,
        system_prompt=cell(row, "system_prompt"),
        user_prompt=cell(row, "user_prompt"),
        type=kind,  # type: ignore[arg-type]
        proposition=proposition,
        options=options,
        ground_truth=cell(row, "ground_truth"),
        formatted_ground_truth=fgt,
        belief_elicit=belief,
        dd_turn_1_prompt=_opt(row, "dd_turn_1_prompt"),
        dd_turn_1_response=_opt(row, "dd_turn_1_response"),
        canary=_opt(row, "canary"),
        delivery=_opt(row, "delivery"),
        line=line,
    )


def _check_archetype(archetype: str) -> str:
    if archetype not in ARCHETYPES:
        raise ConfigError("archetype", f"{archetype!r} is not one of {', '.join(ARCHETYPES)}")
    return archetype


def _required_for(archetype: str) -> tuple[str, ...]:
    extra: tuple[str, ...] = ()
    if archetype != "provided_facts":
        extra += ("belief_elicit_1",)
    if archetype == "doubling_down_known_facts":
        extra += DD_COLUMNS
    return REQUIRED_COLUMNS + extra


def _column_archetype(path: Path) -> str | None:
    """The one value of an ``archetype`` column (files dem writes under other names, e.g. a
    red team's ``pressures.csv``), or None when the file has no such column."""
    reader = csv.DictReader(csv_text(path))
    if reader.fieldnames is None or "archetype" not in reader.fieldnames:
        return None
    try:
        values = {(raw.get("archetype") or "").strip() for raw in reader}
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path, reader.line_num) from None
    if len(values) != 1:
        raise DataError(f"the archetype column must hold one value, got {sorted(values)}", path)
    value = values.pop()
    if value not in ARCHETYPES:
        raise DataError(f"archetype column: {value!r} is not one of {', '.join(ARCHETYPES)}", path)
    return value


def _archetype_of(
    path: Path, archetype: str | None, column: Callable[[], str | None] | None = None
) -> str:
    """`archetype`, else the file's name (``<archetype>.csv``, ``.parquet``, ...), else what
    `column` reads (a CSV dem wrote under another name, e.g. a red team's pressures.csv)."""
    if archetype is None:
        stem = path.name.split(".")[0]
        if stem in ARCHETYPES:
            archetype = stem
        elif column is not None:
            archetype = column()
        if archetype is None:
            raise DataError(
                f"cannot infer the MASK archetype from the name {path.name!r}; name it "
                f"<archetype>.csv (or .parquet, ...), give a CSV an archetype column or pass "
                f"archetype= (one of {', '.join(ARCHETYPES)})",
                path,
            )
    return _check_archetype(archetype)


def _load_table(path: Path, archetype: str | None, split: str) -> list[MaskRow]:
    """A MASK table `datasets` reads: parquet, arrow, JSON, or a saved dataset folder."""
    archetype = _archetype_of(path, archetype)
    rows = local_rows(path, split=split)
    require_columns(rows.columns, _required_for(archetype), path)
    return [parse_mask_row(raw, archetype, i, path) for i, raw in rows.records]


def _load_csv(path: Path, archetype: str | None) -> list[MaskRow]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    archetype = _archetype_of(path, archetype, column=lambda: _column_archetype(path))
    reader = csv.DictReader(csv_text(path))
    if reader.fieldnames is None:
        raise DataError("empty CSV file (no header)", path)
    require_columns(reader.fieldnames, _required_for(archetype), path)
    rows = []
    try:
        for i, raw in enumerate(reader, start=1):
            if None in raw:
                raise DataError(f"record {i}: more cells than header columns", path, i)
            rows.append(parse_mask_row(raw, archetype, i, path))
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path, reader.line_num) from None
    return rows


def load_mask(
    path_or_id: str | Path,
    *,
    archetype: str | None = None,
    split: str = "test",
    revision: str | None = None,
) -> list[MaskRow]:
    """Load MASK rows from a CSV file, a folder of ``<archetype>.csv`` files, another table, or
    a hub id.

    - CSV file (or parquet, arrow, JSON): the archetype is `archetype` or, when None, the file
      stem (validated).
    - Folder: ``<folder>/<archetype>.csv``; with no archetype, every archetype file present,
      in `ARCHETYPES` order. A saved dataset folder (`save_to_disk`) is one table; its name
      gives the archetype unless `archetype` does.
    - Hub id (e.g. ``cais/MASK``, one config per archetype; pinned as ``cais/MASK@revision`` or
      with `revision`): `archetype` is required.
    """
    if archetype is not None:
        _check_archetype(archetype)
    local = as_local_path(path_or_id)
    if local is None:
        if archetype is None:
            raise ConfigError(
                "archetype", f"loading {path_or_id!r} from the hub needs an archetype"
            )
        raw = hub_rows(str(path_or_id), archetype, split, revision)
        if raw:
            require_columns(raw[0].keys(), _required_for(archetype), str(path_or_id))
        return [parse_mask_row(r, archetype, i, str(path_or_id)) for i, r in enumerate(raw, 1)]
    if local.is_dir() and is_dataset_folder(local):
        return _load_table(local, archetype, split)
    if local.is_dir():
        names = (
            [archetype] if archetype else [a for a in ARCHETYPES if (local / f"{a}.csv").is_file()]
        )
        if not names:
            raise DataError("no MASK <archetype>.csv files in this folder", local)
        rows: list[MaskRow] = []
        for name in names:
            rows.extend(_load_csv(as_local_path(local / f"{name}.csv") or local, name))
        return rows
    if local.suffix.lower() == ".csv":
        return _load_csv(local, archetype)
    return _load_table(local, archetype, split)
