"""Local Hugging Face checkpoints (a folder, or a GGUF file dequantized) with batched
generation. Concurrent `agenerate` calls are gathered for a few milliseconds and run as one
padded batch; this is the engine training evaluates its checkpoints with."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonrm.engines.base import Engine, is_continuation, top_logprobs
from reasonrm.errors import (
    ContextLengthError,
    InputError,
    MissingDependencyError,
    UnknownEngineError,
    UnknownModelError,
)
from reasonrm.models import auto_dtype, is_gguf, resolve_gguf
from reasonrm.specs import DTYPES
from reasonrm.types import Message, NextToken, Sample, SamplingParams

log = logging.getLogger(__name__)


@dataclass
class _Request:
    chats: list[list[Message]]
    params: SamplingParams
    future: asyncio.Future
    results: dict[int, list[Sample]] = field(default_factory=dict)


class TransformersEngine(Engine):
    name = "transformers"

    @classmethod
    def from_spec(cls, spec, progress=None) -> TransformersEngine:
        return cls(spec.model, batch_size=spec.parallel, dtype=spec.dtype, device=spec.device)

    def __init__(
        self,
        model: str | None,
        *,
        dtype: str | None = None,
        batch_size: int = 8,
        max_wait_ms: float = 5.0,
        device: str = "auto",
    ) -> None:
        """`model`: a checkpoint folder, a .gguf file, or a registry name (its GGUF).
        `batch_size`: most chats per generate call. `dtype`: default bfloat16 for checkpoint
        folders (about twice as fast as float32 on CPUs with bf16), float32 for GGUF files
        (transformers keeps their weights packed and computes in float32). `device`: a torch
        device; "auto" takes the GPU when torch sees one."""
        if not model:
            raise UnknownEngineError("the transformers engine needs a model (folder or .gguf)")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingDependencyError(
                "the transformers engine needs torch and transformers: "
                "pip install 'reasonrm[transformers]'"
            ) from None
        device = resolve_device(device)  # before a registry model downloads
        self.model = model
        source, kwargs = locate_checkpoint(model)
        self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if dtype in (None, "auto"):
            dtype = auto_dtype(model)
        if dtype not in DTYPES:
            raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.net = AutoModelForCausalLM.from_pretrained(
            source, dtype=getattr(torch, dtype), **NO_HUB_KERNELS, **kwargs
        ).to(device)
        self.net.eval()
        self.device = device
        self.batch_size = batch_size
        self.max_wait = max_wait_ms / 1000
        self.context = getattr(self.net.config, "max_position_embeddings", None)
        eos = self.net.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        self._stop_ids = set(eos) | {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        self._stop_ids.discard(None)
        self._pending: list[_Request] = []
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transformers")

    async def agenerate(
        self, chats: list[list[Message]], params: SamplingParams
    ) -> list[list[Sample]]:
        loop = asyncio.get_running_loop()
        request = _Request(chats, params, loop.create_future())
        if not chats:
            return []
        self._pending.append(request)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await request.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.max_wait)  # let concurrent callers join this batch
        while self._pending:
            params = self._pending[0].params
            key = _batch_key(params)
            batch: list[tuple[_Request, int]] = []
            for req in self._pending:
                if _batch_key(req.params) != key:
                    continue
                for i in range(len(req.chats)):
                    if (
                        i not in req.results
                        and (req, i) not in batch
                        and len(batch) < self.batch_size
                    ):
                        batch.append((req, i))
            try:
                outputs = await loop.run_in_executor(
                    self._executor, self._generate, [r.chats[i] for r, i in batch], params
                )
            except Exception as e:  # a bad batch fails its requests, not the worker
                for req in {id(r): r for r, _ in batch}.values():
                    self._finish(req, error=e)
                continue
            for (req, i), samples in zip(batch, outputs, strict=True):
                if isinstance(samples, Exception):
                    self._finish(req, error=samples)
                    continue
                req.results[i] = samples
                if len(req.results) == len(req.chats):
                    self._finish(req)

    @property
    def capacity(self) -> int:
        return self.batch_size

    def tokenize(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    async def anext_tokens(self, chats: list[list[Message]], top: int = 20) -> list[NextToken]:
        loop = asyncio.get_running_loop()
        # Batches of similar lengths: left padding is computed like real tokens, and on a CPU
        # a padded batch of mixed lengths costs more than the same chats one by one.
        ids = [self.tokenize(self._render(c)) for c in chats]
        order = sorted(range(len(chats)), key=lambda i: len(ids[i]))
        out: list[NextToken | None] = [None] * len(chats)
        for start in range(0, len(chats), self.batch_size):  # the same worker as generation
            part = order[start : start + self.batch_size]
            found = await loop.run_in_executor(
                self._executor, self._next_tokens, [ids[i] for i in part], top
            )
            for i, result in zip(part, found, strict=True):
                out[i] = result
        return out  # type: ignore[return-value]

    def _next_tokens(self, ids: list[list[int]], top: int) -> list[NextToken]:
        """One forward pass over the padded batch of tokenized chats: the softmax at each
        chat's last position (left padding puts every last token in the last column)."""
        import torch

        for n_tokens in map(len, ids):
            if self.context and n_tokens + 1 > self.context:
                raise ContextLengthError(
                    f"the prompt has {n_tokens} tokens, over the model's context of "
                    f"{self.context}: shorten it"
                )
        enc = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
        start = time.perf_counter()
        with torch.inference_mode():
            logits = self._last_logits(enc)
        best = torch.log_softmax(logits, dim=-1).topk(top, dim=-1)
        seconds = (time.perf_counter() - start) / len(ids)
        results = []
        for row, n_tokens in enumerate(map(len, ids)):
            entries = [
                {"token": self.tokenizer.decode([token]), "logprob": value}
                for value, token in zip(
                    best.values[row].tolist(), best.indices[row].tolist(), strict=True
                )
            ]
            results.append(NextToken(top_logprobs(entries, where=self.model), n_tokens, seconds))
        return results

    def _last_logits(self, enc: Any) -> Any:
        """Float32 logits at the last position only (the full (batch, length, vocab) tensor
        would cost about as much as the rest of the forward pass on a small model). In
        bfloat16 the logits themselves are rounded, to steps of 0.25 at magnitudes of 32 to
        64, so two labels' log-odds came out in quarter steps and often exactly tied: the
        final projection is redone in float32 from the last hidden state."""
        import torch

        head = self.net.get_output_embeddings()
        if self.net.dtype == torch.float32 or not isinstance(head, torch.nn.Linear):
            return self.net(**enc, logits_to_keep=1).logits[:, -1, :].float()
        hidden = self.net.get_decoder()(**enc).last_hidden_state[:, -1, :].float()
        bias = None if head.bias is None else head.bias.float()
        logits = torch.nn.functional.linear(hidden, head.weight.float(), bias)
        cap = getattr(self.net.config, "final_logit_softcapping", None)
        return torch.tanh(logits / cap) * cap if cap else logits

    def _finish(self, req: _Request, error: Exception | None = None) -> None:
        if req in self._pending:
            self._pending.remove(req)
        if req.future.done():
            return
        if error is not None:
            req.future.set_exception(error)
        else:
            req.future.set_result([req.results[i] for i in range(len(req.chats))])

    def _render(self, chat: list[Message]) -> str:
        cont = is_continuation(chat)
        return self.tokenizer.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=not cont, continue_final_message=cont
        )

    def _generate(self, chats: list[list[Message]], params: SamplingParams) -> list:
        import torch

        ids = self.tokenizer([self._render(c) for c in chats], add_special_tokens=False).input_ids
        lengths = [len(x) for x in ids]
        results: list = [None] * len(chats)
        keep = []
        for i, n_tokens in enumerate(lengths):
            if self.context and n_tokens + params.max_tokens > self.context:
                results[i] = ContextLengthError(
                    f"the prompt has {n_tokens} tokens and asks for {params.max_tokens} more, "
                    f"over the model's context of {self.context}: shorten it or lower max_tokens"
                )
            else:
                keep.append(i)
        if not keep:
            return results
        # Tokenized once above; only the prompts that fit are padded into the batch.
        enc = self.tokenizer.pad({"input_ids": [ids[i] for i in keep]}, return_tensors="pt")
        enc = enc.to(self.device)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        sampling = params.temperature > 0
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.net.generate(
                **enc,
                max_new_tokens=params.max_tokens,
                do_sample=sampling,
                temperature=params.temperature if sampling else None,
                top_p=params.top_p if sampling else None,
                top_k=None,
                num_return_sequences=params.n,
                pad_token_id=self.tokenizer.pad_token_id,
                stop_strings=list(params.stop) or None,
                tokenizer=self.tokenizer if params.stop else None,
            )
        seconds = (time.perf_counter() - start) / (len(keep) * params.n)
        new = out[:, enc.input_ids.shape[1] :].tolist()
        for row, i in enumerate(keep):
            samples = []
            for j in range(params.n):
                ids = new[row * params.n + j]
                end = next((k for k, t in enumerate(ids) if t in self._stop_ids), None)
                finish = "length" if end is None else "stop"
                count = len(ids) if end is None else end + 1
                text = self.tokenizer.decode(
                    ids[: count if end is None else end], skip_special_tokens=True
                )
                samples.append(Sample(text, count, lengths[i], finish, seconds))
            results[i] = samples
        return results

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _batch_key(p: SamplingParams) -> tuple:
    return (p.max_tokens, p.temperature, p.top_p, p.n, p.stop)


# transformers 5 swaps layers for kernels fetched from the Hugging Face Hub by default on a GPU;
# offline, or from a publisher it cannot verify, that fails a GPU run at its first step
# (measured on an H200: "kernels-community/rotary ... could not verify publisher trust")
NO_HUB_KERNELS = {"use_kernels": False}


def resolve_device(device: str) -> str:
    """The torch device to load on: "auto" means CUDA (or Apple's MPS) when torch sees it; a
    named device must exist, so that a GPU asked for is never silently the CPU."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    try:
        named = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(
            f"device {device!r} is not a torch device: use cpu, cuda, cuda:N or mps"
        ) from None
    if named.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"device {device!r}: this torch sees no CUDA GPU; use --device cpu")
        if (named.index or 0) >= count:
            raise InputError(f"device {device!r}: this machine has {count} CUDA GPU(s)")
    if named.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {device!r}: this torch sees no Apple GPU; use --device cpu")
    return device


def locate_checkpoint(model: str) -> tuple[str, dict]:
    """Where from_pretrained should look, and with which extra arguments."""
    path = Path(model).expanduser()
    if is_gguf(model):
        path = resolve_gguf(model)  # checks the file is there and has a GGUF header
        return str(path.parent), {"gguf_file": path.name}
    if path.is_dir():
        if not (path / "config.json").exists():
            raise UnknownModelError(f"{path} is not a Hugging Face checkpoint (no config.json)")
        return str(path), {}
    return model, {}  # a hub id, for users who can reach the hub
