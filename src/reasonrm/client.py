"""Clients for a `reasonrm serve` server, and a TRL reward function that judges through one.

    client = ReasonRMClient("http://127.0.0.1:8000", api_key=None)
    client.judge([("What is 2+2?", "4", "5")]).judgments[0].winner      # "A"
    client.rank("Write a haiku", ["...", "...", "..."]).best
    client.get_reward(query, prompts, labels).rewards                   # OpenRLHF's shape

`AsyncReasonRMClient` has the same methods as coroutines. Responses are the server's own
pydantic models (`reasonrm.api_models`, which needs only pydantic). Errors are
reasonrm errors with one clear message: the server cannot be reached, or answers 503 or
stays busy (429) after `retries` waits: EngineUnavailableError; the request was refused
(401, 413, 422): InputError with the server's reason; anything else: EngineError. A 429 is
retried after the server's Retry-After (capped at 30 s), `retries` times.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from reasonrm.api_models import (
    Health,
    JudgeResponse,
    ModelList,
    RankResponse,
    RewardResponse,
)
from reasonrm.engines.base import run_sync
from reasonrm.errors import EngineError, EngineUnavailableError, InputError, ReasonRMError
from reasonrm.rewards import (
    FAILURE_REWARD,
    REWARD_VS_REFERENCE,
    bracket_seed,
    generation_groups,
    reference_rows,
    text_of,
)
from reasonrm.types import Comparison

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 600.0  # judging a batch can take minutes; the server's own default
MAX_RETRY_WAIT = 30.0

# a Comparison, a {prompt, a, b} mapping, or a (prompt, a, b) tuple
PairLike = Comparison | Mapping[str, Any] | Sequence[Any]

# One call: (HTTP method, path, JSON body, statuses that are answers, how to read the answer)
Call = tuple[str, str, Any, tuple[int, ...], Callable[[Any], Any]]


# ---- the endpoints, shared by both clients -----------------------------------------------


def pair_body(pair: PairLike, index: int = 0) -> dict[str, Any]:
    if isinstance(pair, Comparison):
        prompt = pair.prompt if isinstance(pair.prompt, str) else [dict(m) for m in pair.prompt]
        return {"prompt": prompt, "a": pair.a, "b": pair.b}
    if isinstance(pair, Mapping):
        missing = [k for k in ("prompt", "a", "b") if k not in pair]
        if missing:
            raise InputError(f"pairs[{index}]: missing {', '.join(missing)}")
        return {"prompt": pair["prompt"], "a": pair["a"], "b": pair["b"]}
    if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 3:
        prompt, a, b = pair
        return {"prompt": prompt, "a": a, "b": b}
    raise InputError(
        f"pairs[{index}] must be a Comparison, a {{prompt, a, b}} mapping or a (prompt, a, b) tuple"
    )


def _judge(pairs: Sequence[PairLike], reasoning: bool) -> Call:
    body = {"pairs": [pair_body(p, i) for i, p in enumerate(pairs)], "reasoning": reasoning}
    return "POST", "/v1/judge", body, (200,), JudgeResponse.model_validate


def _rank(prompt: Any, responses: Sequence[str], method: str, seed: int | str | None) -> Call:
    body = {"prompt": prompt, "responses": list(responses), "method": method}
    if seed is not None:
        body["seed"] = seed
    return "POST", "/v1/rank", body, (200,), RankResponse.model_validate


def _get_reward(query: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None) -> Call:
    body = {"query": list(query), "prompts": list(prompts)}
    if labels is not None:
        body["labels"] = list(labels)
    return "POST", "/get_reward", body, (200,), RewardResponse.model_validate


def _health() -> Call:
    # 503 is an answer here: the server says it is shutting down or its engine is down
    return "GET", "/health", None, (200, 503), Health.model_validate


def _models() -> Call:
    return "GET", "/v1/models", None, (200,), ModelList.model_validate


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """The server's Retry-After (seconds), else exponential backoff; capped."""
    try:
        wait = float(response.headers.get("retry-after", ""))
    except ValueError:
        wait = 0.5 * 2**attempt
    return max(0.0, min(MAX_RETRY_WAIT, wait))


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else (response.text[:300] or response.reason_phrase)


def _answer(response: httpx.Response, call: Call, base_url: str, retries: int) -> Any:
    status, ok, read = response.status_code, call[3], call[4]
    where = f"{base_url}{call[1]}"
    if status in ok:
        return read(response.json())
    detail = _detail(response)
    if status == 429:
        raise EngineUnavailableError(f"{where}: still busy after {retries} retries: {detail}")
    if status == 503:
        raise EngineUnavailableError(f"{where}: {detail}")
    if status == 401:
        raise InputError(f"{where}: {detail} (check the client's api_key)")
    if 400 <= status < 500:
        raise InputError(f"{where}: {detail}")
    raise EngineError(f"{where}: HTTP {status}: {detail}")


def _transport_error(base_url: str, e: httpx.TransportError) -> ReasonRMError:
    if isinstance(e, httpx.TimeoutException):
        return EngineError(f"{base_url}: no answer in time ({type(e).__name__}); raise timeout=")
    return EngineUnavailableError(
        f"cannot reach the reasonrm server at {base_url} ({e or type(e).__name__}): "
        "is `reasonrm serve` running there?"
    )


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


# ---- the clients -------------------------------------------------------------------------


class ReasonRMClient:
    """A blocking client. `transport`: an httpx transport (tests pass a mock one)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.sleep = time.sleep  # how it waits before a retry
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=_headers(api_key), transport=transport
        )

    def judge(self, pairs: Sequence[PairLike], reasoning: bool = False) -> JudgeResponse:
        return self._call(_judge(pairs, reasoning))

    def rank(
        self,
        prompt: Any,
        responses: Sequence[str],
        method: str = "knockout",
        seed: int | str | None = None,
    ) -> RankResponse:
        return self._call(_rank(prompt, responses, method, seed))

    def get_reward(
        self, query: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
    ) -> RewardResponse:
        return self._call(_get_reward(query, prompts, labels))

    def health(self) -> Health:
        return self._call(_health())

    def models(self) -> ModelList:
        return self._call(_models())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ReasonRMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, call: Call) -> Any:
        method, path, body = call[:3]
        for attempt in itertools.count():
            try:
                response = self._http.request(method, path, json=body)
            except httpx.TransportError as e:
                raise _transport_error(self.base_url, e) from None
            if response.status_code != 429 or attempt >= self.retries:
                return _answer(response, call, self.base_url, self.retries)
            self.sleep(retry_delay(response, attempt))


class AsyncReasonRMClient:
    """The same client for asyncio code."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.sleep = asyncio.sleep
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, headers=_headers(api_key), transport=transport
        )

    async def judge(self, pairs: Sequence[PairLike], reasoning: bool = False) -> JudgeResponse:
        return await self._call(_judge(pairs, reasoning))

    async def rank(
        self,
        prompt: Any,
        responses: Sequence[str],
        method: str = "knockout",
        seed: int | str | None = None,
    ) -> RankResponse:
        return await self._call(_rank(prompt, responses, method, seed))

    async def get_reward(
        self, query: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
    ) -> RewardResponse:
        return await self._call(_get_reward(query, prompts, labels))

    async def health(self) -> Health:
        return await self._call(_health())

    async def models(self) -> ModelList:
        return await self._call(_models())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncReasonRMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(self, call: Call) -> Any:
        method, path, body = call[:3]
        for attempt in itertools.count():
            try:
                response = await self._http.request(method, path, json=body)
            except httpx.TransportError as e:
                raise _transport_error(self.base_url, e) from None
            if response.status_code != 429 or attempt >= self.retries:
                return _answer(response, call, self.base_url, self.retries)
            await self.sleep(retry_delay(response, attempt))


# ---- TRL ---------------------------------------------------------------------------------


class RemoteJudgeReward:
    """A TRL reward function (`GRPOTrainer(reward_funcs=[RemoteJudgeReward(url)])`) whose
    judge runs in a `reasonrm serve` server, called the way TRL calls `TournamentReward`:
    `f(prompts, completions, **dataset_columns) -> list[float]`.

    A row with a non-empty reference (the dataset column `reference_key`) is judged against
    it through /v1/judge: +1 when the completion wins, -1 when the reference does, 0 for no
    verdict (or a failed judgment). The other rows are grouped by prompt (or, with
    `num_generations`, in TRL's consecutive runs of that size) and each group is ranked
    through /v1/rank: rewards in [0, 1] from the tournament (`method`). A group whose
    ranking fails gets `failure_reward` for every completion (zero advantages); an
    unreachable server stops training. Keep one mode per dataset: their scales differ.
    As in `TournamentReward`, each call seeds its brackets from `seed` and the call number,
    so brackets differ from step to step and a rerun repeats them.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        reference_key: str = "reference",
        method: str = "knockout",
        num_generations: int | None = None,
        failure_reward: float = FAILURE_REWARD,
        batch_size: int = 256,
        seed: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
        client: AsyncReasonRMClient | None = None,
    ) -> None:
        if num_generations is not None and num_generations < 1:
            raise InputError("num_generations must be at least 1")
        if batch_size < 1:
            raise InputError("batch_size must be at least 1")
        self.client = client or AsyncReasonRMClient(base_url, api_key, timeout)
        self.reference_key = reference_key
        self.method = method
        self.num_generations = num_generations
        self.failure_reward = failure_reward
        self.batch_size = batch_size
        self.seed = seed
        self.calls = 0
        self.failures = 0  # judgments and rankings that failed, over all calls
        self.__name__ = f"remote_judge_{method}"  # TRL logs rewards under this name

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        references = columns.get(self.reference_key)
        if len(prompts) != len(completions):
            raise InputError(f"{len(prompts)} prompts but {len(completions)} completions")
        if references is not None and len(references) != len(completions):
            raise InputError(f"{len(completions)} completions but {len(references)} references")
        self.calls += 1
        texts = [text_of(c) for c in completions]
        return run_sync(self._rewards(list(prompts), texts, references))

    def close(self) -> None:
        run_sync(self.client.aclose())

    async def _rewards(self, prompts, texts, references) -> list[float]:
        rewards = [self.failure_reward] * len(texts)
        judged = reference_rows(references)
        ranked = [i for i in range(len(texts)) if i not in set(judged)]
        groups = generation_groups(prompts, self.num_generations, ranked)

        async def judge_rows(rows: list[int]) -> None:
            pairs = [(prompts[i], texts[i], references[i]) for i in rows]
            try:
                answer = await self.client.judge(pairs)
                winners = [j.winner if j.error is None else None for j in answer.judgments]
                self.failures += sum(j.error is not None for j in answer.judgments)
            except EngineUnavailableError:
                raise
            except ReasonRMError as e:
                log.warning("remote judge reward: %d pairs failed (%s); reward 0", len(rows), e)
                self.failures += len(rows)
                winners = [None] * len(rows)
            for i, winner in zip(rows, winners, strict=True):
                rewards[i] = REWARD_VS_REFERENCE[winner]

        async def rank_group(g: int, members: list[int]) -> None:
            try:
                answer = await self.client.rank(
                    prompts[members[0]],
                    [texts[i] for i in members],
                    self.method,
                    seed=bracket_seed(self.seed, self.calls, g),
                )
            except EngineUnavailableError:
                raise
            except ReasonRMError as e:
                self.failures += 1
                log.warning("remote judge reward: a group failed (%s); %s", e, self.failure_reward)
                return
            for i, reward in zip(members, answer.rewards, strict=True):
                rewards[i] = reward

        chunks = [judged[k : k + self.batch_size] for k in range(0, len(judged), self.batch_size)]
        await asyncio.gather(
            *(judge_rows(rows) for rows in chunks),
            *(rank_group(g, group) for g, group in enumerate(groups)),
        )
        return rewards


def remote_verdict_reward(base_url: str = DEFAULT_URL, **options: Any) -> RemoteJudgeReward:
    """A TRL reward function judged by a reasonrm server (see RemoteJudgeReward)."""
    return RemoteJudgeReward(base_url, **options)
