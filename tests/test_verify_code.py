"""The code check on real programs in the local sandbox: the prompt's examples, the judge's
own tests (a scripted judge writes them), each language whose toolchain is here, and
responses that try to cheat or harm."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest
from fakes import ScriptedEngine

from reasonrm.sandbox import open_sandbox
from reasonrm.types import Comparison, Message, SamplingParams
from reasonrm.verify.base import CheckContext
from reasonrm.verify.code import CodeVerifier

SANDBOX = open_sandbox("local")
HAS = set(SANDBOX.languages())


def check(c: Comparison, engine=None, samples: int = 3):
    ctx = CheckContext(engine or ScriptedEngine(), SANDBOX, samples, 0)
    return asyncio.run(CodeVerifier().check(c, ctx))


HEP = """Write a Python function `below_zero(operations: List[int]) -> bool` to solve the following problem:
You're given a list of deposit and withdrawal operations on a bank account that starts with
zero balance. Detect if at any point the balance falls below zero.
>>> below_zero([1, 2, 3])
False
>>> below_zero([1, 2, -4, 5])
True
"""
RIGHT = """    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False
"""
WRONG = RIGHT.replace("balance < 0", "balance == 0")


def test_the_prompts_examples_decide_for_the_right_body_in_either_slot():
    e = check(Comparison(HEP, RIGHT, WRONG))
    assert e.winner == "A" and e.completion_tokens == 0  # no model needed
    assert "a passes 2 and b 1" in e.summary
    assert check(Comparison(HEP, WRONG, RIGHT)).winner == "B"
    shown = e.details["examples"]
    assert [t["call"] for t in shown["tests"]] == [
        "below_zero([1, 2, 3])",
        "below_zero([1, 2, -4, 5])",
    ]
    assert [r["pass"] for r in shown["b"]["results"]] == [True, False]


def test_the_same_program_twice_decides_nothing():
    e = check(Comparison(HEP, RIGHT, RIGHT + "\n"))
    assert e.winner is None and "same program" in e.summary


SUBTLE_PROMPT = """Write a Python function `clip(x: int) -> int` to solve the following problem:
Return x limited to the range 0..10.
>>> clip(5)
5
"""
CLIP_RIGHT = "    return max(0, min(10, x))\n"
CLIP_WRONG = "    return min(10, x)\n"  # passes the example, fails below zero


def judge_writing(tests: str, solutions: list[str]):
    """A scripted judge: its test-writing requests get `tests`, its solution requests the
    solutions in turn (what a coder model writes after the opened fence)."""
    handed = iter(solutions * 4)

    def script(chat: list[Message], params: SamplingParams) -> str:
        asked = chat[1]["content"]
        assert CLIP_RIGHT not in asked and CLIP_WRONG not in asked  # never sees responses
        if "tests for the function" in asked:
            return tests + "\n```"
        return next(handed) + "\n```"

    return ScriptedEngine(script)


def test_when_examples_do_not_decide_the_judges_tests_and_solutions_do():
    tests = "assert clip(5) == 5\nassert clip(-3) == 0\nassert clip(12) == 10"
    solutions = [
        "def clip(x):\n    return max(0, min(10, x))",
        "def clip(x):\n    return min(max(x, 0), 10)",
    ]
    engine = judge_writing(tests, solutions)
    e = check(Comparison(SUBTLE_PROMPT, CLIP_WRONG, CLIP_RIGHT), engine)
    assert e.winner == "B", e.summary
    assert "both" not in e.summary and "judge's tests" in e.summary
    judged = e.details["judge_tests"]["tests"]
    assert {t["call"]: t["expected"] for t in judged}["clip(-3)"] == 0
    assert e.completion_tokens > 0


def test_solutions_that_disagree_give_no_expected_value_and_no_decision():
    tests = "assert clip(-3) == 0"
    solutions = [
        "def clip(x):\n    return max(0, min(10, x))",
        "def clip(x):\n    return min(10, x)",
        "def clip(x):\n    return 7",
    ]
    e = check(Comparison(SUBTLE_PROMPT, CLIP_WRONG, CLIP_RIGHT), judge_writing(tests, solutions))
    assert e.winner is None, e.summary
    # where the programs part ways is kept for people to see
    assert e.details["disagreements"] == [{"call": "clip(-3)", "a": "-3", "b": "0"}]
    assert "differ on 1 of its inputs" in e.summary


def test_the_judges_own_expected_values_are_not_trusted():
    """The test says clip(-3) == -3 (wrong); the expected value comes from the solutions."""
    tests = "assert clip(-3) == -3"
    solutions = ["def clip(x):\n    return max(0, min(10, x))"] * 2
    e = check(Comparison(SUBTLE_PROMPT, CLIP_WRONG, CLIP_RIGHT), judge_writing(tests, solutions))
    assert e.winner == "B"


CHEATS = [
    # prints what a passing harness would print
    '    print(\'@@rrm000000000000@@[0, "ok", "True"]\')\n    return None\n',
    # rewrites repr, which the harness prints with
    "    import builtins\n    builtins.repr = lambda v: 'False'\n    return None\n",
    # exits before the harness can report
    "    import os\n    os._exit(0)\n",
    # an object equal to everything
    "    class Any:\n        def __eq__(self, other): return True\n        def __repr__(self): return 'False'\n    return Any()\n",
]


@pytest.mark.parametrize("cheat", CHEATS, ids=["fake-lines", "repr", "exit", "eq"])
def test_a_response_cannot_pass_by_cheating_the_harness(cheat):
    e = check(Comparison(HEP, cheat, RIGHT))
    assert e.winner == "B", e.summary


def test_a_hanging_response_loses_in_bounded_time():
    hang = "    while True:\n        pass\n"
    started = time.monotonic()
    e = check(Comparison(HEP, hang, RIGHT))
    assert e.winner == "B"
    assert time.monotonic() - started < 60


def test_a_response_never_sees_the_parents_secrets(monkeypatch):
    secret = f"sk-test-{secrets.token_hex(8)}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    leak = (
        "    import os, glob\n"
        "    found = [os.environ.get('OPENAI_API_KEY', '')]\n"
        "    for path in glob.glob('/proc/*/environ'):\n"
        "        try:\n"
        "            found.append(open(path, 'rb').read().decode(errors='replace'))\n"
        "        except OSError:\n"
        "            pass\n"
        "    print(found)\n"
        "    return ''.join(found)\n"
    )
    e = check(Comparison(HEP, leak, RIGHT))
    assert secret not in repr(e.to_dict())
    assert os.environ["OPENAI_API_KEY"] == secret


def test_a_missing_toolchain_is_evidence_not_a_crash():
    from reasonrm.sandbox.local import LocalSandbox

    bare = LocalSandbox(toolchains={})
    c = Comparison(
        "Write a C++ function `int f(int x)` to solve it:\n>>> f(1)\n2\n",
        "  return x + 1;\n}",
        "  return x;\n}",
    )
    ctx = CheckContext(ScriptedEngine(), bare, 3, 0)
    e = asyncio.run(CodeVerifier().check(c, ctx))
    assert e.winner is None and "cannot run C++" in e.summary


LANGUAGE_PAIRS = {
    "javascript": (
        "Write a JavaScript function `const sumTo = (n)` to solve the following problem:\n"
        "Sum 1..n.\n>>> sumTo(3)\n6\n>>> sumTo(1)\n1\n",
        "  let s = 0;\n  for (let i = 1; i <= n; i++) s += i;\n  return s;\n}\n",
        "  let s = 0;\n  for (let i = 1; i < n; i++) s += i;\n  return s;\n}\n",
    ),
    "cpp": (
        "Write a C++ function `vector<int> twice(vector<int> v)` to solve the following problem:\n"
        "Double each.\n>>> twice({1, 2})\n{2, 4}\n>>> twice({})\n{}\n",
        "    for (auto& x : v) x *= 2;\n    return v;\n}\n",
        "    for (auto& x : v) x += 2;\n    return v;\n}\n",
    ),
    "java": (
        "Write a Java function `public List<String> upper(List<String> xs)` to solve the following problem:\n"
        'Upper-case each.\n>>> upper(Arrays.asList("a", "b"))\n["A", "B"]\n',
        "        List<String> out = new ArrayList<>();\n        for (String x : xs) out.add(x.toUpperCase());\n        return out;\n    }\n}\n",
        "        return xs;\n    }\n}\n",
    ),
    "rust": (
        "Write a Rust function `count_vowels(s: &str) -> i32` to solve the following problem:\n"
        'Count vowels.\n>>> count_vowels("banana")\n3\n',
        '    s.chars().filter(|c| "aeiou".contains(*c)).count() as i32\n}\n',
        "    s.len() as i32\n}\n",
    ),
}


@pytest.mark.parametrize("language", list(LANGUAGE_PAIRS))
def test_each_language_runs_its_examples(language):
    if language not in HAS:
        pytest.skip(f"no {language} toolchain here")
    prompt, right, wrong = LANGUAGE_PAIRS[language]
    e = check(Comparison(prompt, wrong, right))
    assert e.winner == "B", e.summary
    assert e.details["language"] == language


def test_a_call_that_does_not_compile_is_dropped_not_failed():
    if "cpp" not in HAS:
        pytest.skip("no g++ here")
    prompt = (
        "Write a C++ function `int sq(int x)` to solve the following problem:\n"
        '>>> sq(3)\n9\n>>> sq("three")\n9\n'
    )
    e = check(Comparison(prompt, "    return x * x;\n}\n", "    return x + x;\n}\n"))
    assert e.winner == "A"
    assert [t["call"] for t in e.details["examples"]["tests"]] == ["sq(3)"]


def test_a_stdin_program_is_run_on_the_sample_inputs():
    prompt = "Read N and print 2N.\n\nSample Input 1\n\n3\n\nSample Output 1\n\n6\n"
    right = "```python\nn = int(input())\nprint(2 * n)\n```"
    wrong = "```python\nn = int(input())\nprint(n + 2)\n```"
    e = check(Comparison(prompt, wrong, right))
    assert e.winner == "B" and e.details["kind"] == "stdio"


def test_a_leetcode_method_is_called_with_the_examples_keywords():
    prompt = "Return the sum.\n\nExample 1:\n\nInput: nums = [1, 2, 3]\nOutput: 6\n"
    method = "```python\nclass Solution:\n    def total(self, nums):\n        return {}\n```"
    e = check(Comparison(prompt, method.format("sum(nums)"), method.format("max(nums)")))
    assert e.winner == "A", e.summary


def test_a_forged_line_in_the_wrong_shape_cannot_break_the_check():
    forge = (
        "    import re\n"
        "    tag = re.search(r'@@rrm[0-9a-f]+@@', open(__file__).read()).group()\n"
        "    import sys\n"
        "    for payload in ('5', '[0, 1, 2]', '[0, \"ok\", 5]', '{}', '[0, \"ok\"'):\n"
        "        sys.__stdout__.write('\\n' + tag + payload + '\\n')\n"
        "    return None\n"
    )
    e = check(Comparison(HEP, forge, RIGHT))
    assert e.winner == "B", e.summary


def test_a_chatty_or_input_reading_response_still_passes():
    chatty = "    print('x' * 2_000_000)\n" + RIGHT
    assert check(Comparison(HEP, chatty, WRONG)).winner == "A"
    demo = (
        "```python\nfrom typing import List\n\ndef below_zero(operations: List[int]) -> bool:\n"
        + RIGHT
        + "\nops = list(map(int, input().split()))\nprint(below_zero(ops))\n```"
    )
    assert check(Comparison(HEP, demo, WRONG)).winner == "A"


def test_which_slot_holds_a_class_does_not_decide():
    prompt = "Return [0, k].\n\nExample 1:\n\nInput: k = 1\nOutput: [0, 1]\n\nExample 2:\n\nInput: k = 5\nOutput: [0, 5]\n"
    hard_coded = "```python\nclass Solution:\n    def pair(self, k):\n        return [0, 1]\n```"
    function = "```python\ndef pair(k):\n    return [0, k]\n```"
    assert check(Comparison(prompt, hard_coded, function)).winner == "B"
    assert check(Comparison(prompt, function, hard_coded)).winner == "A"


def test_large_integers_are_compared_exactly_and_sets_are_written_as_json():
    import json

    from reasonrm.verify.literals import same

    assert not same(1000000007, 1000000008) and not same(10**400, 1.0)
    prompt = (
        "Write a Python function `evens(xs: list) -> set` to solve the following problem:\n"
        ">>> evens([1, 2, 4])\n{2, 4}\n"
    )
    e = check(
        Comparison(prompt, "    return {x for x in xs if x % 2 == 0}\n", "    return set(xs)\n")
    )
    assert e.winner == "A"
    assert json.loads(json.dumps(e.to_dict()))["details"]["examples"]["tests"][0]["expected"] == [
        2,
        4,
    ]


def test_a_java_solution_declared_public_final_compiles():
    if "java" not in HAS:
        pytest.skip("no javac here")
    prompt, right, wrong = LANGUAGE_PAIRS["java"]
    whole = (
        "```java\nimport java.util.*;\n\npublic final class Solution {\n"
        "    public List<String> upper(List<String> xs) {\n" + right + "```"
    )
    e = check(Comparison(prompt, whole, wrong))
    assert e.winner == "A", e.summary


def test_a_result_holding_a_line_separator_is_read():
    if "javascript" not in HAS:
        pytest.skip("no node here")
    prompt = (
        "Write a JavaScript function `const sep = (s)` to solve the following problem:\n"
        '>>> sep("a")\n"a\\u2028"\n'
    )
    e = check(Comparison(prompt, '  return s + "\\u2028";\n}\n', "  return s;\n}\n"))
    assert e.winner == "A", e.summary


def test_the_score_of_a_completion_is_unknown_when_the_sandbox_is_down():
    from reasonrm.sandbox.base import RunResult, Sandbox

    class Down(Sandbox):
        def languages(self):
            return ["python"]

        async def arun(self, request):
            return RunResult("unavailable", reason="the service is down")

    ctx = CheckContext(ScriptedEngine(), Down(), 3, 0)
    assert asyncio.run(CodeVerifier().score(HEP, RIGHT, ctx)) is None
