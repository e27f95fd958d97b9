"""Pairwise judging: k votes, one or both orders, adaptive stopping, verdict forcing, and
batching of many comparisons (their generations run concurrently on the engine)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Iterable, Iterator
from dataclasses import fields, replace
from typing import Any, Literal

from reasonrm.engines.base import Engine, map_in_order, run_sync
from reasonrm.errors import EngineUnavailableError, InputError, ReasonRMError
from reasonrm.examples import example_turns, load_examples, with_examples
from reasonrm.memo import Memo
from reasonrm.protocols import Protocol, get_protocol, pointwise
from reasonrm.protocols.base import NO_VERDICT, TRUNCATED
from reasonrm.sandbox import Sandbox, open_sandbox
from reasonrm.scoring import LabelReader, combine, logit, sigmoid
from reasonrm.specs import JudgeSpec
from reasonrm.types import (
    Comparison,
    Evidence,
    JudgedSample,
    Judgment,
    Label,
    Message,
    Order,
    Sample,
    SamplingParams,
    Verdict,
)
from reasonrm.verify import DECIDED_P, CheckContext, decide, run_checks, verifier_names

log = logging.getLogger(__name__)

# How a forced verdict closes a thinking model's chain when its budget ran out in the
# thinking: the chain inside think tags, as reasoning chat templates (Qwen3, DeepSeek-R1)
# render an assistant turn that holds one, then the verdict cue.
THINK_OPEN, THINK_CLOSE = "<think>\n", "\n</think>\n\n"

FORCEABLE = (NO_VERDICT, TRUNCATED)
#: reference="self": how the judge is asked to answer a prompt before judging it
SOLVE_PROMPT = (
    "Answer the user's request correctly and concisely. For a calculation, a puzzle or code, "
    "work it out step by step and state the final answer plainly."
)
MEMO_SIZE = 4096  # references and ratings kept for reuse
POINTWISE = "pointwise rating"  # a rating sample's verdict: none, it compares nothing


def comparison_key(c: Comparison) -> str:
    """A stable digest of a comparison's content: seeds per-comparison randomness, so a
    comparison gets the same placement and seeds wherever it sits in a batch."""
    blob = json.dumps([c.prompt, c.a, c.b], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def majority(a: int, b: int) -> Label | None:
    return "A" if a > b else "B" if b > a else None


def next_round_size(lead: int, remaining: int) -> int:
    """Fewest further samples that could settle the vote (all going to the leader): after d
    more, the lead is lead + d and remaining - d samples are left; settled when the lead
    exceeds what is left."""
    return min(remaining, (remaining - lead) // 2 + 1)


class Judge:
    """Judge which of two responses is better with a reasoning reward model.

    The options are a `JudgeSpec`'s fields (see reasonrm.specs for each one's default and
    meaning); `Judge(engine, "rrm", votes=3)` and `Judge.from_spec(engine, spec)` are the same.

    votes: samples per order; the winner is the majority of valid verdicts (a tie gives None).
    orders: "auto" (the default: both orders here, where pairs are judged; a tournament draws
      one random order per match), "random" (one order per comparison, drawn from the seed),
      "both" (A/B and B/A, position-bias control) or "fixed" (a shown first).
    adaptive: sample in rounds and stop once the leader cannot be overtaken by the samples
      still to draw; the winner always equals the full-vote majority over those samples.
    force_verdict: when a sample ends without a verdict (cut off by the token budget, or
      stopped without one), append the protocol's verdict cue and let the model finish with
      `force_tokens` more tokens; the sample is marked `forced`.
    score: "vote" samples verdicts; "prob" reads P(first slot) at the verdict position in
      each order (after the judge's own reasoning with reason=True) and combines them into
      `p_a`; "calibrated" also removes the slot prior; "pointwise" rates each response alone;
      "auto" (the default) is what was measured best for the model (reasonrm.scoring).
    reference: "self" answers the prompt first and shows the answer as a reference.
    concurrency: comparisons in flight in `judge_many` (default: twice the engine's capacity,
      at least 16); it decides speed, not results, so it is not part of the spec.
    """

    def __init__(
        self,
        engine: Engine,
        protocol: str | Protocol = "rrm",
        *,
        concurrency: int | None = None,
        **options: Any,
    ) -> None:
        # checks every option; score="auto" becomes what was measured best for this model
        self.spec = JudgeSpec(protocol=protocol, **options).resolve_score(engine.model)
        self.engine = engine
        self.protocol = get_protocol(protocol)
        self.votes = self.spec.votes
        self.orders = self.spec.orders
        self.adaptive = self.spec.adaptive
        self.seed = self.spec.seed
        # One vote: greedy, so a judgment is reproducible. Several: sampled, or they would agree.
        temperature = self.spec.temperature
        self.params = SamplingParams(
            max_tokens=self.spec.max_tokens or self.protocol.default_max_tokens,
            temperature=temperature
            if temperature is not None
            else (0.0 if self.votes == 1 else 0.7),
            top_p=self.spec.top_p,
            reasoning_effort=self.spec.reasoning_effort,
            thinking_budget=self.spec.thinking_budget,
        )
        asked = [k for k in ("reasoning_effort", "thinking_budget") if getattr(self.spec, k)]
        if asked and not engine.supports_reasoning_effort:
            raise InputError(
                f"{' and '.join(asked)} go to thinking models behind the openai engine; the "
                f"{engine.name} engine has no such setting"
            )
        self.force_verdict = self.spec.force_verdict
        self.force_tokens = self.spec.force_tokens
        self.score = self.spec.score
        # probability scoring: the labels are checked against the model's tokenizer now,
        # not discovered as a silent 0.5 later
        self.reader = self.rater = None
        self.rating = getattr(self.protocol, "rating", None) or pointwise.DEFAULT
        if self.score == "pointwise":
            self.rater = LabelReader.checked(
                self.rating.prefix, self.rating.labels, engine.tokenize, "pointwise rating"
            )
        elif self.score != "vote":
            self.reader = LabelReader.for_engine(self.protocol, engine.tokenize)
        # few-shot: the same turns open every pair's prompt (the engine's cache keeps them)
        self.example_turns = example_turns(self.protocol, load_examples(self.spec.examples))
        # references, ratings, the checks' programs and tests: made once, shared
        self._once = Memo(MEMO_SIZE).once
        self.verifiers = verifier_names(self.spec.verify)
        self._sandbox: Sandbox | None = None  # opened at the first check
        # comparisons in flight: by default twice what the engine serves at once, so that its
        # slots (or every replica behind the openai engine) stay busy
        self.concurrency = max(1, concurrency or max(16, 2 * engine.capacity))

    @classmethod
    def from_spec(cls, engine: Engine, spec: JudgeSpec, concurrency: int | None = None) -> Judge:
        options = {f.name: getattr(spec, f.name) for f in fields(spec)}
        return cls(engine, concurrency=concurrency, **options)

    def with_options(self, **changes: Any) -> Judge:
        """The same judge on the same engine with some options changed."""
        return Judge.from_spec(self.engine, replace(self.spec, **changes), self.concurrency)

    # ---- public API -------------------------------------------------------------------

    def judge(self, c: Comparison) -> Judgment:
        return run_sync(self.ajudge(c))

    def judge_many(
        self, comparisons: Iterable[Comparison], errors: Literal["raise", "return"] = "raise"
    ) -> Iterator[Judgment]:
        """Judge many comparisons, `concurrency` at a time, yielding in input order.
        errors="return": a comparison that fails (e.g. too long for the context) yields a
        Judgment with `error` set instead of stopping the run."""
        return map_in_order(lambda c: self.ajudge(c, errors), comparisons, self.concurrency)

    async def ajudge(self, c: Comparison, errors: Literal["raise", "return"] = "raise") -> Judgment:
        """The async `judge`. errors="return": a comparison that fails (e.g. too long for the
        context) gives a Judgment with `error` set; an unreachable engine still raises."""
        try:
            return await self._ajudge(c)
        except ReasonRMError as e:
            # A dead server fails every comparison alike: stop instead of recording each.
            if errors == "raise" or isinstance(e, EngineUnavailableError):
                raise
            log.warning("comparison %s failed: %s", c.id, e)
            return Judgment(
                None,
                {"A": 0, "B": 0, "invalid": 0},
                comparison_id=c.id,
                label=c.label,
                error=str(e),
            )

    async def _ajudge(self, c: Comparison) -> Judgment:
        evidence = await self._checks(c)
        winner = decide(evidence)
        if winner is not None:  # a conclusive check: no reading needed
            return Judgment(
                winner=winner,
                votes={"A": 0, "B": 0, "invalid": 0},
                comparison_id=c.id,
                label=c.label,
                p_a=DECIDED_P if winner == "A" else 1 - DECIDED_P,
                evidence=evidence,
            )
        judgment = await self._ajudge_read(c)
        judgment.evidence = evidence
        return judgment

    async def _checks(self, c: Comparison) -> list[Evidence]:
        """What the verifiers that apply to `c` found. A check never fails a judgment: an
        error in one is its evidence, and the reading decides (a dead engine still raises)."""
        if not self.verifiers:
            return []
        if self._sandbox is None:
            self._sandbox = open_sandbox(self.spec.sandbox)
        ctx = CheckContext(
            self.engine, self._sandbox, self.spec.verify_samples, self.seed, once=self._once
        )
        try:
            return await run_checks(c, self.verifiers, ctx)
        except (EngineUnavailableError, asyncio.CancelledError):
            raise
        except Exception as e:  # a verifier's bug or a sandbox fault: fall back to reading
            log.warning("checking comparison %s failed: %s", c.id, e, exc_info=True)
            return [Evidence("checks", None, f"no decision: the check failed ({e})")]

    async def _ajudge_read(self, c: Comparison) -> Judgment:
        reference, spent = await self._own_reference(c)
        if reference is not None:
            c = replace(c, reference=reference)
        if self.rater is not None:
            judgment = await self._ajudge_pointwise(c)
        elif self.reader is not None:
            judgment = await self._ajudge_scored(c)
        else:
            judgment = await self._ajudge_voted(c)
        judgment.reference, judgment.reference_tokens = reference, spent
        return judgment

    async def _own_reference(self, c: Comparison) -> tuple[str | None, int]:
        """reference="self": the judge's own answer to the prompt, written without the
        responses in view, once per prompt (ranking n responses pays once); the tokens it
        cost this call. A row's own reference wins; an empty answer gives none."""
        if self.spec.reference != "self" or c.reference is not None:
            return None, 0

        async def solve() -> tuple[str | None, int]:
            chat = [{"role": "system", "content": SOLVE_PROMPT}, *c.messages]
            params = SamplingParams(max_tokens=self.spec.reference_tokens, temperature=0.0, seed=0)
            ((answer,),) = await self.engine.agenerate([chat], params)
            return answer.text.strip() or None, answer.completion_tokens

        key = "reference|" + json.dumps(c.prompt, ensure_ascii=False, sort_keys=True)
        (text, tokens), made_here = await self._once(key, solve)
        return text, tokens if made_here else 0

    async def arate(
        self, c: Comparison, response: str, order: Order = "AB"
    ) -> tuple[float, JudgedSample]:
        """Pointwise: `response` to c's prompt rated alone, 1 to 9 by default (the labels' mean
        weighted by their probabilities; a pointwise template sets its own), once per prompt
        and response; the reading as a
        sample (its completion token counted only where it was made), whose `order` says
        which response it rated: AB for a, BA for b."""
        assert self.rater is not None

        async def read():
            chat = self.rating.chat(c, response)
            chat[-1] = {"role": "assistant", "content": self.rater.cut(self.rating.prefix)}
            (next_token,) = await self.engine.anext_tokens([chat])
            return self.rater.expected_value(next_token), next_token

        key = "rating|" + json.dumps([c.prompt, response, c.reference], ensure_ascii=False)
        (rating, next_token), made_here = await self._once(key, read)
        sample = JudgedSample(
            text=response,
            verdict=Verdict(None, POINTWISE),
            order=order,
            completion_tokens=1 if made_here else 0,
            prompt_tokens=next_token.prompt_tokens if made_here else 0,
            finish_reason="stop",
            seconds=next_token.seconds if made_here else 0.0,
            cached_tokens=next_token.cached_tokens if made_here else 0,
            rating=rating,
        )
        return rating, sample

    def rate(self, prompt: str | list[Message], response: str) -> float:
        """Pointwise rating of one response, 1 to 9 (score="pointwise"): a per-completion
        reward for a GRPO trainer."""
        if self.rater is None:
            raise InputError("rate() needs a judge with score='pointwise'")
        c = Comparison(prompt if isinstance(prompt, str) else tuple(prompt), response, "")
        rating, _ = run_sync(self.arate(c, response))
        return rating

    async def _ajudge_pointwise(self, c: Comparison) -> Judgment:
        """Each response rated alone: no position; p_a = sigmoid(rating a − rating b)."""
        (ra, sa), (rb, sb) = await asyncio.gather(
            self.arate(c, c.a, "AB"), self.arate(c, c.b, "BA")
        )
        p_a = sigmoid(ra - rb)
        return Judgment(
            winner=self._by_probability(p_a),
            votes={"A": 0, "B": 0, "invalid": 0},
            samples=[sa, sb],
            comparison_id=c.id,
            label=c.label,
            p_a=p_a,
        )

    def _chat(self, c: Comparison, order: Order) -> list[Message]:
        """The prompt that shows c in `order`, after the examples if there are any."""
        chat = self.protocol.render(c if order == "AB" else c.swapped())
        return with_examples(chat, self.example_turns)

    def _by_probability(self, p_a: float) -> Label | None:
        band = self.spec.tie_band
        return "A" if p_a > 0.5 + band else "B" if p_a < 0.5 - band else None

    async def _ajudge_voted(self, c: Comparison) -> Judgment:
        chats = {order: self._chat(c, order) for order in self.orders_for(c)}
        budget = {order: self.votes for order in chats}
        samples: list[JudgedSample] = []
        round_no = 0
        while True:
            a, b = _tally(samples)
            remaining = sum(budget.values())
            if remaining == 0 or abs(a - b) > remaining:
                break
            size = next_round_size(abs(a - b), remaining) if self.adaptive else remaining
            requests = _spread(size, budget)
            results = await asyncio.gather(
                *(
                    self._sample(c, order, chats[order], k, round_no)
                    for order, k in requests.items()
                )
            )
            for order, k in requests.items():
                budget[order] -= k
            samples.extend(s for batch in results for s in batch)
            round_no += 1
        return self._judgment(c, samples, list(chats))

    async def _ajudge_scored(self, c: Comparison) -> Judgment:
        """Probability scoring: per order, P(first slot) at the verdict position (after the
        prompt, or after each of the judge's chains); p_a combines them in logit space."""
        orders = self.orders_for(c)
        if self.spec.reason:
            per_order = await asyncio.gather(*(self._score_order(c, o) for o in orders))
        else:
            # one order after the other: the second finds the system prompt and the query
            # in the engine's prompt cache and evaluates only what differs
            per_order = [await self._score_order(c, order) for order in orders]
        samples = [s for batch in per_order for s in batch]
        prior = self.spec.slot_prior if self.score == "calibrated" else 0.0
        for_a = [logit(s.p_first or 0.5) - prior for s in samples]
        for_a = [x if s.order == "AB" else -x for x, s in zip(for_a, samples, strict=True)]
        p_a = combine(for_a)
        winner = self._by_probability(p_a)
        agree = None
        if len(orders) == 2:
            sides = [
                sum(x for x, s in zip(for_a, samples, strict=True) if s.order == o) > 0
                for o in orders
            ]
            agree = sides[0] == sides[1]
        a, b = _tally(samples)
        return Judgment(
            winner=winner,
            votes={"A": a, "B": b, "invalid": len(samples) - a - b},
            samples=samples,
            orders_agree=agree,
            comparison_id=c.id,
            label=c.label,
            p_a=p_a,
        )

    async def _score_order(self, c: Comparison, order: Order) -> list[JudgedSample]:
        assert self.reader is not None
        chat = self._chat(c, order)
        chains: list[Sample | None] = [None]
        if self.spec.reason:
            params = replace(self.params, n=self.votes, seed=self.sample_seed(c, order, 0))
            (chains,) = await self.engine.agenerate([chat], params)
        prefixes = [
            self.reader.cut(self.protocol.score_prefix(None if s is None else s.text))
            for s in chains
        ]
        read = await self.engine.anext_tokens(
            [[*chat, {"role": "assistant", "content": p}] for p in prefixes]
        )
        samples = []
        for chain, prefix, next_token in zip(chains, prefixes, read, strict=True):
            logodds = self.reader.first_logodds(next_token)
            verdict = Verdict("A" if logodds > 0 else "B")  # the slot the model leans to
            samples.append(
                JudgedSample(
                    text=prefix,
                    verdict=verdict if order == "AB" else verdict.flipped(),
                    order=order,
                    completion_tokens=1 + (chain.completion_tokens if chain else 0),
                    prompt_tokens=next_token.prompt_tokens + (chain.prompt_tokens if chain else 0),
                    finish_reason=chain.finish_reason if chain else "stop",
                    seconds=next_token.seconds + (chain.seconds if chain else 0.0),
                    p_first=sigmoid(logodds),
                    cached_tokens=next_token.cached_tokens,
                )
            )
        return samples

    def orders_for(self, c: Comparison) -> list[Order]:
        if self.orders == "fixed":
            return ["AB"]
        if self.orders in ("both", "auto"):  # auto: a pair judged as such goes both ways
            return ["AB", "BA"]
        rng = random.Random(f"{self.seed}|order|{comparison_key(c)}")
        return [rng.choice(["AB", "BA"])]

    # ---- internals ----------------------------------------------------------------------

    def sample_seed(self, c: Comparison, order: Order, round_no: int) -> int:
        """The sampling seed of one round of one order of a comparison: the same wherever the
        comparison sits in a batch."""
        digest = hashlib.sha256(f"{self.seed}|{comparison_key(c)}|{order}|{round_no}".encode())
        return int.from_bytes(digest.digest()[:4], "big") >> 1

    async def _sample(
        self, c: Comparison, order: Order, chat: list[Message], k: int, round_no: int
    ) -> list[JudgedSample]:
        params = replace(self.params, n=k, seed=self.sample_seed(c, order, round_no))
        (drawn,) = await self.engine.agenerate([chat], params)
        judged = await asyncio.gather(*(self._read(chat, s) for s in drawn))
        return [
            JudgedSample(
                text=text,
                verdict=verdict if order == "AB" else verdict.flipped(),
                order=order,
                completion_tokens=tokens,
                prompt_tokens=s.prompt_tokens,
                finish_reason=s.finish_reason,
                seconds=seconds,
                forced=forced,
                reasoning=s.reasoning,
            )
            for s, (text, verdict, tokens, seconds, forced) in zip(drawn, judged, strict=True)
        ]

    async def _read(self, chat: list[Message], s: Sample) -> tuple[str, Verdict, int, float, bool]:
        """Parse one sample; force a verdict if it ran out of tokens before giving one."""
        verdict = self.protocol.parse(s.text, truncated=s.finish_reason == "length")
        # Force only where the model gave no verdict at all (cut off, or it stopped without
        # one); an answer naming both sides or something else stays invalid as written.
        if (
            verdict.valid
            or verdict.invalid_reason not in FORCEABLE
            or not self.force_verdict
            or not self.protocol.verdict_cue  # a template may declare none
        ):
            return s.text, verdict, s.completion_tokens, s.seconds, False
        written = s.text
        if s.reasoning and not s.text.strip():
            # a thinking model spent its budget thinking: close the thinking, then ask
            written = THINK_OPEN + s.reasoning.strip() + THINK_CLOSE
        cue = self.protocol.verdict_cue_for(written)
        grammar = self.protocol.cue_grammar if self.engine.supports_grammar else None
        params = SamplingParams(
            max_tokens=self.force_tokens, temperature=0.0, n=1, seed=0, grammar=grammar
        )
        continuation = [*chat, {"role": "assistant", "content": written + cue}]
        ((tail,),) = await self.engine.agenerate([continuation], params)
        text = written + cue + tail.text
        verdict = self.protocol.parse(text, truncated=tail.finish_reason == "length")
        tokens = s.completion_tokens + tail.completion_tokens
        return text, verdict, tokens, s.seconds + tail.seconds, True

    def _judgment(
        self, c: Comparison, samples: list[JudgedSample], orders: list[Order]
    ) -> Judgment:
        a, b = _tally(samples)
        agree = None
        if len(orders) == 2:
            per_order = [majority(*_tally([s for s in samples if s.order == o])) for o in orders]
            agree = None if None in per_order else per_order[0] == per_order[1]
        return Judgment(
            winner=majority(a, b),
            votes={"A": a, "B": b, "invalid": len(samples) - a - b},
            samples=samples,
            orders_agree=agree,
            comparison_id=c.id,
            label=c.label,
        )


def _tally(samples: list[JudgedSample]) -> tuple[int, int]:
    a = sum(s.verdict.winner == "A" for s in samples)
    b = sum(s.verdict.winner == "B" for s in samples)
    return a, b


def _spread(size: int, budget: dict[Order, int]) -> dict[Order, int]:
    """Share `size` samples among the orders that still have budget, one at a time to the
    order with the most left, so both orders stay balanced."""
    left = dict(budget)
    take = dict.fromkeys(budget, 0)
    for _ in range(size):
        order = max(left, key=lambda o: left[o])
        take[order] += 1
        left[order] -= 1
    return {o: k for o, k in take.items() if k}
