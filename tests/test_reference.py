"""reference="self": the judge answers the prompt first, once per prompt, and judges with its
answer shown; a row's own reference is shown as given."""

from __future__ import annotations

import pytest
from fakes import ScriptedEngine

from reasonrm import Judge
from reasonrm.errors import EngineError
from reasonrm.judge import SOLVE_PROMPT
from reasonrm.pairs import comparison_from_row
from reasonrm.ranking import Ranker
from reasonrm.types import Comparison, Judgment


def solving_judge(answer: str = "42", scores=None):
    """Answers a solve request with `answer`; as a judge, picks the slot that matches the
    reference it was shown (the first slot when there is none). `scores`: next-token
    probabilities, for probability scoring."""

    def script(chat, params):
        if chat[0]["content"] == SOLVE_PROMPT:
            return answer
        user = chat[-1]["content"]
        if "## Reference answer" not in user:
            return "\\boxed{Assistant 1}"
        ref = user.split("## Reference answer\n\n")[1].split("\n\n")[0]
        first = user.split("### Assistant 1\n\n")[1].split("\n\n")[0]
        return "\\boxed{Assistant 1}" if first == ref else "\\boxed{Assistant 2}"

    return ScriptedEngine(script, scores=scores)


def solve_calls(engine: ScriptedEngine) -> list:
    return [c for c in engine.calls if c.chats[0][0]["content"] == SOLVE_PROMPT]


def test_self_reference_is_written_once_and_shown():
    engine = solving_judge("42")
    # the reading alone: a math check would compute 6 * 7 by a program first
    judge = Judge(engine, "rrm", reference="self", verify="off")
    j = judge.judge(Comparison("6 * 7?", "41", "42", label="B"))
    assert j.winner == "B" and j.orders_agree and j.reference == "42"
    (solve,) = solve_calls(engine)
    # the judge answered alone: the prompt only, never the responses
    assert solve.chats[0][1:] == [{"role": "user", "content": "6 * 7?"}]
    assert solve.params.temperature == 0 and solve.params.max_tokens == 512
    assert j.reference_tokens == 1 and j.completion_tokens == 1 + sum(
        s.completion_tokens for s in j.samples
    )
    again = judge.judge(Comparison("6 * 7?", "42", "40", label="A"))
    assert again.winner == "A" and again.reference_tokens == 0  # cached for this prompt
    assert len(solve_calls(engine)) == 1
    assert Judgment.from_dict(j.to_dict()).reference == "42"
    without = Judge(solving_judge("42"), "rrm", verify="off").judge(
        Comparison("6 * 7?", "41", "42")
    )
    assert without.winner is None and without.reference is None  # first slot both ways


def test_a_tournament_pays_for_one_answer_per_prompt():
    engine = solving_judge("42")
    ranking = Ranker(Judge(engine, "rrm", reference="self"), method="elo").rank(
        "6 * 7?", ["40", "41", "42", "43"]
    )
    assert ranking.best == 2
    assert len(solve_calls(engine)) == 1


def test_a_rows_own_reference_is_used_and_nothing_is_solved():
    engine = solving_judge("wrong")
    c = comparison_from_row({"prompt": "6 * 7?", "a": "42", "b": "41", "reference": "42"})
    assert c.reference == "42"
    j = Judge(engine, "rrm", reference="self").judge(c)
    assert j.winner == "A" and solve_calls(engine) == [] and j.reference is None
    with pytest.raises(Exception, match="reference"):
        comparison_from_row({"prompt": "q", "a": "x", "b": "y", "reference": 3})


def test_an_empty_answer_gives_no_reference_and_a_failure_is_retried():
    j = Judge(solving_judge("  "), "rrm", reference="self").judge(Comparison("q", "x", "y"))
    assert j.reference is None

    calls = []

    def flaky(chat, params):
        if chat[0]["content"] == SOLVE_PROMPT:
            calls.append(1)
            if len(calls) == 1:
                raise EngineError("busy")
            return "x"
        return "\\boxed{Assistant 1}"

    judge = Judge(ScriptedEngine(flaky), "rrm", reference="self")
    with pytest.raises(EngineError):
        judge.judge(Comparison("q", "x", "y"))
    assert judge.judge(Comparison("q", "x", "y")).reference == "x" and len(calls) == 2
