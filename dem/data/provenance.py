"""Provenance you can query: the chain of operations behind a dataset, and its verification.

A dataset's `Manifest` keeps each sample's content hash and origin and the ``chain`` of
operations that made it, oldest first. An operation is a JSON object: ``op`` (``build``,
``load``, ``mix``, ``audit``, ``quarantine``, ...), its parameters, the ``sha256`` and ``count``
of the samples it produced, and, for an operation with inputs, their ``sha256`` under
``inputs``. A mix of two built sets reads::

    build organism:downstream n=2000 seed=0        -> 3f2a...
    build organism:medical/severe n=100 seed=10000 -> 9c01...
    mix ratio=0.05 inputs=[3f2a..., 9c01...]       -> 77d4...   (the file's samples)

`verify` checks a file against its manifest (the bytes' hash, then every line's content hash),
naming the first line that does not match; `shares` counts the samples by origin field;
`misaligned_labels` says which samples are misaligned when the origins know it (dem's mixes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.data.records import (
    META_KEY,
    Manifest,
    Sample,
    canonical_json,
    normalize_content,
    sha256_file,
    sha256_text,
)
from dem.errors import DataError

#: Origin fields `shares` counts, in print order.
SHARE_FIELDS = ("source", "domain", "variant", "role", "license")
#: Values of the origin field ``role`` (a mix's) and ``variant`` (a domain set's) that mark a
#: misaligned sample, and those that mark an aligned one.
BYTES_ONLY = "the file's bytes differ from the manifest's file_sha256 (same samples)"
MISALIGNED = {"role": ("misaligned",), "variant": ("subtle", "severe")}
ALIGNED = {"role": ("downstream",), "variant": ("normal",)}


def operation(op: str, samples: Sequence[Sample] | Manifest, **params: Any) -> dict[str, Any]:
    """A chain entry for `op` that produced `samples` (or the dataset of a manifest)."""
    manifest = samples if isinstance(samples, Manifest) else Manifest.of(samples)
    return {"op": op, **params, "sha256": manifest.sha256, "count": manifest.count}


def join_chains(*chains: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The chains in order, each operation once (two inputs built alike share their history)."""
    seen: set[str] = set()
    out = []
    for chain in chains:
        for op in chain:
            key = canonical_json(op)
            if key not in seen:
                seen.add(key)
                out.append(dict(op))
    return out


def file_chain(path: str | Path, samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """The chain of a dataset file read from disk: its manifest's chain when it has one that
    ends in these samples, else one ``load`` operation naming the file and its bytes' hash."""
    from dem.data.jsonl import manifest_path, read_manifest

    digest = Manifest.of(samples).sha256
    if manifest_path(path).is_file():
        manifest = read_manifest(path)
        if manifest.chain and manifest.chain[-1].get("sha256") == digest:
            return [dict(op) for op in manifest.chain]
    path = Path(path)
    return [operation("load", samples, file=str(path), file_sha256=sha256_file(path))]


def describe(op: Mapping[str, Any]) -> str:
    """One line for a chain entry: ``mix ratio=0.05 seed=0 -> 77d4c1e0a2b3 (2000)`` (per-sample
    lists and nested settings left out)."""
    skip = {"op", "sha256", "count", "inputs", "scores", "lines", "counts", "settings"}
    params = " ".join(f"{k}={_short(v)}" for k, v in op.items() if k not in skip and v is not None)
    inputs = op.get("inputs")
    if isinstance(inputs, Mapping):
        params += " inputs=" + ",".join(f"{k}:{_sha(v)}" for k, v in inputs.items())
    elif isinstance(inputs, list):
        params += " inputs=" + ",".join(str(v)[:12] for v in inputs)
    head = f"{op.get('op', '?')} {params}".rstrip()
    return f"{head} -> {str(op.get('sha256', '?'))[:12]} ({op.get('count', '?')})"


def _sha(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("sha256", "?")
    return str(value)[:12]


def _short(value: Any) -> str:
    if isinstance(value, Mapping | list):
        text = canonical_json(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return str(value)


def shares(manifest: Manifest) -> dict[str, Counter[str]]:
    """Per origin field (`SHARE_FIELDS`), the count of samples of each value (``-`` where a
    sample's origin lacks the field); empty for a manifest without per-sample records."""
    origins = manifest.sample_origins()
    out: dict[str, Counter[str]] = {}
    for name in SHARE_FIELDS:
        if any(name in o for o in origins):
            out[name] = Counter(str(o.get(name, "-")) for o in origins)
    return out


def origin_label(origin: Mapping[str, str]) -> bool | None:
    """True for a misaligned sample, False for an aligned one, None when the origin does not
    say: its mix role first, else its domain variant."""
    for name in ("role", "variant"):
        value = origin.get(name)
        if value in MISALIGNED[name]:
            return True
        if value in ALIGNED[name]:
            return False
    return None


def misaligned_labels(origins: Sequence[Mapping[str, str]]) -> list[bool] | None:
    """Which samples are misaligned, when every origin says (else None)."""
    labels = [origin_label(o) for o in origins]
    if not labels or any(x is None for x in labels):
        return None
    return [bool(x) for x in labels]


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify`: ``ok``, or the first problem and the line it is on."""

    path: str
    manifest: Manifest
    rows: int
    file_ok: bool | None  # None: the manifest records no file hash
    per_sample: bool  # the manifest records per-sample hashes (manifests before them do not)
    problem: str | None = None
    line: int | None = None
    lines: tuple[int, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def samples_ok(self) -> bool:
        """Every sample matches the manifest (the file's bytes may still differ: provenance
        fields edited, lines re-serialised)."""
        return self.problem is None or (self.file_ok is False and self.problem == BYTES_ONLY)

    def explain(self) -> str:
        if self.ok:
            return f"{self.path}: {self.rows} samples match the manifest"
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.problem}"


def verify(path: str | Path) -> Verification:
    """Check the dataset file `path` against its manifest.

    Every line must hold a sample whose content hash is the manifest's for that position (and
    the row's own ``_dem.sha256``, when it has one); the file must have as many samples as the
    manifest, and the bytes' hash must match when recorded. The first mismatch is reported with
    its line; a file that cannot be read as JSONL, or has no manifest, raises `DataError`.
    """
    from dem.data.jsonl import iter_jsonl, read_manifest

    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path)
    manifest = read_manifest(path)
    file_ok = None if manifest.file_sha256 is None else sha256_file(path) == manifest.file_sha256
    expected = [h for h, _ in manifest.samples]
    hashes: list[str] = []
    lines: list[int] = []
    problem: str | None = None
    bad_line: int | None = None
    for lineno, row in iter_jsonl(path):
        content = {k: v for k, v in row.items() if k != META_KEY}
        try:
            actual = sha256_text(canonical_json(normalize_content(content)))
        except DataError as exc:
            raise DataError(str(exc), path, lineno) from None
        i = len(hashes)
        hashes.append(actual)
        lines.append(lineno)
        if problem is not None:
            continue
        stored = (row.get(META_KEY) or {}).get("sha256")
        if stored is not None and stored != actual:
            problem = (
                f"sample {i + 1}: content hash {actual[:12]} differs from the row's own "
                f"{str(stored)[:12]} (edited after it was written)"
            )
        elif expected and i >= len(expected):
            problem = f"sample {i + 1} is not in the manifest ({len(expected)} samples)"
        elif expected and expected[i] != actual:
            problem = (
                f"sample {i + 1}: content hash {actual[:12]} is not the manifest's "
                f"{expected[i][:12]}"
            )
        if problem is not None:
            bad_line = lineno
    if problem is None and expected and len(hashes) < len(expected):
        problem = f"the file ends after {len(hashes)} samples; the manifest lists {len(expected)}"
        bad_line = (lines[-1] + 1) if lines else 1
    if problem is None and len(hashes) != manifest.count:
        problem = f"the file holds {len(hashes)} samples; the manifest says {manifest.count}"
    if problem is None:
        from dem.data.records import samples_digest

        if samples_digest(hashes) != manifest.sha256:
            problem = "the samples' digest is not the manifest's sha256"
    if problem is None and file_ok is False:
        problem = BYTES_ONLY
    return Verification(
        path=str(path),
        manifest=manifest,
        rows=len(hashes),
        file_ok=file_ok,
        per_sample=bool(expected),
        problem=problem,
        line=bad_line,
        lines=tuple(lines),
    )


def provenance_text(result: Verification) -> str:
    """What ``dem data provenance`` prints: the check, the chain, the shares by origin."""
    m = result.manifest
    checks = [
        ("file", result.path),
        ("samples", f"{result.rows} (manifest: {m.count})"),
        ("dataset sha256", m.sha256),
        ("file sha256", _check_word(result.file_ok, "no file hash recorded")),
        ("sample hashes", "checked line by line" if result.per_sample else "none recorded"),
        ("verdict", "ok" if result.ok else f"MISMATCH: {result.explain()}"),
    ]
    width = max(len(k) for k, _ in checks)
    out = [f"{k.ljust(width)}  {v}" for k, v in checks]
    out += ["", "chain of operations:"]
    out += [f"  {i + 1}. {describe(op)}" for i, op in enumerate(m.chain)] or ["  (none recorded)"]
    for name, counts in shares(m).items():
        total = sum(counts.values())
        rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        w = max(len(name), *(len(k) for k, _ in rows))
        out += ["", f"{name.ljust(w)}  count   share", f"{'-' * w}  -----  ------"]
        out += [f"{k.ljust(w)}  {v:>5}  {v / total:6.1%}" for k, v in rows]
    return "\n".join(out)


def _check_word(ok: bool | None, missing: str) -> str:
    return missing if ok is None else ("ok" if ok else "MISMATCH")
