"""What the endpoints do, apart from HTTP: turn a request into judge jobs for the batcher,
and the judgments back into a response. Holds the judge, the rankers, the batcher and the
metrics of one app; the engine is already open when it arrives and is closed at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from reasonrm.api_models import (
    Health,
    JudgeRequest,
    JudgeResponse,
    ModelCard,
    ModelList,
    PairJudgment,
    Prompt,
    RankRequest,
    RankResponse,
    Usage,
    Votes,
    prompt_value,
)
from reasonrm.engines.base import shared_loop
from reasonrm.errors import EngineError, EngineUnavailableError, InputError, ReasonRMError
from reasonrm.judge import Judge
from reasonrm.ranking import METHODS, Ranker, Ranking
from reasonrm.server.batcher import (
    Batcher,
    JobMaker,
    QueueFull,
    RequestTimedOut,
    ShuttingDown,
)
from reasonrm.server.guards import ApiError, check_length
from reasonrm.server.metrics import Metrics
from reasonrm.server.settings import ServerSettings
from reasonrm.types import Comparison, Evidence, JudgedSample, Judgment

log = logging.getLogger(__name__)

Disconnected = Callable[[], Awaitable[Any]]


class JudgeService:
    def __init__(
        self,
        judge: Judge,
        settings: ServerSettings,
        rankers: Mapping[str, Ranker] | None = None,
    ) -> None:
        self.judge = judge
        self.settings = settings
        self.rankers = dict(rankers or {m: Ranker(judge, m, seed=judge.seed) for m in METHODS})
        workers = settings.workers or 2 * judge.engine.capacity
        # engine calls run on the library's shared loop, as every sync API runs them
        self.batcher = Batcher(workers, settings.queue_size, engine_loop=shared_loop())
        self.metrics = Metrics(
            lambda: self.batcher.depth,
            lambda: self.batcher.running,
            lambda: self.batcher.cancelled,
        )
        self.engine_error: str | None = None  # the last "unavailable" error, until a success
        self.engine_closed = False

    @property
    def model_name(self) -> str:
        engine = self.judge.engine
        return self.settings.model_name or engine.model or engine.name

    # ---- life --------------------------------------------------------------------------

    def start(self) -> None:
        self.batcher.start()

    async def shutdown(self) -> None:
        """Refuse new work (503), finish the jobs in flight, then close the engine."""
        await self.batcher.close(self.settings.timeout)
        if self.settings.close_engine and not self.engine_closed:
            await asyncio.to_thread(self.judge.engine.close)  # may block: off the loop
            self.engine_closed = True

    def health(self) -> tuple[int, Health]:
        status, detail = "ok", None
        if not self.batcher.accepting:
            status = "shutting down"
        elif self.engine_error is not None:
            status, detail = "engine unavailable", self.engine_error
        health = Health(
            status=status,
            model=self.model_name,
            queue_depth=self.batcher.depth,
            jobs_running=self.batcher.running,
            detail=detail,
        )
        return (200 if health.ok else 503), health

    def models(self) -> ModelList:
        card = ModelCard(
            id=self.model_name,
            protocol=self.judge.protocol.name,
            votes=self.judge.votes,
            orders=self.judge.orders,
        )
        return ModelList(data=[card])

    # ---- running jobs ------------------------------------------------------------------

    def check_jobs(self, jobs: int, what: str) -> None:
        """413 when a request would cause more judge jobs than one request may."""
        most = min(self.settings.max_pairs, self.settings.queue_size)
        if jobs > most:
            raise ApiError(413, f"{what}: {jobs} judge jobs; one request may have at most {most}")

    async def run(self, makers: Sequence[JobMaker], disconnected: Disconnected | None) -> list:
        """Run a request's jobs through the batcher: a result or an exception per job."""
        try:
            results = await self.batcher.run(makers, self.settings.timeout, disconnected)
        except QueueFull as e:
            raise ApiError(
                429,
                f"{e}; retry after {e.retry_after} s",
                headers={"Retry-After": str(e.retry_after)},
            ) from None
        except ShuttingDown:
            raise ApiError(503, "the server is shutting down") from None
        except RequestTimedOut:
            raise ApiError(
                504,
                f"the request did not finish within {self.settings.timeout:g} s (the server's "
                "timeout); its unfinished judgments were cancelled: send fewer pairs per "
                "request or start the server with a longer --timeout",
            ) from None
        failures = [r for r in results if isinstance(r, BaseException)]
        self.metrics.failed_jobs.inc(len(failures))
        down = [r for r in failures if isinstance(r, EngineUnavailableError)]
        if down:
            self.engine_error = str(down[0])
        elif len(failures) < len(results):
            self.engine_error = None
        if down and len(failures) == len(results):
            raise ApiError(503, f"the engine is unavailable: {down[0]}")
        return results

    # ---- /v1/judge ---------------------------------------------------------------------

    async def judge_pairs(
        self, request: JudgeRequest, disconnected: Disconnected | None = None
    ) -> JudgeResponse:
        self.check_jobs(len(request.pairs), f"{len(request.pairs)} pairs")
        comparisons = []
        for i, pair in enumerate(request.pairs):
            self.check_prompt(pair.prompt, f"pairs[{i}].prompt")
            check_length(pair.a, f"pairs[{i}].a", self.settings.max_chars)
            check_length(pair.b, f"pairs[{i}].b", self.settings.max_chars)
            comparisons.append(comparison(prompt_value(pair.prompt), pair.a, pair.b, f"pairs[{i}]"))
        results = await self.run([self.judge_job(c) for c in comparisons], disconnected)
        judgments = [r for r in results if isinstance(r, Judgment)]
        self.metrics.count(judgments)
        return JudgeResponse(
            judgments=[pair_judgment(r, request.reasoning) for r in results],
            model=self.model_name,
            usage=usage(judgments),
        )

    def judge_job(self, c: Comparison) -> JobMaker:
        return lambda: self.judge.ajudge(c)

    def check_prompt(self, prompt: Prompt, field: str) -> None:
        if isinstance(prompt, str):
            check_length(prompt, field, self.settings.max_chars)
            return
        for k, message in enumerate(prompt):
            check_length(message.content, f"{field}[{k}].content", self.settings.max_chars)

    # ---- /v1/rank ----------------------------------------------------------------------

    async def rank(
        self, request: RankRequest, disconnected: Disconnected | None = None
    ) -> RankResponse:
        n = len(request.responses)
        matches = n - 1 if request.method == "knockout" else n * (n - 1) // 2
        self.check_jobs(matches, f"{n} responses ({request.method}: {matches} matches)")
        self.check_prompt(request.prompt, "prompt")
        for i, response in enumerate(request.responses):
            check_length(response, f"responses[{i}]", self.settings.max_chars)
        prompt = prompt_value(request.prompt)
        comparison(prompt, "", "", "prompt")
        ranker = self.rankers[request.method]

        def job():
            return ranker.arank(prompt, request.responses, seed=request.seed)

        (result,) = await self.run([job], disconnected)
        if isinstance(result, BaseException):
            raise_job_error(result)
        self.count_ranking(result)
        return RankResponse(
            method=result.method,
            ranking=result.ranking,
            best=result.best,
            scores=result.scores,
            rewards=result.rewards,
            matches=len(result.matches),
            judge_calls=result.judge_calls,
            model=self.model_name,
            usage=Usage(
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens
            ),
        )

    def count_ranking(self, ranking: Ranking) -> None:
        self.metrics.count(m.judgment for m in ranking.matches if m.judgment is not None)


# ---- helpers ---------------------------------------------------------------------------


def comparison(prompt: Any, a: str, b: str, where: str) -> Comparison:
    """A Comparison, or 422 naming where the request's field is wrong (e.g. an empty prompt)."""
    try:
        return Comparison(prompt, a, b)
    except InputError as e:
        raise ApiError(422, f"{where}: {e}") from None


def error_text(e: BaseException) -> str:
    """A failed job's message for the caller; a bug is logged, not shown in full."""
    if isinstance(e, ReasonRMError):
        return str(e)
    if isinstance(e, asyncio.CancelledError):
        return "cancelled"
    log.error("judge job failed", exc_info=e)
    return f"internal error ({type(e).__name__}); see the server's log"


def raise_job_error(e: BaseException) -> None:
    """The HTTP error for a request whose single job failed."""
    if isinstance(e, EngineUnavailableError):
        raise ApiError(503, f"the engine is unavailable: {e}")
    if isinstance(e, EngineError):
        raise ApiError(502, f"the engine failed: {e}")
    if isinstance(e, ReasonRMError):  # bad input, a prompt over the context, ...
        raise ApiError(422, str(e))
    raise ApiError(500, error_text(e))


def pair_judgment(result: Judgment | BaseException, reasoning: bool) -> PairJudgment:
    if isinstance(result, BaseException):
        return PairJudgment(
            winner=None,
            votes=Votes(A=0, B=0),
            valid=0,
            invalid=0,
            reasoning=[] if reasoning else None,
            error=error_text(result),
        )
    a, b = result.votes.get("A", 0), result.votes.get("B", 0)
    return PairJudgment(
        winner=result.winner,
        votes=Votes(A=a, B=b),
        valid=a + b,
        invalid=result.votes.get("invalid", 0),
        p_a=result.p_a,
        margin=result.margin,
        reasoning=[written(s) for s in result.samples] if reasoning else None,
        error=result.error,
        decided_by=result.decided_by,
        evidence=[_evidence(e, reasoning) for e in result.evidence],
    )


def _evidence(e: Evidence, details: bool) -> dict:
    shown = e.to_dict()
    if not details:
        shown.pop("details")
    return shown


def written(s: JudgedSample) -> str:
    """What a vote wrote: a thinking model's chain (returned apart by its server) in think
    tags before its content, unless the text holds it already (a forced verdict)."""
    if not s.reasoning or s.reasoning.strip() in s.text:
        return s.text
    return f"<think>\n{s.reasoning.strip()}\n</think>\n\n{s.text}"


def usage(judgments: Sequence[Judgment]) -> Usage:
    return Usage(
        prompt_tokens=sum(j.prompt_tokens for j in judgments),
        completion_tokens=sum(j.completion_tokens for j in judgments),
    )
