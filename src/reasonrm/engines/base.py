"""The one interface every engine implements: chats in, k samples per chat out."""

from __future__ import annotations

import asyncio
import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from reasonrm.errors import ScoringUnsupportedError
from reasonrm.types import Message, NextToken, Sample, SamplingParams

if TYPE_CHECKING:
    from reasonrm.specs import EngineSpec

T = TypeVar("T")


class Engine(ABC):
    """Text generation. `agenerate` returns, for each chat, `params.n` samples.

    A chat whose last message is from the assistant is continued from where that message
    stops (used to force a verdict); the returned text is only the continuation.
    Concurrent `agenerate` calls are how callers batch: engines run them together.
    """

    name: str = "engine"
    model: str = ""

    @abstractmethod
    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]: ...

    def generate(self, chats: list[list[Message]], params: SamplingParams) -> list[list[Sample]]:
        return run_sync(self.agenerate(chats, params))

    async def anext_tokens(self, chats: list[list[Message]], top: int = 20) -> list[NextToken]:
        """For each chat (its last assistant message continued), the `top` likeliest next
        tokens with their log-probabilities: one prefill and no sampling."""
        raise ScoringUnsupportedError(
            f"the {self.name} engine cannot read token probabilities: use score='vote'"
        )

    def tokenize(self, text: str) -> list[int] | None:
        """The model's token ids for `text` (no special tokens), or None where the engine
        cannot say (a remote server): used to check a protocol's labels at start-up."""
        return None

    @classmethod
    def from_spec(cls, spec: EngineSpec, progress: Callable[[str], None] | None = None) -> Engine:
        """The engine an `EngineSpec` names, with the spec's fields that concern it."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from an EngineSpec")

    #: whether the engine passes `SamplingParams.reasoning_effort` to the model
    supports_reasoning_effort = False

    @property
    def supports_grammar(self) -> bool:
        return False

    @property
    def capacity(self) -> int:
        """How many requests the engine works on at once (callers keep it that busy)."""
        return 8

    def close(self) -> None:
        """Release the model or connections; the engine cannot be used afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_continuation(chat: list[Message]) -> bool:
    return bool(chat) and chat[-1]["role"] == "assistant"


def strip_echo(text: str, chat: list[Message]) -> str:
    """Some servers return the continued assistant message with its prefix: drop it."""
    if is_continuation(chat):
        prefix = chat[-1]["content"]
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def top_logprobs(entries: list, *, where: str) -> dict[str, float]:
    """{token text: log-probability} from an OpenAI-style `top_logprobs` list (dicts or
    objects with `token` and `logprob`); the same text twice keeps the sum of both."""
    if not entries:
        raise ScoringUnsupportedError(
            f"{where} returned no token probabilities: score='prob' needs a server that "
            "returns logprobs (vLLM, llama.cpp's server); use score='vote'"
        )
    out: dict[str, float] = {}
    for e in entries:
        token, logprob = (e["token"], e["logprob"]) if isinstance(e, dict) else (e.token, e.logprob)
        out[token] = math.log(math.exp(out[token]) + math.exp(logprob)) if token in out else logprob
    return out


def split_n(n: int, most: int) -> list[int]:
    """Split n samples into requests of at most `most` samples each."""
    return [min(most, n - i) for i in range(0, n, most)]


class _LoopThread:
    """One event loop in a daemon thread, so sync callers can run coroutines from anywhere
    (including from inside another running loop, e.g. a notebook)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()


_loop_thread: _LoopThread | None = None
_loop_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The background loop that sync APIs run their coroutines on."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is None:
            _loop_thread = _LoopThread()
    return _loop_thread.loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coro, shared_loop()).result()


def map_in_order(
    work: Callable[[Any], Coroutine[Any, Any, T]], items: Iterable[Any], in_flight: int
) -> Iterator[T]:
    """`work(item)` for each item on the shared loop, `in_flight` at a time, yielding results
    in input order; what is still running is cancelled when the caller stops early."""
    loop = shared_loop()
    pending: deque = deque()
    it = iter(items)
    sentinel = object()

    def submit() -> bool:
        item = next(it, sentinel)
        if item is sentinel:
            return False
        pending.append(asyncio.run_coroutine_threadsafe(work(item), loop))
        return True

    try:
        while len(pending) < in_flight and submit():
            pass
        while pending:
            result = pending.popleft().result()
            submit()
            yield result
    finally:
        for future in pending:
            future.cancel()
