"""benchmarks/combine_modes.py: each mode alone and the sums of their scaled log-odds,
on run folders written here, checked by hand."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import combine_modes  # noqa: E402


def write_mode(folder: Path, mode: str, rows: list[tuple[str, str, float | None]]) -> None:
    (folder / mode).mkdir(parents=True)
    lines = [json.dumps({"key": k, "label": label, "p_a": p}) for k, label, p in rows]
    (folder / mode / "results.jsonl").write_text("\n".join(lines) + "\n")


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_each_mode_alone_and_their_scaled_sum(tmp_path):
    run = tmp_path / "pandalm-n4-seed1"
    # prob-rrm: right on 1 and 2, wrong on 3 and 4 (log-odds ±1, spread 1)
    write_mode(
        run,
        "prob-rrm",
        [
            ("1", "A", sigmoid(1)),
            ("2", "B", sigmoid(-1)),
            ("3", "A", sigmoid(-1)),
            ("4", "B", sigmoid(1)),
        ],
    )
    # pointwise: right on all four, surest on 1 and 2 (log-odds ±8), barely on 3 and 4 (±2);
    # pair 5 has no reading
    write_mode(
        run,
        "pointwise",
        [
            ("1", "A", sigmoid(8)),
            ("2", "B", sigmoid(-8)),
            ("3", "A", sigmoid(2)),
            ("4", "B", sigmoid(-2)),
            ("5", "A", None),
        ],
    )
    figures = combine_modes.combine(run)
    assert figures["prob-rrm"] == {"pairs": 4, "accuracy": 0.5}
    assert figures["pointwise"] == {"pairs": 4, "accuracy": 1.0}
    # over its spread (sqrt(34)) pointwise's ±2 is ±0.34, less than prob-rrm's ±1, so the sum
    # is wrong on 3 and 4 with prob-rrm; a raw sum would let pointwise's scale win them
    assert figures["prob-rrm+pointwise"]["accuracy"] == 0.5


def test_only_pairs_every_mode_read_are_scored(tmp_path):
    run = tmp_path / "run"
    write_mode(run, "prob-rrm", [("1", "A", 0.9), ("2", "B", 0.2)])
    write_mode(run, "prob-direct", [("2", "B", 0.3)])
    figures = combine_modes.combine(run)
    assert figures["prob-rrm"]["pairs"] == 1
    assert figures["prob-rrm+prob-direct"] == {"pairs": 1, "accuracy": 1.0}


def test_writes_its_result_file(tmp_path, monkeypatch):
    run = tmp_path / "run"
    write_mode(run, "prob-rrm", [("1", "A", 0.9), ("2", "B", 0.6)])
    written = {}
    monkeypatch.setattr(combine_modes, "write_result", lambda name, f: written.update({name: f}))
    monkeypatch.setattr(sys, "argv", ["combine_modes.py", str(run)])
    combine_modes.main()
    assert written == {"combine_modes": {"run": {"prob-rrm": {"pairs": 2, "accuracy": 0.5}}}}


if __name__ == "__main__":
    pytest.main([__file__])
