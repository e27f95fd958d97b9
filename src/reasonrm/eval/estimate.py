"""A measured rate with its bootstrap interval, as the evaluation report and its plots show it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Estimate:
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0

    def text(self) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"
