"""How far does "the longer response wins" go on judge_modes' samples, and how often does each
measured mode pick the longer response? No model: a floor to read the judge's figures against.

The items are judge_modes' (same benchmark, sample and seed), scored by the benchmark's own
rules; a pair of equal lengths (in characters) is a tie, which counts as wrong. For every mode
folder in benchmarks/results/rows/judge_modes/<benchmark>-n<sample>-seed<seed>/, the share of
its decided pairs where it picked the longer response; a mode whose rows are not there keeps
the figure of the previous result file.

Usage:
  python benchmarks/length_baseline.py pandalm --sample 200 --seed 0
  python benchmarks/length_baseline.py rewardbench --sample 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import MODE_ROWS, previous_figures, report, write_result
from judge_modes import SOURCES, source_file

from reasonrm.eval import get_benchmark
from reasonrm.eval.runner import RESULTS as RESULTS_FILE
from reasonrm.eval.runner import row_judgments, select
from reasonrm.jsonl import iter_jsonl
from reasonrm.types import Judgment


def longer(a: str, b: str) -> str | None:
    return "A" if len(a) > len(b) else "B" if len(b) > len(a) else None


def baseline_rows(benchmark, items) -> list[dict]:
    """Each item's row as the benchmark writes it, judged by length alone."""
    rows = []
    for item in items:
        judgments = [
            Judgment(longer(c.a, c.b), votes={}, label=c.label, comparison_id=c.id)
            for c in item.comparisons
        ]
        rows.append(benchmark.make_row(item, judgments))
    return rows


def picks_longer(folder: Path, longer_of: dict[str, str | None]) -> dict:
    """The share of a mode's decided, unequal-length pairs where it named the longer one."""
    agree = decided = 0
    for _, row in iter_jsonl(folder / RESULTS_FILE):
        for j in row_judgments(row):
            side = longer_of.get(row["key"])
            if j.get("winner") in ("A", "B") and side is not None:
                decided += 1
                agree += j["winner"] == side
    return {"decided": decided, "picks_longer": agree / decided if decided else None}


def modes_picking_longer(folder: Path, longer_of: dict[str, str | None], kept: dict) -> dict:
    """picks_longer for each mode folder under `folder`; a mode whose rows are not there
    (run on another machine before rows were kept) keeps its figure from `kept`."""
    modes = sorted(p for p in folder.glob("*") if (p / RESULTS_FILE).exists())
    return kept | {p.name: picks_longer(p, longer_of) for p in modes}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("benchmark", choices=sorted(SOURCES))
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=Path, default=MODE_ROWS, help="judge_modes' result rows")
    ap.add_argument("--work", type=Path, default=Path("runs/judge_modes"), help="scratch files")
    args = ap.parse_args()

    benchmark = get_benchmark(args.benchmark)
    source = source_file(args.benchmark, args.work)
    loaded = list(benchmark.load(str(source)))  # small files: read once, not streamed twice
    keys = select(loaded, sample=args.sample, seed=args.seed)
    items = [item for item in loaded if item.key in keys]
    rows = baseline_rows(benchmark, items)
    figures: dict = {
        "pairs": len(rows),
        "accuracy": sum(r["correct"] == 1 for r in rows) / len(rows),  # a tie (0.5) is wrong
        "ties": sum(r.get("winner") is None for r in rows),
    }
    if args.benchmark == "rewardbench":
        official = benchmark.score_rows(rows, None)
        figures["sections"], figures["official_score"] = official["sections"], official["overall"]
    longer_of = {item.key: longer(item.comparisons[0].a, item.comparisons[0].b) for item in items}
    folder = args.rows / f"{args.benchmark}-n{args.sample}-seed{args.seed}"
    name = f"length_baseline_{args.benchmark}_n{args.sample}_seed{args.seed}"
    kept = previous_figures(name).get("modes", {})
    figures["modes"] = modes_picking_longer(folder, longer_of, kept)

    table = [{"judge": "longer wins", "accuracy": figures["accuracy"], "picks longer": 1.0}]
    table += [
        {"judge": mode, "accuracy": None, "picks longer": f["picks_longer"]}
        for mode, f in figures["modes"].items()
    ]
    report(f"{args.benchmark}: {len(rows)} items, seed {args.seed}, length alone", table)
    write_result(name, figures)
    print(json.dumps({"benchmark": name, "accuracy": figures["accuracy"]}))


if __name__ == "__main__":
    main()
