"""Verified judging against the default reading: how often a check decides a pair, how often
a decided pair is right, and what the judge scores with checks (`verify auto`) and without
(`verify off`), on RewardBench (a stratified sample, or whole subsets), PandaLM and
JudgeBench, each scored by its official rule.

Two runs per sample, through the project's evaluation runner (resumable; rows kept under
benchmarks/results/rows/verify_judging/, commit them as they come):
- `auto/`: the default judge, checks on. A pair a check decides is not read.
- `off/`: the same judge with checks off. A pair `auto/` left to the reading was read the
  same way there (the reading is greedy and does not see the checks), so its row is
  reused, not read again; `--fresh-off` reads every pair (to time both runs).

Per run: accuracy (the benchmark's own score, per section where it has them), the share of
pairs a check decided and their accuracy, seconds per pair (wall clock of new rows).

Usage:
  python benchmarks/verify_judging.py rewardbench --sample 200 --seed 0     # the report sample
  python benchmarks/verify_judging.py rewardbench --subsets hep-python      # a whole subset
  python benchmarks/verify_judging.py rewardbench --subsets hep-js,hep-java --sample 20 --seed 1
  python benchmarks/verify_judging.py pandalm --sample 200 --seed 0 --fresh-off
  python benchmarks/verify_judging.py judgebench --sample 64 --seed 0
The verifiers' settings were chosen on seed-1 samples (math: 40 math-prm problems, see
docs/verification.md); report on others.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from common import (
    RESULTS,
    SOURCES,
    done_keys,
    previous_figures,
    read_wall,
    report,
    resumable,
    source_file,
    this_command,
    wall_clock,
    write_result,
)

from reasonrm import Judge, JudgeSpec, load_engine
from reasonrm.eval import get_benchmark
from reasonrm.eval.runner import RESULTS as RESULTS_FILE
from reasonrm.eval.runner import EvalItem, row_judgments, run, select
from reasonrm.jsonl import iter_jsonl
from reasonrm.runs import ResumableRun
from reasonrm.verify import get_verifier, verifier_names

ROWS = RESULTS / "rows" / "verify_judging"


def items_of(benchmark, source: Path, subsets: list[str] | None):
    for item in benchmark.load(str(source)):
        if subsets is None or item.subset in subsets:
            yield item


def timed_run(todo, judge: Judge, out: Path, benchmark) -> None:
    """The eval runner, with the wall time of new rows kept in out/wall.json."""
    run(todo, judge, out, benchmark.make_row, on_row=wall_clock(out, label=out.name))


def reuse_readings(
    auto: Path, off: Path, keys: set[str], benchmark, items: dict[str, EvalItem]
) -> None:
    """Rows of `off` for the pairs `auto` left to the reading: the same reading, without the
    checks' evidence (re-scored by the benchmark's own row maker)."""
    from reasonrm.types import Judgment

    have = done_keys(off)
    with ResumableRun(off / RESULTS_FILE, key="key") as results:
        for _, row in iter_jsonl(auto / RESULTS_FILE):
            key = row["key"]
            if key not in keys or key in have:
                continue
            judgments = [Judgment.from_dict(j) for j in row_judgments(row)]
            if any(j.decided_by or j.error for j in judgments):
                continue
            for j in judgments:
                j.evidence = []
            results.write({"key": key, **benchmark.make_row(items[key], judgments)})


def measure(rows: list[dict], benchmark, out: Path) -> dict:
    judgments = [j for row in rows for j in row_judgments(row)]
    decided = [j for j in judgments if j.get("decided_by")]
    by_check: dict[str, list[int]] = {}
    for j in decided:
        by_check.setdefault(j["decided_by"], []).append(int(j.get("correct") == 1))
    wall = read_wall(out)
    official = benchmark.score_rows(rows, None)
    figures = {
        "pairs": len(judgments),
        "accuracy": sum(j.get("correct") == 1 for j in judgments) / max(1, len(judgments)),
        "official": official,
        "decided": len(decided),
        "decided_share": len(decided) / max(1, len(judgments)),
        "decided_accuracy": sum(j.get("correct") == 1 for j in decided) / len(decided)
        if decided
        else None,
        "decided_by": {k: {"pairs": len(v), "right": sum(v)} for k, v in by_check.items()},
        "errors": sum(bool(j.get("error")) for j in judgments),
        "check_seconds_per_pair": sum(
            e.get("seconds", 0) for j in judgments for e in j.get("evidence") or []
        )
        / max(1, len(judgments)),
        "wall_seconds_new_rows": round(wall["seconds"], 1),
        "wall_pairs_new_rows": wall["pairs"],
        "seconds_per_pair": round(wall["seconds"] / wall["pairs"], 2) if wall["pairs"] else None,
    }
    figures["math_support"] = support_table(judgments)
    by_subset: dict[str, list[int]] = {}
    for row in rows:
        by_subset.setdefault(row["subset"], []).append(int(row.get("correct") == 1))
    figures["subsets"] = {
        k: {"pairs": len(v), "accuracy": sum(v) / len(v)} for k, v in by_subset.items()
    }
    return figures


def support_table(judgments: list[dict]) -> dict[str, dict[str, int]]:
    """What the math check would decide at each support threshold: for k = 1, 2, 3 agreeing
    programs (and none for the other answer), the labelled pairs decided right and wrong."""
    table = {str(k): {"right": 0, "wrong": 0} for k in (1, 2, 3)}
    for j in judgments:
        for e in j.get("evidence") or []:
            support = (e.get("details") or {}).get("support")
            if e.get("verifier") != "math" or not support or j.get("label") not in ("A", "B"):
                continue
            for k, tally in table.items():
                a, b = support["a"], support["b"]
                winner = "A" if a >= int(k) and b == 0 else "B" if b >= int(k) and a == 0 else None
                if winner is not None:
                    tally["right" if winner == j["label"] else "wrong"] += 1
    return table


def applies_cost(items: dict[str, EvalItem]) -> dict:
    """What deciding which checks apply costs, with no model: the part of verification every
    pair pays, where no check applies too (median of three passes over the sample)."""
    verifiers = [get_verifier(name) for name in verifier_names("auto")]
    comparisons = [c for item in items.values() for c in item.comparisons]
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        applied = sum(any(v.applies(c) for v in verifiers) for c in comparisons)
        passes.append(time.perf_counter() - start)
    return {
        "pairs": len(comparisons),
        "a_check_applies": applied,
        "ms_per_pair": round(1000 * statistics.median(passes) / max(len(comparisons), 1), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("benchmark", choices=sorted(SOURCES))
    ap.add_argument("--sample", type=int, help="a stratified sample of this many items")
    ap.add_argument("--seed", type=int, default=0, help="sample and judge seed")
    ap.add_argument("--subsets", help="only these subsets (comma-separated)")
    ap.add_argument(
        "--runs", default="auto,off", help="auto (checks on), off (the default reading)"
    )
    ap.add_argument("--fresh-off", action="store_true", help="read every pair again in off/")
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--parallel", type=int, default=4, help="llama.cpp slots")
    ap.add_argument("--context", type=int, default=8192, help="tokens per slot")
    ap.add_argument("--concurrency", type=int, default=8, help="pairs in flight")
    ap.add_argument("--rows", type=Path, default=ROWS)
    ap.add_argument("--work", type=Path, default=Path("runs/verify_judging"), help="scratch files")
    args = ap.parse_args()

    benchmark = get_benchmark(args.benchmark)
    subsets = args.subsets.split(",") if args.subsets else None
    source = source_file(args.benchmark, args.work)
    keys = select(items_of(benchmark, source, subsets), sample=args.sample, seed=args.seed)
    tag = "-".join(subsets) if subsets else "all"
    size = f"n{args.sample}-seed{args.seed}" if args.sample else "full"
    name = f"{args.benchmark}-{tag}-{size}"
    work = args.rows / name
    result_name = f"verify_judging_{name.replace('-', '_')}"
    figures = previous_figures(result_name)
    items = {item.key: item for item in items_of(benchmark, source, subsets) if item.key in keys}
    figures["applies"] = applies_cost(items)
    print(f"which checks apply: {figures['applies']}", flush=True)
    engine = load_engine("llamacpp", args.model, parallel=args.parallel, context=args.context)
    with resumable(work), engine:
        for mode in args.runs.split(","):
            out = work / mode
            out.mkdir(parents=True, exist_ok=True)
            # the default judge, as `reasonrm eval run` builds it: "auto" resolved for the model
            spec = JudgeSpec(seed=args.seed, verify="auto" if mode == "auto" else "off")
            spec = spec.resolve_auto(args.model, benchmark.default_orders)
            judge = Judge.from_spec(engine, spec, concurrency=args.concurrency)
            if mode == "off" and not args.fresh_off and (work / "auto" / RESULTS_FILE).exists():
                reuse_readings(work / "auto", out, keys, benchmark, items)
            done = done_keys(out)  # read once: the file grows while the run goes on
            todo = (items[k] for k in items if k not in done)
            print(f"{mode}: {len(keys) - len(done)} of {len(keys)} items to judge", flush=True)
            timed_run(todo, judge, out, benchmark)
            rows = [row for _, row in iter_jsonl(out / RESULTS_FILE) if row["key"] in keys]
            figures[mode] = measure(rows, benchmark, out)
            figures[mode]["settings"] = judge.spec.to_dict()
            figures[mode]["command"] = this_command()
            write_result(result_name, figures)
    table = [
        {
            "run": mode,
            "pairs": f["pairs"],
            "accuracy": f["accuracy"],
            "official": f["official"].get("overall", f["official"].get("percent")),
            "decided": f["decided_share"],
            "decided right": f["decided_accuracy"],
            "s/pair (new rows)": f["seconds_per_pair"],
        }
        for mode, f in figures.items()
        if mode in ("auto", "off")
    ]
    report(f"{name}: {len(keys)} items, {args.model}", table)
    print(
        json.dumps(
            {
                "benchmark": result_name,
                "runs": {m: figures[m]["accuracy"] for m in ("auto", "off") if m in figures},
            }
        )
    )


if __name__ == "__main__":
    main()
