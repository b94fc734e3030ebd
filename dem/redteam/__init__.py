"""Red-teaming for deception: a seeded search over composed pressure prompts for the ones that
make a model lie, judged on held-out items with CIs, exported as a MASK eval set.

`run_redteam` is the whole run; the parts are the pressure space (`space`), the items and their
split (`items`), scoring through MASK (`scoring`), the search (`search`), the held-out figures
(`heldout`), the MASK export (`export`) and the report (`report`).
"""

from dem.redteam.items import Item, items_from_rows, split_items
from dem.redteam.run import RedTeamConfig, run_redteam
from dem.redteam.search import SearchConfig, SearchResult, search
from dem.redteam.space import (
    FAMILIES,
    Pressure,
    PressureSpace,
    english_space,
    get_space,
    organism_space,
)

__all__ = [
    "FAMILIES",
    "Item",
    "Pressure",
    "PressureSpace",
    "RedTeamConfig",
    "SearchConfig",
    "SearchResult",
    "english_space",
    "get_space",
    "items_from_rows",
    "organism_space",
    "run_redteam",
    "search",
    "split_items",
]
