"""JudgeBench: loading the official files and scoring both orders by the counter rule."""

import json

import pytest
from fakes import ScriptedEngine

from reasonrm import Judge
from reasonrm.errors import InputError
from reasonrm.eval import get_benchmark
from reasonrm.eval.runner import run

judgebench = get_benchmark("judgebench")


def test_loads_the_gpt4o_set(shared_data):
    path = (
        shared_data
        / "judgebench"
        / "original"
        / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl"
    )
    items = list(judgebench.load(str(path)))
    assert len(items) == 350
    labels = [i.comparisons[0].label for i in items]
    assert labels.count("A") == 193 and labels.count("B") == 157
    assert sum(i.subset.startswith("mmlu-pro") for i in items) == 154


def test_bad_label_is_named(tmp_path):
    path = tmp_path / "jb.jsonl"
    path.write_text(
        '{"pair_id": "p", "source": "livebench-math", "question": "q", '
        '"response_A": "a", "response_B": "b", "label": "A=B"}\n'
    )
    with pytest.raises(InputError, match="jb.jsonl:1: field 'label'"):
        list(judgebench.load(str(path)))


def load_one(tmp_path, label):
    row = {
        "pair_id": "p1",
        "source": "livebench-math",
        "question": "2+2?",
        "response_A": "four",
        "response_B": "five",
        "label": label,
    }
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return list(judgebench.load(str(path)))


@pytest.mark.parametrize(
    ("script", "label", "correct"),
    [
        ("always first", "A>B", 0),  # right in one order, wrong in the other: sum 0
        ("by content", "A>B", 1),
        ("by content", "B>A", 0),
        ("first then nothing", "A>B", 1),  # one right, one invalid: sum +1
    ],
)
def test_both_orders_counter_rule(tmp_path, script, label, correct):
    def judge_fn(chat, params):
        user = chat[-1]["content"]
        first_is_four = user.index("four") < user.index("five")
        if script == "always first":
            return "\\boxed{Assistant 1}"
        if script == "first then nothing":
            return "\\boxed{Assistant 1}" if first_is_four else "no verdict here"
        return "\\boxed{Assistant 1}" if first_is_four else "\\boxed{Assistant 2}"

    items = load_one(tmp_path, label)
    judge = Judge(
        ScriptedEngine(judge_fn), "rrm", orders=judgebench.default_orders, force_verdict=False
    )
    row = json.loads(run(items, judge, tmp_path / "run", judgebench.make_row).read_text())
    assert row["correct"] == correct
    assert len(row["order_verdicts"]) == 2
    assert judgebench.score_rows([row], None)["overall"] == correct
