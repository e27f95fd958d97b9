"""How good a judge's probabilities are, from (p_a, label) pairs: Brier score, AUC, accuracy
by confidence (a reliability table) and accuracy at a coverage, for abstaining on the pairs the
judge is least sure of. A tie (p_a = 0.5) counts as wrong for accuracy, as a tie verdict does."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Scored = tuple[float, str]  # (p_a, the better response's label "A" or "B")


def confidence(p_a: float) -> float:
    """How sure the judge is of its pick: max(p_a, 1 - p_a), from 0.5 to 1."""
    return max(p_a, 1 - p_a)


def right(p_a: float, label: str) -> bool:
    return (p_a > 0.5 and label == "A") or (p_a < 0.5 and label == "B")


def brier(scored: Sequence[Scored]) -> float:
    """Mean squared error of p_a against 1 (a better) or 0: 0 is perfect, 0.25 a coin."""
    return sum((p - (label == "A")) ** 2 for p, label in scored) / len(scored)


def auc(scored: Sequence[Scored]) -> float | None:
    """The chance that a random a-better pair gets a higher p_a than a random b-better pair
    (ties count half); None when one label is missing."""
    pos = [p for p, label in scored if label == "A"]
    neg = [p for p, label in scored if label == "B"]
    if not pos or not neg:
        return None
    wins = sum((x > y) + 0.5 * (x == y) for x in pos for y in neg)
    return wins / (len(pos) * len(neg))


def accuracy_at_coverage(scored: Sequence[Scored], coverage: float) -> tuple[float, int]:
    """Accuracy on the `coverage` share of pairs the judge is surest of, and how many."""
    kept = sorted(scored, key=lambda s: confidence(s[0]), reverse=True)
    kept = kept[: max(1, math.ceil(coverage * len(scored)))]
    return sum(right(p, label) for p, label in kept) / len(kept), len(kept)


def accuracy_above(scored: Sequence[Scored], threshold: float) -> tuple[float | None, float]:
    """Accuracy on the pairs with confidence at least `threshold` (the rest abstained on)
    and the share of pairs kept (coverage)."""
    kept = [s for s in scored if confidence(s[0]) >= threshold]
    accuracy = sum(right(p, label) for p, label in kept) / len(kept) if kept else None
    return accuracy, len(kept) / len(scored)


@dataclass(frozen=True)
class Bin:
    low: float  # confidence range [low, high)
    high: float
    pairs: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(scored: Sequence[Scored], bins: int = 5) -> list[Bin]:
    """Accuracy against confidence in equal-width bins from 0.5 to 1: for a calibrated judge
    the two match."""
    edges = [0.5 + 0.5 * i / bins for i in range(bins + 1)]
    out = []
    for i, (low, high) in enumerate(zip(edges, edges[1:], strict=False)):
        last = i == bins - 1
        inside = [
            s
            for s in scored
            if low <= confidence(s[0]) < high or (last and confidence(s[0]) == high)
        ]
        n = len(inside)
        out.append(
            Bin(
                low,
                high,
                n,
                sum(confidence(p) for p, _ in inside) / n if n else None,
                sum(right(p, label) for p, label in inside) / n if n else None,
            )
        )
    return out
