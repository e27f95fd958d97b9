"""Best-of-N: sample N responses from a policy, keep the one a tournament of the judge picks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from reasonrm.engines.base import Engine, run_sync
from reasonrm.errors import EngineError, InputError, ReasonRMError
from reasonrm.ranking import Ranker, Ranking
from reasonrm.types import Comparison, Message, Sample, SamplingParams


@dataclass
class BestOfN:
    prompt: str | tuple[Message, ...]
    responses: list[str]
    truncated: list[bool]  # the policy hit its token budget
    policy_tokens: int
    ranking: Ranking

    @property
    def best(self) -> str:
        return self.responses[self.ranking.best]

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt if isinstance(self.prompt, str) else [dict(m) for m in self.prompt]
        return {
            "prompt": prompt,
            "best": self.best,
            "best_index": self.ranking.best,
            "responses": self.responses,
            "truncated": self.truncated,
            "policy_tokens": self.policy_tokens,
            **self.ranking.to_dict(),
        }


async def asample_responses(
    policy: Engine, prompt: str | Sequence[Message], n: int, params: SamplingParams
) -> list[Sample]:
    """N samples of the policy for one prompt, in one request (the prompt is prefilled once)."""
    if n < 1:
        raise InputError("n must be at least 1")
    messages = list(
        Comparison(prompt if isinstance(prompt, str) else list(prompt), "", "").messages
    )
    try:
        (samples,) = await policy.agenerate([messages], replace(params, n=n))
    except ReasonRMError as e:
        raise type(e)(f"the policy failed while sampling {n} responses: {e}") from None
    if len(samples) != n:
        raise EngineError(f"the policy returned {len(samples)} responses instead of {n}")
    return samples


async def abest_of_n(
    policy: Engine,
    ranker: Ranker,
    prompt: str | Sequence[Message],
    n: int = 8,
    params: SamplingParams | None = None,
) -> BestOfN:
    params = params or SamplingParams(max_tokens=512, temperature=0.8, top_p=0.95, seed=0)
    samples = await asample_responses(policy, prompt, n, params)
    responses = [s.text for s in samples]
    ranking = await ranker.arank(prompt, responses)
    return BestOfN(
        prompt=prompt if isinstance(prompt, str) else tuple(prompt),
        responses=responses,
        truncated=[s.finish_reason == "length" for s in samples],
        policy_tokens=sum(s.completion_tokens for s in samples),
        ranking=ranking,
    )


def best_of_n(
    policy: Engine,
    ranker: Ranker,
    prompt: str | Sequence[Message],
    n: int = 8,
    params: SamplingParams | None = None,
) -> BestOfN:
    """Sample `n` responses from `policy` (default: temperature 0.8, 512 tokens) and return the
    one `ranker`'s tournament ranks first, with every response and the tournament log.
    Empty samples lose every match without a judge call."""
    return run_sync(abest_of_n(policy, ranker, prompt, n, params))
