"""Both orders of every pair, together, in every training batch.

A judge that names a slot is right on exactly half of a batch that holds each pair in both
orders, so it gains nothing from a slot preference; a batch of one order per pair can
reward a slot (measured: SFT taught SmolLM2 "Assistant 1", GRPO then "Assistant 2").

Rows come from `reasonrm data prepare` (`pair`, `label`) or from `reasonrm distill`, which
keeps their `pair`. `pair_units` checks them and groups them into units: one row of each
order of the same pair, (label A, label B). `unit_order` lays the units out in a seeded
shuffle, each unit's two rows side by side; the trainers then read rows in that order (no
shuffling of their own), so any batch of an even number of rows, started at an even
position, holds both orders of every pair in it; the settings check the batch shapes
(`reasonrm.training.config`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from reasonrm.errors import InputError

log = logging.getLogger(__name__)

Row = tuple[str, dict[str, Any]]  # ("file:line", row)
Unit = tuple[int, int]  # indices of the label-A row and the label-B row of one pair


def _prompt_of(row: dict[str, Any]) -> Any:
    """What both orders of a pair must share: the conversation and the two responses."""
    responses = sorted(str(row.get(k, "")) for k in ("a", "b"))
    return row.get("prompt"), responses


def pair_units(rows: Sequence[Row]) -> list[Unit]:
    """The (A row, B row) units of the data, in data order. Every row needs a `pair` and a
    `label`; every pair needs both orders. A pair with more rows of one order than the
    other (distilled chains) keeps as many of each as the rarer has; the rest are counted
    and logged. A pair id on rows with different prompts is an error."""
    by_pair: dict[str, dict[str, list[int]]] = {}
    first: dict[str, tuple[str, Any]] = {}
    for i, (where, row) in enumerate(rows):
        pair = row.get("pair")
        if pair is None:
            raise InputError(
                f"{where}: no 'pair' field; training reads both orders of each pair together. "
                "Prepare the data with `reasonrm data prepare` (both orders by default), or "
                "set both_orders: false to train on rows one at a time"
            )
        label = row.get("label")
        if label not in ("A", "B"):
            raise InputError(f"{where}: label must be 'A' or 'B', got {label!r}")
        pair = str(pair)
        shared = _prompt_of(row)
        if pair not in first:
            first[pair] = (where, shared)
        elif first[pair][1] != shared:
            raise InputError(
                f"{where}: pair {pair!r} is also at {first[pair][0]} with a different prompt "
                "or responses; a pair id names one comparison"
            )
        by_pair.setdefault(pair, {"A": [], "B": []})[label].append(i)
    lacking = [p for p, orders in by_pair.items() if not orders["A"] or not orders["B"]]
    if lacking:
        where = first[lacking[0]][0]
        raise InputError(
            f"{len(lacking)} of {len(by_pair)} pairs lack one order (the first at {where}, "
            f"pair {lacking[0]!r}); training needs both orders of every pair. Prepare with "
            "`reasonrm data prepare --orders both`, or set both_orders: false"
        )
    units, extra = [], 0
    for orders in by_pair.values():
        units += list(zip(orders["A"], orders["B"], strict=False))
        extra += abs(len(orders["A"]) - len(orders["B"]))
    if extra:
        log.warning(
            "left out %d rows: their pairs have more rows of that order than of the other", extra
        )
    return units


def unit_order(units: Sequence[Unit], seed: int) -> list[int]:
    """Row indices: the units in a seeded shuffle, the two orders of each side by side
    (which comes first drawn per unit, so position says nothing about the label)."""
    rng = random.Random(seed)
    shuffled = list(units)
    rng.shuffle(shuffled)
    order = []
    for a, b in shuffled:
        order += [a, b] if rng.random() < 0.5 else [b, a]
    return order
