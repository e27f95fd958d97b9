"""Verdict probabilities from real engines: llama.cpp in process, the same model behind the
openai engine over HTTP, and the errors of a server that returns no logprobs."""

from __future__ import annotations

import math

import pytest
from fake_openai import Handler, completion, serve

from reasonrm import Comparison, Judge
from reasonrm.engines.base import run_sync
from reasonrm.engines.openai import OpenAIEngine
from reasonrm.errors import ScoringUnsupportedError
from reasonrm.protocols import get_protocol
from reasonrm.scoring import LabelReader, combine, logit

ASK = [
    {
        "role": "user",
        "content": "Which number comes after 1? Answer \\boxed{Assistant 1} or \\boxed{Assistant 2}.",
    },
    {"role": "assistant", "content": "\\boxed{Assistant "},
]


def test_llamacpp_reads_the_next_token_distribution(llamacpp_engine):
    (read,) = run_sync(llamacpp_engine.anext_tokens([ASK], top=10))
    assert len(read.logprobs) == 10
    assert all(v <= 0 for v in read.logprobs.values())
    assert 0.5 < sum(math.exp(v) for v in read.logprobs.values()) <= 1.0 + 1e-6
    assert {"1", "2"} <= set(read.logprobs)  # the digits lead after the answer prefix
    assert read.prompt_tokens > 10


def test_labels_are_checked_with_the_real_tokenizer(llamacpp_engine):
    reader = LabelReader.for_engine(get_protocol("direct"), llamacpp_engine.tokenize)
    # SmolLM2 writes the digit as its own token after a space, as Qwen does
    ids = llamacpp_engine.tokenize(reader.cut(reader.prefix))
    for label in reader.labels:
        assert (
            len(llamacpp_engine.tokenize(reader.cut(reader.prefix) + reader.moved + label))
            == len(ids) + 1
        )


def test_openai_engine_reads_the_same_probabilities_over_http(llamacpp_engine, server_url):
    (local,) = run_sync(llamacpp_engine.anext_tokens([ASK], top=5))
    engine = OpenAIEngine(server_url)
    try:
        (remote,) = run_sync(engine.anext_tokens([ASK], top=5))
    finally:
        engine.close()
    assert set(remote.logprobs) == set(local.logprobs)
    for token, value in local.logprobs.items():
        assert remote.logprobs[token] == pytest.approx(value, abs=1e-3)


def test_a_real_probability_judgment_is_consistent(llamacpp_engine):
    judge = Judge(llamacpp_engine, "direct", score="prob", verify="off")  # the reading itself
    j = judge.judge(Comparison("What is 2 + 2?", "4", "5"))
    assert [s.order for s in j.samples] == ["AB", "BA"]
    for_a = [logit(s.p_first) * (1 if s.order == "AB" else -1) for s in j.samples]
    assert j.p_a == pytest.approx(combine(for_a), abs=1e-6)
    assert j.winner == ("A" if j.p_a > 0.5 else "B")
    assert j.completion_tokens == 2  # one token read per order, nothing sampled
    # both orders were really read: with the responses swapped, the first slot holds the
    # other answer, so its probability differs
    assert j.samples[0].p_first != pytest.approx(j.samples[1].p_first, abs=1e-6)


class NoLogprobs(Handler):
    def answer(self, body):
        return 200, completion("1")


def test_a_server_without_logprobs_is_one_clear_error():
    server, url = serve(NoLogprobs)
    engine = OpenAIEngine(url, model="m")
    try:
        with pytest.raises(
            ScoringUnsupportedError, match="returned no token probabilities.*score='vote'"
        ):
            Judge(engine, "direct", score="prob").judge(Comparison("q", "x", "y"))
    finally:
        engine.close()
        server.shutdown()


def test_the_second_order_reuses_the_prompt_prefix_of_the_first(llamacpp_engine):
    long_query = "Summarize the rules of chess for a beginner. " * 20
    j = Judge(llamacpp_engine, "direct", score="prob").judge(Comparison(long_query, "x", "y"))
    first, second = j.samples
    # the system prompt and the query are evaluated once; the second order reuses them
    assert second.cached_tokens >= len(long_query.split()) > 0, (first, second)
    assert second.cached_tokens < second.prompt_tokens


def test_examples_are_shown_once_per_slot_and_then_read_from_the_cache(llamacpp_engine):
    judge = Judge(llamacpp_engine, "direct", score="prob", examples="general", verify="off")
    plain = Judge(llamacpp_engine, "direct", score="prob", verify="off")
    pairs = [Comparison(f"What is {n} + {n}?", str(2 * n), str(2 * n + 1)) for n in (3, 4)]
    # one after the other, so that each prompt can find the one before it in the cache
    shown, bare = [judge.judge(c) for c in pairs], [plain.judge(c) for c in pairs]
    for j, without in zip(shown, bare, strict=True):
        assert 0 < j.p_a < 1 and j.p_a != without.p_a
        examples_tokens = j.samples[0].prompt_tokens - without.samples[0].prompt_tokens
        assert examples_tokens > 200  # the four examples and their verdicts
    # after the first prompt, the examples come from the cache: only the pair is evaluated
    later = [*shown[0].samples[1:], *shown[1].samples]
    assert all(s.cached_tokens >= examples_tokens for s in later), later


def test_pointwise_ratings_from_a_real_model(llamacpp_engine):
    judge = Judge(llamacpp_engine, score="pointwise")
    j = judge.judge(Comparison("What is the capital of France?", "Paris.", "Berlin."))
    ratings = [s.rating for s in j.samples]
    assert all(1.0 <= r <= 9.0 for r in ratings)
    assert j.p_a == pytest.approx(1 / (1 + math.exp(ratings[1] - ratings[0])), abs=1e-9)
    assert judge.rate("What is the capital of France?", "Paris.") == pytest.approx(ratings[0])
