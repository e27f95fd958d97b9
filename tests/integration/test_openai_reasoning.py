"""Thinking models behind an OpenAI-compatible server: the chain comes back apart from the
content (`reasoning` as vLLM names it, `reasoning_content` as SGLang and llama.cpp do), the
verdict is read from the content, and a budget spent in thinking is forced to a verdict by
closing the thinking first. A small server of ours plays the thinking model."""

from __future__ import annotations

import pytest
from fake_openai import Handler, completion, serve

from reasonrm import Comparison, Judge
from reasonrm.engines.openai import OpenAIEngine
from reasonrm.errors import InputError
from reasonrm.protocols import get_protocol

CHAIN = "Canberra is the capital; Sydney is only the largest city. So the first is right."
PAIR = Comparison("Capital of Australia?", "Canberra.", "Sydney.", label="A")


def thinking_server(field: str):
    seen: list[dict] = []

    class Thinking(Handler):
        def answer(self, body):
            seen.append(body)
            last = body["messages"][-1]
            if last["role"] == "assistant":  # a forced verdict: the thinking must be closed
                content = last["content"]
                if not (content.startswith("<think>\n") and "\n</think>\n\n" in content):
                    return 400, {"error": {"message": "thinking not closed"}}
                return 200, completion(" 1}")
            reply = completion("")
            message = reply["choices"][0]["message"]
            message[field] = CHAIN
            if body["max_tokens"] < 64:  # the budget ran out while thinking
                message["content"] = None
                reply["choices"][0]["finish_reason"] = "length"
            else:
                message["content"] = "The first answer is right. \\boxed{Assistant 1}"
            return 200, reply

    server, url = serve(Thinking)
    return server, url, seen


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_the_chain_comes_back_apart_and_the_verdict_from_the_content(field):
    server, url, seen = thinking_server(field)
    try:
        with OpenAIEngine(url, "thinker") as engine:
            options = dict(reasoning_effort="low", thinking_budget=300)
            judge = Judge(engine, protocol="rrm", score="vote", orders="fixed", **options)
            j = judge.judge(PAIR)
    finally:
        server.shutdown()
    (s,) = j.samples
    assert (j.winner, s.forced, s.reasoning) == ("A", False, CHAIN)
    assert s.text == "The first answer is right. \\boxed{Assistant 1}"
    assert seen[0]["reasoning_effort"] == "low" and seen[0]["thinking_token_budget"] == 300
    assert j.to_dict()["samples"][0]["reasoning"] == CHAIN  # kept in results files


def test_a_budget_spent_thinking_is_forced_after_closing_the_thinking():
    server, url, seen = thinking_server("reasoning")
    try:
        with OpenAIEngine(url, "thinker") as engine:
            judge = Judge(engine, protocol="rrm", score="vote", orders="fixed", max_tokens=32)
            j = judge.judge(PAIR)
    finally:
        server.shutdown()
    (s,) = j.samples
    assert s.forced and j.winner == "A" and s.verdict.winner == "A"
    closed = f"<think>\n{CHAIN}\n</think>\n\n"
    assert s.text == closed + get_protocol("rrm").verdict_cue_for(closed) + " 1}"
    assert len(seen) == 2 and "reasoning_effort" not in seen[0]


def test_reasoning_effort_needs_the_openai_engine():
    from fakes import ScriptedEngine

    with pytest.raises(InputError, match="reasoning_effort go to .* the scripted engine has no"):
        Judge(ScriptedEngine(["x"]), reasoning_effort="high", score="vote")


def test_the_server_returns_the_chain_with_each_vote_when_asked():
    from reasonrm.server.service import pair_judgment

    server, url, _ = thinking_server("reasoning_content")
    try:
        with OpenAIEngine(url, "thinker") as engine:
            judge = Judge(engine, protocol="rrm", score="vote", orders="fixed")
            fine = judge.judge(PAIR)
            forced = Judge(engine, protocol="rrm", score="vote", orders="fixed", max_tokens=32)
            cut = forced.judge(PAIR)
    finally:
        server.shutdown()
    (text,) = pair_judgment(fine, reasoning=True).reasoning
    assert text == f"<think>\n{CHAIN}\n</think>\n\n" + fine.samples[0].text
    (text,) = pair_judgment(cut, reasoning=True).reasoning
    assert text == cut.samples[0].text and text.count(CHAIN) == 1  # the chain is in it once
