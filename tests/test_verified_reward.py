"""The verified reward for completions without a reference answer: each one checked alone,
its code run on the prompt's examples, its answer compared with the judge's programs'."""

from __future__ import annotations

import pytest
from fakes import ScriptedEngine

from reasonrm.rewards import VerifiedReward
from reasonrm.types import Message, SamplingParams

HEP = """Write a Python function `clip(x: int) -> int` to solve the following problem:
Return x limited to 0..10.
>>> clip(5)
5
>>> clip(-2)
0
>>> clip(12)
10
"""


def writes(program: str):
    def script(chat: list[Message], params: SamplingParams) -> str:
        return program + "\n```"

    return ScriptedEngine(script)


def test_code_completions_are_rewarded_by_the_share_of_examples_they_pass():
    reward = VerifiedReward(ScriptedEngine())  # the examples need no model
    completions = [
        "    return max(0, min(10, x))\n",  # all three
        "    return min(10, x)\n",  # two of three
        "    return x\n",  # one of three
        [{"role": "assistant", "content": "Sorry, I cannot write code."}],  # no program
    ]
    got = reward([HEP] * 4, completions)
    assert got == pytest.approx([1.0, 1 / 3, -1 / 3, -1.0])
    assert reward.__name__ == "verified"


def test_math_completions_are_rewarded_against_the_computed_answer():
    engine = writes("print(25 + 17)")
    reward = VerifiedReward(engine)
    prompt = [{"role": "user", "content": "What is 25 + 17?"}]
    got = reward([prompt] * 3, ["It is 42.", "25 + 17 = 52", "I am not sure."])
    assert got == [1.0, -1.0, 0.0]  # the last states no answer: unknown
    programs = [c for c in engine.calls if "Write a Python program" in c.chats[0][1]["content"]]
    assert len(programs) == 2  # one greedy and one sampled request for the prompt, shared


def test_a_prompt_no_check_applies_to_gets_the_unknown_reward():
    reward = VerifiedReward(ScriptedEngine(), unknown=0.25)
    assert reward(["Write a haiku about rain."], ["Rain on the roof."]) == [0.25]
    assert reward.unknowns == 1
