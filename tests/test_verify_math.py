"""The math check with a scripted judge writing programs, run in the real local sandbox and
compared by math-verify; and the judge that uses the checks."""

from __future__ import annotations

import asyncio
import json

import pytest
from fakes import ScriptedEngine

from reasonrm import Comparison, Judge, JudgeSpec, Judgment
from reasonrm.errors import InputError
from reasonrm.sandbox import open_sandbox
from reasonrm.types import Message, SamplingParams
from reasonrm.verify.answers import compare
from reasonrm.verify.base import CheckContext
from reasonrm.verify.math import MathVerifier

SANDBOX = open_sandbox("local")


def programs(*bodies: str):
    """A judge whose program-writing requests get these programs in turn (after the opened
    fence), and whose verdict requests, if any, say slot 1."""
    handed = iter(bodies * 8)

    def script(chat: list[Message], params: SamplingParams) -> str:
        if "Write a Python program" in chat[1]["content"]:
            return next(handed) + "\n```"
        return "\\boxed{Assistant 1}"

    return ScriptedEngine(script)


def math_check(c: Comparison, engine, samples: int = 4):
    ctx = CheckContext(engine, SANDBOX, samples, 0)
    return asyncio.run(MathVerifier().check(c, ctx))


SUM = Comparison("What is 25 + 17?", "25 + 17 = 52", "25 + 17 = 42")


def test_programs_that_agree_decide_for_the_answer_they_compute():
    e = math_check(SUM, programs("print(25 + 17)"))
    assert e.winner == "B" and e.details["support"] == {"a": 0, "b": 4}
    assert e.details["computed"] == ["42"] * 4 and "print(25 + 17)" in e.details["program"]


def test_equivalent_forms_match_exactly_not_as_strings():
    c = Comparison(
        "Simplify $\\sqrt{242}$.",
        "The answer is $\\boxed{11\\sqrt{2}}$.",
        "So $\\boxed{2\\sqrt{61}}$",
    )
    e = math_check(c, programs("import sympy\nprint(sympy.sqrt(242))"))
    assert e.winner == "A", e.summary


def test_one_agreeing_program_is_not_enough():
    e = math_check(SUM, programs("print(42)", "print(7)", "print(8)", "print(9)"))
    assert e.winner is None and e.details["support"]["b"] == 1


def test_programs_that_fail_or_print_nothing_decide_nothing():
    e = math_check(SUM, programs("raise SystemExit(1)", "x = 1", "while True: pass"))
    assert e.winner is None and "printed an answer" in e.summary


def test_a_program_cannot_see_the_responses():
    engine = programs("print(42)")
    math_check(SUM, engine)
    asked = [m["content"] for call in engine.calls for chat in call.chats for m in chat]
    assert not any("52" in text for text in asked)


def test_the_same_answer_twice_is_not_a_math_pair():
    assert not MathVerifier().applies(Comparison("What is 6 * 7?", "It is 42.", "42"))
    assert not MathVerifier().applies(Comparison("Write a haiku.", "Rain falls 3 times", "7"))
    assert MathVerifier().applies(SUM)


def test_compare_reads_latex_and_program_notation():
    done = asyncio.run(compare(SANDBOX, "5r^5", "5r^{\\frac{5}{8}}", ["5*r**5", "6 + 9*I"]))
    assert done["a"] == [True, False] and done["b"] == [False, False]
    same = asyncio.run(compare(SANDBOX, "\\frac{1}{2}", "0.5", []))
    assert same["a_is_b"]


# ---- the judge with checks ------------------------------------------------------------------


def test_a_decided_pair_says_so_in_p_a_and_evidence_and_is_not_read():
    engine = programs("print(25 + 17)")
    j = Judge(engine).judge(SUM)
    assert j.winner == "B" and j.decided_by == "math"
    assert j.p_a == pytest.approx(0.01) and j.samples == []
    assert not engine.continuations or all(
        "Write a Python program" in c.chats[0][1]["content"] for c in engine.calls
    )
    again = Judgment.from_dict(json.loads(json.dumps(j.to_dict())))
    assert again.decided_by == "math" and again.evidence[0].details["support"]["b"] == 4


def test_an_inconclusive_check_leaves_the_reading_and_keeps_its_evidence():
    engine = programs("print(7)")  # agrees with neither answer
    j = Judge(engine, score="vote").judge(SUM)
    assert j.decided_by is None and j.votes["A"] + j.votes["B"] == 2  # read both orders
    assert [e.verifier for e in j.evidence] == ["math"] and j.evidence[0].winner is None


def test_verify_off_runs_no_check_and_unknown_verifiers_are_refused():
    engine = programs("print(42)")
    j = Judge(engine, score="vote", verify="off").judge(SUM)
    assert j.evidence == [] and not any(
        "Write a Python program" in c.chats[0][1]["content"] for c in engine.calls
    )
    with pytest.raises(InputError, match="unknown verifier 'magic'.*code, math"):
        JudgeSpec(verify="code,magic")
    with pytest.raises(
        InputError, match="sandbox must be local, local-unisolated or a SandboxFusion URL"
    ):
        JudgeSpec(sandbox="docker")


def test_a_check_that_breaks_falls_back_to_the_reading():
    def script(chat, params):
        if "Write a Python program" in chat[1]["content"]:
            raise RuntimeError("a bug in the checker's path")
        return "\\boxed{Assistant 2}"

    j = Judge(ScriptedEngine(script), score="vote").judge(SUM)
    assert j.decided_by is None and j.error is None
    assert "the check failed" in j.evidence[0].summary
