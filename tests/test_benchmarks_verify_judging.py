"""benchmarks/verify_judging.py: the off run reuses the readings of pairs no check decided,
and the figures count decided pairs and what each math threshold would decide."""

from __future__ import annotations

import sys
from pathlib import Path

from fakes import ScriptedEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import verify_judging  # noqa: E402

from reasonrm import Judge  # noqa: E402
from reasonrm.eval import get_benchmark  # noqa: E402
from reasonrm.eval.runner import RESULTS, EvalItem, run  # noqa: E402
from reasonrm.jsonl import iter_jsonl  # noqa: E402
from reasonrm.types import Comparison  # noqa: E402

rewardbench = get_benchmark("rewardbench")


def script(chat, params):
    """Programs print 42; readings pick the slot holding "good"."""
    if "Write a Python program" in chat[1]["content"]:
        return "print(42)\n```"
    text = chat[1]["content"]
    first = text.split("### Assistant 1")[1].split("### Assistant 2")[0]
    return "\\boxed{Assistant 1}" if "good" in first else "\\boxed{Assistant 2}"


def items():
    pairs = [("What is 40 + 2?", "It is 42.", "It is 41."), ("Say hi.", "good hi", "bad")]
    for i, (prompt, a, b) in enumerate(pairs):
        c = Comparison(prompt, a, b, label="A", id=str(i))
        yield EvalItem(str(i), "math-prm" if i == 0 else "alpacaeval-easy", (c,), {"id": str(i)})


def test_the_off_run_reuses_readings_and_reads_decided_pairs_anew(tmp_path):
    auto, off = tmp_path / "auto", tmp_path / "off"
    for out in (auto, off):
        out.mkdir()
    judge = Judge(ScriptedEngine(script), score="vote", orders="both")
    run(items(), judge, auto, rewardbench.make_row)
    rows = [row for _, row in iter_jsonl(auto / RESULTS)]
    assert [row.get("decided_by") for row in rows] == ["math", None]
    keys = {"0", "1"}
    verify_judging.reuse_readings(auto, off, keys, rewardbench, {i.key: i for i in items()})
    reused = [row for _, row in iter_jsonl(off / RESULTS)]
    assert [row["key"] for row in reused] == ["1"] and reused[0]["evidence"] == []
    figures = verify_judging.measure(rows, rewardbench, auto)
    assert figures["decided"] == 1 and figures["decided_accuracy"] == 1.0
    assert figures["decided_by"] == {"math": {"pairs": 1, "right": 1}}
    assert figures["math_support"]["2"] == {"right": 1, "wrong": 0}


def test_the_cost_of_choosing_checks_counts_the_pairs_a_check_applies_to():
    cost = verify_judging.applies_cost({item.key: item for item in items()})
    assert (cost["pairs"], cost["a_check_applies"]) == (2, 1)  # the sum, not the greeting
    assert cost["ms_per_pair"] > 0
