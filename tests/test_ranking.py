"""Tournaments with a scripted judge: knockout and round robin, ratings, rewards, bad input."""

from __future__ import annotations

import asyncio
import json
import math
import random

import pytest
from fakes import ScriptedEngine, quality_judge
from hypothesis import given, settings
from hypothesis import strategies as st

from reasonrm.errors import ContextLengthError, InputError
from reasonrm.judge import Judge
from reasonrm.ranking import (
    BY_EMPTY,
    BY_IDENTICAL,
    BY_JUDGE,
    BY_SEED,
    ELO_BASE,
    Match,
    Ranker,
    bradley_terry,
    rank,
    sequential_elo,
)

PROMPT = "Write a short poem about the sea."


def responses(qualities: list[int]) -> list[str]:
    return [f"response {k} with q={q}" for k, q in enumerate(qualities)]


def judge_of(engine=None, **kw) -> Judge:
    return Judge(engine or ScriptedEngine(quality_judge), "rrm", **kw)


class InFlight(ScriptedEngine):
    """Counts requests running at once (each yields to the loop before answering)."""

    def __init__(self, script) -> None:
        super().__init__(script)
        self.now = 0
        self.most = 0

    async def agenerate(self, chats, params):
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        return await super().agenerate(chats, params)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 11), seed=st.integers(0, 1000))
def test_knockout_plays_n_minus_1_matches_in_log2_rounds_and_finds_the_best(n, seed):
    qualities = random.Random(seed).sample(range(100), n)
    r = rank(judge_of(), PROMPT, responses(qualities), "knockout", seed=seed)
    assert len(r.matches) == n - 1 == r.judge_calls
    assert r.rounds == math.ceil(math.log2(n))
    assert {m.round for m in r.matches} == set(range(1, r.rounds + 1))
    assert r.best == qualities.index(max(qualities))
    losers = [m.b if m.winner == m.a else m.a for m in r.matches]
    assert len(set(losers)) == n - 1 and r.best not in losers  # everyone else lost once
    assert sorted(r.ranking) == list(range(n))
    assert r.scores[r.best] == r.rounds
    assert [r.scores[i] for i in r.ranking] == sorted(r.scores, reverse=True)


def test_knockout_byes_go_to_different_responses():
    # 7 players: rounds of 3 matches + bye, 2 matches, 1 match; 5: 2 + bye, 1 + bye, 1
    for n in (5, 7, 11):
        r = rank(judge_of(), PROMPT, responses(list(range(n))), "knockout", seed=3)
        byes, alive = [], set(range(n))
        for round_no in range(1, r.rounds + 1):
            this = [m for m in r.matches if m.round == round_no]
            bye = alive - {p for m in this for p in (m.a, m.b)}
            assert len(bye) == len(alive) % 2
            byes.extend(bye)
            alive = {m.winner for m in this} | bye
        assert len(byes) == len(set(byes)), byes


def test_a_knockout_round_is_judged_as_one_batch():
    engine = InFlight(quality_judge)
    rank(judge_of(engine), PROMPT, responses([5, 1, 7, 3, 8, 2, 6, 4]), "knockout")
    assert engine.most == 4  # round one: four matches at once


def test_elo_judges_every_pair_at_once_and_orders_by_quality():
    engine = InFlight(quality_judge)
    qualities = [30, 10, 50, 20, 40]
    r = rank(judge_of(engine), PROMPT, responses(qualities), "elo")
    assert len(r.matches) == 10 and engine.most == 10
    assert {(m.a, m.b) for m in r.matches} == {(i, j) for i in range(5) for j in range(i + 1, 5)}
    assert r.ranking == sorted(range(5), key=lambda i: -qualities[i])
    assert r.rating == "bt" and r.scores == r.ratings["bt"]
    ordered = [r.scores[i] for i in r.ranking]
    assert all(x > y for x, y in zip(ordered, ordered[1:], strict=False))
    assert sum(r.scores) / 5 == pytest.approx(ELO_BASE)


def test_votes_and_both_orders_apply_to_every_match():
    judge = judge_of(votes=3, orders="both")
    r = rank(judge, PROMPT, responses([1, 2, 3, 4]), "knockout")
    assert r.samples == 3 * 3 * 2
    assert all(len(m.judgment.samples) == 6 and m.judgment.orders_agree for m in r.matches)
    assert r.completion_tokens == sum(m.judgment.completion_tokens for m in r.matches) > 0


def test_rank_on_an_engine_takes_votes_and_orders():
    r = rank(
        ScriptedEngine(quality_judge), PROMPT, responses([1, 4, 2]), "elo", votes=3, orders="both"
    )
    assert r.best == 1 and r.judge_calls == 3
    assert all(len(m.judgment.samples) == 6 for m in r.matches)
    # a Judge carries its own votes and orders: a conflicting request is refused, not ignored
    with pytest.raises(InputError, match="belong to the judge"):
        rank(judge_of(votes=1), PROMPT, responses([1, 2]), votes=3)
    assert rank(judge_of(votes=3), PROMPT, responses([1, 2]), votes=3).samples == 3


def test_a_ranker_works_across_event_loops_and_one_response_has_ratings():
    ranker = Ranker(judge_of(), "elo", rating="elo")
    for _ in range(2):  # each asyncio.run is a new loop
        assert asyncio.run(ranker.arank(PROMPT, responses([1, 3, 2]))).best == 1
    assert ranker.rank(PROMPT, responses([2, 1])).best == 0
    alone = ranker.rank(PROMPT, ["q=1"])
    assert alone.ranking == [0] and alone.rating == "elo" and alone.ratings["bt"] == [ELO_BASE]
    with pytest.raises(InputError, match="votes must be at least 1"):
        rank(ScriptedEngine(quality_judge), PROMPT, responses([1, 2]), votes=0)


def test_a_judge_tie_is_broken_by_the_seed_in_a_knockout_and_drawn_in_elo():
    # equal quality, different text: the first-slot-biased judge disagrees across orders
    texts = ["first answer q=5", "second answer q=5"]
    winners = set()
    for seed in range(12):
        r = rank(judge_of(orders="both"), PROMPT, texts, "knockout", seed=seed)
        (m,) = r.matches
        assert m.decided_by == BY_SEED and m.judgment.winner is None
        again = rank(judge_of(orders="both"), PROMPT, texts, "knockout", seed=seed)
        assert again.ranking == r.ranking
        winners.add(r.best)
    assert winners == {0, 1}  # the coin is not stuck on one side
    e = rank(judge_of(orders="both"), PROMPT, texts, "elo")
    assert e.matches[0].winner is None and e.scores[0] == pytest.approx(e.scores[1])
    assert e.ranking == [0, 1]


def test_a_single_response_ranks_itself_first_without_the_judge():
    engine = ScriptedEngine(quality_judge)
    for method in ("knockout", "elo"):
        r = rank(judge_of(engine), PROMPT, ["only q=1"], method)
        assert r.ranking == [0] and r.matches == [] and r.rewards == [1.0]
    assert engine.requests == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "at least one"),
        ("just a string", "list of strings"),
        (["ok q=1", 7], r"responses\[1\] must be a string"),
    ],
)
def test_bad_responses_are_refused_before_judging(bad, message):
    engine = ScriptedEngine(quality_judge)
    with pytest.raises(InputError, match=message):
        rank(judge_of(engine), PROMPT, bad)
    with pytest.raises(InputError, match="prompt"):
        rank(judge_of(engine), "  ", ["a q=1", "b q=2"])
    assert engine.requests == 0


def test_empty_responses_lose_without_a_judge_call():
    engine = ScriptedEngine(quality_judge)
    texts = ["", "real q=1", "   ", "better q=2"]
    r = rank(judge_of(engine), PROMPT, texts, "elo")
    by_empty = [m for m in r.matches if m.decided_by == BY_EMPTY]
    assert len(by_empty) == 5 and all(m.judgment is None for m in by_empty)
    assert r.judge_calls == engine.requests == 1
    assert r.ranking[:2] == [3, 1] and set(r.ranking[2:]) == {0, 2}
    k = rank(judge_of(), PROMPT, texts, "knockout", seed=1)
    assert k.best == 3


def test_duplicates_are_not_judged_and_order_deterministically():
    engine = ScriptedEngine(quality_judge)
    texts = ["same q=3", "same q=3", "other q=1"]
    r = rank(judge_of(engine), PROMPT, texts, "elo")
    (dup,) = [m for m in r.matches if m.decided_by == BY_IDENTICAL]
    assert dup.winner is None and dup.judgment is None
    assert r.ranking == [0, 1, 2] and engine.requests == 2
    k1 = rank(judge_of(), PROMPT, texts * 2, "knockout", seed=4)
    k2 = rank(judge_of(), PROMPT, texts * 2, "knockout", seed=4)
    assert k1.ranking == k2.ranking and (texts * 2)[k1.best] == "same q=3"


def test_rewards():
    r = rank(judge_of(), PROMPT, responses([4, 8, 1, 6, 3, 7, 2, 5]), "knockout")
    assert r.rewards[1] == 1.0  # the champion
    assert sorted(r.rewards) == [0, 0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1]
    e = rank(judge_of(), PROMPT, responses([4, 8, 1, 6, 3]), "elo")
    assert all(0 < x < 1 for x in e.rewards)
    assert sum(e.rewards) == pytest.approx(5 / 2)  # expected scores of a group sum to n/2
    assert e.rewards.index(max(e.rewards)) == 1


def test_a_bye_earns_no_reward_and_the_champion_gets_one():
    # q=1 < q=2 < q=3; whichever gets the bye, no reward may prefer a worse response
    seen = set()
    for seed in range(20):
        r = rank(judge_of(), PROMPT, responses([1, 2, 3]), "knockout", seed=seed)
        (opening,) = [m for m in r.matches if m.round == 1]
        bye = ({0, 1, 2} - {opening.a, opening.b}).pop()
        seen.add(bye)
        q2_beat_q1 = {opening.a, opening.b} == {0, 1}
        assert r.rewards == [0.0, 0.5 if q2_beat_q1 else 0.0, 1.0], (seed, bye)
        assert r.ranking[0] == 2 and r.scores[bye] >= 1  # the bye still reaches round two
    assert seen == {0, 1, 2}


def test_bradley_terry_is_the_likelihood_maximum_and_ignores_match_order():
    rng = random.Random(0)
    matches = [
        Match(i, j, 1, rng.choice([i, j, None]), BY_JUDGE)
        for i in range(5)
        for j in range(i + 1, 5)
        for _ in range(3)
    ]
    ratings = bradley_terry(5, matches)
    p = [10 ** ((r - ELO_BASE) / 400) for r in ratings]
    ref = _reference_strength(p)
    # stationarity of the likelihood: each response's wins (plus its virtual draw) equal
    # the wins the fitted strengths expect
    for i in range(5):
        wins, expected = 0.5, p[i] / (p[i] + ref)
        for m in matches:
            if i in (m.a, m.b):
                other = m.b if i == m.a else m.a
                wins += 0.5 if m.winner is None else float(m.winner == i)
                expected += p[i] / (p[i] + p[other])
        assert wins == pytest.approx(expected, abs=1e-6)
    shuffled = matches[:]
    rng.shuffle(shuffled)
    assert bradley_terry(5, shuffled) == pytest.approx(ratings)
    a = sequential_elo(5, matches, random.Random(1))
    b = sequential_elo(5, matches, random.Random(2))
    assert a != pytest.approx(b)  # sequential Elo does depend on the replay order


def _reference_strength(p: list[float]) -> float:
    """The virtual reference's strength on the ratings' (recentred) scale: summed over all
    responses, the real games' wins and expectations cancel, so the virtual games must
    expect n/2 wins; that sum falls as the reference grows, so bisect (in log space)."""
    lo, hi = -20.0, 20.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(x / (x + 10**mid) for x in p) > len(p) / 2:
            lo = mid
        else:
            hi = mid
    return 10**lo


def test_rank_many_keeps_order_and_returns_errors():
    def script(chat, params):
        if "TOO LONG" in chat[-1]["content"]:
            raise ContextLengthError("the prompt has 9000 tokens")
        return quality_judge(chat, params)

    ranker = Ranker(judge_of(ScriptedEngine(script)), "knockout")
    items = [
        (PROMPT, responses([1, 3, 2])),
        ("TOO LONG " + PROMPT, responses([1, 2])),
        (PROMPT, []),
        (PROMPT, responses([9, 3])),
    ]
    out = list(ranker.rank_many(items, errors="return"))
    assert out[0].best == 1 and out[3].best == 0
    assert isinstance(out[1], ContextLengthError) and isinstance(out[2], InputError)
    with pytest.raises(ContextLengthError):
        list(ranker.rank_many(items[:2]))


def test_ranking_serialises_to_json():
    r = rank(judge_of(votes=2, orders="both"), PROMPT, responses([3, 1, 2]), "elo")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ranking"] == [0, 2, 1] and len(d["scores"]) == 3 and len(d["matches"]) == 3
    m = d["matches"][0]
    assert m["pair"] == [0, 1] and m["winner"] == 0 and m["votes"]["A"] == 4
    assert m["judgment"]["samples"][0]["text"].startswith("\\boxed")
    assert d["judge_calls"] == 3 and d["samples"] == 12 and set(d["ratings"]) == {"bt", "elo"}


def test_unknown_method_or_rating():
    with pytest.raises(InputError, match="method"):
        Ranker(judge_of(), "swiss")
    with pytest.raises(InputError, match="rating"):
        Ranker(judge_of(), "elo", rating="glicko")


def test_a_probability_judge_gives_soft_outcomes_that_break_a_cycle():
    """x beats y surely, y and z and z and x narrowly: hard outcomes are a three-way cycle
    (equal ratings); the soft outcomes (each match's p_a) put x first."""
    from reasonrm.scoring import logit, sigmoid

    edge = {("x", "y"): logit(0.9), ("y", "z"): logit(0.55), ("z", "x"): logit(0.55)}

    def scores(chat):
        user = chat[1]["content"]
        first, second = (part.split("\n\n")[1] for part in user.split("### Assistant ")[1:3])
        d = edge.get((first, second), -edge.get((second, first), 0.0))
        p = sigmoid(d)
        return {"1": p, "2": 1 - p}

    soft = Ranker(Judge(ScriptedEngine(scores=scores), "direct", score="prob"), method="elo")
    r = soft.rank(PROMPT, ["x", "y", "z"])
    assert r.ranking == [0, 2, 1]
    # a's soft wins: x 0.9 + 0.45, y 0.1 + 0.55, z 0.45 + 0.55
    expected = bradley_terry(
        3, [Match(0, 1, 0, 0, BY_JUDGE), Match(1, 2, 0, 1, BY_JUDGE), Match(0, 2, 0, 2, BY_JUDGE)]
    )
    assert expected[0] == pytest.approx(expected[1]) == pytest.approx(expected[2])  # hard: a cycle
    assert [m.judgment.p_a for m in r.matches] == pytest.approx([0.9, 0.45, 0.55])


def test_matches_a_check_settled_say_so():
    from reasonrm.types import Message, SamplingParams

    def script(chat: list[Message], params: SamplingParams) -> str:
        if "Write a Python program" in chat[1]["content"]:
            return "print(25 + 17)\n```"
        return "\\boxed{Assistant 1}"  # the reading: always the first slot

    answers = ["25 + 17 = 32", "25 + 17 = 42", "25 + 17 = 52", "25 + 17 = 41"]
    ranking = Ranker(Judge(ScriptedEngine(script), "rrm"), "knockout", seed=0).rank(
        "What is 25 + 17?", answers
    )
    assert answers[ranking.ranking[0]] == "25 + 17 = 42"
    settled = [m for m in ranking.matches if 1 in (m.a, m.b)]
    assert settled and all(m.decided_by == "math check" for m in settled)
