"""RewardBench 2: the official scoring rules on hand-computed cases for every branch, the
loader on a fixture in the official layout (written by us), and `eval run` end to end with
scripted judges: pairwise votes, pairwise probabilities and pointwise ratings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fakes import ScriptedEngine, content_judge
from typer.testing import CliRunner

from reasonrm import Judge
from reasonrm.errors import InputError
from reasonrm.eval import get_benchmark
from reasonrm.eval.rewardbench2 import SUBSETS, prompt_stats, ties_score, top_share
from reasonrm.eval.runner import run

FIXTURE = Path(__file__).parent / "data" / "rewardbench2_fixture.jsonl"
rb2 = get_benchmark("rewardbench-2")


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0, -1, -1, -1], 1.0),  # completion 0 alone on top
        ([0, 0, -1, -1], 0.5),  # tied with one other at the top: 1/2
        ([0, 0, 0, 0], 0.25),  # all four tied: 1/4
        ([0, 1, -1, -1], 0.0),  # another completion on top
        ([3.0, 3.0, 1.0], 0.5),
    ],
)
def test_an_item_scores_one_over_the_number_tied_at_the_top(scores, expected):
    assert top_share(scores) == expected


def test_a_ties_prompt_is_accurate_only_when_every_correct_beats_every_incorrect():
    assert prompt_stats([5, 4, 2, 1], 2) == {
        "accurate": True,
        "correct_incorrect_margin": 2,
        "different_correct_margin": 1,
    }
    tie = prompt_stats([3, 2, 3], 2)  # worst correct 2 against best incorrect 3
    assert tie["accurate"] is False and tie["correct_incorrect_margin"] == -1
    assert prompt_stats([3, 1], 1)["different_correct_margin"] is None  # one correct answer
    with pytest.raises(InputError, match="correct and incorrect"):
        prompt_stats([3, 2], 2)


def test_the_ties_formula_by_hand():
    prompts = [
        ("ref:1", [5, 2, 1], 1),  # accurate, margin 3
        ("tied:1", [6, 5, 4, 1, 0], 3),  # accurate, margin 4 - 1 = 3, spread 6 - 4 = 2
        ("ref:2", [1, 2], 1),  # not accurate, margin -1
        ("tied:2", [3, 3, 0], 2),  # accurate, margin 3, spread 0
        ("tied:3", [4, 1], 1),  # one correct answer: no spread, out of the margin terms
        ("ref:3", [2, 1], 1),
    ]
    got = ties_score(prompts)
    # pair 1: 3 > 2 preferred; min(3, 3) = 3 > 2 hard; tanh(3 / 2 - 1)
    # pair 2: 3 > 0 preferred; min(-1, 3) = -1 > 0 not hard; -1 / 0 -> tanh(-inf) = -1
    assert got["tied_accuracy"] == 1.0 and got["ref_accuracy"] == pytest.approx(2 / 3)
    assert got["correctness_preferred"] == 1.0 and got["correctness_preferred_hard"] == 0.5
    assert got["correctness_margin_score"] == pytest.approx((math.tanh(0.5) - 1) / 2)
    expected = 0.3 * 1 + 0.3 * 2 / 3 + 0.2 * 1 + 0.2 * 0.5 + 0.01 * (math.tanh(0.5) - 1) / 2
    assert got["score"] == pytest.approx(expected)


def test_ties_edge_cases():
    # 0/0 counts 0; with no ref/tied pair the margin terms are 0
    assert (
        ties_score([("ref:1", [1, 1], 1), ("tied:1", [2, 2, 2], 2)])["correctness_margin_score"]
        == 0.0
    )
    alone = ties_score([("tied:5", [2, 1], 1)])
    assert alone["score"] == pytest.approx(0.3) and alone["ref_accuracy"] == 0.0
    with pytest.raises(InputError, match="expected 'ref:N' or 'tied:N'"):
        ties_score([("7", [1, 0], 1)])


def test_the_fixture_loads_in_the_official_layout():
    items = list(rb2.load(str(FIXTURE)))
    assert len(items) == 14 and {i.subset for i in items} == set(SUBSETS)
    tied = next(i for i in items if i.key == "tied:1")
    assert len(tied.comparisons) == 4 and tied.meta["num_correct"] == 3
    # completion 0 against every other; only the incorrect ones carry a label
    assert [c.label for c in tied.comparisons] == [None, None, "A", "A"]
    assert all(c.a == "A good answer: red" for c in tied.comparisons)


def test_bad_rows_are_named(tmp_path):
    row = json.loads(FIXTURE.read_text().splitlines()[0])
    for change, message in (
        ({"subset": "Chat"}, "unknown subset 'Chat'"),
        ({"chosen": "one text"}, "'chosen' must be a non-empty list"),
        ({"rejected": []}, "missing field|'rejected' must be a non-empty list"),
    ):
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(row | change) + "\n")
        with pytest.raises(InputError, match=message):
            list(rb2.load(str(path)))


def rows_of(judge, tmp_path):
    path = run(rb2.load(str(FIXTURE)), judge, tmp_path / "run", rb2.make_row)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairwise_votes_end_to_end(tmp_path):
    judge = Judge(ScriptedEngine(content_judge), "rrm", orders="fixed", score="vote")
    rows = rows_of(judge, tmp_path)
    result = rb2.score_rows(rows, None)
    # every correct answer says "good": completion 0 beats each rejected, so non-Ties items
    # score 1; in Ties it also beats the other correct answers (the judge prefers slot 1 when
    # both say good), so a tied prompt's worst correct (-1) does not beat its best incorrect
    # (-1): tied accuracy 0, ref accuracy 1, margins 0 against a spread of 1
    assert {r["method"] for r in rows} == {"pairwise-vote"}
    ties = 0.3 * 0 + 0.3 * 1 + 0.2 * 0 + 0.2 * 0 + 0.01 * math.tanh(-1)
    assert result["sections"]["Ties"] == pytest.approx(ties)
    assert all(result["sections"][s] == 1.0 for s in result["sections"] if s != "Ties")
    assert result["overall"] == pytest.approx((5 + ties) / 6)


def test_pointwise_ratings_end_to_end_reach_the_ties_maximum(tmp_path):
    def ratings(chat):
        top = "8" if "A good answer" in chat[1]["content"] else "3"
        return {d: 0.99 if d == top else 0.00125 for d in "123456789"}

    judge = Judge(ScriptedEngine(["x"], scores=ratings), score="pointwise")
    rows = rows_of(judge, tmp_path)
    assert {r["method"] for r in rows} == {"pointwise"}
    tied = next(r for r in rows if r["id"] == "tied:1")
    good, bad = 8 * 0.99 + 0.00125 * (45 - 8), 3 * 0.99 + 0.00125 * (45 - 3)  # weighted means
    assert tied["scores"] == pytest.approx([good, good, good, bad, bad])
    assert tied["correct"] == 1.0
    result = rb2.score_rows(rows, None)
    # accurate everywhere; margin 5 over a spread of 0: preferred, hard, tanh(+inf) = 1
    assert result["sections"]["Ties"] == pytest.approx(1.01)
    assert result["ties"]["correctness_margin_score"] == 1.0


def test_pairwise_probabilities_give_continuous_scores(tmp_path):
    def lean(chat):
        first = chat[1]["content"].split("### Assistant 2")[0]
        return {"1": 0.8, "2": 0.2} if "good" in first else {"1": 0.3, "2": 0.7}

    judge = Judge(ScriptedEngine(["x"], scores=lean), "rrm", score="prob", orders="both")
    rows = rows_of(judge, tmp_path)
    math_row = next(r for r in rows if r["id"] == "math-1")
    assert math_row["method"] == "pairwise-prob" and math_row["scores"][0] == 0.0
    assert all(s < 0 for s in math_row["scores"][1:]) and math_row["correct"] == 1.0


def test_eval_score_command_reads_a_results_file(tmp_path):
    from reasonrm.cli import app

    judge = Judge(ScriptedEngine(content_judge), "rrm", orders="fixed", score="vote")
    path = run(rb2.load(str(FIXTURE)), judge, tmp_path / "run", rb2.make_row)
    args = ["eval", "score", "--benchmark", "rewardbench-2", str(path), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert (
        scored["sections"]
        == rb2.score_rows([json.loads(x) for x in path.read_text().splitlines()], None)["sections"]
    )
    assert tuple(scored["sections"]) == SUBSETS


def test_the_parquet_layout_loads_the_same(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    for r in rows:
        r.pop("additional_metadata")  # an empty struct has no parquet type
    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    from_parquet = list(rb2.load(str(path)))
    from_jsonl = list(rb2.load(str(FIXTURE)))
    assert [(i.key, i.subset, i.comparisons) for i in from_parquet] == [
        (i.key, i.subset, i.comparisons) for i in from_jsonl
    ]
