"""PandaLM test set scoring: three-way labels (1, 2, 0 = tie) against the annotators' majority.
Accuracy and macro precision, recall and F1 over the three classes, and the same on the
non-tie items, since a pairwise judge that never answers tie cannot score on ties."""

from __future__ import annotations

from collections.abc import Sequence

LABELS = (1, 2, 0)


def _metrics(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    n = len(gold)
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0
    precisions, recalls, f1s = [], [], []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        predicted = sum(p == label for p in pred)
        actual = sum(g == label for g in gold)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    k = len(labels)
    return {
        "accuracy": accuracy,
        "precision": sum(precisions) / k,
        "recall": sum(recalls) / k,
        "f1": sum(f1s) / k,
        "n": n,
    }


def score(gold: Sequence[int], pred: Sequence[int]) -> dict[str, dict[str, float]]:
    """`gold` and `pred` in {1, 2, 0}; a judge's invalid verdict should be passed as 0 (tie)."""
    for value in (*gold, *pred):
        if value not in LABELS:
            raise ValueError(f"PandaLM labels are 1, 2 or 0 (tie), got {value!r}")
    kept = [(g, p) for g, p in zip(gold, pred, strict=True) if g != 0]
    return {
        "all": _metrics(gold, pred, LABELS),
        "non_tie": _metrics([g for g, _ in kept], [p for _, p in kept], (1, 2)),
    }
