"""Probability scoring: verdict probabilities read per order and combined into p_a, the slot
prior removed, labels checked against the tokenizer, and the errors a user can meet."""

from __future__ import annotations

import math

import pytest
from fakes import ScriptedEngine

from reasonrm import Judge
from reasonrm.errors import (
    CalibrationError,
    InputError,
    LabelTokenError,
    ReasonRMError,
    ScoringUnsupportedError,
)
from reasonrm.protocols import get_protocol
from reasonrm.scoring import (
    LabelReader,
    combine,
    logit,
    read_calibration,
    sigmoid,
    slot_prior,
    write_calibration,
)
from reasonrm.types import Comparison, Judgment, NextToken

GOOD, BAD = "a good answer", "a poor answer"


def slots(chat) -> tuple[str, str]:
    user = chat[1]["content"]
    first, second = user.split("### Assistant 1")[1].split("### Assistant 2")
    return first, second


def biased_model(bias: float, signal: float = 1.0):
    """Next-token probabilities of a judge that leans to the first slot by `bias` (log-odds)
    and moves by `signal` toward the slot holding the good answer."""

    def scores(chat):
        first, second = slots(chat)
        content = signal if "good" in first else -signal if "good" in second else 0.0
        p1 = sigmoid(bias + content)
        return {"1": p1 * 0.9, "2": (1 - p1) * 0.9, "Ass": 0.1}

    return scores


def test_both_orders_cancel_a_slot_preference_that_sampling_cannot():
    c = Comparison("q?", GOOD, BAD, label="A")
    engine = ScriptedEngine(scores=biased_model(bias=2.0))
    voted = Judge(ScriptedEngine(lambda chat, p: "\\boxed{Assistant 1}"), "direct").judge(c)
    assert voted.winner is None  # the first slot wins both orders: a tie
    j = Judge(engine, "direct", score="prob").judge(c)
    # p_first: sigmoid(3) with a first, sigmoid(1) with b first; logit mean = (3 - 1) / 2
    assert j.p_a == pytest.approx(sigmoid(1.0))
    assert j.winner == "A" and j.correct
    assert [s.p_first for s in j.samples] == pytest.approx([sigmoid(3.0), sigmoid(1.0)])
    assert j.orders_agree is False  # each order alone names the first slot
    assert j.votes == {"A": 1, "B": 1, "invalid": 0}
    assert j.margin == pytest.approx(2 * sigmoid(1.0) - 1)
    # nothing was sampled: one prefill and one token per order, the answer prefix continued
    assert engine.calls == [] and len(engine.scored) == 2
    assert all(
        chat[-1] == {"role": "assistant", "content": "\\boxed{Assistant "} for chat in engine.scored
    )


def test_b_better_and_a_real_tie():
    j = Judge(ScriptedEngine(scores=biased_model(2.0)), "direct", score="prob").judge(
        Comparison("q?", BAD, GOOD, label="B")
    )
    assert j.winner == "B" and j.p_a == pytest.approx(sigmoid(-1.0))
    tie = Judge(ScriptedEngine(scores=biased_model(2.0)), "direct", score="prob").judge(
        Comparison("q?", "same", "same")
    )
    assert tie.p_a == pytest.approx(0.5) and tie.winner is None


def test_tie_band():
    engine = ScriptedEngine(scores=biased_model(0.0, signal=0.1))
    c = Comparison("q?", GOOD, BAD)
    assert Judge(engine, "direct", score="prob").judge(c).winner == "A"
    assert Judge(engine, "direct", score="prob", tie_band=0.05).judge(c).winner is None
    with pytest.raises(InputError, match="below 0.5"):
        Judge(engine, "direct", score="prob", tie_band=0.5)


def test_calibrated_removes_the_prior_where_only_one_order_is_read():
    engine = ScriptedEngine(scores=biased_model(bias=2.0))
    c = Comparison("q?", BAD, GOOD, label="B")
    fixed = dict(orders="fixed")
    assert Judge(engine, "direct", score="prob", **fixed).judge(c).winner == "A"  # the slot
    j = Judge(engine, "direct", score="calibrated", slot_prior=2.0, **fixed).judge(c)
    assert j.winner == "B" and j.p_a == pytest.approx(sigmoid(-1.0))
    with pytest.raises(InputError, match="reasonrm calibrate"):
        Judge(engine, "direct", score="calibrated")


def test_slot_prior_is_the_mean_first_slot_logodds_over_both_orders(tmp_path):
    judge = Judge(ScriptedEngine(scores=biased_model(bias=1.5)), "direct", score="prob")
    pairs = [Comparison("q?", GOOD, BAD), Comparison("q?", BAD, GOOD), Comparison("q?", "x", "y")]
    prior, n = slot_prior(judge.judge_many(pairs))
    assert n == 3 and prior == pytest.approx(1.5, abs=1e-4)
    one_order = Judge(judge.engine, "direct", score="prob", orders="fixed").judge_many(pairs)
    with pytest.raises(CalibrationError, match="both"):
        slot_prior(one_order)

    path = tmp_path / "calibration.json"
    write_calibration(path, model="m", protocol="direct", reason=False, prior=prior, pairs=n)
    assert read_calibration(path, model="m", protocol="direct", reason=False) == prior
    with pytest.raises(CalibrationError, match="model 'm', not 'other'"):
        read_calibration(path, model="other", protocol="direct", reason=False)
    with pytest.raises(CalibrationError, match="protocol 'direct', not 'rrm'"):
        read_calibration(path, model="m", protocol="rrm", reason=False)
    with pytest.raises(CalibrationError, match="reference 'none', not 'self'"):
        read_calibration(path, model="m", protocol="direct", reason=False, reference="self")
    write_calibration(
        path, model="m", protocol="direct", reason=False, prior=prior, pairs=n, reference="self"
    )
    assert read_calibration(path, model="m", protocol="direct", reason=False, reference="self")
    with pytest.raises(CalibrationError, match="reference 'self', not 'none'"):
        read_calibration(path, model="m", protocol="direct", reason=False)
    path.write_text("{}")
    with pytest.raises(CalibrationError, match="not a calibration file"):
        read_calibration(path, model="m", protocol="direct", reason=False)
    with pytest.raises(CalibrationError, match="reasonrm calibrate"):
        read_calibration(tmp_path / "none.json", model="m", protocol="direct", reason=False)


def test_reasoning_first_cuts_the_chain_at_its_verdict():
    chain = "Assistant 1 is right.\n\nTherefore, the better response is \\boxed{Assistant 1}."
    engine = ScriptedEngine(lambda chat, p: chain, scores=biased_model(0.0))
    j = Judge(engine, "rrm", score="prob", reason=True).judge(Comparison("q?", GOOD, BAD))
    assert j.winner == "A"
    expected = "Assistant 1 is right.\n\nTherefore, the better response is \\boxed{Assistant "
    assert [chat[-1]["content"] for chat in engine.scored] == [expected, expected]
    assert engine.samples_drawn == 2  # one chain per order
    assert all(s.completion_tokens == len(chain.split()) + 1 for s in j.samples)


def test_reasoning_without_a_verdict_gets_the_cue():
    p = get_protocol("rrm")
    assert p.score_prefix("I think so") == (
        "I think so\n\nTherefore, the better response is \\boxed{Assistant "
    )
    assert p.score_prefix(None) == "\\boxed{Assistant "
    distilled = get_protocol("rm-r1-distilled")
    assert distilled.score_prefix("<think>hmm") == "<think>hmm\n</think>\n\n<answer>[["
    assert distilled.score_prefix(None).endswith("</think>\n\n<answer>[[")


def test_votes_with_reasoning_average_every_chain():
    engine = ScriptedEngine(lambda chat, p: "thinking", scores=biased_model(0.5))
    j = Judge(engine, "rrm", score="prob", reason=True, votes=3).judge(Comparison("q?", GOOD, BAD))
    assert len(j.samples) == 6 and j.winner == "A"
    with pytest.raises(InputError, match="votes > 1 needs reason"):
        Judge(engine, "rrm", score="prob", votes=3)
    with pytest.raises(InputError, match="adaptive"):
        Judge(engine, "rrm", score="prob", adaptive=True)


def word_tokenizer(merge_space: bool):
    """Characters as tokens; with merge_space, ' 1' and ' 2' are single tokens."""

    def tokenize(text: str) -> list[int]:
        out, i = [], 0
        while i < len(text):
            if merge_space and text[i : i + 2] in (" 1", " 2"):
                out.append(1000 + int(text[i + 1]))
                i += 2
            else:
                out.append(ord(text[i]))
                i += 1
        return out

    return tokenize


def test_labels_follow_the_tokenizer():
    direct = get_protocol("direct")
    plain = LabelReader.for_engine(direct, word_tokenizer(merge_space=False))
    assert plain.moved == "" and plain.cut("\\boxed{Assistant ") == "\\boxed{Assistant "
    merged = LabelReader.for_engine(direct, word_tokenizer(merge_space=True))
    assert merged.moved == " " and merged.cut("\\boxed{Assistant ") == "\\boxed{Assistant"
    # the label token comes back with its space: " 1" is read as the label "1"
    assert merged.first_logodds(NextToken({" 1": math.log(0.75), " 2": math.log(0.25)}, 0, 0)) == (
        pytest.approx(math.log(3))
    )
    engine = ScriptedEngine(
        scores=lambda chat: {" 1": 0.2, " 2": 0.8}, tokenize=word_tokenizer(True)
    )
    judge = Judge(engine, "direct", score="prob")
    judge.judge(Comparison("q?", "x", "y"))
    assert engine.scored[0][-1]["content"] == "\\boxed{Assistant"


def test_labels_that_are_not_one_token_fail_at_start_up():
    def two_tokens_per_digit(text: str) -> list[int]:
        return [t for ch in text for t in ((ord(ch), 0) if ch.isdigit() else (ord(ch),))]

    engine = ScriptedEngine(scores=biased_model(0.0), tokenize=two_tokens_per_digit)
    with pytest.raises(LabelTokenError, match="not one token"):
        Judge(engine, "direct", score="prob")


def test_a_label_missing_from_the_top_tokens():
    reader = LabelReader(("1", "2"), "\\boxed{Assistant ")
    only_first = NextToken({"1": math.log(0.9), "x": math.log(0.01)}, 0, 0)
    assert reader.first_logodds(only_first) == pytest.approx(math.log(0.9 / 0.01))
    with pytest.raises(LabelTokenError, match="none of the labels"):
        reader.first_logodds(NextToken({"x": -0.1, "y": -3.0}, 0, 0))
    engine = ScriptedEngine(scores=lambda chat: {"Sure": 0.9, "I": 0.1})
    j = next(
        Judge(engine, "direct", score="prob").judge_many(
            [Comparison("q?", "x", "y")], errors="return"
        )
    )
    assert j.error and "none of the labels" in j.error and j.winner is None


def test_engines_and_protocols_without_probabilities_say_what_works():
    with pytest.raises(ScoringUnsupportedError, match="score='vote'"):
        Judge(ScriptedEngine(["x"]), "direct", score="prob").judge(Comparison("q?", "x", "y"))

    class NoLabels(type(get_protocol("rrm"))):
        name = "no-labels"
        labels = None

    with pytest.raises(ScoringUnsupportedError, match="no verdict labels"):
        Judge(ScriptedEngine(scores=biased_model(0.0)), NoLabels(), score="prob")


def test_judgment_round_trip_keeps_probabilities():
    j = Judge(ScriptedEngine(scores=biased_model(1.0)), "direct", score="prob").judge(
        Comparison("q?", GOOD, BAD, id="p1")
    )
    back = Judgment.from_dict(j.to_dict())
    assert back.p_a == pytest.approx(j.p_a, abs=1e-6)
    assert [s.p_first for s in back.samples] == pytest.approx(
        [s.p_first for s in j.samples], abs=1e-6
    )
    assert j.to_dict()["margin"] == pytest.approx(2 * j.p_a - 1, abs=1e-6)
    vote = Judgment("A", {"A": 1, "B": 0, "invalid": 0})
    assert vote.to_dict()["p_a"] is None and vote.margin is None


def test_combine_and_logit():
    assert combine([0.0, 0.0]) == 0.5
    assert combine([2.0, -1.0]) == pytest.approx(sigmoid(0.5))
    assert logit(1.0) == pytest.approx(-logit(0.0)) and math.isfinite(logit(1.0))
    assert issubclass(CalibrationError, ReasonRMError)


def test_auto_score_is_what_was_measured_best_for_the_model():
    from reasonrm.specs import JudgeSpec

    auto = JudgeSpec()
    assert auto.score == "auto"
    assert auto.resolve_score("qwen2.5-1.5b").score == "prob"
    assert auto.resolve_score("smollm2-135m").score == "vote"  # not measured as a judge
    assert auto.resolve_score(None).score == "vote"  # a served model we do not know
    assert JudgeSpec(votes=3).resolve_score("qwen2.5-1.5b").score == "vote"  # asks to sample
    assert JudgeSpec(votes=3, reason=True).resolve_score("qwen2.5-1.5b").score == "prob"
    assert JudgeSpec(adaptive=True).resolve_score("qwen2.5-1.5b").score == "vote"
    assert JudgeSpec(score="vote").resolve_score("qwen2.5-1.5b").score == "vote"

    class Embedded(ScriptedEngine):
        model = "qwen2.5-1.5b"

    judge = Judge(Embedded(scores=biased_model(2.0)), "direct")
    assert judge.spec.score == "prob"
    assert judge.judge(Comparison("q?", BAD, GOOD)).winner == "B"
    assert Judge(ScriptedEngine(["x"]), "direct").spec.score == "vote"


def rating_model(chat):
    """Rates 'good' answers 8 (mostly), the others 3 (mostly), as digit probabilities."""
    response = chat[1]["content"].split("## Response\n\n")[1]
    peak = "8" if "good" in response else "3"
    return {d: (0.8 if d == peak else 0.025) for d in "123456789"}


def test_pointwise_rates_each_response_alone_once():
    engine = ScriptedEngine(scores=rating_model)
    judge = Judge(engine, score="pointwise")
    j = judge.judge(Comparison("q?", BAD, GOOD, label="B"))
    expected_good = 8 * 0.8 + 0.025 * (45 - 8)
    expected_bad = 3 * 0.8 + 0.025 * (45 - 3)
    assert [s.rating for s in j.samples] == pytest.approx([expected_bad, expected_good])
    assert j.p_a == pytest.approx(sigmoid(expected_bad - expected_good)) and j.winner == "B"
    assert [s.order for s in j.samples] == ["AB", "BA"]  # AB: a's rating; BA: b's
    # no position: each chat shows one response, continued at the rating prefix
    assert len(engine.scored) == 2 and all(
        "## Response" in chat[1]["content"] for chat in engine.scored
    )
    assert all(chat[-1]["content"] == "Rating: " for chat in engine.scored)
    assert all(s.verdict.winner is None for s in j.samples) and j.votes["invalid"] == 0
    # a response seen before is not rated again: a round robin rates n responses once each
    judge.judge(Comparison("q?", GOOD, "another poor answer"))
    assert len(engine.scored) == 3
    assert judge.rate("q?", GOOD) == pytest.approx(expected_good) and len(engine.scored) == 3
    assert Judgment.from_dict(j.to_dict()).samples[1].rating == pytest.approx(
        expected_good, abs=1e-6
    )
    with pytest.raises(InputError, match="pointwise"):
        Judge(engine, score="pointwise", votes=3)
    with pytest.raises(InputError, match="rate\\(\\) needs"):
        Judge(engine, "direct", score="prob").rate("q?", GOOD)


def test_pointwise_digits_are_checked_against_the_tokenizer():
    def two_tokens_per_digit(text: str) -> list[int]:
        return [t for ch in text for t in ((ord(ch), 0) if ch.isdigit() else (ord(ch),))]

    with pytest.raises(LabelTokenError, match="pointwise rating"):
        Judge(ScriptedEngine(scores=rating_model, tokenize=two_tokens_per_digit), score="pointwise")
