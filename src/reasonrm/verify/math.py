"""The math check: compute the answer with programs the judge writes, then decide when
exactly one response's final answer equals it.

The judge writes a program for the problem (program-of-thought, exact arithmetic with
`fractions` or `sympy`), from the prompt alone, several times; the sandbox runs each and its
last printed line is its answer. A response's answer is supported by the programs whose
answer math-verify finds equivalent to it. The pair is decided when one response has the
support of at least `MIN_SUPPORT` programs and the other has none: a wrong program seldom
lands on a wrong response's exact answer.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass

from reasonrm.sandbox.base import Limits, RunRequest
from reasonrm.types import Comparison, Label
from reasonrm.verify.answers import (
    compare,
    computed_answer,
    final_answer,
    is_choice,
    is_math_prompt,
)
from reasonrm.verify.base import CheckContext, Evidence, Verifier
from reasonrm.verify.code_tasks import code_task, prompt_text
from reasonrm.verify.languages import code_of

PROGRAM_TOKENS = 600
RUN_SECONDS = 10.0
MIN_SUPPORT = 2  # programs that must agree with the winning answer (chosen on the tuning sample)

SYSTEM = "You are an expert mathematician and Python programmer."
ASK = (
    "{problem}\n\nWrite a Python program that solves this problem and prints the final "
    "answer. Compute exactly: use sympy or fractions, not floating point, unless the problem "
    "asks for a decimal. Print only the final answer, simplified, on the last line."
)


@dataclass(frozen=True)
class Computed:
    """What the judge's programs gave: each one's answer (None: it failed) and its status."""

    answers: list[str | None]
    statuses: list[str]
    first_program: str
    completion_tokens: int


class MathVerifier(Verifier):
    name = "math"

    def applies(self, c: Comparison) -> bool:
        if not is_math_prompt(prompt_text(c)) or code_task(c) is not None:
            return False
        a, b = final_answer(c.a), final_answer(c.b)
        if a is None or b is None or is_choice(a) or is_choice(b):
            return False
        return _norm(a) != _norm(b)

    async def check(self, c: Comparison, ctx: CheckContext) -> Evidence:
        started = time.monotonic()
        a, b = final_answer(c.a), final_answer(c.b)
        assert a is not None and b is not None
        computed, made_here = await self._computed(prompt_text(c), ctx)
        usable = [x for x in computed.answers if x is not None]
        details = {
            "answers": {"a": a, "b": b},
            "computed": computed.answers,
            "statuses": computed.statuses,
            "program": computed.first_program,
        }
        tokens = computed.completion_tokens if made_here else 0

        def evidence(winner: Label | None, summary: str) -> Evidence:
            return Evidence(self.name, winner, summary, details, time.monotonic() - started, tokens)

        if not usable:
            return evidence(
                None,
                f"no decision: none of the judge's {len(computed.answers)} programs printed an answer",
            )
        compared = await compare(ctx.comparer, a, b, usable)
        if compared is None:
            return evidence(
                None, "no decision: the answers could not be compared (math-verify did not run)"
            )
        support = {"a": sum(compared["a"]), "b": sum(compared["b"])}
        details["support"] = support
        if compared["a_is_b"]:
            return evidence(None, "no decision: both responses give the same answer")
        if not all(compared["parsed"]):
            unread = [s for s, ok in zip("ab", compared["parsed"], strict=True) if not ok]
            return evidence(
                None, f"no decision: the answer of {' and '.join(unread)} could not be read"
            )
        winner: Label | None = None
        if support["a"] >= MIN_SUPPORT and support["b"] == 0:
            winner = "A"
        elif support["b"] >= MIN_SUPPORT and support["a"] == 0:
            winner = "B"
        line = (
            f"the judge's programs computed {_tally(usable)}; a answers {a} "
            f"({support['a']} agree), b answers {b} ({support['b']} agree)"
        )
        return evidence(
            winner, line + (f": {winner.lower()} is better" if winner else ": no decision")
        )

    async def score(self, prompt, response: str, ctx: CheckContext) -> float | None:
        """1 when at least MIN_SUPPORT of the judge's programs compute the response's final
        answer; 0 when none does and MIN_SUPPORT of them agree on another; else None."""
        problem = prompt if isinstance(prompt, str) else prompt_text(Comparison(prompt, "", ""))
        answer = final_answer(response)
        if answer is None or is_choice(answer) or not is_math_prompt(problem):
            return None
        computed, _ = await self._computed(problem, ctx)
        usable = [x for x in computed.answers if x is not None]
        if not usable:
            return None
        common = Counter(_norm(x) for x in usable).most_common(1)[0][0]
        rival = next(x for x in usable if _norm(x) == common)  # the most common answer
        compared = await compare(ctx.comparer, answer, rival, usable)
        if compared is None:
            return None
        if sum(compared["a"]) >= MIN_SUPPORT:
            return 1.0
        if sum(compared["a"]) == 0 and sum(compared["b"]) >= MIN_SUPPORT:
            return 0.0
        return None

    async def _computed(self, problem: str, ctx: CheckContext) -> tuple[Computed, bool]:
        made = []

        async def make() -> Computed:
            chat = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": ASK.format(problem=problem)},
            ]
            written = await ctx.write(chat, PROGRAM_TOKENS, prefill="```python\n")
            programs = [code_of(s.text, "python") for s in written]
            runs = await asyncio.gather(
                *(
                    ctx.sandbox.arun(RunRequest(p, "python", limits=Limits(seconds=RUN_SECONDS)))
                    for p in programs
                )
            )
            answers = [computed_answer(r.stdout) if r.status == "ok" else None for r in runs]
            made.append(True)
            return Computed(
                answers,
                [r.status for r in runs],
                programs[0][:4000] if programs else "",
                sum(s.completion_tokens for s in written),
            )

        key = "math-program|" + json.dumps([problem, ctx.samples, ctx.seed])
        computed = await ctx.shared(key, make)
        return computed, bool(made)


def _norm(answer: str) -> str:
    return re.sub(r"[\s$]|\\[,!;:]|\\left|\\right", "", answer).rstrip(".")


def _tally(answers: list[str]) -> str:
    counts: dict[str, int] = {}
    for x in answers:
        counts[x] = counts.get(x, 0) + 1
    return ", ".join(f"{x} ({n}x)" if n > 1 else x for x, n in counts.items())
