"""benchmarks/length_baseline.py: "the longer response wins", scored by the benchmark's rules,
and how often a judged run picked the longer response."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import length_baseline  # noqa: E402

from reasonrm.eval import get_benchmark  # noqa: E402
from reasonrm.eval.runner import EvalItem  # noqa: E402
from reasonrm.types import Comparison  # noqa: E402


def item(i: int, a: str, b: str, gold: int) -> EvalItem:
    c = Comparison(f"q{i}", a, b, label="A" if gold == 1 else "B", id=str(i))
    return EvalItem(str(i), "s", (c,), {"id": str(i), "gold": gold})


def test_the_longer_response_wins_and_equal_lengths_tie():
    items = [
        item(0, "long answer", "short", 1),
        item(1, "long answer", "short", 2),
        item(2, "same", "size", 1),
    ]
    rows = length_baseline.baseline_rows(get_benchmark("pandalm"), items)
    assert [r["prediction"] for r in rows] == [1, 1, 0]
    assert [r["correct"] for r in rows] == [1, 0, 0]


def test_picks_longer_reads_decided_pairs_of_unequal_length(tmp_path):
    rows = [
        {"key": "0", "winner": "A"},  # the longer: agrees
        {"key": "1", "winner": "B"},  # the shorter
        {"key": "2", "winner": None},  # a tie: not decided
        {"key": "3", "winner": "A"},  # equal lengths: no longer side
    ]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    longer_of = {"0": "A", "1": "A", "2": "B", "3": None}
    assert length_baseline.picks_longer(tmp_path, longer_of) == {"decided": 2, "picks_longer": 0.5}


def test_a_mode_whose_rows_are_gone_keeps_its_previous_figure(tmp_path):
    (tmp_path / "prob-rrm").mkdir()
    rows = [{"key": "0", "winner": "A"}, {"key": "1", "winner": "A"}]
    (tmp_path / "prob-rrm" / "results.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    kept = {"prob-rrm": {"decided": 9, "picks_longer": 0.1}, "pointwise": {"decided": 3}}
    modes = length_baseline.modes_picking_longer(tmp_path, {"0": "A", "1": "B"}, kept)
    assert modes == {
        "prob-rrm": {"decided": 2, "picks_longer": 0.5},  # re-read from its rows
        "pointwise": {"decided": 3},  # no rows here: the previous figure stays
    }
