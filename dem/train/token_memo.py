"""Tokenise each distinct SFT training row once per process, exactly as TRL does.

A grid trains many adapters on datasets that share most rows, and each adapter's `SFTTrainer`
prepares its rows again (chat template, tokenising, labels: `SFTTrainer._prepare_dataset`).
`prepare_dataset` keeps each prepared row's ``input_ids`` and ``labels`` in a per-process memo
keyed by the row's canonical JSON and scoped by everything that changes them: the tokenizer's
class, name, vocabulary, special and added tokens; the chat template TRL renders with (its
training template, else the tokenizer's); ``assistant_only_loss``, ``completion_only_loss``,
``dataset_text_field``; the versions of TRL, transformers and tokenizers. Rows not in the memo
are prepared by TRL's own code, untruncated and unshuffled so that its output stays aligned
with its input; the whole dataset is then rebuilt from the memo, in order, and handed to TRL's
code again with the real arguments: it sees a tokenised dataset and applies its own
truncation, its filter of fully masked rows and its shuffle. The collator reads only
``input_ids`` and ``labels``, so the batches are the same.

Anything the memo cannot handle exactly goes straight to TRL: an iterable or transformed
dataset, packing, a formatting function, an eval dataset, columns other than ``messages`` or
``prompt``/``completion``, a null or empty value, a processor or a tokenizer without a
`tokenizers` backend, a chat template that renders the date (``strftime_now``). The memo holds
at most `MAX_TOKENS` token ids, dropping the least recently used rows.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MAX_TOKENS = 4_000_000  # about 32 MB of ids and labels, plus each row's key
ROW_SHAPES = (frozenset({"messages"}), frozenset({"prompt", "completion"}))


@dataclass(frozen=True)
class Prepared:
    """One row as TRL prepares it, before truncation."""

    input_ids: array
    labels: array
    features: Any  # the `datasets.Features` of the two columns TRL built


class TokenMemo:
    """A thread-safe LRU of prepared rows, bounded by the token ids it holds."""

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        self.max_tokens = max_tokens
        self.tokens = 0
        self._rows: OrderedDict[bytes, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: bytes) -> Prepared | None:
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def put(self, key: bytes, row: Prepared) -> None:
        with self._lock:
            old = self._rows.pop(key, None)
            self.tokens -= len(old.input_ids) if old is not None else 0
            self._rows[key] = row
            self.tokens += len(row.input_ids)
            while self.tokens > self.max_tokens and self._rows:
                _, dropped = self._rows.popitem(last=False)
                self.tokens -= len(dropped.input_ids)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self.tokens = 0


MEMO = TokenMemo()
_state = {"enabled": True}


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block, every dataset goes straight to TRL (for comparisons)."""
    before = _state["enabled"]
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = before


_vocab_digests: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()


def tokenizer_fingerprint(tokenizer: Any) -> str | None:
    """What of `tokenizer` decides its ids: None for one without a `tokenizers` backend.

    The serialized backend (vocabulary, merges, added tokens, normalizer, pre-tokenizer,
    post-processor) is hashed once per tokenizer object and again if its cheap state (size,
    special and added tokens, pipeline components, flags) changes."""
    from transformers import PreTrainedTokenizerBase

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not isinstance(tokenizer, PreTrainedTokenizerBase) or backend is None:
        return None
    cheap = json.dumps(
        [
            f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
            str(tokenizer.name_or_path),
            len(tokenizer),
            str(tokenizer.special_tokens_map),
            str(tokenizer.added_tokens_decoder),
            *(repr(getattr(backend, c)) for c in ("normalizer", "pre_tokenizer", "post_processor")),
            *(
                repr(getattr(tokenizer, a, None))
                for a in ("add_bos_token", "add_eos_token", "split_special_tokens")
            ),
        ]
    )
    cached = _vocab_digests.get(tokenizer)
    if cached is None or cached[0] != cheap:
        digest = hashlib.sha256(backend.to_str().encode()).hexdigest()
        cached = (cheap, digest)
        _vocab_digests[tokenizer] = cached
    return hashlib.sha256(f"{cheap}\n{cached[1]}".encode()).hexdigest()


def memo_scope(trainer: Any, tokenizer: Any, args: Any) -> bytes | None:
    """The scope of the memo entries `trainer` may share, or None when it cannot share."""
    import tokenizers
    import transformers
    import trl

    fingerprint = tokenizer_fingerprint(tokenizer)
    templates = [trainer.chat_template, getattr(tokenizer, "chat_template", None)]
    if fingerprint is None or "strftime_now" in json.dumps(templates):
        return None  # no backend to hash, or a template that renders today's date
    parts = [
        "dem-sft-rows/1",
        trl.__version__,
        transformers.__version__,
        tokenizers.__version__,
        fingerprint,
        *templates,  # TRL's training template, else the tokenizer's own renders
        bool(args.assistant_only_loss),
        bool(trainer.completion_only_loss),
        args.dataset_text_field,
        tokenizer.eos_token,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).digest()


def _row_keys(scope: bytes, dataset: Any) -> list[bytes] | None:
    """Each row's memo key (the scope and the row's canonical JSON), or None when a row has a
    null or empty value or a value JSON cannot write."""
    keys = []
    for row in dataset.to_list():
        if any(v is None or v == [] for v in row.values()):
            return None  # TRL reads the first row's shape: a null there would differ
        try:
            text = json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return None
        keys.append(hashlib.sha256(scope + text.encode()).digest())
    return keys


def _eligible(dataset: Any, packing: bool, formatting_func: Any, name: str) -> bool:
    from datasets import Dataset

    return (
        _state["enabled"]
        and isinstance(dataset, Dataset)
        and dataset.format["type"] is None
        and not packing
        and formatting_func is None
        and name == "train"
        and len(dataset) > 0
        and frozenset(dataset.column_names) in ROW_SHAPES
    )


Prepare = Callable[[Any, Any, Any, bool, Any, str], Any]


def prepare_dataset(
    trainer: Any,
    prepare: Prepare,
    dataset: Any,
    processing_class: Any,
    args: Any,
    packing: bool,
    formatting_func: Any,
    dataset_name: str,
) -> Any:
    """`prepare` (TRL's `_prepare_dataset`) on `dataset`, each distinct row tokenised once per
    process; sets ``trainer.dem_token_memo`` to the rows, distinct rows and rows tokenised."""

    def direct() -> Any:
        return prepare(dataset, processing_class, args, packing, formatting_func, dataset_name)

    if not _eligible(dataset, packing, formatting_func, dataset_name):
        return direct()
    scope = memo_scope(trainer, processing_class, args)
    keys = _row_keys(scope, dataset) if scope is not None else None
    if keys is None:
        return direct()
    found: dict[bytes, Prepared] = {}
    missing: dict[bytes, int] = {}  # key -> first row index
    for i, key in enumerate(keys):
        if key in found or key in missing:
            continue
        row = MEMO.get(key)
        if row is None:
            missing[key] = i
        else:
            found[key] = row
    if missing:
        found.update(_tokenise(prepare, dataset, missing, processing_class, args, dataset_name))
    trainer.dem_token_memo = {"rows": len(keys), "distinct": len(found), "tokenised": len(missing)}
    features = list({id(row.features): row.features for row in found.values()}.values())
    if any(f != features[0] for f in features):  # prepared under other column types
        return direct()
    from datasets import Dataset

    rows = [found[key] for key in keys]
    columns = {
        "input_ids": [r.input_ids.tolist() for r in rows],
        "labels": [r.labels.tolist() for r in rows],
    }
    prepared = Dataset.from_dict(columns, features=features[0])
    return prepare(prepared, processing_class, args, packing, formatting_func, dataset_name)


def _tokenise(
    prepare: Prepare,
    dataset: Any,
    missing: dict[bytes, int],
    processing_class: Any,
    args: Any,
    dataset_name: str,
) -> dict[bytes, Prepared]:
    """TRL's preparation of the `missing` rows (nothing truncated, dropped or shuffled), stored
    in the memo."""
    from datasets import Features

    whole = copy.copy(args)
    whole.max_length = None
    whole.shuffle_dataset = False
    subset = dataset.select(list(missing.values()))
    out = prepare(subset, processing_class, whole, False, None, dataset_name)
    if len(out) != len(subset):
        raise RuntimeError(f"TRL prepared {len(out)} rows of {len(subset)}")  # cannot happen
    features = Features({c: out.features[c] for c in ("input_ids", "labels")})
    done = {}
    columns = out.select_columns(["input_ids", "labels"]).to_dict()
    for key, ids, labels in zip(missing, columns["input_ids"], columns["labels"], strict=True):
        row = Prepared(array("i", ids), array("i", labels), features)
        MEMO.put(key, row)
        done[key] = row
    return done
