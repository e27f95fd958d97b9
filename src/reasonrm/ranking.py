"""Rank many responses to one prompt with a pairwise judge: a knockout tournament (n-1
matches in ceil(log2 n) rounds) or a round robin (all n(n-1)/2 pairs) rated by
Bradley-Terry or sequential Elo. Each match is one `Judge` judgment, so votes and both-order
judging apply to every match."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reasonrm.engines.base import Engine, map_in_order, run_sync
from reasonrm.errors import EngineUnavailableError, InputError, ReasonRMError
from reasonrm.judge import Judge
from reasonrm.pairs import candidates_from_row as candidates_from_row  # the CLI imports it here
from reasonrm.pairs import check_responses
from reasonrm.specs import Orders
from reasonrm.types import Comparison, Judgment, Message

Method = Literal["knockout", "elo"]
Rating = Literal["bt", "elo"]
METHODS = ("knockout", "elo")
RATINGS = ("bt", "elo")
log = logging.getLogger(__name__)

ELO_BASE = 1000.0
ELO_K = 32.0

# why a match was decided as it was
BY_JUDGE = "judge"
BY_SEED = "judge tie, broken by the seed"
BY_EMPTY = "empty response"
BY_IDENTICAL = "identical responses"


@dataclass
class Match:
    """One pairing: response `a` is the lower index (the judge places it by its `orders`)."""

    a: int
    b: int
    round: int
    winner: int | None  # None: a draw (round robin only; a knockout match always has a winner)
    decided_by: str
    judgment: Judgment | None = None  # None when decided without the judge

    @property
    def judge_calls(self) -> int:
        return 0 if self.judgment is None else 1

    def to_dict(self) -> dict[str, Any]:
        j = self.judgment
        return {
            "pair": [self.a, self.b],
            "round": self.round,
            "winner": self.winner,
            "decided_by": self.decided_by,
            "votes": None if j is None else dict(j.votes),
            "orders_agree": None if j is None else j.orders_agree,
            "completion_tokens": 0 if j is None else j.completion_tokens,
            "judgment": None if j is None else j.to_dict(),
        }


@dataclass
class Ranking:
    """The outcome of a tournament. `ranking`: indices into the responses, best first;
    `scores[i]`: response i's score (knockout: rounds survived; elo: rating on the Elo
    scale, mean 1000); `matches`: every match played, in order."""

    method: Method
    ranking: list[int]
    scores: list[float]
    matches: list[Match] = field(default_factory=list)
    rating: Rating | None = None  # elo method: which rating `scores` holds
    ratings: dict[str, list[float]] = field(default_factory=dict)  # elo method: both
    rounds: int = 0

    @property
    def best(self) -> int:
        return self.ranking[0]

    @property
    def judge_calls(self) -> int:
        """Matches sent to the judge (each one judgment, whatever its votes and orders)."""
        return sum(m.judge_calls for m in self.matches)

    @property
    def samples(self) -> int:
        """Generations the judge drew: votes times orders, summed over matches."""
        return sum(len(m.judgment.samples) for m in self.matches if m.judgment)

    @property
    def completion_tokens(self) -> int:
        return sum(m.judgment.completion_tokens for m in self.matches if m.judgment)

    @property
    def prompt_tokens(self) -> int:
        return sum(m.judgment.prompt_tokens for m in self.matches if m.judgment)

    @property
    def rewards(self) -> list[float]:
        """One reward per response in [0, 1], higher is better, for group-relative RL.
        Knockout: matches won over the number of rounds, and the champion 1. A bye is not a
        win, so a response that had a bye and then lost gets no more than one that lost its
        first match (the ranking still places it by the round it reached).
        Elo: its expected score against a random other response under the fitted ratings."""
        n = len(self.scores)
        if n == 1:
            return [1.0]
        if self.method == "knockout":
            wins = Counter(m.winner for m in self.matches)
            return [1.0 if i == self.best else wins[i] / self.rounds for i in range(n)]
        return [
            sum(expected_score(self.scores[i], self.scores[j]) for j in range(n) if j != i)
            / (n - 1)
            for i in range(n)
        ]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "method": self.method,
            "ranking": self.ranking,
            "scores": [round(s, 4) for s in self.scores],
            "rewards": [round(r, 4) for r in self.rewards],
        }
        if self.method == "elo":
            d["rating"] = self.rating
            d["ratings"] = {k: [round(x, 4) for x in v] for k, v in self.ratings.items()}
        d |= {
            "rounds": self.rounds,
            "judge_calls": self.judge_calls,
            "samples": self.samples,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens": self.prompt_tokens,
            "matches": [m.to_dict() for m in self.matches],
        }
        return d


class Ranker:
    """Tournaments among responses, judged by `judge`.

    method: "knockout" (n-1 matches; the cheap way to find the best) or "elo" (a round robin
      over all pairs; a full ranking with finer scores, n(n-1)/2 matches).
    rating: for "elo", which rating orders the responses: "bt" (default), the Bradley-Terry
      maximum-likelihood fit, which uses every result at once and does not depend on the
      order matches are replayed in; or "elo", sequential Elo updates (K=32) over a seeded
      match order. Both are reported.
    seed: seeds the knockout bracket, byes, tie-breaks and the Elo replay order.
    """

    def __init__(
        self, judge: Judge, method: Method = "knockout", *, rating: Rating = "bt", seed: int = 0
    ) -> None:
        if method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if rating not in RATINGS:
            raise InputError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        # a tournament already spends n-1 or n(n-1)/2 judgments: "auto" is one random order
        # for a voting judge; a probability judge reads both (one prefill more, no slot prior)
        if judge.orders == "auto":
            judge = judge.with_options(orders="both" if judge.spec.score == "prob" else "random")
        self.judge = judge
        self.method = method
        self.rating = rating
        self.seed = seed
        # matches in flight, bounded per event loop (a semaphore belongs to one loop)
        self._slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rank(
        self, prompt: str | Sequence[Message], responses: Sequence[str], *, seed: Any = None
    ) -> Ranking:
        return run_sync(self.arank(prompt, responses, seed=seed))

    async def arank(
        self, prompt: str | Sequence[Message], responses: Sequence[str], *, seed: Any = None
    ) -> Ranking:
        """`seed` overrides the ranker's seed for this tournament (e.g. one per RL step)."""
        responses = check_responses(responses)
        seed = self.seed if seed is None else seed
        # validate the prompt before any judge call
        Comparison(prompt if isinstance(prompt, str) else list(prompt), "", "")
        if len(responses) == 1:
            if self.method == "knockout":
                return Ranking("knockout", [0], [0.0])
            alone = {"bt": [ELO_BASE], "elo": [ELO_BASE]}
            return Ranking("elo", [0], [ELO_BASE], rating=self.rating, ratings=alone)
        if self.method == "knockout":
            return await self._knockout(prompt, responses, seed)
        return await self._round_robin(prompt, responses, seed)

    def rank_many(
        self,
        items: Iterable[tuple[str | Sequence[Message], Sequence[str]]],
        errors: Literal["raise", "return"] = "raise",
        tournaments: int = 4,
    ) -> Iterator[Ranking | ReasonRMError]:
        """Rank (prompt, responses) items, `tournaments` at a time so the engine stays busy,
        yielding in input order. errors="return": an item that fails (bad input, a prompt
        too long for the context) yields its error instead of stopping the run."""

        async def one(item):
            try:
                return await self.arank(*item)
            except ReasonRMError as e:
                if errors == "raise" or isinstance(e, EngineUnavailableError):
                    raise
                return e

        return map_in_order(one, items, tournaments)

    # ---- tournaments -------------------------------------------------------------------

    async def _knockout(self, prompt, responses: list[str], seed: Any) -> Ranking:
        rng = random.Random(f"{seed}|knockout")
        alive = list(range(len(responses)))
        rng.shuffle(alive)
        survived = [0] * len(responses)
        byes: Counter[int] = Counter()
        matches: list[Match] = []
        round_no = 0
        while len(alive) > 1:
            round_no += 1
            bye = None
            if len(alive) % 2:
                # the bye goes to someone who has had the fewest byes so far
                fewest = min(byes[p] for p in alive)
                bye = rng.choice([p for p in alive if byes[p] == fewest])
                byes[bye] += 1
            players = [p for p in alive if p != bye]
            pairs = list(zip(players[::2], players[1::2], strict=True))
            played = await asyncio.gather(
                *(self._match(prompt, responses, i, j, round_no, rng, seed) for i, j in pairs)
            )
            matches.extend(played)
            # winners keep their bracket position (the pair's first slot); the bye keeps its own
            winner_at = {i: m.winner for (i, _), m in zip(pairs, played, strict=True)}
            next_alive = [
                p if p == bye else winner_at[p] for p in alive if p == bye or p in winner_at
            ]
            for p in next_alive:
                survived[p] += 1
            alive = next_alive
        scores = [float(s) for s in survived]
        order = sorted(range(len(responses)), key=lambda i: (-scores[i], i))
        return Ranking("knockout", order, scores, matches, rounds=round_no)

    async def _round_robin(self, prompt, responses: list[str], seed: Any) -> Ranking:
        n = len(responses)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        matches = list(
            await asyncio.gather(
                *(self._match(prompt, responses, i, j, 1, None, seed) for i, j in pairs)
            )
        )
        ratings = {
            "bt": bradley_terry(n, matches),
            "elo": sequential_elo(n, matches, random.Random(f"{seed}|elo")),
        }
        scores = ratings[self.rating]
        order = sorted(range(n), key=lambda i: (-scores[i], i))
        return Ranking("elo", order, scores, matches, self.rating, ratings, rounds=1)

    async def _match(
        self,
        prompt,
        responses: list[str],
        i: int,
        j: int,
        round_no: int,
        rng: random.Random | None,
        seed: Any,
    ) -> Match:
        """Play i against j. With `rng` (knockout) a draw is broken by a coin flip seeded by
        the tournament seed and the pair, so the outcome does not depend on timing."""
        a, b = (i, j) if i < j else (j, i)
        text_a, text_b = responses[a], responses[b]
        judgment = None
        if not text_a.strip() or not text_b.strip():
            winner = a if text_a.strip() else b if text_b.strip() else None
            decided_by = BY_EMPTY
        elif text_a == text_b:
            winner, decided_by = None, BY_IDENTICAL
        else:
            judgment = await self._judge(Comparison(_prompt(prompt), text_a, text_b))
            winner = {"A": a, "B": b, None: None}[judgment.winner]
            # a match a check settled (tests run, an answer computed) says which check
            decided_by = f"{judgment.decided_by} check" if judgment.decided_by else BY_JUDGE
        if winner is None and rng is not None:
            coin = random.Random(f"{seed}|tiebreak|{round_no}|{a}|{b}")
            winner = coin.choice([a, b])
            decided_by = BY_SEED if decided_by == BY_JUDGE else decided_by
        return Match(a, b, round_no, winner, decided_by, judgment)

    async def _judge(self, c: Comparison) -> Judgment:
        # bound the matches in flight across all tournaments, as judge_many does
        loop = asyncio.get_running_loop()
        if loop not in self._slots:
            self._slots[loop] = asyncio.Semaphore(self.judge.concurrency)
        async with self._slots[loop]:
            return await self.judge.ajudge(c)


def rank(
    judge: Judge | Engine,
    prompt: str | Sequence[Message],
    responses: Sequence[str],
    method: Method = "knockout",
    *,
    votes: int | None = None,
    orders: Orders | None = None,
    protocol: str = "rrm",
    rating: Rating = "bt",
    seed: int = 0,
) -> Ranking:
    """Rank `responses` to `prompt`, best first. `judge`: a Judge (which carries votes and
    orders), or an engine, judged with `protocol`, `votes` (default 1) and `orders` (default
    "random") per match."""
    if isinstance(judge, Engine):
        judge = Judge(
            judge,
            protocol,
            votes=1 if votes is None else votes,
            orders=orders or "random",
            seed=seed,
        )
    elif (votes is not None and votes != judge.votes) or (
        orders is not None and orders != judge.orders
    ):
        raise InputError(
            "votes and orders belong to the judge: set them in Judge(...), or pass an engine"
        )
    return Ranker(judge, method, rating=rating, seed=seed).rank(prompt, responses)


def _prompt(prompt: str | Sequence[Message]) -> str | tuple[Message, ...]:
    return prompt if isinstance(prompt, str) else tuple(prompt)


# ---- ratings ---------------------------------------------------------------------------


def expected_score(r_i: float, r_j: float) -> float:
    """P(i beats j) on the Elo scale (400 points = 10:1 odds)."""
    return 1.0 / (1.0 + 10.0 ** ((r_j - r_i) / 400.0))


def _outcome(m: Match) -> float:
    """Response a's score in match m: 1 win, 0 loss, 0.5 draw; a judge that scores
    probabilities gives a soft outcome, its p_a (also where a knockout broke a tie)."""
    if m.judgment is not None and m.judgment.p_a is not None:
        return m.judgment.p_a
    return 0.5 if m.winner is None else float(m.winner == m.a)


def sequential_elo(
    n: int, matches: Sequence[Match], rng: random.Random, k: float = ELO_K
) -> list[float]:
    """Elo updates, one match at a time, in an order shuffled by `rng`."""
    ratings = [ELO_BASE] * n
    order = list(matches)
    rng.shuffle(order)
    for m in order:
        expected = expected_score(ratings[m.a], ratings[m.b])
        delta = k * (_outcome(m) - expected)
        ratings[m.a] += delta
        ratings[m.b] -= delta
    return ratings


def bradley_terry(n: int, matches: Sequence[Match], iterations: int = 10_000) -> list[float]:
    """Bradley-Terry maximum likelihood by minorize-maximize (Hunter 2004), on the Elo scale
    with mean 1000. Each response also plays one virtual drawn game against a fixed
    reference of strength 1, so an unbeaten response gets a finite rating."""
    wins = [0.5] * n  # the virtual draw
    games = [[0] * n for _ in range(n)]
    for m in matches:
        s = _outcome(m)
        wins[m.a] += s
        wins[m.b] += 1 - s
        games[m.a][m.b] += 1
        games[m.b][m.a] += 1
    strength = [1.0] * n
    for _ in range(iterations):
        new = [
            wins[i]
            / (
                sum(games[i][j] / (strength[i] + strength[j]) for j in range(n) if games[i][j])
                + 1.0 / (strength[i] + 1.0)
            )
            for i in range(n)
        ]
        # 1e-9 relative is under a millionth of an Elo point
        done = max(abs(x - y) / y for x, y in zip(new, strength, strict=True)) < 1e-9
        strength = new
        if done:
            break
    else:
        log.warning("Bradley-Terry stopped after %d iterations before converging", iterations)
    logs = [400.0 * math.log10(s) for s in strength]
    mean = sum(logs) / n
    return [ELO_BASE + x - mean for x in logs]
