import pytest

from reasonrm import Comparison, Judge, SamplingParams
from reasonrm.errors import ContextLengthError

CHAT = [{"role": "user", "content": "Name three colours."}]


def test_n_samples_with_token_counts(llamacpp_engine):
    (samples,) = llamacpp_engine.generate(
        [CHAT], SamplingParams(max_tokens=24, temperature=0.9, n=3)
    )
    assert len(samples) == 3
    for s in samples:
        assert s.text.strip()
        assert 1 <= s.completion_tokens <= 24
        assert s.prompt_tokens > 5
        assert s.finish_reason in ("stop", "length")
    # n above the slot count is split into several requests
    (more,) = llamacpp_engine.generate([CHAT], SamplingParams(max_tokens=4, temperature=0.9, n=6))
    assert len(more) == 6


def test_length_finish_counts_the_budget(llamacpp_engine):
    chat = [{"role": "user", "content": "Write a long story about a dragon."}]
    (samples,) = llamacpp_engine.generate(
        [chat], SamplingParams(max_tokens=8, n=2, temperature=0.5)
    )
    assert [s.finish_reason for s in samples] == ["length", "length"]
    assert [s.completion_tokens for s in samples] == [8, 8]


def test_continuation_returns_only_the_new_text(llamacpp_engine):
    prefix = "The three primary colours are red, yellow and"
    chat = [*CHAT, {"role": "assistant", "content": prefix}]
    ((s,),) = llamacpp_engine.generate([chat], SamplingParams(max_tokens=6))
    assert not s.text.startswith(prefix)
    assert s.text.strip()


def test_grammar_constrains_the_output(llamacpp_engine):
    params = SamplingParams(
        max_tokens=20, grammar='root ::= "\\\\boxed{Assistant " ("1" | "2") "}"'
    )
    ((s,),) = llamacpp_engine.generate([CHAT], params)
    assert s.text in ("\\boxed{Assistant 1}", "\\boxed{Assistant 2}")


def test_prompt_over_context_is_a_clear_error(llamacpp_engine):
    chat = [{"role": "user", "content": "word " * 3000}]
    with pytest.raises(ContextLengthError, match="context"):
        llamacpp_engine.generate([chat], SamplingParams(max_tokens=4))


def test_real_judgment_through_llamacpp(llamacpp_engine):
    judge = Judge(llamacpp_engine, "rrm", votes=2, orders="both", max_tokens=48)
    j = judge.judge(Comparison("What is 2 + 2?", "2 + 2 = 4.", "2 + 2 = 5."))
    assert len(j.samples) == 4
    assert sum(j.votes.values()) == 4
    assert {s.order for s in j.samples} == {"AB", "BA"}
    # with forcing on, a sample cut off at the budget still carries a verdict attempt
    assert all(s.verdict.valid or s.verdict.invalid_reason for s in j.samples)
    assert j.completion_tokens == sum(s.completion_tokens for s in j.samples) > 0


def test_batched_judging_keeps_order(llamacpp_engine):
    judge = Judge(llamacpp_engine, "direct", orders="fixed")
    cs = [Comparison(f"Say the number {i}.", f"{i}", f"{i + 1}", id=str(i)) for i in range(6)]
    ids = [j.comparison_id for j in judge.judge_many(cs)]
    assert ids == [str(i) for i in range(6)]
