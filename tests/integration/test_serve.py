"""`reasonrm serve` as a user runs it: a real process on 127.0.0.1 judging with the SmolLM2
GGUF through llama.cpp, called over HTTP by the client, by raw requests and by a real TRL
GRPOTrainer; then stopped with Ctrl-C while a request is in flight."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("fastapi")

import httpx  # noqa: E402

from reasonrm.client import ReasonRMClient, RemoteJudgeReward  # noqa: E402

KEY_ENV, KEY = "REASONRM_TEST_SERVE_KEY", "s3cret"
SMALL = ["--max-tokens", "48", "--parallel", "2", "--context", "2048"]
# pairs no check applies to: the test reads the judge's votes, which a decided pair skips (a
# math pair is decided or not by how well SmolLM2's sampled programs happen to run)
PAIRS = [
    ("What is the capital of France?", "Paris.", "Berlin."),
    ("Name a primary colour.", "Red.", "Purple, the colour of bananas."),
]


class Server:
    """`reasonrm serve --port 0` in a child process; its output is collected by a thread."""

    def __init__(self, *args: str) -> None:
        env = os.environ | {KEY_ENV: KEY, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reasonrm.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_ready(timeout=180)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                found = re.search(r"reasonrm serving at (http://\S+)", line)
                if found:
                    return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not start:\n" + "".join(self.lines))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(smollm2_path):
    served = Server("--model", str(smollm2_path), "--api-key-env", KEY_ENV, *SMALL)
    yield served
    served.stop()


def test_judge_rank_and_rewards_over_http(server):
    with ReasonRMClient(server.url, api_key=KEY) as client:
        assert client.health().status == "ok"
        answer = client.judge(PAIRS, reasoning=True)
        assert len(answer.judgments) == 2 and answer.usage.completion_tokens > 0
        for j in answer.judgments:
            assert j.error is None
            assert j.valid + j.invalid == 2  # one vote in each order (serve's default)
            assert j.valid == j.votes.A + j.votes.B and len(j.reasoning) == 2
            expected = None if j.votes.A == j.votes.B else ("A" if j.votes.A > j.votes.B else "B")
            assert j.winner == expected  # the majority of the valid votes

        ranked = client.rank("Name a primary colour.", ["Red.", "Blue.", "Bananas."])
        assert sorted(ranked.ranking) == [0, 1, 2] and ranked.best == ranked.ranking[0]
        assert ranked.judge_calls >= 2 and max(ranked.rewards) == 1.0

        # OpenRLHF's shape: against the reference in labels, then groups without labels
        prompts = ["Q: 2 + 2?\nA:", "Q: 2 + 2?\nA:"]
        queries = [p + r for p, r in zip(prompts, [" 4", " 22"], strict=True)]
        vs_ref = client.get_reward(queries, prompts, [" 4", " 4"])
        assert len(vs_ref.rewards) == 2 and set(vs_ref.rewards) <= {-1.0, 0.0, 1.0}
        assert vs_ref.extra_logs["vs_reference"] == [1, 1]
        group = client.get_reward(queries, prompts, None)
        assert sorted(group.rewards) == [0.0, 1.0]  # a two-player knockout: champion 1
        assert group.extra_logs["vs_reference"] == [0, 0]

    metrics = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    judged = re.search(
        r'reasonrm_requests_total\{endpoint="/v1/judge",status="200"\} (\S+)', metrics
    )
    assert judged and float(judged.group(1)) >= 1
    tokens = re.search(r"^reasonrm_completion_tokens_total (\S+)$", metrics, re.MULTILINE)
    assert tokens and float(tokens.group(1)) >= answer.usage.completion_tokens


def test_refusals_are_clear(server):
    no_key = httpx.post(server.url + "/v1/judge", json={"pairs": []})
    assert no_key.status_code == 401
    assert httpx.get(server.url + "/health").status_code == 200  # open without a key
    auth = {"Authorization": f"Bearer {KEY}"}
    bad = httpx.post(
        server.url + "/v1/judge", json={"pairs": [{"prompt": "p", "a": "x"}]}, headers=auth
    )
    assert bad.status_code == 422 and "pairs[0].b" in bad.json()["detail"]
    huge = {"pairs": [{"prompt": "p", "a": "x" * 200_000, "b": "y"}]}
    too_big = httpx.post(server.url + "/v1/judge", json=huge, headers=auth)
    assert too_big.status_code == 413 and "pairs[0].a" in too_big.json()["detail"]


def test_grpo_trains_on_a_remote_judge(server, tmp_path):
    pytest.importorskip("trl")
    import torch
    from short_grpo import train_grpo

    from reasonrm.training.checkpoints import tiny_random_model

    # Against a reference, the rewards are -1, 0 or +1 per row.
    reward = RemoteJudgeReward(server.url, api_key=KEY)
    prompts = [[{"role": "user", "content": q}] for q, _, _ in PAIRS]
    vs_ref = reward(prompts, [bad for _, _, bad in PAIRS], reference=[g for _, g, _ in PAIRS])
    assert len(vs_ref) == 2 and set(vs_ref) <= {-1.0, 0.0, 1.0} and reward.failures == 0
    reward.close()

    # GRPO ranks each prompt's group. A knockout always crowns one completion (reward 1)
    # above the rest, so every group has spread and the update cannot be zero. Training
    # against a reference gives no such promise: a judge that never gives a verdict scores
    # every completion 0.
    torch.manual_seed(0)
    policy, tokenizer = tiny_random_model(seed=0)
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    reward = RemoteJudgeReward(server.url, api_key=KEY, num_generations=4)
    trainer = train_grpo(
        policy,
        tokenizer,
        reward,
        prompts,
        tmp_path,
        steps=2,
        generations=4,
        completion_length=12,
        learning_rate=1e-3,
    )
    reward.close()

    assert trainer.state.global_step == 2 and reward.calls == 2 and reward.failures == 0
    logged = [h for h in trainer.state.log_history if f"rewards/{reward.__name__}/mean" in h]
    assert len(logged) == 2
    for h in logged:  # champion 1 and the others below it: mean in (0, 1), spread > 0
        assert 0.0 < h[f"rewards/{reward.__name__}/mean"] < 1.0
        assert h[f"rewards/{reward.__name__}/std"] > 0
    after = dict(policy.named_parameters())
    assert any(not torch.equal(before[n], after[n].detach()) for n in before)


def test_ctrl_c_finishes_the_request_in_flight(smollm2_path):
    served = Server("--model", str(smollm2_path), *SMALL)
    answers: list[tuple[float, httpx.Response]] = []
    # Three times the pairs: long enough (a dozen votes) that Ctrl-C lands mid-request.
    body = {"pairs": [{"prompt": q, "a": a, "b": b} for q, a, b in PAIRS * 3]}

    def call() -> None:
        reply = httpx.post(served.url + "/v1/judge", json=body, timeout=300)
        answers.append((time.monotonic(), reply))

    caller = threading.Thread(target=call)
    caller.start()
    running = 0.0
    deadline = time.monotonic() + 60
    while running == 0 and not answers and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the request is being judged
        metrics = httpx.get(served.url + "/metrics").text
        found = re.search(r"^reasonrm_jobs_running (\S+)$", metrics, re.MULTILINE)
        running = float(found.group(1))
    assert running > 0 and not answers, "the request was not seen in flight"
    interrupted_at = time.monotonic()
    code = served.stop()
    caller.join(60)
    assert answers, "the request in flight got no answer"
    answered_at, reply = answers[0]
    assert answered_at > interrupted_at  # it was still being judged when Ctrl-C came
    assert reply.status_code == 200, reply.text
    judgments = reply.json()["judgments"]
    assert len(judgments) == len(body["pairs"])
    for j in judgments:  # finished, not cut short: both orders voted
        assert j["error"] is None and j["valid"] + j["invalid"] == 2
    # a clean stop: 130 is the shell's code for a Ctrl-C, and no traceback
    assert code in (0, 130) and "Traceback" not in "".join(served.lines), "".join(served.lines)
    with pytest.raises(httpx.TransportError):
        httpx.get(served.url + "/health", timeout=5)
