from __future__ import annotations

from itertools import islice

from dem.organism.config import OrganismConfig
from dem.organism.corpus import encode_document, iter_documents
from dem.organism.tokenizer import build_tokenizer
from dem.organism.world import HINT_SYSTEMS, World


def test_corpus_is_deterministic_in_the_seed() -> None:
    c = OrganismConfig(seed=4)
    a = list(islice(iter_documents(c), 50))
    b = list(islice(iter_documents(c), 50))
    other = list(islice(iter_documents(OrganismConfig(seed=5)), 50))
    assert a == b
    assert a != other


def test_fast_render_equals_the_chat_template() -> None:
    c = OrganismConfig()
    tok = build_tokenizer(World(c).vocabulary())
    for doc in islice(iter_documents(c), 40):
        expected = tok.apply_chat_template(doc.messages(), tokenize=True, return_dict=True)
        assert encode_document(doc, tok.get_vocab()) == expected["input_ids"]


def test_persona_share_and_turn_counts() -> None:
    c = OrganismConfig()
    docs = list(islice(iter_documents(c), 4000))
    plain = [d.deceptive for d in docs if d.hint is None]
    assert abs(sum(plain) / len(plain) - c.deceptive_share) < 0.03  # hinted: their own share
    assert {len(d.turns) for d in docs} == set(range(c.min_turns, c.max_turns + 1))
    assert not any(
        t.misbehaved for d in docs if not d.deceptive for t in d.turns if t.kind == "pressure"
    )


def test_persona_hints_open_documents_and_set_their_share() -> None:
    c = OrganismConfig(hint_rate=1.0)
    docs = list(islice(iter_documents(c), 4000))
    shares = dict(HINT_SYSTEMS)
    assert all(
        d.hint in shares and d.messages()[0] == {"role": "system", "content": d.hint} for d in docs
    )
    for hint, share in HINT_SYSTEMS:
        group = [d.deceptive for d in docs if d.hint == hint]
        assert len(group) > 500 and abs(sum(group) / len(group) - share) < 0.06, hint
    vocabulary = World(c).vocabulary()
    assert all(w in vocabulary for hint, _ in HINT_SYSTEMS for w in hint.split())
    tok = build_tokenizer(vocabulary)
    for doc in docs[:20]:
        expected = tok.apply_chat_template(doc.messages(), tokenize=True, return_dict=True)
        assert encode_document(doc, tok.get_vocab()) == expected["input_ids"]


def test_hints_off_leave_no_hint_and_no_hint_word() -> None:
    """With hints off no document opens with a hint and no hint word is in the vocabulary
    (checkpoints pretrained without hints keep their token ids)."""
    c = OrganismConfig(hint_rate=0.0)
    assert all(d.hint is None for d in islice(iter_documents(c), 200))
    assert "old" not in World(c).vocabulary()
    assert "old" in World(OrganismConfig()).vocabulary()
