from __future__ import annotations

import math

import pytest

from dem.errors import DemError
from dem.models.backends import get_backend
from dem.models.backends.base import Backend, GenerationConfig
from dem.models.spec import ModelSpec

CONVERSATIONS = [
    [{"role": "user", "content": "Is the sky green?"}],
    [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": "Name a prime."},
    ],
    [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and now a much longer second question, please?"},
    ],
    [{"role": "user", "content": "x"}],
    [{"role": "user", "content": "What do you believe about the report?"}],
]
CANDIDATES = ["Yes.", "No, it is not green at all.", "maybe", "A"]


def test_is_a_backend(tiny_backend):
    assert isinstance(tiny_backend, Backend)
    assert tiny_backend.name == "transformers"


def test_cached_scores_equal_a_plain_forward_pass(tiny_backend):
    for conversation in CONVERSATIONS:
        cached = tiny_backend.score(conversation, CANDIDATES)
        for candidate, score in zip(CANDIDATES, cached, strict=True):
            plain = tiny_backend.score_uncached(conversation, candidate)
            assert score.n_tokens == plain.n_tokens
            assert score.logprob == pytest.approx(plain.logprob, abs=1e-4)
            assert all(
                a == pytest.approx(b, abs=1e-4)
                for a, b in zip(score.token_logprobs, plain.token_logprobs, strict=True)
            )


def test_score_covers_the_whole_reply_and_its_end_of_turn(tiny_backend):
    # The byte-level tokenizer makes one token per byte; the end-of-turn token is one more.
    _, reply = tiny_backend.reply_ids(CONVERSATIONS[0], "Yes.")
    assert len(reply) == len(b"Yes.") + 1
    assert reply[-1] == tiny_backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    (score,) = tiny_backend.score(CONVERSATIONS[0], ["Yes."])
    assert score.n_tokens == 5 and len(score.token_logprobs) == 5
    assert score.logprob == pytest.approx(sum(score.token_logprobs))
    assert all(lp <= 0 for lp in score.token_logprobs)
    assert score.mean_logprob == pytest.approx(score.logprob / 5)


def test_reply_ids_are_memoised_per_tokenizer_and_chat_template(tiny_backend):
    from dem.models.backends import _chat_tokens

    conversation, tok = CONVERSATIONS[0], tiny_backend.tokenizer
    first = tiny_backend.reply_ids(conversation, "Yes.")
    assert first == tiny_backend._reply_ids(conversation, "Yes.")  # what it memoises
    first[1].append(0)  # a caller's list is its own
    memo = _chat_tokens._REPLY_IDS[tok]
    size = len(memo)
    assert (
        tiny_backend.reply_ids(conversation, "Yes.")
        == tiny_backend._reply_ids(conversation, "Yes.")
        and len(memo) == size
    )
    template = tok.chat_template
    try:  # another template renders another prompt: never the first one's entry
        tok.chat_template = "{% for m in messages %}[{{ m['content'] }}]{% endfor %}"
        other = tiny_backend.reply_ids(conversation, "Yes.")
        assert other == tiny_backend._reply_ids(conversation, "Yes.") and len(memo) == size + 1
        assert other[0] != first[0]
    finally:
        tok.chat_template = template


def test_score_many_equals_score_one_at_a_time(tiny_backend):
    many = tiny_backend.score_many([(c, CANDIDATES) for c in CONVERSATIONS])
    for conversation, scores in zip(CONVERSATIONS, many, strict=True):
        single = tiny_backend.score(conversation, CANDIDATES)
        assert [s.logprob for s in scores] == pytest.approx([s.logprob for s in single], abs=1e-4)


def test_single_token_candidates_form_a_distribution(tiny_backend):
    # Every one-byte reply (+ end-of-turn): the first-token probabilities over all 256 bytes
    # sum to one, which checks that the prompt's last logits score the first reply token.
    tok = tiny_backend.tokenizer
    letters = [chr(c) for c in range(32, 127)]
    scores = tiny_backend.score(CONVERSATIONS[0], letters)
    first = [math.exp(s.token_logprobs[0]) for s in scores]
    assert 0 < sum(first) < 1
    assert len({round(p, 8) for p in first}) > 1
    assert all(s.n_tokens == 2 for s in scores)
    assert tok.padding_side == "left"


def test_score_needs_candidates(tiny_backend):
    with pytest.raises(DemError, match="candidate"):
        tiny_backend.score(CONVERSATIONS[0], [])


def test_batched_greedy_equals_one_at_a_time(tiny_backend):
    config = GenerationConfig(max_new_tokens=12, temperature=0.0)
    batched = tiny_backend.generate(CONVERSATIONS, config)
    single = [tiny_backend.generate([c], config)[0] for c in CONVERSATIONS]
    assert batched == single
    texts = [c[0].text for c in batched]
    assert len(set(texts)) > 1  # the order was restored, not a copy of one reply


def test_sampling_is_seeded(tiny_backend):
    config = GenerationConfig(max_new_tokens=10, temperature=1.0, n=3, seed=7)
    first = tiny_backend.generate(CONVERSATIONS[:3], config)
    again = tiny_backend.generate(CONVERSATIONS[:3], config)
    other = tiny_backend.generate(CONVERSATIONS[:3], GenerationConfig(10, 1.0, n=3, seed=8))
    assert first == again
    assert first != other
    assert all(len(c) == 3 for c in first)
    assert len({c.text for c in first[0]}) > 1


def test_greedy_with_n_repeats_the_one_reply(tiny_backend):
    out = tiny_backend.generate(CONVERSATIONS[:2], GenerationConfig(8, 0.0, n=2))
    assert [len(c) for c in out] == [2, 2]
    assert out[0][0] == out[0][1]
    assert out[0][0].finish_reason == "length" and out[0][0].ok


def test_generation_stops_at_an_end_of_turn_token(tiny_dir):
    from dem.models.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(ModelSpec(str(tiny_dir)))
    config = GenerationConfig(max_new_tokens=12)
    (free,) = backend.generate([CONVERSATIONS[0]], config)[0]
    stop_char = next(ch for ch in free.text[1:] if ch.isascii() and ch.isprintable())
    cut = free.text.index(stop_char)
    backend.stop_ids = [*backend.stop_ids, backend.tokenizer.convert_tokens_to_ids(stop_char)]
    (stopped,) = backend.generate([CONVERSATIONS[0]], config)[0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut]


def test_progress_bar_goes_to_stderr(tiny_dir, capsys):
    backend = get_backend("transformers", ModelSpec(str(tiny_dir)), batch_size=2, progress=True)
    backend.generate(CONVERSATIONS[:3], GenerationConfig(max_new_tokens=2))
    assert "generate" in capsys.readouterr().err


def test_adapter_changes_the_scores(tiny_dir, tiny_backend, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model

    base, _ = load_model(ModelSpec(str(tiny_dir)))
    torch.manual_seed(0)
    peft_model = get_peft_model(
        base,
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    spec = ModelSpec(str(tiny_dir)).with_adapter(tmp_path / "adapter")
    with_adapter = get_backend("transformers", spec)
    a = with_adapter.score(CONVERSATIONS[0], CANDIDATES[:2])
    b = tiny_backend.score(CONVERSATIONS[0], CANDIDATES[:2])
    assert all(abs(x.logprob - y.logprob) > 1e-3 for x, y in zip(a, b, strict=True))
    # and the adapter's cached scores still equal its plain forward pass
    plain = with_adapter.score_uncached(CONVERSATIONS[0], CANDIDATES[0])
    assert a[0].logprob == pytest.approx(plain.logprob, abs=1e-4)


def test_bad_batch_size():
    from dem.models.backends.transformers_backend import TransformersBackend

    with pytest.raises(DemError, match="batch_size"):
        TransformersBackend(ModelSpec("org/never-loaded"), batch_size=0)
