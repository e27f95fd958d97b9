import pytest

from reasonrm import Comparison, Judge, SamplingParams
from reasonrm.errors import ContextLengthError
from reasonrm.protocols import get_protocol

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
    count = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    chat = [*count, {"role": "assistant", "content": "1, 2, 3, 4, 5,"}]
    ((s,),) = llamacpp_engine.generate([chat], SamplingParams(max_tokens=8))
    # It goes on from 5; a fresh reply or an echoed prefix would start at 1.
    assert s.text.lstrip().startswith("6"), s.text


def test_several_samples_each_continue_the_same_message(llamacpp_engine):
    """What the checks do: a program opened with a code fence, sampled several times in one
    request (one prefill); each sample goes on from the fence, none echoes it."""
    count = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    chat = [*count, {"role": "assistant", "content": "1, 2, 3, 4, 5,"}]
    params = SamplingParams(max_tokens=8, temperature=0.7, n=3, seed=1)
    ((*samples,),) = llamacpp_engine.generate([chat], params)
    assert len(samples) == 3
    assert all(s.text.lstrip().startswith("6") for s in samples), [s.text for s in samples]


def test_continuation_completes_a_forced_verdict(llamacpp_engine):
    # what verdict forcing does: the cue ends the assistant text, a grammar picks the slot
    rrm = get_protocol("rrm")
    cue = "Both are fine." + rrm.verdict_cue_for("Both are fine.")
    chat = [*CHAT, {"role": "assistant", "content": cue}]
    ((s,),) = llamacpp_engine.generate(
        [chat], SamplingParams(max_tokens=8, grammar=rrm.cue_grammar)
    )
    assert s.text in (" 1}", " 2}")  # only the new text: the cue is not echoed back
    assert rrm.parse(cue + s.text).winner == ("A" if s.text == " 1}" else "B")


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


def test_real_judgment_through_llamacpp(llamacpp_engine, judgment_checker):
    judge = Judge(llamacpp_engine, "rrm", votes=2, orders="both", max_tokens=48, verify="off")
    j = judge.judge(Comparison("What is 2 + 2?", "2 + 2 = 4.", "2 + 2 = 5."))
    assert sorted(s.order for s in j.samples) == ["AB", "AB", "BA", "BA"]
    # 48 tokens is too few for this model to reach a verdict: forcing gives each one, and
    # llama.cpp's grammar makes it valid
    assert any(s.forced for s in j.samples)
    judgment_checker(j, "rrm", grammar=True)
    assert j.completion_tokens == sum(s.completion_tokens for s in j.samples) > 0


def test_batched_judging_keeps_order(llamacpp_engine):
    judge = Judge(llamacpp_engine, "direct", orders="fixed")
    cs = [Comparison(f"Say the number {i}.", f"{i}", f"{i + 1}", id=str(i)) for i in range(6)]
    ids = [j.comparison_id for j in judge.judge_many(cs)]
    assert ids == [str(i) for i in range(6)]


def test_closing_drops_requests_not_yet_started(smollm2_path):
    """An interrupted run closes its engine: the requests the server is running finish, the
    queued ones are dropped instead of generated one after another before it can stop."""
    from reasonrm.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(smollm2_path), parallel=1, context=512, threads=2)
    params = SamplingParams(max_tokens=16)
    # the pool runs two requests at a time (parallel × 2 workers); six wait in its queue
    queued = [engine._pool.submit(engine._request, CHAT, params, 1, None) for _ in range(8)]
    engine.close()
    ran = [f for f in queued if not f.cancelled()]
    assert 1 <= len(ran) <= 2
    assert all(f.result()[0].text for f in ran)
