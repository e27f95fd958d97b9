"""A resumable benchmark run: items stream through the judge, and each item's result row is
appended to DIR/results.jsonl as soon as its judgments are in. A rerun skips the keys already
written, so an interrupted run (Ctrl-C or kill -9) loses nothing and judges nothing twice."""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonrm.jsonl import ResumableWriter
from reasonrm.judge import Judge
from reasonrm.types import Comparison, Judgment

RESULTS = "results.jsonl"


@dataclass(frozen=True)
class EvalItem:
    """One benchmark item: its unique key, its subset, and the comparisons that score it
    (one for RewardBench, nine for an RM-Bench item, one per loser for best-of-N)."""

    key: str
    subset: str
    comparisons: tuple[Comparison, ...]
    meta: dict[str, Any] = field(default_factory=dict)


RowMaker = Callable[[EvalItem, list[Judgment]], dict[str, Any]]


def stratified_sample(items: Sequence[EvalItem], n: int, seed: int) -> list[EvalItem]:
    """About n items, every subset represented, each subset in proportion to its size
    (at least one item), drawn with a fixed seed; returned in the input order."""
    by_subset: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_subset[item.subset].append(i)
    rng = random.Random(seed)
    chosen: list[int] = []
    for subset in sorted(by_subset):
        indices = by_subset[subset]
        take = min(len(indices), max(1, round(n * len(indices) / len(items))))
        chosen.extend(rng.sample(indices, take))
    return [items[i] for i in sorted(chosen)]


def run(
    items: Iterable[EvalItem],
    judge: Judge,
    out_dir: str | Path,
    make_row: RowMaker,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Judge every item not yet in out_dir/results.jsonl and append its row; returns the path.
    `make_row` turns an item and its judgments into the row (with at least subset, id,
    correct); `on_row` sees each row as it is written (for progress bars)."""
    out = Path(out_dir) / RESULTS
    with ResumableWriter(out, key="key") as writer:
        in_flight: deque[EvalItem] = deque()

        def comparisons() -> Iterator[Comparison]:
            for item in items:
                if item.key in writer.done:
                    continue
                in_flight.append(item)
                yield from item.comparisons

        pending: list[Judgment] = []
        for judgment in judge.judge_many(comparisons(), errors="return"):
            pending.append(judgment)
            item = in_flight[0]
            if len(pending) == len(item.comparisons):
                in_flight.popleft()
                row = {"key": item.key, **make_row(item, pending)}
                writer.write(row)
                pending = []
                if on_row is not None:
                    on_row(row)
    return out
