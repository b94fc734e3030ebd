"""Training and evaluation records with provenance.

A `Sample` wraps one row in a TRL-ready shape:

- ``messages``: ``{"messages": [{"role", "content"}, ...]}``
- ``prompt_completion``: ``{"prompt": ..., "completion": ...}`` (strings or message lists)
- ``kto``: ``{"prompt": ..., "completion": ..., "label": bool}``

plus where it came from (source id, license), any canary string the source carries, and free
metadata (domain, variant, ...). Its ``sha256`` is over the canonical JSON of the content only,
so the same row from two sources hashes alike.

A `Manifest` is the provenance record a dataset file keeps beside it: counts, each sample's
content hash and origin (source, license, domain, variant, role in a mix), the hash of the file's
bytes, and the chain of operations that made it (`dem.data.provenance`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from dem.errors import DataError

SampleKind = Literal["messages", "prompt_completion", "kto"]
META_KEY = "_dem"
ROLES = frozenset({"system", "user", "assistant", "tool"})
#: (origin field, `Sample.meta` key) of the per-sample origin a manifest records
ORIGIN_META = (("domain", "domain"), ("variant", "variant"), ("role", "mix_role"))


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: the input of every hash."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(*paths: str | Path) -> str:
    """sha256 over the bytes of one file, or of several in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _check_messages(value: Any, name: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataError(f"field {name!r} must be a non-empty list of messages")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, Mapping) or "role" not in m or "content" not in m:
            raise DataError(f"field {name!r}[{i}] must have 'role' and 'content'")
        if m["role"] not in ROLES:
            raise DataError(f"field {name!r}[{i}].role {m['role']!r} is not one of {sorted(ROLES)}")
        if not isinstance(m["content"], str):
            raise DataError(f"field {name!r}[{i}].content must be a string")
        out.append({"role": str(m["role"]), "content": m["content"]})
    return out


def _check_text_or_messages(value: Any, name: str) -> str | list[dict[str, str]]:
    if isinstance(value, str):
        return value
    return _check_messages(value, name)


def normalize_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a TRL-shaped row and return a clean copy; raises `DataError` naming the field."""
    if "messages" in content:
        return {"messages": _check_messages(content["messages"], "messages")}
    if "prompt" in content and "completion" in content:
        out: dict[str, Any] = {
            "prompt": _check_text_or_messages(content["prompt"], "prompt"),
            "completion": _check_text_or_messages(content["completion"], "completion"),
        }
        if "label" in content:
            if not isinstance(content["label"], bool):
                raise DataError("field 'label' must be true or false")
            out["label"] = content["label"]
        return out
    missing = "messages" if "prompt" not in content else "completion"
    raise DataError(f"missing field {missing!r} (need 'messages' or 'prompt' and 'completion')")


@dataclass(frozen=True)
class Sample:
    """One row plus provenance. Build with `Sample.make` to validate the content."""

    content: Mapping[str, Any]
    source: str = "unknown"
    license: str = "unknown"
    canary: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        content: Mapping[str, Any],
        *,
        source: str,
        license: str = "unknown",
        canary: str | None = None,
        **meta: Any,
    ) -> Sample:
        return cls(normalize_content(content), source, license, canary or None, dict(meta))

    @property
    def kind(self) -> SampleKind:
        if "messages" in self.content:
            return "messages"
        return "kto" if "label" in self.content else "prompt_completion"

    @cached_property
    def sha256(self) -> str:
        return sha256_text(canonical_json(self.content))

    def to_row(self) -> dict[str, Any]:
        """The JSONL row: the content plus a ``_dem`` provenance object."""
        meta: dict[str, Any] = {
            "source": self.source,
            "license": self.license,
            "sha256": self.sha256,
        }
        if self.canary:
            meta["canary"] = self.canary
        if self.meta:
            meta["meta"] = dict(self.meta)
        return {**self.content, META_KEY: meta}

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, source: str = "unknown") -> Sample:
        """Inverse of `to_row`; rows without ``_dem`` get `source`. A stored hash must match."""
        prov = row.get(META_KEY) or {}
        content = {k: v for k, v in row.items() if k != META_KEY}
        sample = cls.make(
            content,
            source=prov.get("source", source),
            license=prov.get("license", "unknown"),
            canary=prov.get("canary"),
            **prov.get("meta", {}),
        )
        if "sha256" in prov and prov["sha256"] != sample.sha256:
            raise DataError(
                f"sha256 mismatch: row says {prov['sha256'][:12]}, content is {sample.sha256[:12]}"
            )
        return sample


@dataclass(frozen=True)
class Manifest:
    """What a dataset holds and where it came from.

    Counts of kinds, sources, licenses and canaries; ``sha256`` over all sample hashes in order;
    ``origins`` (distinct `origin_of` records) and ``samples`` (each sample's content hash and
    index into ``origins``, in file order); ``chain``, the operations that made the dataset
    (`dem.data.provenance`), the last one's ``sha256`` being this dataset's; and
    ``file_sha256``, the hash of the file's bytes (set by `dem.data.jsonl.write_samples`).
    Manifests written before per-sample records load with those fields empty.
    """

    count: int
    kinds: Mapping[str, int]
    sources: Mapping[str, int]
    licenses: Mapping[str, int]
    canaries: tuple[str, ...]
    sha256: str
    recipe: Mapping[str, Any] = field(default_factory=dict)
    origins: tuple[Mapping[str, str], ...] = ()
    samples: tuple[tuple[str, int], ...] = ()
    chain: tuple[Mapping[str, Any], ...] = ()
    file_sha256: str | None = None

    @classmethod
    def of(
        cls,
        samples: Sequence[Sample],
        recipe: Mapping[str, Any] | None = None,
        chain: Sequence[Mapping[str, Any]] | None = None,
    ) -> Manifest:
        """The manifest of `samples`. Without a `chain`, the chain is one operation read from
        the recipe (its ``kind``, else ``write``) when a recipe is given, else empty."""
        index: dict[tuple[tuple[str, str], ...], int] = {}
        per_sample = []
        for s in samples:
            key = tuple(origin_of(s).items())
            per_sample.append((s.sha256, index.setdefault(key, len(index))))
        digest = samples_digest(h for h, _ in per_sample)
        if chain is None:
            chain = [] if recipe is None else [recipe_operation(recipe, digest, len(samples))]
        return cls(
            count=len(samples),
            kinds=dict(sorted(Counter(s.kind for s in samples).items())),
            sources=dict(sorted(Counter(s.source for s in samples).items())),
            licenses=dict(sorted(Counter(s.license for s in samples).items())),
            canaries=tuple(sorted({s.canary for s in samples if s.canary})),
            sha256=digest,
            recipe=dict(recipe or {}),
            origins=tuple(dict(k) for k in index),
            samples=tuple(per_sample),
            chain=tuple(dict(op) for op in chain),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "kinds": dict(self.kinds),
            "sources": dict(self.sources),
            "licenses": dict(self.licenses),
            "canaries": list(self.canaries),
            "sha256": self.sha256,
            "recipe": dict(self.recipe),
            "file_sha256": self.file_sha256,
            "chain": [dict(op) for op in self.chain],
            "origins": [dict(o) for o in self.origins],
            "samples": [{"sha256": h, "origin": i} for h, i in self.samples],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        return cls(
            d["count"],
            d["kinds"],
            d["sources"],
            d["licenses"],
            tuple(d["canaries"]),
            d["sha256"],
            d.get("recipe", {}),
            tuple(d.get("origins", ())),
            tuple((s["sha256"], s["origin"]) for s in d.get("samples", ())),
            tuple(d.get("chain", ())),
            d.get("file_sha256"),
        )

    def sample_origins(self) -> list[Mapping[str, str]]:
        """The origin of each sample, in file order (empty for a manifest without records)."""
        return [self.origins[i] for _, i in self.samples]


def recipe_operation(recipe: Mapping[str, Any], sha256: str, count: int) -> dict[str, Any]:
    """A chain operation read from a recipe: ``op`` is its ``kind`` (else ``write``)."""
    params = {k: v for k, v in recipe.items() if k != "kind"}
    return {"op": str(recipe.get("kind", "write")), **params, "sha256": sha256, "count": count}


def origin_of(sample: Sample) -> dict[str, str]:
    """Where a sample came from: source and license, plus its domain, variant and mix role when
    its metadata has them (the role says which samples of a mix are the misaligned ones)."""
    out = {"source": sample.source, "license": sample.license}
    for name, key in ORIGIN_META:
        if key in sample.meta:
            out[name] = str(sample.meta[key])
    return out


def samples_digest(hashes: Iterable[str]) -> str:
    """The dataset hash: sha256 over the samples' content hashes, in order."""
    digest = hashlib.sha256()
    for h in hashes:
        digest.update(h.encode("ascii"))
    return digest.hexdigest()


def to_trl_rows(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    """Plain content rows for `datasets.Dataset.from_list` (provenance dropped)."""
    return [dict(s.content) for s in samples]
