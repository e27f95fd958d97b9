"""The embedded default engine: llama.cpp's server, in process, through the xllamacpp wheel.

Requests run in worker threads (the server releases the GIL), so concurrent calls fill
llama.cpp's parallel slots and are decoded together (continuous batching). `n` samples of one
chat go in one request, so their prompt is prefilled once and shared.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from reasonrm.engines.base import Engine, split_n, strip_echo, top_logprobs
from reasonrm.errors import (
    ContextLengthError,
    CorruptModelError,
    EngineError,
    MissingDependencyError,
)
from reasonrm.models import DEFAULT_MODEL, resolve_gguf
from reasonrm.types import Message, NextToken, Sample, SamplingParams

log = logging.getLogger(__name__)


class LlamaCppEngine(Engine):
    name = "llamacpp"

    @classmethod
    def from_spec(cls, spec, progress=None) -> LlamaCppEngine:
        return cls(
            spec.model,
            parallel=spec.parallel,
            context=spec.context,
            threads=spec.threads,
            progress=progress,
        )

    def __init__(
        self,
        model: str | None = DEFAULT_MODEL,
        *,
        parallel: int = 8,
        context: int = 8192,
        threads: int | None = None,
        cache_prompt: bool = True,
        progress=None,
    ) -> None:
        """`model`: a registry name or a .gguf path. `parallel` slots, each with `context`
        tokens (prompt plus generation). `cache_prompt`: reuse a slot's processed prompt for
        the next request that starts with it (off only to time prefill honestly)."""
        try:
            import xllamacpp
        except ImportError:
            raise MissingDependencyError(
                "the llamacpp engine needs xllamacpp: pip install 'reasonrm[local]'"
            ) from None
        model = model or DEFAULT_MODEL
        self.path = resolve_gguf(model, progress)
        self.model = model
        self.parallel = parallel
        self.context = context
        self.cache_prompt = cache_prompt
        p = xllamacpp.CommonParams()
        p.model.path = str(self.path)
        p.n_parallel = parallel
        p.n_ctx = context * parallel  # llama.cpp splits the context evenly across slots
        p.cpuparams.n_threads = threads or os.cpu_count() or 1
        p.cpuparams_batch.n_threads = p.cpuparams.n_threads
        p.warmup = False
        p.verbosity = -1
        p.hostnames = ["127.0.0.1"]  # it also listens on loopback; used only to count tokens
        p.port = 0
        try:
            self._server = xllamacpp.Server(p)
        except RuntimeError as e:  # llama.cpp says only "Failed to init server"
            raise CorruptModelError(
                f"llama.cpp could not load {self.path}: it is not a complete GGUF model of an "
                f"architecture this llama.cpp supports, or it does not fit in memory ({e})"
            ) from None
        self._pool = ThreadPoolExecutor(max_workers=parallel * 2, thread_name_prefix="llamacpp")
        self._http = httpx.Client(base_url=self._server.listening_address, timeout=60)

    @property
    def capacity(self) -> int:
        return self.parallel

    @property
    def supports_grammar(self) -> bool:
        return True

    @property
    def listening_address(self) -> str:
        """The OpenAI-compatible HTTP address the in-process server also serves."""
        return self._server.listening_address

    def _request(self, chat: list[Message], params: SamplingParams, n: int, seed: int | None):
        body: dict[str, Any] = {
            "messages": chat,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": n,
            "cache_prompt": self.cache_prompt,
        }
        if seed is not None:
            body["seed"] = seed
        if params.stop:
            body["stop"] = list(params.stop)
        if params.grammar:
            body["grammar"] = params.grammar
        start = time.perf_counter()
        response = self._server.handle_chat_completions(body)
        seconds = time.perf_counter() - start
        if "error" in response:
            raise _error(response["error"], self.context)
        usage = response["usage"]
        samples = []
        for choice in response["choices"]:
            text = strip_echo(choice["message"].get("content") or "", chat)
            finish = "length" if choice["finish_reason"] == "length" else "stop"
            samples.append(
                Sample(
                    text=text,
                    completion_tokens=self._completion_tokens(text, finish, params, n, usage),
                    prompt_tokens=usage["prompt_tokens"],
                    finish_reason=finish,
                    seconds=seconds / n,  # the request's wall time, shared by its samples
                )
            )
        return samples

    def _completion_tokens(
        self, text: str, finish: str, params: SamplingParams, n: int, usage
    ) -> int:
        # llama.cpp reports usage for the first choice only when n > 1.
        if n == 1:
            return usage["completion_tokens"]
        if finish == "length":
            return params.max_tokens
        return len(self.tokenize(text)) + 1  # + the end-of-turn token

    def _next_token(self, chat: list[Message], top: int) -> NextToken:
        body = {
            "messages": chat,
            "max_tokens": 1,
            "temperature": 0.0,
            "n": 1,
            "logprobs": True,
            "top_logprobs": top,
            "cache_prompt": self.cache_prompt,
        }
        start = time.perf_counter()
        response = self._server.handle_chat_completions(body)
        seconds = time.perf_counter() - start
        if "error" in response:
            raise _error(response["error"], self.context)
        content = (response["choices"][0].get("logprobs") or {}).get("content") or [{}]
        logprobs = top_logprobs(content[0].get("top_logprobs"), where="llama.cpp")
        usage = response["usage"]
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return NextToken(logprobs, usage["prompt_tokens"], seconds, cached)

    async def anext_tokens(self, chats: list[list[Message]], top: int = 20) -> list[NextToken]:
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(self._pool, self._next_token, c, top) for c in chats)
            )
        )

    def tokenize(self, text: str) -> list[int]:
        reply = self._http.post("/tokenize", json={"content": text, "add_special": False})
        return reply.json()["tokens"]

    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]:
        loop = asyncio.get_running_loop()

        async def one_chat(chat: list[Message]) -> list[Sample]:
            sizes = split_n(params.n, self.parallel)
            seeds = [None if params.seed is None else params.seed + i for i in range(len(sizes))]
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(self._pool, self._request, chat, params, k, s)
                    for k, s in zip(sizes, seeds, strict=True)
                )
            )
            return [sample for part in parts for sample in part]

        return list(await asyncio.gather(*(one_chat(c) for c in chats)))

    def close(self) -> None:
        if getattr(self, "_server", None) is not None:
            self._http.close()
            # requests not yet started are dropped (a stopped run would otherwise wait for
            # every queued generation); those the server is running finish
            self._pool.shutdown(wait=True, cancel_futures=True)
            del self._server
            self._server = None


def _error(err: dict, context: int) -> Exception:
    if err.get("type") == "exceed_context_size_error":
        return ContextLengthError(
            f"the prompt has {err.get('n_prompt_tokens')} tokens but the model's context per "
            f"request is {context}: shorten the prompt or responses, or raise the context"
        )
    return EngineError(f"llama.cpp: {err.get('message', err)}")
