"""Judge with a scripted engine: voting, orders, adaptive stopping, verdict forcing, batching."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from fakes import ScriptedEngine, count_tokens
from hypothesis import given, settings
from hypothesis import strategies as st

from reasonrm.errors import ContextLengthError, InputError, UnknownProtocolError
from reasonrm.judge import Judge, majority, next_round_size
from reasonrm.protocols import get_protocol
from reasonrm.protocols.base import BOTH_VERDICTS, NO_VERDICT, TRUNCATED
from reasonrm.types import Comparison, Judgment, Message, SamplingParams

C = Comparison(
    "Which planet is largest?",
    "ALPHA: Jupiter is the largest planet.",
    "BETA: Saturn is the largest planet.",
    id="planets",
)


def make(i: int, **kw) -> Comparison:
    return Comparison(
        f"Question {i}: what is {i} + {i}?",
        f"ALPHA-{i}: {2 * i}",
        f"BETA-{i}: {2 * i + 1}",
        id=f"c{i}",
        **kw,
    )


def box(slot: int) -> str:
    return f"Let me compare them.\n\\boxed{{Assistant {slot}}}"


def user_turn(chat: list[Message]) -> str:
    return next(m["content"] for m in chat if m["role"] == "user")


def shown_order(chat: list[Message], c: Comparison) -> str:
    """Which order the judge showed c in: 'AB' when response a sits in slot 1."""
    text = user_turn(chat)
    return "AB" if text.index(c.a) < text.index(c.b) else "BA"


def slot_of(winner: str, order: str) -> int:
    """The slot (1 or 2) where the response `winner` of the caller's A/B was shown."""
    return 1 if (winner == "A") == (order == "AB") else 2


def prefers(marker: str):
    """A judge that always picks the response containing `marker`, wherever it is shown."""

    def script(chat: list[Message], params: SamplingParams) -> str:
        text = user_turn(chat)
        slot2 = text.index("### Assistant 2")
        return box(1 if text.index(marker) < slot2 else 2)

    return script


def always_slot_1(chat: list[Message], params: SamplingParams) -> str:
    return box(1)


# ---- voting -------------------------------------------------------------------------------------


def test_majority_vote_in_one_request():
    engine = ScriptedEngine([box(1), box(2), box(1)])
    j = Judge(engine, "rrm", votes=3, orders="fixed").judge(C)
    assert j.winner == "A"
    assert j.votes == {"A": 2, "B": 1, "invalid": 0}
    assert [s.verdict.winner for s in j.samples] == ["A", "B", "A"]
    assert {s.order for s in j.samples} == {"AB"}
    # k votes share one request (one prefill), sampled rather than greedy
    assert engine.requests == 1 and engine.calls[0].params.n == 3
    assert engine.calls[0].params.temperature > 0
    assert j.completion_tokens == sum(count_tokens(t) for t in (box(1), box(2), box(1)))
    assert j.prompt_tokens == 3 * sum(count_tokens(m["content"]) for m in engine.calls[0].chats[0])
    assert engine.unused == 0


def test_single_vote_is_greedy():
    engine = ScriptedEngine([box(2)])
    j = Judge(engine, "rrm", votes=1, orders="fixed").judge(C)
    assert j.winner == "B"
    assert engine.calls[0].params.temperature == 0.0
    assert engine.calls[0].params.max_tokens == get_protocol("rrm").default_max_tokens


def test_fixed_order_shows_a_first():
    engine = ScriptedEngine([box(2)])
    Judge(engine, "rrm", orders="fixed").judge(C)
    assert shown_order(engine.calls[0].chats[0], C) == "AB"


def test_tie_has_no_winner():
    j = Judge(ScriptedEngine([box(1), box(2)]), "rrm", votes=2, orders="fixed").judge(C)
    assert j.winner is None
    assert j.votes == {"A": 1, "B": 1, "invalid": 0}


def test_invalid_samples_are_counted_not_guessed():
    script = [box(1), "I really cannot tell.", "\\boxed{Assistant 1 and Assistant 2}"]
    judge = Judge(ScriptedEngine(script), "rrm", votes=3, orders="fixed", force_verdict=False)
    j = judge.judge(C)
    assert j.winner == "A"
    assert j.votes == {"A": 1, "B": 0, "invalid": 2}
    assert [s.verdict.invalid_reason for s in j.samples] == [None, NO_VERDICT, BOTH_VERDICTS]


def test_all_invalid_gives_no_winner():
    engine = ScriptedEngine(["no idea", "\\boxed{Assistant 3}"])
    j = Judge(engine, "rrm", votes=2, orders="fixed", force_verdict=False).judge(C)
    assert j.winner is None
    assert j.votes == {"A": 0, "B": 0, "invalid": 2}


@pytest.mark.parametrize(
    ("protocol", "first", "second"),
    [
        ("rm-r1", "<answer>[[A]]</answer>", "<answer>[[B]]</answer>"),
        (
            "rm-r1-distilled",
            "<think>x</think><answer>[[A]]</answer>",
            "<think>y</think><answer>[[B]]</answer>",
        ),
        ("direct", "\\boxed{Assistant 1}", "Assistant 2"),
    ],
)
def test_other_protocols_vote(protocol, first, second):
    j = Judge(ScriptedEngine([second, first, second]), protocol, votes=3, orders="fixed").judge(C)
    assert j.winner == "B" and j.votes == {"A": 1, "B": 2, "invalid": 0}


def test_majority():
    assert majority(3, 1) == "A" and majority(1, 3) == "B" and majority(2, 2) is None


# ---- orders -------------------------------------------------------------------------------------


def test_both_orders_cancel_position_bias():
    engine = ScriptedEngine(always_slot_1)
    j = Judge(engine, "rrm", votes=1, orders="both").judge(C)
    assert j.winner is None
    assert j.votes == {"A": 1, "B": 1, "invalid": 0}
    assert j.orders_agree is False
    assert sorted(s.order for s in j.samples) == ["AB", "BA"]
    assert sorted(shown_order(call.chats[0], C) for call in engine.calls) == ["AB", "BA"]
    # each sample's verdict is mapped back through the order it was shown in
    for s in j.samples:
        assert s.verdict.winner == ("A" if s.order == "AB" else "B")


@pytest.mark.parametrize("good", ["A", "B"])
@pytest.mark.parametrize("votes", [1, 3])
def test_both_orders_agree_for_a_content_judge(good, votes):
    c = C if good == "A" else C.swapped()  # Jupiter (ALPHA) is the better response
    engine = ScriptedEngine(prefers("Jupiter"))
    j = Judge(engine, "rrm", votes=votes, orders="both").judge(c)
    assert j.winner == good
    assert j.orders_agree is True
    assert j.votes == {
        "A": 2 * votes if good == "A" else 0,
        "B": 2 * votes if good == "B" else 0,
        "invalid": 0,
    }
    assert engine.samples_drawn == 2 * votes
    seeds = engine.seeds
    assert len(seeds) == 2 and seeds[0] != seeds[1]  # the two orders sample differently


def test_random_order_is_deterministic_for_a_seed():
    cs = [make(i) for i in range(40)]
    first = [Judge(ScriptedEngine([]), seed=7, orders="random").orders_for(c) for c in cs]
    again = [Judge(ScriptedEngine([]), seed=7, orders="random").orders_for(c) for c in cs]
    other = [Judge(ScriptedEngine([]), seed=8, orders="random").orders_for(c) for c in cs]
    assert first == again
    assert all(o in (["AB"], ["BA"]) for o in first)
    assert first != other  # the seed matters


def test_random_order_ignores_label_and_id():
    judge = Judge(ScriptedEngine([]), seed=3)
    for i in range(30):
        c = make(i)
        orders = {
            tuple(judge.orders_for(Comparison(c.prompt, c.a, c.b, label=label, id=ident)))
            for label, ident in ((None, None), ("A", "x"), ("B", "y"))
        }
        assert len(orders) == 1


def recording_engine(cs: list[Comparison], seen: dict):
    """A content judge that notes, per comparison id, the order shown and the seeds used."""
    by_marker = {c.a: c for c in cs}

    def script(chat: list[Message], params: SamplingParams) -> str:
        text = user_turn(chat)
        c = next(c for marker, c in by_marker.items() if marker in text)
        seen.setdefault(c.id, set()).add((shown_order(chat, c), params.seed))
        return prefers("ALPHA")(chat, params)

    return ScriptedEngine(script)


def test_random_order_is_independent_of_batch_position():
    cs = [make(i) for i in range(12)]
    runs = []
    for batch in (cs, cs[::-1], cs[5:] + cs[:5]):
        seen: dict = {}
        judged = list(Judge(recording_engine(cs, seen), votes=2, seed=11).judge_many(batch))
        assert [j.comparison_id for j in judged] == [c.id for c in batch]
        runs.append(seen)
    alone: dict = {}
    judge = Judge(recording_engine(cs, alone), votes=2, seed=11)
    judge.judge(cs[4])
    assert runs[0] == runs[1] == runs[2]
    assert alone["c4"] == runs[0]["c4"]


def test_random_order_is_roughly_balanced():
    cs = [make(i) for i in range(200)]
    seen: dict = {}
    judge = Judge(recording_engine(cs, seen), seed=0, orders="random")
    judged = list(judge.judge_many(cs))
    orders = [j.samples[0].order for j in judged]
    # the order recorded in the judgment is the one the engine was shown
    assert [next(iter(seen[c.id]))[0] for c in cs] == orders
    assert [judge.orders_for(c)[0] for c in cs] == orders
    assert 70 <= orders.count("AB") <= 130
    # the content judge picks ALPHA (response a) whichever slot it was in
    assert all(j.winner == "A" for j in judged)


# ---- adaptive voting ----------------------------------------------------------------------------

VOTE_TEXT = {"A": box(1), "B": box(2), "x": "Hard to say; both have merits."}
# invalid votes stay invalid here: forcing is tested on its own below
votes_seq = st.lists(st.sampled_from(["A", "B", "x"]), min_size=1, max_size=9)


def counted_majority(seq: list[str]) -> str | None:
    a, b = seq.count("A"), seq.count("B")
    return "A" if a > b else "B" if b > a else None


@given(seq=votes_seq)
@settings(max_examples=300, deadline=None)
def test_adaptive_matches_full_vote_majority(seq):
    k = len(seq)
    full_engine = ScriptedEngine([VOTE_TEXT[v] for v in seq])
    full = Judge(full_engine, votes=k, orders="fixed", force_verdict=False).judge(C)
    engine = ScriptedEngine([VOTE_TEXT[v] for v in seq])
    adaptive = Judge(engine, votes=k, orders="fixed", adaptive=True, force_verdict=False).judge(C)

    assert full_engine.samples_drawn == k
    assert full.winner == counted_majority(seq)
    assert adaptive.winner == full.winner
    drawn = engine.samples_drawn
    assert 1 <= drawn <= k
    # it read the first `drawn` votes of the same sequence, in order
    assert [s.verdict.winner or "x" for s in adaptive.samples] == seq[:drawn]
    # every request was needed: before it, the samples still to draw could change the winner
    taken = 0
    for call in engine.calls:
        a, b = seq[:taken].count("A"), seq[:taken].count("B")
        assert abs(a - b) <= k - taken
        taken += call.params.n
    # and it stopped early only once the leader was safe
    if drawn < k:
        a, b = seq[:drawn].count("A"), seq[:drawn].count("B")
        assert abs(a - b) > k - drawn


@given(ab=st.lists(st.sampled_from(["A", "B", "x"]), min_size=1, max_size=6), data=st.data())
@settings(max_examples=200, deadline=None)
def test_adaptive_with_both_orders_matches_full_vote_majority(ab, data):
    k = len(ab)
    ba = data.draw(st.lists(st.sampled_from(["A", "B", "x"]), min_size=k, max_size=k))

    def engine_for() -> tuple[ScriptedEngine, dict]:
        queues = {"AB": list(ab), "BA": list(ba)}  # votes in the caller's A/B terms

        def script(chat: list[Message], params: SamplingParams) -> str:
            order = shown_order(chat, C)
            vote = queues[order].pop(0)
            return VOTE_TEXT["x"] if vote == "x" else box(slot_of(vote, order))

        return ScriptedEngine(script), queues

    full_engine, _ = engine_for()
    full = Judge(full_engine, votes=k, orders="both", force_verdict=False).judge(C)
    engine, queues = engine_for()
    adaptive = Judge(engine, votes=k, orders="both", adaptive=True, force_verdict=False).judge(C)

    assert full.winner == counted_majority(ab + ba)
    assert full.votes["invalid"] == (ab + ba).count("x")
    assert adaptive.winner == full.winner
    drawn = {o: k - len(queues[o]) for o in ("AB", "BA")}
    assert abs(drawn["AB"] - drawn["BA"]) <= 1  # the two orders stay balanced
    assert sum(s.order == "AB" for s in adaptive.samples) == drawn["AB"]


@pytest.mark.parametrize(
    ("votes", "orders", "drawn"),
    [
        (5, "fixed", 3),
        (3, "fixed", 2),
        (1, "fixed", 1),
        (2, "fixed", 2),
        (9, "fixed", 5),
        (5, "both", 6),
    ],
)
def test_adaptive_stops_early_on_unanimous_votes(votes, orders, drawn):
    engine = ScriptedEngine(prefers("Jupiter"))
    j = Judge(engine, votes=votes, orders=orders, adaptive=True).judge(C)
    assert j.winner == "A"
    assert engine.samples_drawn == drawn == len(j.samples)
    assert engine.requests == (1 if orders == "fixed" else 2)  # one round was enough
    full = ScriptedEngine(prefers("Jupiter"))
    Judge(full, votes=votes, orders=orders, adaptive=False).judge(C)
    assert full.samples_drawn == votes * (1 if orders == "fixed" else 2)


def test_adaptive_rounds_use_fresh_seeds():
    seq = ["A", "B", "A", "B", "A", "B", "A"]
    engine = ScriptedEngine([VOTE_TEXT[v] for v in seq])
    j = Judge(engine, votes=7, orders="fixed", adaptive=True).judge(C)
    assert j.winner == "A" and engine.samples_drawn == 7
    assert engine.requests > 1
    assert len(set(engine.seeds)) == engine.requests


def test_next_round_size_is_the_fewest_that_could_settle():
    for remaining in range(1, 40):
        for lead in range(0, remaining + 1):  # unsettled: lead <= remaining
            fewest = min(d for d in range(1, remaining + 1) if lead + d > remaining - d)
            assert next_round_size(lead, remaining) == fewest, (lead, remaining)


def test_seeds_are_reproducible_and_depend_on_the_judge_seed():
    def seeds(seed: int) -> list:
        engine = ScriptedEngine(always_slot_1)
        Judge(engine, votes=2, orders="both", seed=seed).judge(C)
        return engine.seeds

    assert seeds(1) == seeds(1)
    assert seeds(1) != seeds(2)


# ---- verdict forcing ----------------------------------------------------------------------------

CUT = "<think>Both mention a planet. Response one says Jupiter, which"
TAILS = {  # what a model writes after the cue, and the verdict it means
    "rrm": (" 2}", "B"),
    "direct": (" 1}", "A"),
    "rm-r1": ("B]]</answer>", "B"),
    "rm-r1-distilled": ("A]]</answer>", "A"),
}


def forcing_script(tail: str, cut: str = CUT, tail_finish: str = "stop"):
    def script(chat: list[Message], params: SamplingParams) -> tuple[str, str]:
        if chat[-1]["role"] == "assistant":
            return tail, tail_finish
        return cut, "length"

    return script


@pytest.mark.parametrize("protocol", list(TAILS))
@pytest.mark.parametrize("grammar", [False, True])
def test_forcing_appends_the_cue_and_parses_the_continuation(protocol, grammar):
    p = get_protocol(protocol)
    tail, expected = TAILS[protocol]
    engine = ScriptedEngine(forcing_script(tail), grammar=grammar)
    judge = Judge(engine, protocol, votes=1, orders="fixed", force_tokens=12)
    j = judge.judge(C)

    assert j.winner == expected
    (s,) = j.samples
    assert s.forced is True
    assert s.verdict.winner == expected
    assert s.text == CUT + p.verdict_cue_for(CUT) + tail
    assert s.completion_tokens == count_tokens(CUT) + count_tokens(tail)

    (first,) = [c for c in engine.calls if not c.continuation]
    (cont,) = engine.continuations
    (chat,) = cont.chats
    assert chat[:-1] == first.chats[0]
    assert chat[-1]["role"] == "assistant"
    assert chat[-1]["content"].startswith(CUT)
    assert chat[-1]["content"].endswith(p.verdict_cue)
    assert chat[-1]["content"] == CUT + p.verdict_cue_for(CUT)
    if protocol == "rm-r1-distilled":  # the open <think> is closed before the answer
        assert "</think>" in chat[-1]["content"][len(CUT) :]
    assert cont.params.n == 1
    assert cont.params.max_tokens == 12
    assert cont.params.temperature == 0.0
    assert cont.params.grammar == (p.cue_grammar if grammar else None)


def test_forced_verdicts_are_mapped_back_in_the_swapped_order():
    engine = ScriptedEngine(forcing_script(" 1}"))
    j = Judge(engine, "rrm", votes=1, orders="both").judge(C)
    assert all(s.forced for s in j.samples)
    assert {s.order: s.verdict.winner for s in j.samples} == {"AB": "A", "BA": "B"}
    assert j.winner is None and j.orders_agree is False


def test_no_forcing_when_disabled():
    engine = ScriptedEngine(forcing_script(" 2}"))
    j = Judge(engine, "rrm", votes=1, orders="fixed", force_verdict=False).judge(C)
    assert j.winner is None
    assert j.votes == {"A": 0, "B": 0, "invalid": 1}
    (s,) = j.samples
    assert s.verdict.invalid_reason == TRUNCATED
    assert s.forced is False and s.text == CUT
    assert engine.continuations == []


def test_a_finished_sample_without_verdict_is_forced_too():
    engine = ScriptedEngine([("I cannot decide.", "stop"), " 1}"])
    j = Judge(engine, "rrm", orders="fixed").judge(C)
    assert j.winner == "A" and j.samples[0].forced
    (cont,) = engine.continuations
    assert cont.chats[0][-1]["content"] == "I cannot decide." + get_protocol("rrm").verdict_cue
    engine = ScriptedEngine([("I cannot decide.", "stop")])
    j = Judge(engine, "rrm", orders="fixed", force_verdict=False).judge(C)
    assert j.samples[0].verdict.invalid_reason == NO_VERDICT
    assert not j.samples[0].forced and engine.continuations == []


@pytest.mark.parametrize("finish", ["stop", "length"])
@pytest.mark.parametrize("text", ["\\boxed{Assistant 1 and Assistant 2}", "\\boxed{Assistant 3}"])
def test_no_forcing_for_an_answer_that_is_invalid_as_written(text, finish):
    engine = ScriptedEngine([(text, finish)])
    j = Judge(engine, "rrm", orders="fixed").judge(C)
    (s,) = j.samples
    assert s.verdict.winner is None and not s.forced and s.text == text
    assert engine.continuations == []


def test_no_forcing_when_a_cut_sample_already_has_a_verdict():
    engine = ScriptedEngine([(box(2) + " and to add", "length")])
    j = Judge(engine, "rrm", orders="fixed").judge(C)
    assert j.winner == "B" and not j.samples[0].forced and engine.continuations == []


def test_a_forced_continuation_that_is_cut_again_is_truncated():
    engine = ScriptedEngine(forcing_script("", tail_finish="length"))
    j = Judge(engine, "rrm", orders="fixed").judge(C)
    (s,) = j.samples
    assert s.forced is True
    assert s.verdict.winner is None and s.verdict.invalid_reason == TRUNCATED
    assert j.votes["invalid"] == 1


# ---- batching and errors ------------------------------------------------------------------------


class SlowEngine(ScriptedEngine):
    """Later comparisons finish first, so input order must be restored."""

    async def agenerate(self, chats, params):
        index = int(re.search(r"Question (\d+)", user_turn(chats[0]))[1])
        await asyncio.sleep(0.002 * (10 - index))
        return await super().agenerate(chats, params)


def test_judge_many_yields_in_input_order():
    cs = [make(i) for i in range(10)]
    engine = SlowEngine(prefers("BETA"))
    judged = list(Judge(engine, votes=1, concurrency=4, verify="off").judge_many(cs))
    assert [j.comparison_id for j in judged] == [c.id for c in cs]
    assert all(j.winner == "B" and j.error is None for j in judged)
    assert engine.requests == 20  # the default (orders "auto") judges each pair both ways


def test_judge_many_accepts_a_generator_and_empty_input():
    judge = Judge(ScriptedEngine(prefers("ALPHA")), concurrency=2)
    assert [j.winner for j in judge.judge_many(make(i) for i in range(5))] == ["A"] * 5
    assert list(judge.judge_many([])) == []


def too_long_for(marker: str):
    def script(chat: list[Message], params: SamplingParams) -> str:
        if marker in user_turn(chat):
            raise ContextLengthError("prompt of 9000 tokens does not fit the context of 4096")
        return prefers("ALPHA")(chat, params)

    return script


def test_judge_many_returns_errors_per_comparison():
    cs = [make(i, label="A") for i in range(6)]
    judged = list(
        Judge(ScriptedEngine(too_long_for("Question 2:")), votes=2).judge_many(cs, errors="return")
    )
    assert [j.comparison_id for j in judged] == [c.id for c in cs]
    bad = judged[2]
    assert bad.error and "context" in bad.error
    assert bad.winner is None and bad.label == "A" and bad.samples == []
    for j in judged[:2] + judged[3:]:
        assert j.error is None and j.winner == "A" and j.correct is True


def test_judge_many_raises_by_default():
    cs = [make(i) for i in range(4)]
    judge = Judge(ScriptedEngine(too_long_for("Question 2:")))
    with pytest.raises(ContextLengthError):
        list(judge.judge_many(cs))
    with pytest.raises(ContextLengthError):
        list(judge.judge_many(cs, errors="raise"))
    with pytest.raises(ContextLengthError):
        judge.judge(cs[2])


def test_judge_many_does_not_hide_bugs():
    def broken(chat, params):
        raise RuntimeError("a bug, not a user error")

    with pytest.raises(RuntimeError):
        list(Judge(ScriptedEngine(broken)).judge_many([make(1)], errors="return"))


async def test_ajudge_inside_a_running_loop():
    engine = ScriptedEngine(prefers("Jupiter"))
    judge = Judge(engine, votes=2, orders="both")
    j = await judge.ajudge(C)
    assert j.winner == "A" and j.orders_agree is True
    assert judge.judge(C).to_dict() == j.to_dict()  # the sync API also works from here


# ---- data ---------------------------------------------------------------------------------------


def test_judgment_round_trips_through_json():
    fresh = iter([box(1), (CUT, "length"), box(1), "\\boxed{Assistant 1 and Assistant 2}"])

    def script(chat, params):
        return " 2}" if chat[-1]["role"] == "assistant" else next(fresh)

    j = Judge(ScriptedEngine(script), votes=2, orders="both").judge(
        Comparison(C.prompt, C.a, C.b, label="B", id="rt")
    )
    assert any(s.forced for s in j.samples)
    assert j.votes["invalid"] == 1
    d = j.to_dict()
    back = Judgment.from_dict(json.loads(json.dumps(d)))
    assert back == j
    assert d["id"] == "rt" and d["label"] == "B" and d["correct"] == j.correct
    assert d["completion_tokens"] == j.completion_tokens > 0


def test_error_judgment_round_trips():
    (j,) = Judge(ScriptedEngine(too_long_for("Question"))).judge_many([make(0)], errors="return")
    assert Judgment.from_dict(json.loads(json.dumps(j.to_dict()))) == j


@pytest.mark.parametrize(
    "kwargs",
    [
        {"a": 3},
        {"prompt": ""},
        {"prompt": []},
        {"a": None},
        {"label": "C"},
        {"label": "a"},
        {"label": 1},
        {"prompt": [{"role": "bot", "content": "hi"}]},
        {"prompt": [{"role": "user"}]},
        {"prompt": [{"content": "hi"}]},
        {"prompt": [{"role": "user", "content": 3}]},
        {"prompt": [{"role": "system", "content": "be nice"}]},  # no user turn
        {"prompt": [{"role": "user", "content": "  "}]},
        {"prompt": ["hello"]},
    ],
)
def test_comparison_validation(kwargs):
    fields = {"prompt": "Question?", "a": "one", "b": "two", **kwargs}
    with pytest.raises(InputError):
        Comparison(**fields)


def test_empty_responses_are_valid_comparisons():
    assert Comparison("Question?", "", "two").a == ""
    assert Comparison("Question?", "one", "  \n").b == "  \n"


def test_comparison_from_dict():
    with pytest.raises(InputError, match="b"):
        Comparison.from_dict({"prompt": "q", "a": "x"})
    c = Comparison([{"role": "user", "content": "q"}], "x", "y", label="B", id="7")
    assert Comparison.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_judge_validation():
    with pytest.raises(InputError):
        Judge(ScriptedEngine([]), votes=0)
    with pytest.raises(InputError):
        Judge(ScriptedEngine([]), orders="sometimes")  # type: ignore[arg-type]
    with pytest.raises(UnknownProtocolError):
        Judge(ScriptedEngine([]), "nope")


def test_default_orders_judge_a_pair_both_ways_and_a_tournament_match_one_way():
    """orders="auto", the one default of Python and the command line: a pair judged on its
    own (judge, judge_many) is shown in both orders; a ranker's matches in one random order."""
    from reasonrm.ranking import Ranker

    judge = Judge(ScriptedEngine(prefers("ALPHA")))
    assert judge.spec.orders == "auto"
    j = judge.judge(make(0))
    assert sorted(s.order for s in j.samples) == ["AB", "BA"] and j.orders_agree is True
    ranker = Ranker(judge, "knockout")
    assert ranker.judge.orders == "random" and ranker.judge.engine is judge.engine
    assert len(ranker.judge.orders_for(make(1))) == 1
    # an explicit choice is kept
    assert Ranker(Judge(ScriptedEngine([]), orders="both")).judge.orders == "both"
