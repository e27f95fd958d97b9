"""Do two readings of the judge together beat either alone? Reads the rows that
`judge_modes.py` wrote (no model, seconds) and scores, per run folder, each probability
mode alone and each combination: the sum of the modes' log-odds that a is better, each
divided by its standard deviation over the run's pairs so that no mode dominates by scale
(a rule with no weight to tune). A pair counts as right when the sum's sign matches its
label; a zero sum is a tie and counts as wrong, as in judge_modes.

Usage:
  python benchmarks/combine_modes.py benchmarks/results/rows/judge_modes/pandalm-n60-seed1 \
      benchmarks/results/rows/judge_modes/pandalm-n200-seed0
Choose on one seed's folder, report on another's.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

from common import report, write_result

from reasonrm.jsonl import iter_jsonl
from reasonrm.scoring import logit

MODES = ("prob-rrm", "prob-direct", "pointwise")


def log_odds(folder: Path, mode: str) -> dict[str, tuple[float, str]]:
    """key -> (log-odds that a is better, label) for the rows with a probability."""
    rows = (row for _, row in iter_jsonl(folder / mode / "results.jsonl"))
    return {r["key"]: (logit(r["p_a"]), r["label"]) for r in rows if r.get("p_a") is not None}


def accuracy(scores: dict[str, float], labels: dict[str, str]) -> float:
    right = sum(
        (s > 0 and labels[k] == "A") or (s < 0 and labels[k] == "B") for k, s in scores.items()
    )
    return right / len(scores)


def combine(folder: Path) -> dict[str, dict]:
    readings = {m: log_odds(folder, m) for m in MODES if (folder / m / "results.jsonl").exists()}
    keys = set.intersection(*(set(r) for r in readings.values()))  # pairs every mode read
    labels = {k: next(iter(readings.values()))[k][1] for k in keys}
    scaled = {}
    for mode, rows in readings.items():
        spread = statistics.pstdev(rows[k][0] for k in keys) or 1.0
        scaled[mode] = {k: rows[k][0] / spread for k in keys}
    figures = {}
    for size in range(1, len(scaled) + 1):
        for modes in itertools.combinations(scaled, size):
            summed = {k: sum(scaled[m][k] for m in modes) for k in keys}
            figures["+".join(modes)] = {"pairs": len(keys), "accuracy": accuracy(summed, labels)}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("folders", nargs="+", type=Path, help="judge_modes run folders")
    args = ap.parse_args()
    results = {folder.name: combine(folder) for folder in args.folders}
    table = [
        {"run": run, "modes": modes, "pairs": f["pairs"], "accuracy": round(f["accuracy"], 3)}
        for run, figures in results.items()
        for modes, f in figures.items()
    ]
    report("probability modes alone and summed (log-odds over their spread)", table)
    write_result("combine_modes", results)


if __name__ == "__main__":
    main()
