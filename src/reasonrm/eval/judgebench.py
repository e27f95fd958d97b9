"""JudgeBench official scoring (utils/metrics.py): each pair is judged in both orders, the
second verdict mapped back; +1 for a verdict matching the label, -1 for the opposite, 0 for
invalid; a pair is correct when the sum is positive. Scores per source and overall, in %."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.errors import InputError
from reasonrm.eval.base import Benchmark
from reasonrm.eval.data import group_means, read_rows, require
from reasonrm.eval.runner import EvalItem, item_row
from reasonrm.judge import majority
from reasonrm.types import Comparison, Judgment

CATEGORIES = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")


def category_of(source: str) -> str:
    for c in CATEGORIES:
        if source.startswith(c):
            return c
    return source


def pair_correct(verdicts: Sequence[str | None], label: str) -> bool:
    """`verdicts` already mapped back to the original slots; None = invalid or tie."""
    total = sum(0 if v is None else (1 if v == label else -1) for v in verdicts)
    return total > 0


def score(items: Iterable[tuple[str, bool]]) -> dict[str, float]:
    """(source, correct) pairs to {category: %, ..., "overall": %}."""
    items = [(category_of(source), float(correct)) for source, correct in items]
    accuracy, _ = group_means(items)
    result = {c: 100 * a for c, a in accuracy.items()}
    result["overall"] = 100 * sum(v for _, v in items) / len(items) if items else 0.0
    return result


DATASET_ID = "ScalerLab/JudgeBench"
_LABELS = {"A>B": "A", "B>A": "B"}


@dataclass(frozen=True)
class JudgeBenchScore:
    percent: dict[str, float]  # per category and "overall", in %, as JudgeBench prints them

    def to_dict(self) -> dict[str, Any]:
        return {
            "sections": {k: v / 100 for k, v in self.percent.items() if k != "overall"},
            "overall": self.percent["overall"] / 100,
            "percent": self.percent,
        }


class JudgeBench(Benchmark):
    name = "judgebench"
    #: JudgeBench judges every pair in both orders (its default, not the single-game variant)
    default_orders = "both"
    correct_values = (0, 1)
    invalid_rules = ()
    invalid_note = "the counter rule scores an invalid verdict 0"

    def load(self, source: str = DATASET_ID) -> Iterator[EvalItem]:
        """Rows with pair_id, source, question, response_A, response_B and label ("A>B"/"B>A")."""
        for where, row in read_rows(source, split="gpt"):
            pair_id, src, question, a, b, label = require(
                row, where, "pair_id", "source", "question", "response_A", "response_B", "label"
            )
            if label not in _LABELS:
                raise InputError(f"{where}: field 'label' must be 'A>B' or 'B>A', got {label!r}")
            try:
                c = Comparison(question, a, b, label=_LABELS[label], id=str(pair_id))
            except InputError as e:
                raise InputError(f"{where}: {e}") from None
            yield EvalItem(str(pair_id), src, (c,), {"id": str(pair_id)}, where)

    def make_row(self, item: EvalItem, judgments: list[Judgment]) -> dict[str, Any]:
        """One verdict per order (the majority of that order's votes), scored by the counter
        rule; with a single order this is JudgeBench's single-game score."""
        (j,) = judgments
        if j.decided_by:  # a check decided the pair: its verdict holds in every order
            return item_row(
                item,
                judgments,
                correct=int(pair_correct([j.winner], j.label)),
                order_verdicts=[j.winner],
            )
        orders = sorted({s.order for s in j.samples})
        verdicts = [
            majority(
                *(
                    sum(s.order == o and s.verdict.winner == side for s in j.samples)
                    for side in ("A", "B")
                )
            )
            for o in orders
        ]
        return item_row(
            item, judgments, correct=int(pair_correct(verdicts, j.label)), order_verdicts=verdicts
        )

    def row_score(self, row: dict[str, Any], invalid: str | None) -> float:
        return float(row["correct"])

    def score_rows(self, rows: Iterable[dict[str, Any]], invalid: str | None) -> dict[str, Any]:
        """`invalid` does not apply: an invalid verdict already counts 0 in the counter rule."""
        percent = score((row["subset"], bool(row["correct"])) for row in rows)
        return JudgeBenchScore(percent).to_dict()


BENCHMARK = JudgeBench()
