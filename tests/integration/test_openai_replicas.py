"""The openai engine over several base URLs: requests spread over replicas, a limit per
endpoint, and unreachable replicas set aside. Replicas are small HTTP servers on 127.0.0.1
that answer like an OpenAI server and record how busy they were; one test uses the real
llama.cpp server."""

import json
import threading
import time

import pytest
from fake_openai import Handler, completion, serve

from reasonrm import SamplingParams
from reasonrm.engines.openai import OpenAIEngine, parse_base_urls
from reasonrm.errors import EngineError, EngineUnavailableError, InputError
from reasonrm.types import Judgment

CHAT = [{"role": "user", "content": "Name three colours."}]
DEAD = "http://127.0.0.1:9/v1"  # nothing listens on port 9


class Replica:
    """A server that takes `delay` seconds per request and counts requests in flight."""

    def __init__(self, delay=0.2):
        replica = self
        self.calls = self.busy = self.peak = 0
        self.lock = threading.Lock()

        class Slow(Handler):
            def answer(self, body):
                with replica.lock:
                    replica.calls += 1
                    replica.busy += 1
                    replica.peak = max(replica.peak, replica.busy)
                time.sleep(delay)
                with replica.lock:
                    replica.busy -= 1
                return 200, completion("red", 3, 1)

        self.server, self.url = serve(Slow)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def replicas():
    started = [Replica(), Replica()]
    yield started
    for r in started:
        r.close()


def test_requests_spread_over_replicas_within_each_limit(replicas):
    engine = OpenAIEngine([r.url for r in replicas], model="m", concurrency=2)
    assert engine.capacity == 4
    results = engine.generate([CHAT] * 12, SamplingParams(max_tokens=4))
    assert all(s.text == "red" for (s,) in results)
    assert [r.calls for r in replicas] == [6, 6]  # least busy first: an even split
    assert all(r.peak == 2 for r in replicas)  # both kept busy, neither over its limit


def test_an_unreachable_replica_is_set_aside(replicas):
    engine = OpenAIEngine(f"{DEAD},{replicas[0].url}", model="m", max_retries=0, timeout=5)
    results = engine.generate([CHAT] * 6, SamplingParams(max_tokens=4))
    assert len(results) == 6 and replicas[0].calls == 6


def test_no_reachable_replica_is_one_clear_error():
    engine = OpenAIEngine([DEAD, "http://127.0.0.1:7/v1"], model="m", max_retries=0, timeout=5)
    with pytest.raises(EngineUnavailableError, match="cannot reach any of the servers"):
        engine.generate([CHAT], SamplingParams(max_tokens=4))


def test_real_server_behind_a_dead_replica(server_url):
    engine = OpenAIEngine([DEAD, server_url], max_retries=0, timeout=60)
    (samples,) = engine.generate([CHAT], SamplingParams(max_tokens=8))
    assert samples[0].text and engine.model  # the model name came from the live replica


def test_base_url_lists():
    assert parse_base_urls("http://a/v1/, http://b/v1") == ["http://a/v1", "http://b/v1"]
    with pytest.raises(InputError, match="listed twice"):
        parse_base_urls(["http://a/v1", "http://a/v1/"])
    with pytest.raises(InputError, match="needs a base URL"):
        parse_base_urls(" , ")


def test_cli_takes_several_base_urls(server_url, judgment_checker):
    from typer.testing import CliRunner

    from reasonrm.cli import app

    args = ["judge", "--prompt", "2+2?", "--a", "4", "--b", "5", "--engine", "openai"]
    args += ["--base-url", f"{DEAD},{server_url}", "--concurrency", "2", "--max-tokens", "16"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    # judged by the live replica, in both orders (the default), and consistent with its samples
    judgment = Judgment.from_dict(json.loads(result.stdout))
    assert judgment.error is None
    assert sorted(s.order for s in judgment.samples) == ["AB", "BA"]
    judgment_checker(judgment, "rrm")


def test_a_slow_replica_times_out_without_being_set_aside():
    slow = Replica(delay=2.0)
    try:
        engine = OpenAIEngine(slow.url, model="m", max_retries=0, timeout=0.5)
        with pytest.raises(EngineError, match="did not answer within the timeout"):
            engine.generate([CHAT], SamplingParams(max_tokens=4))
        assert engine._endpoints[0].down_until == 0.0
    finally:
        slow.close()
