"""The HTTP server (reasonrm.server) with scripted engines, in process: every endpoint's
answers against the library's own, the guards (422, 413, 401, 429, 504), cancellation when
a client leaves, metrics, OpenRLHF's /get_reward in both modes, and graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import math
import time
from contextlib import asynccontextmanager

import httpx
import pytest
from fakes import GatedEngine, ScriptedEngine, content_judge, quality_judge
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

import reasonrm.cli.serve as cli_serve
from reasonrm.cli import app as cli_app
from reasonrm.errors import ContextLengthError, EngineUnavailableError
from reasonrm.judge import Judge
from reasonrm.ranking import Ranker
from reasonrm.server.app import create_app
from reasonrm.server.settings import ServerSettings
from reasonrm.types import Comparison

# ---- helpers ---------------------------------------------------------------------------


def make_app(engine, *, orders="both", force_verdict=True, **settings):
    judge = Judge(engine, orders=orders, force_verdict=force_verdict)
    settings.setdefault("timeout", 5)  # a broken test fails in seconds, not at shutdown's 600
    return create_app(judge, ServerSettings(**settings))


@asynccontextmanager
async def serving(app):
    """The app started (lifespan) and an in-process HTTP client on it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


def expected_winner(a: str, b: str):
    """What content_judge decides in both orders: the response holding 'good', else a tie."""
    return "A" if "good" in a else "B" if "good" in b else None


def pair(prompt, a, b):
    return {"prompt": prompt, "a": a, "b": b}


def metric(text: str, name: str, **labels) -> float:
    """One sample's value from Prometheus text, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def judge_chunk(chat) -> str:
    """The rendered rrm user turn's first response slot."""
    user = chat[-1]["content"]
    return user.split("### Assistant 1")[1].split("### Assistant 2")[0]


# ---- /v1/judge ------------------------------------------------------------------------


async def test_judge_answers_as_the_library_judge_does():
    pairs = [
        pair("Capital of France?", "good: Paris", "Lyon"),
        pair("2+2?", "5", "good: 4"),
        pair(
            [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "x", "y"
        ),
    ]
    app = make_app(ScriptedEngine(content_judge))
    async with serving(app) as client:
        response = await client.post("/v1/judge", json={"pairs": pairs})
    assert response.status_code == 200, response.text
    body = response.json()
    library = Judge(ScriptedEngine(content_judge), orders="both")
    expected = [library.judge(Comparison(p["prompt"], p["a"], p["b"])) for p in pairs]
    for got, want, p in zip(body["judgments"], expected, pairs, strict=True):
        assert got["winner"] == want.winner == expected_winner(p["a"], p["b"])
        assert got["votes"] == {"A": want.votes["A"], "B": want.votes["B"]}
        assert got["valid"] == want.votes["A"] + want.votes["B"] == 2
        assert got["invalid"] == want.votes["invalid"] and got["error"] is None
        assert "reasoning" not in got  # only when asked
    assert body["usage"] == {
        "prompt_tokens": sum(j.prompt_tokens for j in expected),
        "completion_tokens": sum(j.completion_tokens for j in expected),
    }
    assert body["model"] == "scripted" and body["usage"]["prompt_tokens"] > 0


async def test_judge_returns_the_votes_texts_when_asked():
    app = make_app(ScriptedEngine(content_judge))
    async with serving(app) as client:
        body = {"pairs": [pair("q", "bad", "good")], "reasoning": True}
        got = (await client.post("/v1/judge", json=body)).json()["judgments"][0]
    want = Judge(ScriptedEngine(content_judge), orders="both").judge(Comparison("q", "bad", "good"))
    assert got["reasoning"] == [s.text for s in want.samples] and len(got["reasoning"]) == 2
    assert got["winner"] == "B"


async def test_invalid_verdicts_are_counted_not_guessed():
    engine = ScriptedEngine(lambda chat, params: "both look fine to me")
    app = make_app(engine, force_verdict=False)
    async with serving(app) as client:
        got = (await client.post("/v1/judge", json={"pairs": [pair("q", "a", "b")]})).json()
        metrics = (await client.get("/metrics")).text
    j = got["judgments"][0]
    assert (j["winner"], j["valid"], j["invalid"]) == (None, 0, engine.samples_drawn)
    assert metric(metrics, "reasonrm_invalid_verdicts_total") == engine.samples_drawn == 2


async def test_one_failing_pair_does_not_fail_the_others():
    def script(chat, params):
        if "huge" in chat[-1]["content"]:
            raise ContextLengthError("the prompt has 9999 tokens but the context is 8192")
        return content_judge(chat, params)

    pairs = [pair("q", "good", "bad"), pair("q", "huge", "bad"), pair("q", "bad", "good")]
    app = make_app(ScriptedEngine(script))
    async with serving(app) as client:
        response = await client.post("/v1/judge", json={"pairs": pairs})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200
    got = response.json()["judgments"]
    assert [j["winner"] for j in got] == ["A", None, "B"]
    assert [j["error"] is None for j in got] == [True, False, True]
    assert "9999 tokens" in got[1]["error"] and got[1]["votes"] == {"A": 0, "B": 0}
    assert metric(metrics, "reasonrm_failed_jobs_total") == 1


async def test_every_pair_failing_with_an_engine_error_is_still_200():
    def script(chat, params):
        raise ContextLengthError("too long")

    app = make_app(ScriptedEngine(script))
    async with serving(app) as client:
        response = await client.post("/v1/judge", json={"pairs": [pair("q", "a", "b")] * 2})
    assert response.status_code == 200
    assert [j["error"] for j in response.json()["judgments"]] == ["too long", "too long"]


async def test_an_unreachable_engine_is_503_and_health_says_so_until_it_recovers():
    state = {"down": True}

    def script(chat, params):
        if state["down"]:
            raise EngineUnavailableError("cannot reach http://127.0.0.1:9/v1")
        return content_judge(chat, params)

    app = make_app(ScriptedEngine(script))
    async with serving(app) as client:
        assert (await client.get("/health")).status_code == 200
        down = await client.post("/v1/judge", json={"pairs": [pair("q", "good", "bad")]})
        health = await client.get("/health")
        state["down"] = False
        up = await client.post("/v1/judge", json={"pairs": [pair("q", "good", "bad")]})
        health_after = await client.get("/health")
    assert down.status_code == 503 and "127.0.0.1:9" in down.json()["detail"]
    assert health.status_code == 503 and health.json()["status"] == "engine unavailable"
    assert up.status_code == 200 and up.json()["judgments"][0]["winner"] == "A"
    assert health_after.status_code == 200 and health_after.json()["status"] == "ok"


# ---- /v1/rank, /v1/models ------------------------------------------------------------


@pytest.mark.parametrize("method", ["knockout", "elo"])
async def test_rank_matches_the_library_ranker(method):
    quality = [3, 1, 5, 2, 4]
    responses = [f"answer q={q}" for q in quality]
    app = make_app(ScriptedEngine(quality_judge))
    async with serving(app) as client:
        body = {"prompt": "Best?", "responses": responses, "method": method}
        response = await client.post("/v1/rank", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    library = Ranker(Judge(ScriptedEngine(quality_judge), orders="both"), method)
    want = library.rank("Best?", responses)
    assert got["ranking"] == want.ranking and got["best"] == want.best
    assert got["rewards"] == pytest.approx(want.rewards)
    assert got["scores"] == pytest.approx(want.scores)
    assert got["best"] == quality.index(max(quality))
    n = len(responses)
    assert got["matches"] == (n - 1 if method == "knockout" else n * (n - 1) // 2)
    assert got["usage"]["completion_tokens"] == want.completion_tokens > 0
    if method == "elo":  # distinct qualities: the full order is known
        assert got["ranking"] == sorted(range(n), key=lambda i: -quality[i])


async def test_rank_takes_a_seed_per_request():
    quality = [3, 1, 5, 2, 4, 6, 0]
    responses = [f"answer q={q}" for q in quality]
    library = Ranker(Judge(ScriptedEngine(quality_judge), orders="both"), "knockout")
    app = make_app(ScriptedEngine(quality_judge))
    got = {}
    async with serving(app) as client:
        for seed in (None, 0, 1, 2, 3):
            body = {"prompt": "Best?", "responses": responses, "seed": seed}
            response = await client.post("/v1/rank", json=body)
            assert response.status_code == 200, response.text
            got[seed] = response.json()["ranking"]
    for seed in (0, 1, 2, 3):  # the bracket the library draws with that seed
        assert got[seed] == library.rank("Best?", responses, seed=seed).ranking
    assert got[None] == got[0]  # no seed: the server's own (0 here)
    assert len({tuple(r) for r in got.values()}) > 1  # the seed does change the bracket


async def test_models_lists_the_served_model_and_protocol():
    app = create_app(Judge(ScriptedEngine(content_judge), "rm-r1", votes=3, orders="both"))
    async with serving(app) as client:
        models = (await client.get("/v1/models")).json()
        health = (await client.get("/health")).json()
    (card,) = models["data"]
    assert (card["id"], card["protocol"], card["votes"], card["orders"]) == (
        "scripted",
        "rm-r1",
        3,
        "both",
    )
    assert health["status"] == "ok" and health["model"] == "scripted"


# ---- 422 ------------------------------------------------------------------------------

MALFORMED = [
    ("/v1/judge", {}, "pairs: Field required"),
    ("/v1/judge", {"pairs": []}, "pairs: List should have at least 1 item"),
    ("/v1/judge", {"pairs": [{"prompt": "q", "a": "x"}]}, "pairs[0].b: Field required"),
    ("/v1/judge", {"pairs": [{"prompt": "q", "a": 1, "b": "y"}]}, "pairs[0].a:"),
    ("/v1/judge", {"pairs": [pair("q", "a", "b")], "reason": True}, "reason: Extra inputs"),
    ("/v1/judge", {"pairs": [pair([{"role": "bot", "content": "x"}], "a", "b")]}, "role"),
    (
        "/v1/judge",
        {"pairs": [pair("q", "a", "b"), pair("   ", "a", "b")]},
        "pairs[1]: field 'prompt'",
    ),
    (
        "/v1/judge",
        {"pairs": [pair([{"role": "system", "content": "s"}], "a", "b")]},
        "no non-empty user",
    ),
    ("/v1/rank", {"prompt": "q", "responses": ["a"], "method": "round_robin"}, "method:"),
    ("/v1/rank", {"prompt": "q", "responses": []}, "responses:"),
    ("/get_reward", {"query": ["qa"], "prompts": ["q", "r"]}, "query has 1 items, prompts 2"),
    (
        "/get_reward",
        {"query": ["qa", "xyz"], "prompts": ["q", "r"]},
        "row 1: the query does not contain",
    ),
]


@pytest.mark.parametrize(("path", "body", "message"), MALFORMED)
async def test_malformed_bodies_are_422_with_the_field_named(path, body, message):
    engine = ScriptedEngine(content_judge)
    async with serving(make_app(engine)) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert engine.requests == 0  # refused before any judging


async def test_invalid_json_is_422():
    async with serving(make_app(ScriptedEngine(content_judge))) as client:
        headers = {"content-type": "application/json"}
        response = await client.post("/v1/judge", content=b'{"pairs": [', headers=headers)
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]


# ---- 413 ------------------------------------------------------------------------------


async def test_too_large_requests_are_413_naming_what_is_too_large():
    engine = ScriptedEngine(content_judge)
    app = make_app(engine, max_body_bytes=4000, max_chars=500, max_pairs=3)
    body = {"pairs": [pair("q", "a", "b"), pair("q", "x" * 501, "b")]}
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "y" * 501}]

    async def chunks():  # no Content-Length: the size is only known by counting
        for _ in range(5):
            yield b" " * 1000

    async with serving(app) as client:
        big = await client.post("/v1/judge", content=b" " * 4001)
        chunked = await client.post("/v1/judge", content=chunks())
        long_field = await client.post("/v1/judge", json=body)
        long_message = await client.post(
            "/v1/judge", json={"pairs": [pair(messages + [messages[0]], "a", "b")]}
        )
        many = await client.post("/v1/judge", json={"pairs": [pair("q", "a", "b")] * 4})
    assert big.status_code == 413 and "4001 bytes" in big.json()["detail"]
    assert chunked.status_code == 413 and "limit is 4000" in chunked.json()["detail"]
    assert long_field.status_code == 413 and "pairs[1].a has 501" in long_field.json()["detail"]
    assert "pairs[0].prompt[1].content has 501" in long_message.json()["detail"]
    assert many.status_code == 413 and "4 pairs" in many.json()["detail"]
    assert engine.requests == 0


async def test_rank_is_413_when_its_matches_exceed_the_limit():
    app = make_app(ScriptedEngine(quality_judge), max_pairs=5)
    responses = [f"q={q}" for q in range(4)]  # knockout 3 matches, elo 6
    async with serving(app) as client:
        knockout = await client.post("/v1/rank", json={"prompt": "q", "responses": responses})
        elo = await client.post(
            "/v1/rank", json={"prompt": "q", "responses": responses, "method": "elo"}
        )
    assert knockout.status_code == 200
    assert elo.status_code == 413 and "elo: 6 matches" in elo.json()["detail"]


# ---- 401 ------------------------------------------------------------------------------


async def test_api_key_is_required_everywhere_but_health():
    app = make_app(ScriptedEngine(content_judge), api_key="s3cret")
    body = {"pairs": [pair("q", "good", "bad")]}
    async with serving(app) as client:
        missing = await client.post("/v1/judge", json=body)
        wrong = await client.post("/v1/judge", json=body, headers={"Authorization": "Bearer nope"})
        right = await client.post(
            "/v1/judge", json=body, headers={"Authorization": "Bearer s3cret"}
        )
        health = await client.get("/health")
        metrics = await client.get("/metrics")
    assert missing.status_code == wrong.status_code == metrics.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert right.status_code == 200 and right.json()["judgments"][0]["winner"] == "A"
    assert health.status_code == 200


# ---- the batcher: 429, 504, disconnects, shutdown --------------------------------------


async def test_a_request_that_does_not_fit_the_queue_is_429_and_queues_nothing():
    engine = GatedEngine(content_judge)
    app = make_app(engine, orders="fixed", workers=1, queue_size=2)
    batcher = app.state.service.batcher
    async with serving(app) as client:
        first = asyncio.create_task(
            client.post("/v1/judge", json={"pairs": [pair("q", "good", "b")]})
        )
        await wait_until(lambda: engine.entered == 1)  # the worker holds it
        second = asyncio.create_task(
            client.post("/v1/judge", json={"pairs": [pair("q", "a", "good")]})
        )
        await wait_until(lambda: batcher.depth == 1)
        refused = await client.post("/v1/judge", json={"pairs": [pair("q", "c", "d")] * 2})
        assert batcher.depth == 1  # nothing of the refused request was queued
        engine.gate.set()
        answers = [await first, await second]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "queue is full" in refused.json()["detail"]
    assert [a.json()["judgments"][0]["winner"] for a in answers] == ["A", "B"]
    assert engine.requests == 2  # the refused pairs never reached the engine


async def test_a_request_over_the_timeout_is_504_and_its_jobs_are_cancelled():
    engine = GatedEngine(content_judge)
    app = make_app(engine, orders="fixed", workers=1, timeout=0.2)
    async with serving(app) as client:
        response = await client.post("/v1/judge", json={"pairs": [pair("q", "a", "b")] * 2})
        await wait_until(lambda: engine.cancelled == 1)  # the running one was interrupted
        engine.gate.set()
        await asyncio.sleep(0.05)
    assert response.status_code == 504
    assert "0.2 s" in response.json()["detail"] and "cancelled" in response.json()["detail"]
    assert engine.entered == 1 and engine.requests == 0  # the queued one never started
    assert app.state.service.batcher.cancelled == 2


async def call_asgi(app, path: str, body: dict, gone: asyncio.Event) -> list[dict]:
    """Call the app as an ASGI server would, with a client that leaves when `gone` is set."""
    data = json.dumps(body).encode()
    sent, delivered = [], False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": data, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    return sent


async def test_a_client_that_disconnects_has_its_jobs_cancelled():
    engine = GatedEngine(content_judge)
    app = make_app(engine, orders="fixed", workers=1)
    gone = asyncio.Event()
    async with serving(app) as client:
        call = asyncio.create_task(
            call_asgi(app, "/v1/judge", {"pairs": [pair("q", "a", "b")] * 3}, gone)
        )
        await wait_until(lambda: engine.entered == 1 and app.state.service.batcher.depth == 2)
        gone.set()
        sent = await asyncio.wait_for(call, 5)
        await wait_until(lambda: engine.cancelled == 1)
        engine.gate.set()
        await asyncio.sleep(0.05)
        metrics = (await client.get("/metrics")).text
    assert sent[0]["status"] == 499
    assert engine.entered == 1 and engine.requests == 0  # nothing was judged
    assert app.state.service.batcher.depth == 0
    assert metric(metrics, "reasonrm_requests_total", endpoint="/v1/judge", status="499") == 1
    # the running job and the two queued ones, counted by the server itself
    assert metric(metrics, "reasonrm_cancelled_jobs_total") == 3


async def test_graceful_shutdown_finishes_requests_in_flight_then_closes_the_engine():
    engine = GatedEngine(content_judge)
    app = make_app(engine, orders="fixed", workers=1)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body = {"pairs": [pair("q", "good", "b"), pair("q", "a", "good")]}
        in_flight = asyncio.create_task(client.post("/v1/judge", json=body))
        await wait_until(lambda: engine.entered == 1)
        shutdown = asyncio.create_task(lifespan.__aexit__(None, None, None))
        await wait_until(lambda: not app.state.service.batcher.accepting)
        late = await client.post("/v1/judge", json={"pairs": [pair("q", "x", "y")]})
        health = await client.get("/health")
        assert not engine.closed  # not while a job runs
        engine.gate.set()
        finished = await in_flight
        await asyncio.wait_for(shutdown, 5)
    assert late.status_code == 503 and "shutting down" in late.json()["detail"]
    assert health.status_code == 503 and health.json()["status"] == "shutting down"
    assert finished.status_code == 200
    assert [j["winner"] for j in finished.json()["judgments"]] == ["A", "B"]
    assert engine.closed and engine.requests == 2


# ---- /metrics -------------------------------------------------------------------------


async def test_metrics_count_requests_tokens_and_latency():
    app = make_app(ScriptedEngine(content_judge))
    async with serving(app) as client:
        before = (await client.get("/metrics")).text
        judged = (
            await client.post("/v1/judge", json={"pairs": [pair("q", "good", "b")] * 2})
        ).json()
        await client.post("/v1/judge", json={"pairs": []})
        after = (await client.get("/metrics")).text
    ok = {"endpoint": "/v1/judge", "status": "200"}
    assert metric(before, "reasonrm_requests_total", **ok) == 0
    assert metric(after, "reasonrm_requests_total", **ok) == 1
    assert metric(after, "reasonrm_requests_total", endpoint="/v1/judge", status="422") == 1
    assert metric(after, "reasonrm_requests_total", endpoint="/metrics", status="200") == 1
    usage = judged["usage"]
    assert metric(after, "reasonrm_prompt_tokens_total") == usage["prompt_tokens"] > 0
    assert metric(after, "reasonrm_completion_tokens_total") == usage["completion_tokens"] > 0
    assert metric(after, "reasonrm_request_seconds_count", endpoint="/v1/judge") == 2
    assert metric(after, "reasonrm_queue_depth") == 0
    assert metric(after, "reasonrm_requests_in_flight") == 1  # the /metrics request itself
    assert metric(after, "reasonrm_invalid_verdicts_total") == 0


async def test_metrics_show_the_judges_position_bias():
    # a judge that always names the first slot: every verdict is for it, every pair flips
    app = make_app(ScriptedEngine(lambda chat, p: "\\boxed{Assistant 1}"))
    content = make_app(ScriptedEngine(content_judge))
    pairs = {"pairs": [pair("q", "good", "b"), pair("q2", "x", "good")]}
    async with serving(app) as client:
        await client.post("/v1/judge", json=pairs)
        biased = (await client.get("/metrics")).text
    async with serving(content) as client:
        await client.post("/v1/judge", json=pairs)
        fair = (await client.get("/metrics")).text
    assert metric(biased, "reasonrm_verdicts_total") == 4
    assert metric(biased, "reasonrm_first_slot_verdicts_total") == 4
    assert metric(biased, "reasonrm_both_order_judgments_total") == 2
    assert metric(biased, "reasonrm_order_flips_total") == 2
    assert metric(fair, "reasonrm_first_slot_verdicts_total") == 2
    assert metric(fair, "reasonrm_order_flips_total") == 0


# ---- /get_reward ----------------------------------------------------------------------


async def test_get_reward_judges_each_response_against_its_reference():
    def script(chat, params):
        if "huge" in chat[-1]["content"]:
            raise ContextLengthError("too long")
        return content_judge(chat, params)

    prompts = ["<user>Question one?<assistant>", "<user>Question two?", "<user>Q3", "<user>Q4"]
    responses = ["good answer", "plain answer", "meh", "huge answer"]
    labels = ["plain reference", "good reference", "also meh", "ref"]
    engine = ScriptedEngine(script)
    async with serving(make_app(engine)) as client:
        body = {
            "query": [p + r for p, r in zip(prompts, responses, strict=True)],
            "prompts": prompts,
        }
        response = await client.post("/get_reward", json=body | {"labels": labels})
    assert response.status_code == 200, response.text
    got = response.json()
    winners = [expected_winner(r, lab) for r, lab in zip(responses[:3], labels[:3], strict=True)]
    assert winners == ["A", "B", None]
    reward = {"A": 1.0, "B": -1.0, None: 0.0}
    score = {"A": 1.0, "B": 0.0, None: 0.5}
    assert got["rewards"] == [reward[w] for w in winners] + [0.0]
    assert got["scores"] == [score[w] for w in winners] + [0.5]
    assert got["extra_logs"]["vs_reference"] == [1.0] * 4
    assert got["extra_logs"]["no_verdict"] == [0.0, 0.0, 1.0, 1.0]
    assert got["extra_logs"]["failed"] == [0.0, 0.0, 0.0, 1.0]
    # the judge saw the response alone, not the prompt that preceded it in the query
    shown = {judge_chunk(call.chats[0]).strip() for call in engine.calls}
    assert "good answer" in shown and not any("Question" in s for s in shown)


async def test_get_reward_ranks_the_queries_of_a_prompt_as_a_group():
    quality = {"PA": [2, 7, 1, 5], "PB": [3, 9]}
    rows = [("PA", 2), ("PB", 3), ("PA", 7), ("PA", 1), ("PB", 9), ("PA", 5)]  # interleaved
    prompts = [p for p, _ in rows]
    query = [f"{p} answer q={q}" for p, q in rows]
    async with serving(make_app(ScriptedEngine(quality_judge))) as client:
        plain = (await client.post("/get_reward", json={"query": query, "prompts": prompts})).json()
        body = {"query": query, "prompts": prompts, "labels": [""] * len(rows)}
        empty_labels = (await client.post("/get_reward", json=body)).json()
    ranker = Ranker(Judge(ScriptedEngine(quality_judge), orders="both"), "knockout")
    expected = [0.0] * len(rows)
    for prompt, qs in quality.items():
        members = [i for i, (p, _) in enumerate(rows) if p == prompt]
        ranking = ranker.rank(prompt, [query[i][len(prompt) :] for i in members])
        for i, r in zip(members, ranking.rewards, strict=True):
            expected[i] = r
        best = members[qs.index(max(qs))]
        assert plain["rewards"][best] == 1.0  # the best of each group wins its tournament
    assert plain["rewards"] == pytest.approx(expected)
    assert plain["scores"] == plain["rewards"] and empty_labels["rewards"] == plain["rewards"]
    assert plain["extra_logs"]["vs_reference"] == [0.0] * len(rows)
    assert all(0.0 <= r <= 1.0 for r in plain["rewards"])


async def test_get_reward_mixes_references_and_groups():
    rows = [("P", "good one", "ref"), ("G", "q=1", ""), ("G", "q=4", None)]

    def script(chat, params):
        return (
            quality_judge(chat, params)
            if "q=" in chat[-1]["content"]
            else content_judge(chat, params)
        )

    body = {
        "query": [p + r for p, r, _ in rows],
        "prompts": [p for p, _, _ in rows],
        "labels": [lab for _, _, lab in rows],
    }
    async with serving(make_app(ScriptedEngine(script))) as client:
        got = (await client.post("/get_reward", json=body)).json()
    assert got["rewards"] == [1.0, 0.0, 1.0]  # won vs its reference; group: q=4 beats q=1
    assert got["extra_logs"]["vs_reference"] == [1.0, 0.0, 0.0]


# ---- the command --------------------------------------------------------------------------

runner = CliRunner()


def test_serve_is_a_command_with_its_options():
    result = runner.invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--api-key-env", "--max-batch", "--queue", "--timeout", "--host", "--port"):
        assert option in result.output


def test_serve_without_the_extra_names_the_install_command(monkeypatch):
    real = cli_serve.importlib.util.find_spec
    monkeypatch.setattr(
        cli_serve.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "uvicorn" else real(name, *a),
    )
    result = runner.invoke(cli_app, ["serve"])
    assert result.exit_code == 2
    assert "uvicorn missing" in result.output and "pip install 'reasonrm[serve]'" in result.output


def test_serve_builds_the_app_from_its_flags_and_closes_the_engine(monkeypatch):
    engine = GatedEngine(content_judge, capacity=3)
    seen = {}
    monkeypatch.setattr(cli_serve.common, "open_engine", lambda *args: engine)
    monkeypatch.setattr(
        cli_serve,
        "_run",
        lambda app, host, port, timeout, about: seen.update(app=app, host=host, port=port),
    )
    monkeypatch.setenv("RRM_KEY", "k1")
    args = ["serve", "--api-key-env", "RRM_KEY", "--max-batch", "7", "--queue", "9"]
    result = runner.invoke(cli_app, args + ["--timeout", "30", "--port", "0"])
    assert result.exit_code == 0, result.output
    service = seen["app"].state.service
    settings = service.settings
    assert (settings.api_key, settings.max_pairs, settings.queue_size) == ("k1", 7, 9)
    assert settings.timeout == 30 and service.batcher.workers == 2 * engine.capacity
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 0)
    # orders "auto": a served pair is judged in both orders, a tournament match in one
    assert service.judge.orders == "auto"
    assert service.judge.orders_for(Comparison("q", "a", "b")) == ["AB", "BA"]
    assert engine.closed  # the server never ran its shutdown, so the command closed it


def test_serve_refuses_an_empty_api_key_variable_before_loading_a_model(monkeypatch):
    monkeypatch.setattr(cli_serve.common, "open_engine", lambda *a: pytest.fail("engine opened"))
    monkeypatch.delenv("RRM_NO_KEY", raising=False)
    result = runner.invoke(cli_app, ["serve", "--api-key-env", "RRM_NO_KEY"])
    assert result.exit_code == 2 and "RRM_NO_KEY" in result.output


async def test_a_probability_judge_serves_p_a_and_continuous_rewards():
    from test_scoring import biased_model

    judge = Judge(ScriptedEngine(scores=biased_model(bias=2.0)), "direct", score="prob")
    app = create_app(judge, ServerSettings(timeout=5))
    async with serving(app) as client:
        judged = await client.post(
            "/v1/judge", json={"pairs": [pair("q", "a poor answer", "a good answer")]}
        )
        body = {
            "query": ["<user>q a good answer"],
            "prompts": ["<user>q "],
            "labels": ["a poor answer"],
        }
        rewarded = await client.post("/get_reward", json=body)
    (got,) = judged.json()["judgments"]
    library = judge.judge(Comparison("q", "a poor answer", "a good answer"))
    assert got["winner"] == "B" and got["p_a"] == pytest.approx(library.p_a)
    assert got["margin"] == pytest.approx(2 * library.p_a - 1)
    # the response beats its reference with P = sigmoid(1): a continuous reward, not +1
    reward = rewarded.json()
    p = 1 / (1 + math.exp(-1.0))
    assert reward["rewards"] == [pytest.approx(2 * p - 1)] and reward["scores"] == [
        pytest.approx(p)
    ]


# ---- verified judging -----------------------------------------------------------------------


def computes_42(chat, params):
    """A judge whose programs print 42 and whose readings always say slot 1."""
    if "Write a Python program" in chat[1]["content"]:
        return "print(25 + 17)\n```"
    return "\\boxed{Assistant 1}"


async def test_a_pair_a_check_decides_says_so_with_its_evidence():
    app = make_app(ScriptedEngine(computes_42))
    wrong_first = pair("What is 25 + 17?", "25 + 17 = 52", "25 + 17 = 42")
    async with serving(app) as client:
        got = (await client.post("/v1/judge", json={"pairs": [wrong_first]})).json()
        (j,) = got["judgments"]
        detailed = await client.post("/v1/judge", json={"pairs": [wrong_first], "reasoning": True})
    assert j["winner"] == "B" and j["decided_by"] == "math" and j["p_a"] == pytest.approx(0.01)
    assert j["votes"] == {"A": 0, "B": 0}  # not read: the check decided
    (evidence,) = j["evidence"]
    assert evidence["verifier"] == "math" and "42" in evidence["summary"]
    assert "details" not in evidence  # only with reasoning
    assert detailed.json()["judgments"][0]["evidence"][0]["details"]["support"]["b"] == 4


async def test_get_reward_crowns_the_checked_answer_of_a_group():
    prompt = "What is 25 + 17?"
    answers = ["25 + 17 = 32", "25 + 17 = 52", "25 + 17 = 42", "25 + 17 = 41"]
    body = {"query": [prompt + " " + a for a in answers], "prompts": [prompt] * 4}
    async with serving(make_app(ScriptedEngine(computes_42))) as client:
        got = (await client.post("/get_reward", json=body)).json()
    assert got["rewards"][2] == 1.0 and max(got["rewards"][:2] + got["rewards"][3:]) < 1.0
