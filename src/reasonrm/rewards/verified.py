"""A verified reward for code and math completions that have no reference answer, for
RLVR with TRL's `GRPOTrainer(reward_funcs=[VerifiedReward(engine)])`.

Each completion is checked alone, by the same checks the judge runs: its code on the
prompt's examples (or, where the prompt states none, on the judge's own tests), its final
answer against the answer the judge's programs compute. The reward is 2s - 1 for a check's
score s in [0, 1] (the share of tests passed; 1 or 0 for an answer), so +1 passes every test
and -1 fails all; a completion no check can speak for gets `unknown` (0 by default: in a
group where nothing is known, the advantages are zero). A prompt's tests and programs are
made once and shared by its completions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from reasonrm.engines.base import Engine, run_sync
from reasonrm.errors import EngineUnavailableError
from reasonrm.memo import Memo
from reasonrm.rewards.completions import text_of
from reasonrm.sandbox import open_sandbox
from reasonrm.verify import get_verifier, verifier_names
from reasonrm.verify.base import CheckContext

log = logging.getLogger(__name__)


class VerifiedReward:
    """A TRL reward function: one reward per completion, in [-1, 1], from the checks that
    apply to it (`verify`: "auto", or names such as "code"); `samples` programs or solutions
    per prompt; `concurrency` completions checked at once."""

    def __init__(
        self,
        engine: Engine,
        *,
        verify: str = "auto",
        sandbox: str = "local",
        samples: int = 4,
        seed: int = 0,
        unknown: float = 0.0,
        concurrency: int = 8,
    ) -> None:
        self.verifiers = [get_verifier(name) for name in verifier_names(verify)]
        self.context = CheckContext(engine, open_sandbox(sandbox), samples, seed, once=Memo().once)
        self.unknown = unknown
        self.concurrency = concurrency
        self.unknowns = 0  # completions no check could speak for, over all calls
        self.__name__ = "verified"  # TRL logs rewards under this name

    def __call__(self, prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        return run_sync(self.ascore(prompts, [text_of(c) for c in completions]))

    async def ascore(self, prompts: list[Any], completions: list[str]) -> list[float]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(prompt: Any, completion: str) -> float:
            async with gate:
                score = await self._score(_prompt(prompt), completion)
            if score is None:
                self.unknowns += 1
                return self.unknown
            return 2 * score - 1

        return list(
            await asyncio.gather(*(one(p, c) for p, c in zip(prompts, completions, strict=True)))
        )

    async def _score(self, prompt: Any, completion: str) -> float | None:
        for verifier in self.verifiers:
            try:
                score = await verifier.score(prompt, completion, self.context)
            except EngineUnavailableError:
                raise
            except Exception as e:  # a check that breaks says nothing of the completion
                log.warning("verified reward: the %s check failed: %s", verifier.name, e)
                continue
            if score is not None:
                return score
        return None


def _prompt(prompt: Any) -> str | list[dict[str, str]]:
    """TRL passes a prompt as text or as chat messages."""
    if isinstance(prompt, str):
        return prompt
    return [{"role": m["role"], "content": m["content"]} for m in prompt]
