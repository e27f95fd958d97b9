"""benchmarks/train_judge.py: the rows the prompted teacher's sampled baseline judges."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_judge  # noqa: E402


def rows(pairs: int) -> list[dict]:
    return [{"pair": f"p{i}", "order": o} for i in range(pairs) for o in ("ab", "ba")]


def test_teacher_vote_reads_one_order_of_the_first_pairs():
    picked = train_judge.one_order(rows(40), 30)
    assert [r["pair"] for r in picked] == [f"p{i}" for i in range(30)]  # one row each, in order
    orders = [r["order"] for r in picked]
    assert 5 < orders.count("ab") < 25  # drawn, not always the first order
    assert picked == train_judge.one_order(rows(40), 30)  # the same draw on a rerun


def test_fewer_pairs_than_asked_gives_them_all():
    assert len(train_judge.one_order(rows(3), 60)) == 3
