"""benchmarks/judge_modes.py: the figures it reports, from rows made by a scripted judge
through the same evaluation runner, checked by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fakes import ScriptedEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import judge_modes  # noqa: E402

from reasonrm import Judge  # noqa: E402
from reasonrm.eval import get_benchmark  # noqa: E402
from reasonrm.eval.runner import EvalItem, row_judgments  # noqa: E402
from reasonrm.types import Comparison, Judgment  # noqa: E402

pandalm = get_benchmark("pandalm")


def items():
    """Four PandaLM-style pairs: the good answer in slot a twice (gold 1), in b twice."""
    for i, (a, b) in enumerate(
        [("good", "bad"), ("bad", "good"), ("good", "meh"), ("meh", "good")]
    ):
        gold = 1 if a == "good" else 2
        c = Comparison(f"q{i}", a, b, label="A" if gold == 1 else "B", id=str(i))
        yield EvalItem(str(i), "s", (c,), {"id": str(i), "gold": gold})


def first_slot_scorer(chat):
    """Leans to the first slot, more when it holds 'good': right only in both orders."""
    first = chat[1]["content"].split("### Assistant 1")[1].split("### Assistant 2")[0]
    p = 0.95 if "good" in first else 0.7
    return {"1": p, "2": 1 - p}


def test_measure_counts_accuracy_bias_and_probability_quality():
    judge = Judge(ScriptedEngine(scores=first_slot_scorer), "direct", score="prob", orders="both")
    rows = []
    for item in items():
        (j,) = [judge.judge(c) for c in item.comparisons]
        rows.append({"key": item.key, **pandalm.make_row(item, [j])})
    figures = judge_modes.measure(rows, pandalm, {"seconds": 10.0, "pairs": 4})
    assert figures["accuracy"] == 1.0 and figures["pairs"] == 4
    assert figures["accuracy_label_a"] == figures["accuracy_label_b"] == 1.0
    # every single reading names the first slot: half the readings are right, all flip
    assert figures["first_slot_share"] == 1.0 and figures["flip_rate"] == 1.0
    assert figures["single_order_accuracy"] == 0.5
    assert figures["pairs_per_hour"] == 1440.0 and figures["completion_tokens_per_pair"] == 2
    p = [j["p_a"] for row in rows for j in row_judgments(row)]
    assert figures["brier"] == pytest.approx(
        sum((x - (i % 2 == 0)) ** 2 for i, x in enumerate(p)) / 4
    )
    assert figures["auc"] == 1.0


def test_pointwise_readings_give_no_one_order_figure():
    def digits(chat):
        top = "8" if "good" in chat[1]["content"] else "3"
        return {d: 0.9 if d == top else 0.0125 for d in "123456789"}

    judge = Judge(ScriptedEngine(scores=digits), score="pointwise")
    rows = []
    for item in items():
        (j,) = [judge.judge(c) for c in item.comparisons]
        rows.append({"key": item.key, **pandalm.make_row(item, [j])})
    figures = judge_modes.measure(rows, pandalm, {"seconds": 10.0, "pairs": 4})
    assert figures["accuracy"] == 1.0 and figures["single_order_accuracy"] is None
    assert figures["first_slot_share"] is None and figures["flip_rate"] is None


def test_a_tie_counts_as_wrong_in_accuracy_and_as_half_in_the_official_score():
    rewardbench = get_benchmark("rewardbench")
    rows = []
    for i, winner in enumerate(["A", None]):
        c = Comparison(f"q{i}", "chosen", "rejected", label="A", id=str(i))
        item = EvalItem(f"alpacaeval-easy/{i}", "alpacaeval-easy", (c,), {"id": str(i)})
        j = Judgment(winner, votes={}, label="A", comparison_id=c.id)
        rows.append({"key": item.key, **rewardbench.make_row(item, [j])})
    figures = judge_modes.measure(rows, rewardbench, {"seconds": 1.0, "pairs": 2})
    assert figures["accuracy"] == 0.5 and figures["ties"] == 1
    assert figures["sections"]["Chat"] == 0.75  # reward-bench scores a tie 0.5


def test_a_second_reference_mode_reads_the_first_modes_references(tmp_path):
    """--references-from: the references one `--reference self` mode wrote are shown by the
    next, which writes none of its own; an item the rows lack still gets its own."""
    from test_reference import solve_calls, solving_judge

    from reasonrm.eval.runner import RESULTS, run

    def two_items():
        for i, (q, a, b) in enumerate([("6 * 7?", "41", "42"), ("2 + 2?", "4", "5")]):
            c = Comparison(q, a, b, label="B" if i == 0 else "A", id=str(i))
            yield EvalItem(str(i), "s", (c,), {"id": str(i), "gold": 2 if i == 0 else 1})

    first = tmp_path / "prob-rrm-ref"
    run(
        list(two_items())[:1],
        Judge(solving_judge("42"), "rrm", reference="self"),
        first,
        pandalm.make_row,
    )

    engine = solving_judge("wrong")  # were it asked, it would answer otherwise
    judge = Judge(engine, "direct", reference="self")
    items = list(judge_modes.with_references(two_items(), first / RESULTS))
    assert [c.reference for item in items for c in item.comparisons] == ["42", None]
    judgments = [judge.judge(item.comparisons[0]) for item in items]
    # shown "42", the scripted judge picks the response that matches it in both orders
    assert judgments[0].winner == "B" and judgments[0].orders_agree
    assert judgments[0].reference_tokens == 0 and judgments[0].reference is None  # not its own
    assert judgments[1].reference == "wrong"  # not in the rows: written as usual
    assert len(solve_calls(engine)) == 1


def test_references_from_is_checked_before_the_model_loads(tmp_path):
    from types import SimpleNamespace

    args = SimpleNamespace(references_from="prob-rrm-ref")
    # the mode that writes the references reads none; the others read its rows
    judge_modes.check_references(args, ["prob-rrm-ref", "prob-direct-ref"])
    assert judge_modes.reference_rows(args, "prob-rrm-ref", tmp_path) is None
    with pytest.raises(SystemExit, match="run that mode first"):
        judge_modes.reference_rows(args, "prob-direct-ref", tmp_path)
    with pytest.raises(SystemExit, match="prob-direct is not one"):
        judge_modes.check_references(args, ["prob-direct-ref", "prob-direct"])
    with pytest.raises(SystemExit, match="not a --reference self mode"):
        judge_modes.check_references(SimpleNamespace(references_from="prob-rrm"), ["prob-rrm-ref"])


def test_run_mode_reads_the_references_another_mode_wrote(tmp_path):
    """run_mode wires --references-from end to end: the second mode's rows are decided by the
    first mode's references, and the judge is asked to solve only what those rows lack."""
    import json
    from types import SimpleNamespace

    from test_reference import solving_judge

    from reasonrm.judge import SOLVE_PROMPT

    source = tmp_path / "pairs.jsonl"
    pairs = [("6 * 7?", "41", "42", 2), ("5 * 8?", "40", "45", 1)]
    source.write_text(
        "".join(
            json.dumps(
                {"idx": i, "instruction": q, "response1": a, "response2": b, "majority_label": g}
            )
            + "\n"
            for i, (q, a, b, g) in enumerate(pairs)
        )
    )
    keys = {"0", "1"}
    work = tmp_path / "rows"
    args = SimpleNamespace(
        references_from="prob-rrm-ref", seed=0, concurrency=2, calibration=None, model="fake"
    )
    # the writing mode, run on the first pair only: it answers "42" and keeps it in its rows
    writer = solving_judge("42", scores=lambda chat: {"1": 0.5, "2": 0.5})
    judge_modes.run_mode(args, "prob-rrm-ref", writer, pandalm, {"0"}, source, work)

    def reference_scorer(chat):
        """Puts the probability on the slot whose response matches the reference shown."""
        user = chat[1]["content"]
        ref = user.split("## Reference answer\n\n")[1].split("\n\n")[0]
        first = user.split("### Assistant 1\n\n")[1].split("\n\n")[0]
        return {"1": 0.9, "2": 0.1} if first == ref else {"1": 0.1, "2": 0.9}

    # were it asked to solve the first pair, its answer would mislead it
    reader = solving_judge("40", scores=reference_scorer)
    figures = judge_modes.run_mode(args, "prob-direct-ref", reader, pandalm, keys, source, work)
    solved = [c for c in reader.calls if c.chats[0][0]["content"] == SOLVE_PROMPT]
    assert len(solved) == 1  # only the pair the writer's rows lack
    assert "5 * 8?" in solved[0].chats[0][1]["content"]
    assert figures["accuracy"] == 1.0 and figures["pairs"] == 2
