"""What every benchmark provides: `reasonrm eval run`, `score` and `report` need nothing else.

Adding a benchmark: read `Benchmark` below, write one module in this package that defines a
subclass and one instance of it named BENCHMARK, and add one line to BENCHMARKS in
reasonrm/eval/__init__.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from reasonrm.errors import InputError
from reasonrm.eval.runner import EvalItem
from reasonrm.types import Judgment

#: one item's results row: at least subset, id and correct (see runner.item_row)
Row = dict[str, Any]


class Benchmark(ABC):
    """A reward-model benchmark: reads its official data into items, turns an item's judgments
    into a results row, and scores result rows as its official script does.

    Scores come from the rows alone, so a results file written by another tool, in the same
    layout, is scored the same way."""

    #: the command-line name, the same as its entry in BENCHMARKS
    name: str
    #: the orders its official script judges a pair in: one random order, or both
    default_orders: Literal["random", "both"] = "random"
    #: the values a row's `correct` may take; None: any number from 0 to 1 (an item scored by
    #: several comparisons)
    correct_values: tuple[float, ...] | None = (0, 0.5, 1)
    #: how an invalid verdict may be scored ("half": 0.5, "zero": 0), the default first; empty
    #: when the official scoring leaves no choice
    invalid_rules: tuple[str, ...] = ()
    #: why `--invalid` does not apply, for a benchmark without invalid rules
    invalid_note: str = ""
    #: the items the invalid rule covers, when not all of them
    invalid_scope: str | None = None

    @property
    def default_invalid(self) -> str | None:
        """The rule used when none is asked for; None when there are no rules."""
        return self.invalid_rules[0] if self.invalid_rules else None

    def invalid_rule(self, invalid: str | None) -> str | None:
        """The rule asked for, or the default; an InputError when it does not apply."""
        if invalid is None:
            return self.default_invalid
        if not self.invalid_rules:
            raise InputError(f"--invalid does not apply to this benchmark: {self.invalid_note}")
        if invalid not in self.invalid_rules:
            rules = ", ".join(self.invalid_rules)
            raise InputError(f"--invalid must be one of {rules}, got {invalid!r}")
        return invalid

    @abstractmethod
    def load(self, source: str) -> Iterator[EvalItem]:
        """Every item in `source` (an official file or folder, or a dataset id), each with a
        unique key; a bad row is an InputError naming its file and line."""

    @abstractmethod
    def make_row(self, item: EvalItem, judgments: list[Judgment]) -> Row:
        """An item's results row from its judgments, one per comparison in the item's order;
        built with runner.item_row, so the row has subset, id and correct."""

    @abstractmethod
    def row_score(self, row: Row, invalid: str | None) -> float:
        """One item's score under an invalid rule (from `invalid_rule`): what a report
        averages for the accuracy of a subset."""

    @abstractmethod
    def score_rows(self, rows: Sequence[Row], invalid: str | None) -> dict[str, Any]:
        """The official scores under an invalid rule (from `invalid_rule`): at least
        `sections` (name to score, scored names only) and `overall` (None when the data lacks
        part of the benchmark, with a `note` saying which). A row it cannot score is an
        InputError."""
