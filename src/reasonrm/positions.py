"""Position diagnostics, counted one way for batch runs, evaluation reports and the server's
metrics: how often the response shown first won, and how often a pair's two orders named
different responses. A judge without position bias gives the first slot half its verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reasonrm.types import shown_first_won


@dataclass
class Positions:
    verdicts: int = 0  # valid verdicts (votes, or per-order readings); ratings are not verdicts
    first_slot: int = 0  # of them, for the response shown first
    both_orders: int = 0  # judgments read in both orders
    flips: int = 0  # of them, the two orders named different responses

    def add(self, judgment: Mapping[str, Any]) -> Positions:
        """Count one judgment, as a dict (a result row's, or `Judgment.to_dict()`)."""
        for sample in judgment.get("samples") or []:
            won = shown_first_won(sample)
            if won is not None:
                self.verdicts += 1
                self.first_slot += won
        if judgment.get("orders_agree") is not None:
            self.both_orders += 1
            self.flips += not judgment["orders_agree"]
        return self

    @property
    def first_slot_rate(self) -> float | None:
        return self.first_slot / self.verdicts if self.verdicts else None

    @property
    def agreement(self) -> float | None:
        """The share of both-order judgments whose orders named the same response."""
        return 1 - self.flips / self.both_orders if self.both_orders else None

    def note(self) -> str:
        """E.g. 'the response shown first won 83% of 374 verdicts; the two orders disagreed on
        40% of 187 pairs' (empty when nothing was counted)."""
        parts = []
        if self.verdicts:
            parts.append(
                f"the response shown first won {self.first_slot / self.verdicts:.0%} of "
                f"{self.verdicts} verdicts"
            )
        if self.both_orders:
            parts.append(
                f"the two orders disagreed on {self.flips / self.both_orders:.0%} of "
                f"{self.both_orders} pairs"
            )
        return "; ".join(parts)
