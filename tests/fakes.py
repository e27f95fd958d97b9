"""Test doubles: an engine that returns scripted completions and records every call."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reasonrm.engines.base import Engine, is_continuation
from reasonrm.types import Message, NextToken, Sample, SamplingParams

#: one scripted completion: its text (finish_reason "stop"), or (text, finish_reason)
Scripted = str | tuple[str, str]
#: called once per sample with a copy of the chat and the request's params
ScriptFn = Callable[[list[Message], SamplingParams], Scripted]
#: next-token probabilities after a chat ({token: probability}), for probability scoring
ScoreFn = Callable[[list[Message]], dict[str, float]]


def count_tokens(text: str) -> int:
    """The fake tokenizer: whitespace-separated words."""
    return len(text.split())


@dataclass(frozen=True)
class Call:
    """One `agenerate` request as the engine received it."""

    chats: list[list[Message]]
    params: SamplingParams

    @property
    def continuation(self) -> bool:
        return any(is_continuation(chat) for chat in self.chats)


class ScriptedEngine(Engine):
    """Returns `params.n` samples per chat, each taken from `script`.

    script: a function `(chat, params) -> text | (text, finish_reason)` called once per sample
    (it may raise, e.g. ContextLengthError, to fail a request), or a list of such completions
    handed out in order, one per sample, across all requests (continuations included).
    A continuation chat (last message from the assistant) gets only the continuation's text,
    as real engines return it.
    """

    name = "scripted"
    model = "scripted"

    def __init__(
        self,
        script: ScriptFn | Iterable[Scripted] = (),
        *,
        grammar: bool = False,
        scores: ScoreFn | None = None,
        tokenize: Callable[[str], list[int]] | None = None,
    ) -> None:
        """`scores`: next-token probabilities per chat (without it the engine, like one that
        returns no logprobs, refuses probability scoring); `tokenize`: a tokenizer for the
        start-up label check (without it the engine cannot tokenize, like a remote server)."""
        self._fn: ScriptFn | None = script if callable(script) else None
        self._queue: deque[Scripted] = deque() if callable(script) else deque(script)
        self._grammar = grammar
        self._scores = scores
        self._tokenize = tokenize
        self.calls: list[Call] = []
        self.scored: list[list[Message]] = []  # every chat anext_tokens was asked about

    async def anext_tokens(self, chats: list[list[Message]], top: int = 20) -> list[NextToken]:
        if self._scores is None:
            return await super().anext_tokens(chats, top)
        out = []
        for chat in chats:
            self.scored.append([dict(m) for m in chat])
            probs = self._scores([dict(m) for m in chat])
            logprobs = {t: math.log(p) for t, p in probs.items() if p > 0}
            prompt_tokens = sum(count_tokens(m["content"]) for m in chat)
            out.append(NextToken(logprobs, prompt_tokens, 0.0))
        return out

    def tokenize(self, text: str) -> list[int] | None:
        return None if self._tokenize is None else self._tokenize(text)

    @property
    def supports_grammar(self) -> bool:
        return self._grammar

    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]:
        self.calls.append(Call([[dict(m) for m in chat] for chat in chats], params))
        out = []
        for chat in chats:
            prompt_tokens = sum(count_tokens(m["content"]) for m in chat)
            samples = []
            for _ in range(params.n):
                text, finish_reason = self._next([dict(m) for m in chat], params)
                samples.append(
                    Sample(text, count_tokens(text), prompt_tokens, finish_reason, 0.0)  # type: ignore[arg-type]
                )
            out.append(samples)
        return out

    def _next(self, chat: list[Message], params: SamplingParams) -> tuple[str, str]:
        if self._fn is not None:
            item = self._fn(chat, params)
        elif self._queue:
            item = self._queue.popleft()
        else:
            raise AssertionError("ScriptedEngine: the script ran out of completions")
        text, finish_reason = (item, "stop") if isinstance(item, str) else item
        assert finish_reason in ("stop", "length"), finish_reason
        return text, finish_reason

    # ---- what tests assert on ---------------------------------------------------------------

    @property
    def requests(self) -> int:
        """Number of `agenerate` calls."""
        return len(self.calls)

    @property
    def samples_drawn(self) -> int:
        """Samples generated for fresh (non-continuation) chats."""
        return sum(c.params.n * len(c.chats) for c in self.calls if not c.continuation)

    @property
    def seeds(self) -> list[int | None]:
        """The seed of every fresh (non-continuation) request, in call order."""
        return [c.params.seed for c in self.calls if not c.continuation]

    @property
    def continuations(self) -> list[Call]:
        return [c for c in self.calls if c.continuation]

    @property
    def unused(self) -> int:
        """Scripted completions not handed out yet (list scripts)."""
        return len(self._queue)


def content_judge(chat: list[Message], params: SamplingParams) -> str:
    """An rrm-format judge that picks whichever slot holds the response containing 'good'."""
    user = chat[-1]["content"]
    first = user.split("### Assistant 2")[0]
    return (
        "\\boxed{Assistant 1}"
        if "good" in first.split("### Assistant 1")[1]
        else "\\boxed{Assistant 2}"
    )


def quality_judge(chat: list[Message], params: SamplingParams) -> str:
    """An rrm-format judge for responses that carry a quality, "q=<int>": it picks the higher
    one, and on equal quality the first slot (so both orders disagree: a tie)."""
    user = chat[-1]["content"]
    first, second = user.split("### Assistant 1")[1].split("### Assistant 2")
    q1, q2 = (int(re.search(r"q=(\d+)", s).group(1)) for s in (first, second))
    return "\\boxed{Assistant 1}" if q1 >= q2 else "\\boxed{Assistant 2}"


# appended for the server tests (the imports above are left as they were)
import asyncio  # noqa: E402
import threading  # noqa: E402


class GatedEngine(ScriptedEngine):
    """A ScriptedEngine whose requests wait until `gate` is set: a slow engine, for tests of
    queues, timeouts, cancellation and shutdown. Thread-safe to drive from a test while the
    engine runs on another loop (the server runs engine calls on the shared loop).
    `entered` counts requests that reached the engine; `calls` only those that finished."""

    def __init__(self, script: ScriptFn | Iterable[Scripted], *, capacity: int = 1) -> None:
        super().__init__(script)
        self.gate = threading.Event()
        self.entered = 0
        self.cancelled = 0
        self.closed = False
        self._capacity = capacity

    @property
    def capacity(self) -> int:
        return self._capacity

    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]:
        self.entered += 1
        try:
            while not self.gate.is_set():
                await asyncio.sleep(0.002)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return await super().agenerate(chats, params)

    def close(self) -> None:
        self.closed = True
