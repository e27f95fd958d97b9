"""The FastAPI app. `create_app(judge, settings)` takes an already-opened judge (and engine),
so tests can hand it a scripted engine; everything the app keeps lives on the app itself.

Endpoints: POST /v1/judge, POST /v1/rank, POST /get_reward (OpenRLHF), GET /v1/models,
GET /health (no API key needed), GET /metrics (Prometheus text). Errors answer
{"detail": "..."}: 401 API key, 413 too large, 422 malformed, 429 queue full (Retry-After),
503 shutting down or engine unavailable, 504 timed out. A client that disconnects has its
jobs cancelled (logged as 499, "client closed request").
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from reasonrm import __version__
from reasonrm.api_models import (
    Health,
    JudgeRequest,
    JudgeResponse,
    ModelList,
    RankRequest,
    RankResponse,
    RewardRequest,
    RewardResponse,
)
from reasonrm.judge import Judge
from reasonrm.ranking import Ranker
from reasonrm.server import rewards
from reasonrm.server.batcher import ClientDisconnected
from reasonrm.server.guards import ApiError, ApiKeyMiddleware, BodyLimitMiddleware, error_response
from reasonrm.server.metrics import CONTENT_TYPE, MetricsMiddleware
from reasonrm.server.service import JudgeService
from reasonrm.server.settings import ServerSettings

ENDPOINTS = ("/v1/judge", "/v1/rank", "/get_reward", "/v1/models", "/health", "/metrics")
CLIENT_CLOSED = 499  # nginx's status for a request whose client went away


def create_app(
    judge: Judge,
    settings: ServerSettings | None = None,
    *,
    rankers: Mapping[str, Ranker] | None = None,
) -> FastAPI:
    """The app serving `judge`. `rankers`: one Ranker per method ("knockout", "elo");
    by default built on `judge` with its seed. The app owns the engine from now on: it closes
    it at shutdown (unless settings.close_engine is False)."""
    settings = settings or ServerSettings()
    service = JudgeService(judge, settings, rankers)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.start()
        try:
            yield
        finally:
            await service.shutdown()

    app = FastAPI(title="reasonrm", version=__version__, lifespan=lifespan)
    app.state.service = service
    # the last added runs first: count everything, then check the key, then the body size
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics, endpoints=ENDPOINTS)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError):
        return error_response(e.status, e.detail, e.headers)

    @app.exception_handler(ClientDisconnected)
    async def client_gone(_: Request, __: ClientDisconnected):
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError):
        errors = e.errors()
        detail = "invalid request: " + "; ".join(describe(err) for err in errors)
        body = {"detail": detail, "errors": jsonable_encoder(errors)}
        return JSONResponse(body, status_code=422)

    @app.post("/v1/judge", response_model=JudgeResponse)
    async def judge_pairs(body: JudgeRequest, request: Request):
        return await service.judge_pairs(body, disconnect_watch(request))

    @app.post("/v1/rank", response_model=RankResponse)
    async def rank(body: RankRequest, request: Request):
        return await service.rank(body, disconnect_watch(request))

    @app.post("/get_reward", response_model=RewardResponse)
    async def get_reward(body: RewardRequest, request: Request):
        return await rewards.get_reward(service, body, disconnect_watch(request))

    @app.get("/v1/models", response_model=ModelList)
    async def models():
        return service.models()

    @app.get("/health", response_model=Health)
    async def health():
        status, body = service.health()
        return JSONResponse(body.model_dump(), status_code=status)

    @app.get("/metrics")
    async def metrics():
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    return app


def disconnect_watch(request: Request):
    """A coroutine function that returns once the client has disconnected. The body is read
    by then, so the next ASGI message the server sends is the disconnect."""

    async def wait() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return wait


def describe(error: dict) -> str:
    """One validation error as `pairs[0].a: Field required`."""
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"the body is not valid JSON ({reason})".replace(" ()", "")
    path = ""
    for part in error.get("loc", ()):
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{path or 'body'}: {error.get('msg', 'invalid')}"
