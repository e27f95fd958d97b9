"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp, TGI or a hosted API.

Async with a concurrency limit; the openai client retries 429, 5xx and connection errors with
exponential backoff. A continued assistant message is sent with vLLM's
`continue_final_message` flags (llama.cpp continues such a message by itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from typing import Any

from reasonrm.engines.base import Engine, is_continuation, split_n, strip_echo
from reasonrm.errors import (
    ContextLengthError,
    EngineError,
    EngineUnavailableError,
    InputError,
)
from reasonrm.types import Message, Sample, SamplingParams

log = logging.getLogger(__name__)

_CONTEXT_HINTS = ("context length", "context size", "maximum context", "exceed_context", "too long")


class OpenAIEngine(Engine):
    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout: float = 600.0,
        max_retries: int = 4,
        max_n: int = 4,
        send_grammar: bool = False,
    ) -> None:
        """`base_url` like http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL). `model`: the
        served model's name (default: the first one the server lists). `max_n`: samples per
        request (llama.cpp allows as many as it has slots; vLLM any). `send_grammar`: pass
        GBNF grammars through (llama.cpp servers understand them)."""
        from openai import AsyncOpenAI

        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise InputError("the openai engine needs a base URL (--base-url or $OPENAI_BASE_URL)")
        self.base_url = base_url.rstrip("/")
        api_key = os.environ.get(api_key_env) or "EMPTY"  # local servers accept any key
        self._client = AsyncOpenAI(
            base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
        )
        self.concurrency = concurrency
        self._limits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.max_n = max_n
        self.send_grammar = send_grammar
        self.model = model or ""

    @property
    def supports_grammar(self) -> bool:
        return self.send_grammar

    def _limit(self) -> asyncio.Semaphore:
        """The concurrency limit of the running loop (a semaphore belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if loop not in self._limits:
            self._limits[loop] = asyncio.Semaphore(self.concurrency)
        return self._limits[loop]

    async def _model_name(self) -> str:
        if not self.model:
            models = await self._call(self._client.models.list())
            if not models.data:
                raise EngineError(f"{self.base_url} serves no models")
            self.model = models.data[0].id
        return self.model

    async def _call(self, awaitable):
        import openai

        try:
            return await awaitable
        except openai.APIConnectionError as e:
            raise EngineUnavailableError(
                f"cannot reach the server at {self.base_url}: {e}; is it running?"
            ) from None
        except openai.AuthenticationError:
            raise EngineError(
                f"{self.base_url} refused the API key: set the environment variable that holds it"
            ) from None
        except openai.APIStatusError as e:
            message = str(e)
            if e.status_code == 400 and any(h in message.lower() for h in _CONTEXT_HINTS):
                raise ContextLengthError(f"{self.base_url}: {message}") from None
            raise EngineError(f"{self.base_url} answered {e.status_code}: {message}") from None

    async def _request(self, chat: list[Message], params: SamplingParams, n: int, seed: int | None):
        extra: dict[str, Any] = {}
        if is_continuation(chat):
            extra.update(continue_final_message=True, add_generation_prompt=False)
        if params.grammar and self.send_grammar:
            extra["grammar"] = params.grammar
        kwargs: dict[str, Any] = dict(
            model=await self._model_name(),
            messages=chat,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            n=n,
            extra_body=extra or None,
        )
        if seed is not None:
            kwargs["seed"] = seed
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if n > 1:
            kwargs["logprobs"] = True  # the only per-choice token count servers agree on
        async with self._limit():
            start = time.perf_counter()
            response = await self._call(self._client.chat.completions.create(**kwargs))
            seconds = time.perf_counter() - start
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        samples = []
        for choice in response.choices:
            text = strip_echo(choice.message.content or "", chat)
            finish = "length" if choice.finish_reason == "length" else "stop"
            samples.append(
                Sample(
                    text=text,
                    completion_tokens=_choice_tokens(choice, finish, params, n, usage),
                    prompt_tokens=prompt_tokens,
                    finish_reason=finish,
                    seconds=seconds / n,
                )
            )
        return samples

    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]:
        async def one_chat(chat: list[Message]) -> list[Sample]:
            sizes = split_n(params.n, self.max_n)
            seeds = [None if params.seed is None else params.seed + i for i in range(len(sizes))]
            parts = await asyncio.gather(
                *(self._request(chat, params, k, s) for k, s in zip(sizes, seeds, strict=True))
            )
            return [sample for part in parts for sample in part]

        return list(await asyncio.gather(*(one_chat(c) for c in chats)))

    def close(self) -> None:
        from reasonrm.engines.base import run_sync

        run_sync(self._client.close())


def _choice_tokens(choice, finish: str, params: SamplingParams, n: int, usage) -> int:
    if n == 1 and usage is not None:
        return usage.completion_tokens
    logprobs = getattr(choice, "logprobs", None)
    if logprobs is not None and logprobs.content:
        return len(logprobs.content)
    if finish == "length":
        return params.max_tokens
    # No per-choice count from this server: an even share of the total is the best estimate.
    return round(usage.completion_tokens / n) if usage else 0
