"""PandaLM test set scoring: three-way labels (1, 2, 0 = tie) against the annotators' majority.
Accuracy and macro precision, recall and F1 over the three classes, and the same on the
non-tie items, since a pairwise judge that never answers tie cannot score on ties."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.errors import InputError
from reasonrm.eval.base import Benchmark
from reasonrm.eval.data import read_rows, require
from reasonrm.eval.runner import EvalItem, item_row
from reasonrm.types import Comparison, Judgment

LABELS = (1, 2, 0)
_SLOT = {1: "A", 2: "B", 0: None}
_PREDICTION = {"A": 1, "B": 2, None: 0}


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


def gold_label(row: dict[str, Any], where: str) -> int:
    """`majority_label` when present, else the majority of annotator1..3 (PandaLM's file)."""
    if row.get("majority_label") is not None:
        label = row["majority_label"]
    else:
        votes = require(row, where, "annotator1", "annotator2", "annotator3")
        label, count = Counter(votes).most_common(1)[0]
        if count < 2:
            raise InputError(f"{where}: the three annotators disagree; no majority label")
    if label not in LABELS:
        raise InputError(f"{where}: labels must be 1, 2 or 0 (tie), got {label!r}")
    return label


def _text(value: Any) -> str:
    # six responses in testset-v1.json are JSON booleans: a model that answered "True"
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class PandaLMScore:
    metrics: dict[str, dict[str, float]]  # "all" and "non_tie"

    def to_dict(self) -> dict[str, Any]:
        sections = {
            f"{label} {metric}": self.metrics[group][metric]
            for group, label in (("all", "all"), ("non_tie", "non-tie"))
            for metric in ("accuracy", "precision", "recall", "f1")
        }
        # the paper's headline is F1 over the three labels
        return {"sections": sections, "overall": self.metrics["all"]["f1"], **self.metrics}


class PandaLM(Benchmark):
    name = "pandalm"
    #: one order per item; `--orders both` lets a judge say tie: orders that disagree give 0
    default_orders = "random"
    correct_values = (0, 1)
    invalid_rules = ()
    invalid_note = "an invalid verdict is predicted as a tie (0)"

    def load(self, source: str) -> Iterator[EvalItem]:
        """PandaLM's testset-v1.json rows: idx, instruction, input, response1, response2 and the
        annotators' labels; grouped by motivation_app."""
        for where, row in read_rows(source):
            idx, instruction, r1, r2 = require(
                row, where, "idx", "instruction", "response1", "response2",
                may_be_empty=("response1", "response2"),
            )  # fmt: skip
            gold = gold_label(row, where)
            prompt = instruction + (f"\n\n{row['input']}" if row.get("input") else "")
            try:
                c = Comparison(prompt, _text(r1), _text(r2), label=_SLOT[gold], id=str(idx))
            except InputError as e:
                raise InputError(f"{where}: {e}") from None
            subset = str(row.get("motivation_app") or "all")
            yield EvalItem(str(idx), subset, (c,), {"id": str(idx), "gold": gold}, where)

    def make_row(self, item: EvalItem, judgments: list[Judgment]) -> dict[str, Any]:
        """`gold` and `prediction` in PandaLM's labels (1, 2, 0 = tie); an invalid verdict, or
        two orders that disagree, predicts a tie."""
        prediction = _PREDICTION[judgments[0].winner]
        gold = item.meta["gold"]
        return item_row(
            item, judgments, correct=int(prediction == gold), gold=gold, prediction=prediction
        )

    def row_score(self, row: dict[str, Any], invalid: str | None) -> float:
        return float(row["correct"])

    def score_rows(self, rows: Iterable[dict[str, Any]], invalid: str | None) -> dict[str, Any]:
        """Macro metrics from each row's `gold` and `prediction`; `invalid` does not apply."""
        gold, pred = [], []
        for row in rows:
            for name in ("gold", "prediction"):
                if name not in row:
                    raise InputError(f"item {row['subset']}/{row['id']}: missing field {name!r}")
            gold.append(row["gold"])
            pred.append(row["prediction"])
        try:
            return PandaLMScore(score(gold, pred)).to_dict()
        except ValueError as e:
            raise InputError(str(e)) from None


BENCHMARK = PandaLM()
