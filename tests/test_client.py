"""The HTTP clients and the TRL reward function: against a live server (uvicorn on loopback,
a scripted engine) and against mock transports for retries and errors."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fakes import ScriptedEngine, content_judge, quality_judge

from reasonrm.client import (
    AsyncReasonRMClient,
    ReasonRMClient,
    RemoteJudgeReward,
    remote_verdict_reward,
)
from reasonrm.errors import EngineError, EngineUnavailableError, InputError
from reasonrm.judge import Judge
from reasonrm.ranking import Ranker
from reasonrm.rewards import TournamentReward
from reasonrm.server.app import create_app
from reasonrm.server.settings import ServerSettings
from reasonrm.types import Comparison

KEY = "test-key"


def judge_script(chat, params):
    """quality_judge for responses that carry "q=<n>", content_judge for the others."""
    if "q=" in chat[-1]["content"]:
        return quality_judge(chat, params)
    return content_judge(chat, params)


def expected_winner(a: str, b: str):
    return "A" if "good" in a else "B" if "good" in b else None


@pytest.fixture(scope="module")
def live_url():
    """A real server on a free loopback port, in a thread, for the whole module."""
    app = create_app(
        Judge(ScriptedEngine(judge_script), orders="both"), ServerSettings(api_key=KEY)
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- against a live server ---------------------------------------------------------------


def test_sync_client_judges_ranks_and_rewards_through_a_live_server(live_url):
    messages = [{"role": "user", "content": "Say hi"}]
    pairs = [
        ("Capital of France?", "good: Paris", "Lyon"),
        Comparison(messages, "hi", "good: hello"),
        {"prompt": "q", "a": "x", "b": "y"},
    ]
    quality = [2, 6, 1, 4]
    with ReasonRMClient(live_url, api_key=KEY) as client:
        judged = client.judge(pairs, reasoning=True)
        ranked = client.rank("Pick one", [f"answer q={q}" for q in quality])
        rewards = client.get_reward(["Pgood", "Pmeh"], ["P", "P"], ["plain ref", "good ref"])
        health = client.health()
        models = client.models()
    assert [j.winner for j in judged.judgments] == ["A", "B", None]
    assert [len(j.reasoning) for j in judged.judgments] == [2, 2, 2]
    assert judged.usage.prompt_tokens > 0 and judged.model == "scripted"
    assert ranked.best == quality.index(max(quality)) and ranked.matches == len(quality) - 1
    assert rewards.rewards == [1.0, -1.0] and rewards.scores == [1.0, 0.0]
    assert health.ok and models.data[0].protocol == "rrm"


async def test_async_client_through_a_live_server(live_url):
    async with AsyncReasonRMClient(live_url, api_key=KEY) as client:
        judged = await client.judge([("q", "bad", "good one")])
        ranked = await client.rank("q", ["q=3", "q=8", "q=5"], method="elo")
    assert judged.judgments[0].winner == "B"
    assert ranked.ranking == [1, 2, 0] and ranked.matches == 3


def test_a_wrong_api_key_is_one_clear_error(live_url):
    with ReasonRMClient(live_url, api_key="wrong") as client, pytest.raises(InputError) as e:
        client.judge([("q", "a", "b")])
    assert "api_key" in str(e.value) and "Authorization: Bearer" in str(e.value)
    assert live_url in str(e.value)


def test_a_refused_request_carries_the_servers_reason(live_url):
    with ReasonRMClient(live_url, api_key=KEY) as client, pytest.raises(InputError) as e:
        client.rank("q", ["a"], method="round_robin")
    assert "method" in str(e.value) and "/v1/rank" in str(e.value)


def test_remote_judge_reward_judges_references_and_ranks_groups(live_url):
    reward = RemoteJudgeReward(live_url, api_key=KEY)
    group_prompt = [{"role": "user", "content": "Write a line"}]
    prompts = ["Q1", "Q2", "Q3"] + [group_prompt] * 3
    texts = ["good answer", "plain", "meh", "line q=1", "line q=4", "line q=2"]
    completions = [[{"role": "assistant", "content": t}] for t in texts]  # TRL's chat form
    references = ["plain ref", "good ref", "also meh", "", "", ""]
    got = reward(prompts=prompts, completions=completions, reference=references, completion_ids=[])
    verdict = {"A": 1.0, "B": -1.0, None: 0.0}
    assert got[:3] == [
        verdict[expected_winner(t, r)] for t, r in zip(texts[:3], references[:3], strict=True)
    ]
    ranker = Ranker(Judge(ScriptedEngine(judge_script), orders="both"), "knockout")
    # the bracket seeded as TournamentReward seeds it: seed, call number, group
    assert got[3:] == pytest.approx(ranker.rank(group_prompt, texts[3:], seed="0|1|0").rewards)
    assert got[4] == 1.0  # q=4 wins its group
    assert reward.__name__ == "remote_judge_knockout" and reward.failures == 0
    reward.close()


def test_remote_rewards_equal_the_local_tournament_reward_call_by_call(live_url):
    remote = RemoteJudgeReward(live_url, api_key=KEY, num_generations=5, seed=7)
    ranker = Ranker(Judge(ScriptedEngine(judge_script), orders="both"), "knockout", seed=7)
    local = TournamentReward(ranker, num_generations=5)
    prompts = ["P"] * 5 + ["Q"] * 5
    completions = [f"line q={q}" for q in (1, 1, 2, 2, 3, 5, 4, 4, 0, 0)]  # ties: seeded
    remote_calls = [remote(prompts, completions) for _ in range(3)]
    local_calls = [local(prompts, completions) for _ in range(3)]
    for got, want in zip(remote_calls, local_calls, strict=True):
        assert got == pytest.approx(want)
    assert len({tuple(r) for r in remote_calls}) > 1  # brackets change from call to call
    remote.close()


def test_remote_groups_must_share_a_prompt_as_tournament_groups_must(live_url):
    reward = RemoteJudgeReward(live_url, api_key=KEY, num_generations=2)
    with pytest.raises(InputError, match="share one prompt"):
        reward(["A", "B", "B", "B"], ["q=1", "q=2", "q=3", "q=4"])
    with pytest.raises(InputError, match="groups of 2"):
        reward(["A", "A", "A"], ["q=1", "q=2", "q=3"])
    reward.close()


def test_remote_verdict_reward_without_references_ranks_every_prompt(live_url):
    reward = remote_verdict_reward(live_url, api_key=KEY, num_generations=2)
    got = reward(["A", "A", "B", "B"], ["q=1", "q=3", "q=9", "q=2"])
    assert got == [0.0, 1.0, 1.0, 0.0]
    reward.close()


# ---- errors and retries (mock transports) ------------------------------------------------


def test_an_unreachable_server_names_its_url():
    url = closed_port_url()
    with ReasonRMClient(url) as client, pytest.raises(EngineUnavailableError) as e:
        client.health()
    assert url in str(e.value) and "reasonrm serve" in str(e.value)


async def test_an_unreachable_server_names_its_url_async():
    url = closed_port_url()
    async with AsyncReasonRMClient(url) as client:
        with pytest.raises(EngineUnavailableError) as e:
            await client.judge([("q", "a", "b")])
    assert url in str(e.value)


def fake_judge_answer(request: httpx.Request) -> httpx.Response:
    """A /v1/judge answer computed from the request: the response holding 'good' wins."""
    pairs = json.loads(request.content)["pairs"]
    judgments = []
    for p in pairs:
        winner = expected_winner(p["a"], p["b"])
        votes = {"A": int(winner == "A"), "B": int(winner == "B")}
        judgments.append(
            {"winner": winner, "votes": votes, "valid": sum(votes.values()), "invalid": 0}
        )
    usage = {"prompt_tokens": 1, "completion_tokens": 1}
    return httpx.Response(200, json={"judgments": judgments, "model": "m", "usage": usage})


def busy_then(answer, times: int, retry_after: str | None):
    """A handler that answers 429 `times` times, then with `answer`; it counts attempts."""
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) <= times:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(429, json={"detail": "the judge queue is full"}, headers=headers)
        return answer(request)

    return handler, attempts


def test_429_is_retried_after_the_servers_retry_after():
    handler, attempts = busy_then(fake_judge_answer, times=2, retry_after="3")
    client = ReasonRMClient("http://judge", api_key="k", transport=httpx.MockTransport(handler))
    waits = []
    client.sleep = waits.append
    got = client.judge([("q", "good", "bad"), ("q", "bad", "good")])
    assert [j.winner for j in got.judgments] == ["A", "B"]
    assert waits == [3.0, 3.0] and len(attempts) == 3
    assert attempts[0].headers["authorization"] == "Bearer k"


def test_429_retries_are_bounded_and_back_off_without_a_hint():
    handler, attempts = busy_then(fake_judge_answer, times=99, retry_after=None)
    client = ReasonRMClient("http://judge", retries=2, transport=httpx.MockTransport(handler))
    waits = []
    client.sleep = waits.append
    with pytest.raises(EngineUnavailableError) as e:
        client.judge([("q", "a", "b")])
    assert "still busy after 2 retries" in str(e.value) and "queue is full" in str(e.value)
    assert len(attempts) == 3 and waits == [0.5, 1.0]


def test_a_long_retry_after_is_capped():
    handler, _ = busy_then(fake_judge_answer, times=1, retry_after="600")
    client = ReasonRMClient("http://judge", transport=httpx.MockTransport(handler))
    waits = []
    client.sleep = waits.append
    client.judge([("q", "a", "b")])
    assert waits == [30.0]


async def test_the_async_client_retries_429_too():
    handler, attempts = busy_then(fake_judge_answer, times=1, retry_after="2")
    client = AsyncReasonRMClient("http://judge", transport=httpx.MockTransport(handler))
    waits = []

    async def record(seconds):
        waits.append(seconds)

    client.sleep = record
    messages = ({"role": "user", "content": "hi"},)
    got = await client.judge([Comparison(messages, "good", "bad")])
    assert got.judgments[0].winner == "A" and waits == [2.0] and len(attempts) == 2
    sent = json.loads(attempts[-1].content)["pairs"][0]
    assert sent == {"prompt": [{"role": "user", "content": "hi"}], "a": "good", "b": "bad"}
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "error"),
    [(413, InputError), (422, InputError), (503, EngineUnavailableError), (504, EngineError)],
)
def test_http_errors_become_reasonrm_errors(status, error):
    def handler(request):
        return httpx.Response(status, json={"detail": f"reason {status}"})

    client = ReasonRMClient("http://judge", transport=httpx.MockTransport(handler))
    with pytest.raises(error) as e:
        client.rank("q", ["a", "b"])
    assert f"reason {status}" in str(e.value) and "http://judge/v1/rank" in str(e.value)


def test_health_reports_a_server_that_is_shutting_down():
    def handler(request):
        body = {"status": "shutting down", "model": "m", "queue_depth": 0, "jobs_running": 1}
        return httpx.Response(503, json=body)

    health = ReasonRMClient("http://judge", transport=httpx.MockTransport(handler)).health()
    assert not health.ok and health.status == "shutting down" and health.jobs_running == 1


def test_a_pair_input_that_is_no_pair_is_refused_before_sending():
    client = ReasonRMClient("http://judge", transport=httpx.MockTransport(fake_judge_answer))
    with pytest.raises(InputError, match=r"pairs\[1\]: missing b"):
        client.judge([("q", "a", "b"), {"prompt": "q", "a": "x"}])


def test_remote_judge_reward_gives_failed_groups_the_failure_reward():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/judge":
            return fake_judge_answer(request)
        body = json.loads(request.content)
        if body["prompt"] == "too long":
            return httpx.Response(422, json={"detail": "the prompt is over the context"})
        n = len(body["responses"])
        rewards = [1.0 if "best" in r else 0.0 for r in body["responses"]]
        ranking = sorted(range(n), key=lambda i: -rewards[i])
        return httpx.Response(
            200,
            json={
                "method": "knockout",
                "ranking": ranking,
                "best": ranking[0],
                "scores": rewards,
                "rewards": rewards,
                "matches": n - 1,
                "judge_calls": n - 1,
                "model": "m",
                "usage": {"prompt_tokens": 0, "completion_tokens": 0},
            },
        )

    client = AsyncReasonRMClient("http://judge", transport=httpx.MockTransport(handler))
    reward = RemoteJudgeReward(client=client, failure_reward=0.25)
    prompts = ["ok", "ok", "too long", "too long", "ref"]
    completions = ["fine", "best", "a", "b", "good"]
    references = [None, None, None, None, "plain"]
    got = reward(prompts, completions, reference=references)
    assert got == [0.0, 1.0, 0.25, 0.25, 1.0]
    assert reward.failures == 1 and reward.calls == 1


def test_remote_judge_reward_stops_when_the_server_is_down():
    def handler(request):
        return httpx.Response(503, json={"detail": "the engine is unavailable"})

    client = AsyncReasonRMClient("http://judge", transport=httpx.MockTransport(handler))
    with pytest.raises(EngineUnavailableError):
        RemoteJudgeReward(client=client)(["p", "p"], ["a", "b"])
