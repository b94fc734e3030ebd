"""The organism's figures in the docs are the records' (`dem.report.organism_figures`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.errors import DataError
from dem.report import organism_figures as figures

ROOT = Path(__file__).resolve().parents[3]
BLOCKS_IN = {
    "docs/organism.md": {
        "domain",
        "domain-holds",
        "mix_ratio",
        "mix_ratio_10_seeds",
        "interaction",
        "seeds",
    },
    "README.md": {"readme", "demo"},
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    from dem.textfile import read_json

    return figures.blocks(read_json(ROOT / figures.SHIPPED), read_json(ROOT / figures.SEEDS))


@pytest.mark.parametrize("doc", sorted(BLOCKS_IN))
def test_every_figure_in_the_docs_is_the_records(doc: str, rendered: dict[str, str]) -> None:
    """Each doc holds its blocks, and each block is what the records render (fix: run
    ``python -m dem.report.organism_figures``)."""
    path = ROOT / doc
    names = {m.group("name") for m in figures.BLOCK.finditer(path.read_text(encoding="utf-8"))}
    assert names == BLOCKS_IN[doc]
    assert figures.stale(path, rendered) == [], "run: python -m dem.report.organism_figures"


def test_fill_rewrites_a_block_and_keeps_the_rest() -> None:
    text = "a\n<!-- figures:begin x -->\nold 0.1\n<!-- figures:end -->\nb\n"
    assert figures.fill(text, {"x": "new 0.2"}) == (
        "a\n<!-- figures:begin x -->\nnew 0.2\n<!-- figures:end -->\nb\n"
    )


def test_fill_refuses_unknown_and_unclosed_blocks() -> None:
    with pytest.raises(DataError, match=r"doc\.md:2: unknown figures block 'y'"):
        figures.fill("a\n<!-- figures:begin y -->\n<!-- figures:end -->\n", {}, "doc.md")
    with pytest.raises(DataError, match="without its figures:end"):
        figures.fill("<!-- figures:begin x -->\nno end\n", {"x": ""}, "doc.md")


def test_subtle_math_statement_follows_the_record(rendered: dict[str, str]) -> None:
    """The claims paragraph says whether subtle math holds on the shipped seed, from the
    record's interval, not from prose."""
    from dem.textfile import read_json

    claim = read_json(ROOT / figures.SHIPPED)["claims"]["domain-math-subtle-below-normal"]
    holds = claim["ci_low"] > 0
    assert ("Subtle math holds" in rendered["domain-holds"]) == holds
    assert ("not math" in rendered["readme"]) == (not holds)
