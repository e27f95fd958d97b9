"""The transformers engine with a tiny random model built from a config, and with SmolLM2
(its GGUF dequantized by transformers)."""

import math

import pytest

from reasonrm import Comparison, Judge, SamplingParams
from reasonrm.errors import ContextLengthError

CHAT = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, smollm2_path):
    """Training's tiny random model (SmolLM2's tokenizer and chat template), saved as a
    folder with a 512-token context, so that test_context_error can run past it."""
    from reasonrm.training.checkpoints import tiny_random_model

    model, tokenizer = tiny_random_model(seed=0)
    model.config.max_position_embeddings = 512
    folder = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_engine(tiny_checkpoint):
    from reasonrm.engines.transformers import TransformersEngine

    engine = TransformersEngine(str(tiny_checkpoint), dtype="float32", batch_size=4)
    yield engine
    engine.close()


def test_batched_generation_with_n(tiny_engine):
    chats = [CHAT, [{"role": "user", "content": "Hello there"}], CHAT]
    out = tiny_engine.generate(chats, SamplingParams(max_tokens=6, temperature=1.0, n=2, seed=1))
    assert [len(samples) for samples in out] == [2, 2, 2]
    for samples in out:
        for s in samples:
            assert 1 <= s.completion_tokens <= 6
            assert s.finish_reason in ("stop", "length")
            assert s.prompt_tokens > 3


def test_greedy_is_reproducible_and_length_is_reported(tiny_engine):
    params = SamplingParams(max_tokens=5, temperature=0.0)
    first = tiny_engine.generate([CHAT], params)[0][0]
    second = tiny_engine.generate([CHAT], params)[0][0]
    assert first.text == second.text
    if first.finish_reason == "length":
        assert first.completion_tokens == 5


def test_concurrent_calls_share_a_batch(tiny_engine):
    """Calls made together are gathered into one generate() call."""
    import asyncio

    from reasonrm.engines.base import run_sync

    calls = []
    original = tiny_engine._generate

    def spy(chats, params):
        calls.append(len(chats))
        return original(chats, params)

    tiny_engine._generate = spy
    try:

        async def many():
            params = SamplingParams(max_tokens=3)
            return await asyncio.gather(*(tiny_engine.agenerate([CHAT], params) for _ in range(4)))

        results = run_sync(many())
    finally:
        tiny_engine._generate = original
    assert len(results) == 4
    assert calls == [4]


def test_next_tokens_are_batched_by_length_and_returned_in_input_order(tiny_engine):
    from reasonrm.engines.base import run_sync

    words = [40, 2, 60, 3, 41, 1]  # mixed lengths, longest not first
    chats = [[{"role": "user", "content": "word " * n}] for n in words]
    batches = []
    original = tiny_engine._next_tokens

    def spy(part, top):
        batches.append([len(ids) for ids in part])  # token counts
        return original(part, top)

    tiny_engine._next_tokens = spy
    try:
        together = run_sync(tiny_engine.anext_tokens(chats, top=3))
    finally:
        tiny_engine._next_tokens = original
    assert batches == [sorted(b) for b in batches] and len(batches) == 2
    assert max(batches[0]) <= min(batches[1])  # the short chats together, then the long
    for chat, result in zip(chats, together, strict=True):
        (alone,) = run_sync(tiny_engine.anext_tokens([chat], top=3))
        assert result.prompt_tokens == alone.prompt_tokens
        for token, logprob in alone.logprobs.items():
            assert result.logprobs[token] == pytest.approx(logprob, abs=1e-4)


def test_context_error(tiny_engine):
    with pytest.raises(ContextLengthError, match="context"):
        tiny_engine.generate(
            [[{"role": "user", "content": "word " * 600}]], SamplingParams(max_tokens=4)
        )


def test_the_spec_names_the_device_and_auto_takes_what_torch_sees(tiny_checkpoint):
    import torch

    from reasonrm.engines import load_engine
    from reasonrm.specs import EngineSpec

    mps = getattr(torch.backends, "mps", None)
    expected = (
        "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"
    )
    engine = load_engine(EngineSpec(model=str(tiny_checkpoint), dtype="float32"))
    try:
        assert engine.device == expected
        assert next(engine.net.parameters()).device.type == expected
    finally:
        engine.close()
    engine = load_engine(EngineSpec(model=str(tiny_checkpoint), dtype="float32", device="cpu"))
    try:
        assert next(engine.net.parameters()).device.type == "cpu"
        assert engine.generate([CHAT], SamplingParams(max_tokens=3))[0][0].completion_tokens > 0
    finally:
        engine.close()


@pytest.fixture(scope="module")
def smollm2_engine(smollm2_path):
    from reasonrm.engines.transformers import TransformersEngine

    engine = TransformersEngine(str(smollm2_path))
    yield engine
    engine.close()


def test_continuation(smollm2_engine):
    # SmolLM2, not the tiny random model: only a trained model has a continuation to check
    count = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    chat = [*count, {"role": "assistant", "content": "1, 2, 3, 4, 5,"}]
    ((s,),) = smollm2_engine.generate([chat], SamplingParams(max_tokens=8))
    # It goes on from 5; a fresh reply or an echoed prefix would start at 1.
    assert s.text.lstrip().startswith("6"), s.text


def test_real_judgment_with_smollm2_gguf(smollm2_engine, judgment_checker):
    judge = Judge(smollm2_engine, "rrm", votes=1, orders="both", max_tokens=32, verify="off")
    j = judge.judge(Comparison("What is 2 + 2?", "4", "5"))
    assert j.error is None
    assert sorted(s.order for s in j.samples) == ["AB", "BA"]
    judgment_checker(j, "rrm")
    assert j.completion_tokens == sum(s.completion_tokens for s in j.samples) > 0


def test_next_token_probabilities_match_llamacpp(smollm2_engine, llamacpp_engine):
    """The same GGUF, dequantized by transformers and run by llama.cpp: the same likeliest
    tokens after the verdict prefix, with close probabilities, in batches of mixed lengths."""
    from reasonrm.engines.base import run_sync

    chats = [
        [
            {
                "role": "user",
                "content": f"{q} Answer \\boxed{{Assistant 1}} or \\boxed{{Assistant 2}}.",
            },
            {"role": "assistant", "content": "\\boxed{Assistant "},
        ]
        for q in ("Which is larger, 1 or 2?", "Pick one.")
    ]
    ours = run_sync(smollm2_engine.anext_tokens(chats, top=5))
    theirs = run_sync(llamacpp_engine.anext_tokens(chats, top=5))
    for mine, other in zip(ours, theirs, strict=True):
        assert max(mine.logprobs, key=mine.logprobs.get) == max(
            other.logprobs, key=other.logprobs.get
        )
        for token in ("1", "2"):
            assert math.exp(mine.logprobs[token]) == pytest.approx(
                math.exp(other.logprobs[token]), abs=0.05
            )
    assert ours[0].prompt_tokens > ours[1].prompt_tokens  # each chat's own length, not padded
    judge = Judge(smollm2_engine, "direct", score="prob", verify="off")
    assert judge.judge(Comparison("What is 2 + 2?", "4", "5")).p_a is not None


def test_next_token_logprobs_in_bfloat16_are_not_rounded_to_the_logits_precision(
    tmp_path, smollm2_path
):
    """Logits of 32-64 are rounded to steps of 0.25 in bfloat16: read that way, a student's
    two label log-odds came out in quarter steps, and often exactly tied. The engine redoes
    the last projection in float32: log-odds close to a float32 model's, not quantized."""
    import torch

    from reasonrm.engines.base import run_sync
    from reasonrm.engines.transformers import TransformersEngine
    from reasonrm.training.checkpoints import tiny_random_model

    model, tokenizer = tiny_random_model(seed=0)
    with torch.no_grad():  # logits of about ±50, as a trained model's
        head = model.get_output_embeddings().weight
        head.mul_(50 / model(**tokenizer("Hi", return_tensors="pt")).logits.abs().max())
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    chats = [[{"role": "user", "content": f"Pick {n}."}] for n in range(8)]

    def top_two_gaps(dtype):
        engine = TransformersEngine(str(tmp_path), dtype=dtype, batch_size=8)
        try:
            found = run_sync(engine.anext_tokens(chats, top=2))
        finally:
            engine.close()
        return [a - b for a, b in (sorted(t.logprobs.values(), reverse=True) for t in found)]

    half, full = top_two_gaps("bfloat16"), top_two_gaps("float32")
    assert max(full) > 0.2  # the gaps are not all below the rounding step
    assert not all(g == pytest.approx(round(g * 8) / 8, abs=1e-6) for g in half)
    for h, f in zip(half, full, strict=True):
        assert h == pytest.approx(f, abs=0.15)
