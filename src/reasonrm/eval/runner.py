"""A resumable benchmark run: items stream through the judge, and each item's result row is
appended to DIR/results.jsonl as soon as its judgments are in. A rerun skips the keys already
written, so an interrupted run (Ctrl-C or kill -9) loses nothing and judges nothing twice."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.judge import Judge
from reasonrm.runs import ResumableRun
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
    where: str = ""  # file:line of the source row, for error messages


RowMaker = Callable[[EvalItem, list[Judgment]], dict[str, Any]]


def item_row(item: EvalItem, judgments: list[Judgment], **fields: Any) -> dict[str, Any]:
    """The common row layout: subset, id, the benchmark's own fields (at least `correct`),
    then the judgment's fields inline for a one-comparison item, or a `judgments` list."""
    row = {"subset": item.subset, "id": item.meta["id"], **fields}
    if len(judgments) == 1:
        return row | {k: v for k, v in judgments[0].to_dict().items() if k not in row}
    return row | {"judgments": [j.to_dict() for j in judgments]}


def row_judgments(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The judgment dicts inside a results row (either layout)."""
    return row.get("judgments", [row])


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


def select(
    items: Iterable[EvalItem], limit: int | None = None, sample: int | None = None, seed: int = 0
) -> set[str]:
    """A first pass over the data: checks every row (the loader raises on a bad one) and that
    keys are unique, and returns the keys to judge. Only keys are kept, so memory stays flat and
    a second pass streams the chosen items to the judge."""
    if limit is not None and sample is not None:
        raise InputError("give --limit or --sample, not both")
    index: list[EvalItem] = []
    seen: dict[str, str] = {}
    for item in items:
        if item.key in seen:
            raise InputError(f"{item.where}: item {item.key!r} already appears at {seen[item.key]}")
        seen[item.key] = item.where
        index.append(EvalItem(item.key, item.subset, ()))
    if not index:
        raise InputError("the data holds no items")
    if sample is not None:
        index = stratified_sample(index, sample, seed)
    elif limit is not None:
        index = index[:limit]
    return {item.key for item in index}


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

    async def one(item: EvalItem) -> dict[str, Any]:
        judged = await asyncio.gather(*(judge.ajudge(c, errors="return") for c in item.comparisons))
        return {"key": item.key, **make_row(item, list(judged))}

    with ResumableRun(out, key="key") as results:
        results.map(
            items,
            one,
            key_of=lambda item: item.key,
            concurrency=judge.concurrency,  # items; the engine's own queue bounds the work
            on_row=on_row,
        )
    return out
