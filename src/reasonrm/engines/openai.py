"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp, TGI or a hosted API.

Async with a concurrency limit per endpoint; the openai client retries 429, 5xx and connection
errors with exponential backoff. Several base URLs (replicas of one model) make the engine data
parallel: each request goes to the endpoint with the fewest requests in flight, and an endpoint
that cannot be reached is set aside for a while, its requests sent to the others.
A continued assistant message is sent with vLLM's `continue_final_message` flags (llama.cpp
continues such a message by itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reasonrm.engines.base import Engine, is_continuation, split_n, strip_echo, top_logprobs
from reasonrm.errors import (
    ContextLengthError,
    EngineError,
    EngineUnavailableError,
    InputError,
)
from reasonrm.types import Message, NextToken, Sample, SamplingParams

log = logging.getLogger(__name__)

_CONTEXT_HINTS = ("context length", "context size", "maximum context", "exceed_context", "too long")
#: how long an unreachable endpoint is skipped before it is tried again
DOWN_SECONDS = 30.0


def parse_base_urls(base_url: str | Sequence[str] | None) -> list[str]:
    """One URL, a comma-separated string or a list; default $OPENAI_BASE_URL."""
    if base_url is None:
        base_url = os.environ.get("OPENAI_BASE_URL") or ""
    parts = base_url.split(",") if isinstance(base_url, str) else list(base_url)
    urls = [u.strip().rstrip("/") for u in parts if u and u.strip()]
    if not urls:
        raise InputError("the openai engine needs a base URL (--base-url or $OPENAI_BASE_URL)")
    twice = sorted({u for u in urls if urls.count(u) > 1})
    if twice:
        raise InputError(f"base URL listed twice: {', '.join(twice)}")
    return urls


@dataclass(eq=False)
class _Endpoint:
    url: str
    client: Any  # openai.AsyncOpenAI
    in_flight: int = 0  # requests sent here and not yet answered (waiting ones included)
    down_until: float = 0.0
    limits: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)


class OpenAIEngine(Engine):
    name = "openai"
    supports_reasoning_effort = True

    @classmethod
    def from_spec(cls, spec, progress=None) -> OpenAIEngine:
        return cls(
            spec.base_url,
            spec.model,
            api_key_env=spec.api_key_env,
            concurrency=spec.concurrency,
        )

    def __init__(
        self,
        base_url: str | Sequence[str] | None = None,
        model: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout: float = 600.0,
        max_retries: int = 4,
        max_n: int = 4,
        send_grammar: bool = False,
    ) -> None:
        """`base_url` like http://127.0.0.1:8000/v1, or several (a list or comma-separated) for
        replicas of one model (default: $OPENAI_BASE_URL). `model`: the served model's name
        (default: the first one the server lists). `concurrency`: requests in flight per
        endpoint. `max_n`: samples per request (llama.cpp allows as many as it has slots; vLLM
        any). `send_grammar`: pass GBNF grammars through (llama.cpp servers understand them)."""
        from openai import AsyncOpenAI

        urls = parse_base_urls(base_url)
        api_key = os.environ.get(api_key_env) or "EMPTY"  # local servers accept any key
        self._endpoints = [
            _Endpoint(
                url,
                AsyncOpenAI(
                    base_url=url, api_key=api_key, timeout=timeout, max_retries=max_retries
                ),
            )
            for url in urls
        ]
        self.base_urls = urls
        self.base_url = urls[0]
        self.concurrency = concurrency
        self.max_n = max_n
        self.send_grammar = send_grammar
        self.model = model or ""

    @property
    def supports_grammar(self) -> bool:
        return self.send_grammar

    @property
    def capacity(self) -> int:
        return self.concurrency * len(self._endpoints)

    def _limit(self, endpoint: _Endpoint) -> asyncio.Semaphore:
        """The endpoint's concurrency limit in the running loop (a semaphore has one loop)."""
        loop = asyncio.get_running_loop()
        if loop not in endpoint.limits:
            endpoint.limits[loop] = asyncio.Semaphore(self.concurrency)
        return endpoint.limits[loop]

    def _pick(self, tried: set[_Endpoint]) -> _Endpoint | None:
        """The least busy endpoint not yet tried, preferring those not set aside."""
        left = [e for e in self._endpoints if e not in tried]
        if not left:
            return None
        now = time.monotonic()
        return min(left, key=lambda e: (e.down_until > now, e.in_flight))

    async def _on_any(self, send):
        """`await send(endpoint)` on the least busy endpoint; an unreachable endpoint is set
        aside and the call goes to the next one, until none is left."""
        tried: set[_Endpoint] = set()
        last: EngineUnavailableError | None = None
        while (endpoint := self._pick(tried)) is not None:
            endpoint.in_flight += 1
            try:
                result = await send(endpoint)
                endpoint.down_until = 0.0  # it answered: back in the rotation
                return result
            except EngineUnavailableError as e:
                if len(self._endpoints) == 1:
                    raise
                endpoint.down_until = time.monotonic() + DOWN_SECONDS
                tried.add(endpoint)
                last = e
                log.warning("%s is unreachable; trying another endpoint", endpoint.url)
            finally:
                endpoint.in_flight -= 1
        raise EngineUnavailableError(
            f"cannot reach any of the servers {', '.join(self.base_urls)}; are they running? "
            f"(last: {last})"
        )

    async def _model_name(self) -> str:
        if not self.model:

            async def first_model(endpoint: _Endpoint) -> str:
                models = await _call(endpoint.url, endpoint.client.models.list())
                if not models.data:
                    raise EngineError(f"{endpoint.url} serves no models")
                return models.data[0].id

            self.model = await self._on_any(first_model)
        return self.model

    @staticmethod
    def _continuation_flags(chat: list[Message]) -> dict[str, Any]:
        if is_continuation(chat):
            return {"continue_final_message": True, "add_generation_prompt": False}
        return {}

    async def _send(self, kwargs: dict[str, Any]):
        """One chat completion on the least busy endpoint: the response, its seconds and
        the endpoint's URL."""

        async def send(endpoint: _Endpoint):
            async with self._limit(endpoint):
                start = time.perf_counter()
                create = endpoint.client.chat.completions.create(**kwargs)
                response = await _call(endpoint.url, create)
                return response, time.perf_counter() - start, endpoint.url

        return await self._on_any(send)

    async def anext_tokens(self, chats: list[list[Message]], top: int = 20) -> list[NextToken]:
        async def one_chat(chat: list[Message]) -> NextToken:
            kwargs: dict[str, Any] = dict(
                model=await self._model_name(),
                messages=chat,
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=min(top, 20),  # the OpenAI API's most
                extra_body=self._continuation_flags(chat) or None,
            )
            response, seconds, url = await self._send(kwargs)
            logprobs = response.choices[0].logprobs if response.choices else None
            content = getattr(logprobs, "content", None) or []
            entries = content[0].top_logprobs if content else None
            usage = response.usage
            details = getattr(usage, "prompt_tokens_details", None)
            return NextToken(
                top_logprobs(entries, where=url),
                usage.prompt_tokens if usage else 0,
                seconds,
                getattr(details, "cached_tokens", None) or 0,
            )

        return list(await asyncio.gather(*(one_chat(c) for c in chats)))

    async def _request(self, chat: list[Message], params: SamplingParams, n: int, seed: int | None):
        extra = self._continuation_flags(chat)
        if params.grammar and self.send_grammar:
            extra["grammar"] = params.grammar
        if params.thinking_budget:
            extra["thinking_token_budget"] = params.thinking_budget
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
        if params.reasoning_effort:
            kwargs["reasoning_effort"] = params.reasoning_effort
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if n > 1:
            kwargs["logprobs"] = True  # the only per-choice token count servers agree on

        response, seconds, _ = await self._send(kwargs)
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
                    reasoning=reasoning_of(choice.message),
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

        errors = []
        for endpoint in self._endpoints:  # close every client even if one fails
            try:
                run_sync(endpoint.client.close())
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise errors[0]


def reasoning_of(message: Any) -> str | None:
    """A thinking model's chain, returned apart from the content: vLLM names the field
    `reasoning` (its older `reasoning_content` is gone since 2026); SGLang and llama.cpp's
    server use `reasoning_content`. The openai client keeps both as extra fields."""
    for name in ("reasoning", "reasoning_content"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return None


async def _call(url: str, awaitable):
    """Await an openai client call; its errors become ours, each naming the server."""
    import openai

    try:
        return await awaitable
    except openai.APITimeoutError:
        # a busy server, not a dead one: this request fails, the endpoint stays in use
        raise EngineError(f"{url} did not answer within the timeout") from None
    except openai.APIConnectionError as e:
        raise EngineUnavailableError(
            f"cannot reach the server at {url} ({e}): is it running?"
        ) from None
    except openai.AuthenticationError:
        raise EngineError(
            f"{url} refused the API key: set the environment variable that holds it"
        ) from None
    except openai.APIStatusError as e:
        message = str(e)
        if e.status_code == 400 and any(h in message.lower() for h in _CONTEXT_HINTS):
            raise ContextLengthError(f"{url}: {message}") from None
        raise EngineError(f"{url} answered {e.status_code}: {message}") from None


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
