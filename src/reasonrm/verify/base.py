"""What every verifier shares: the evidence it returns, what it may use, and the interface.

A verifier checks what can be checked (runs the code, computes the answer) and decides a pair
only when the check is conclusive: one response passes what the other fails, or exactly one
final answer equals the computed one. Otherwise its evidence says why not, and the judge's
reading decides.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reasonrm.sandbox.base import Sandbox
from reasonrm.types import Comparison, Evidence, Label, Message, Sample, SamplingParams

if TYPE_CHECKING:
    from reasonrm.engines.base import Engine

#: p_a of a pair a check decided: decided pairs are right about this often (measured in
#: docs/verification.md), so a GRPO reward of 2p - 1 says "checked" at full strength
DECIDED_P = 0.99


@dataclass
class CheckContext:
    """What a check may use: the judge's engine (to write tests or programs from the prompt
    alone, never seeing the responses), the sandbox that runs code, how many samples to draw,
    and `once`, which computes a value once per key and shares it (a prompt's tests serve
    every pair of that prompt, as in a tournament)."""

    engine: Engine
    sandbox: Sandbox
    samples: int = 4
    seed: int = 0
    #: Judge._once: (key, make) -> (value, made_here)
    once: Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[tuple[Any, bool]]] | None = None

    @property
    def comparer(self) -> Sandbox:
        """Where answers are compared: math-verify runs beside reasonrm, so on this machine
        (the local sandbox), whichever sandbox runs the programs."""
        from reasonrm.sandbox import LocalSandbox, open_sandbox

        return self.sandbox if isinstance(self.sandbox, LocalSandbox) else open_sandbox("local")

    async def shared(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if self.once is None:
            return await make()
        value, _made_here = await self.once(key, make)
        return value

    async def write(
        self, chat: list[Message], max_tokens: int, prefill: str = "", samples: int | None = None
    ) -> list[Sample]:
        """`samples` (default: the context's) completions of `chat`: the first greedy, the
        rest sampled, so that one sample is the model's best guess and the others test whether
        it is stable. `prefill` starts the answer (e.g. an opened code fence, so that a
        program follows, not prose); each sample's text includes it."""
        samples = self.samples if samples is None else samples
        if prefill:
            chat = [*chat, {"role": "assistant", "content": prefill}]
        greedy = SamplingParams(max_tokens=max_tokens, temperature=0.0, n=1, seed=self.seed)
        calls = [self.engine.agenerate([chat], greedy)]
        if samples > 1:
            sampled = SamplingParams(
                max_tokens=max_tokens,
                temperature=0.7,
                top_p=0.95,
                n=samples - 1,
                seed=self.seed,
            )
            calls.append(self.engine.agenerate([chat], sampled))
        results = await asyncio.gather(*calls)  # each: one chat's list of samples
        return [replace(s, text=prefill + s.text) for per_chat in results for s in per_chat[0]]


class Verifier(ABC):
    """One kind of check. `applies` is cheap (no model, no sandbox); `check` runs it."""

    name: str = "verifier"

    @abstractmethod
    def applies(self, c: Comparison) -> bool: ...

    @abstractmethod
    async def check(self, c: Comparison, ctx: CheckContext) -> Evidence: ...

    async def score(
        self, prompt: str | list[Message], response: str, ctx: CheckContext
    ) -> float | None:
        """One response checked alone, for a reward with no reference answer: from 0 (it
        fails every test, or contradicts the computed answer) to 1; None when nothing
        conclusive can be said of it."""
        return None


def decide(evidence: list[Evidence]) -> Label | None:
    """The winner the checks agree on: every conclusive check names the same response."""
    winners = {e.winner for e in evidence if e.winner is not None}
    return winners.pop() if len(winners) == 1 else None
