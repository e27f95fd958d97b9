"""JudgeBench official scoring (utils/metrics.py): each pair is judged in both orders, the
second verdict mapped back; +1 for a verdict matching the label, -1 for the opposite, 0 for
invalid; a pair is correct when the sum is positive. Scores per source and overall, in %."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reasonrm.eval.data import group_means

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
