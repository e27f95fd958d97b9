"""Which scoring mode makes the default model's judgments right most often, and at what cost:
`vote` (sampled verdicts) against `prob` (the verdict token's probability, both orders
combined) and `calibrated`, on RewardBench and on PandaLM's everyday pairs.

Every mode reads each pair in both orders (except the one-order modes, marked "-1"), through
the project's own evaluation runner, so the rows are resumable and scored by the benchmark's
official rules. The rows are kept in the repository (benchmarks/results/rows/judge_modes/):
a measurement longer than a session resumes from them on a fresh machine; commit them as it
goes. Per mode: accuracy (overall, per section, per label), the first-slot share
of verdicts, the rate at which the two orders disagree, Brier score, AUC and accuracy on the
70% of pairs the judge is surest of (probability modes), tokens per pair and pairs per hour.

PandaLM: the test pairs on which all three annotators agree and that are not ties.

Usage:
  python benchmarks/judge_modes.py pandalm --sample 100 --seed 1 --modes prob-direct,vote-direct
  python benchmarks/judge_modes.py rewardbench --sample 200 --seed 0 --modes prob-direct
  python benchmarks/judge_modes.py rewardbench --sample 200 --seed 0 --modes prob-direct-ref \
      --references-from prob-rrm-ref    # the judge's own answers, written once, read twice
Choose settings on one seed's sample and report on another's.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from common import (
    MODE_ROWS,
    done_keys,
    previous_figures,
    read_wall,
    report,
    resumable,
    source_file,
    wall_clock,
    write_result,
)
from common import SOURCES as ALL_SOURCES

from reasonrm import Judge, load_engine
from reasonrm.confidence import accuracy_at_coverage, auc, brier
from reasonrm.eval import get_benchmark
from reasonrm.eval.runner import RESULTS as RESULTS_FILE
from reasonrm.eval.runner import EvalItem, row_judgments, run, select
from reasonrm.jsonl import iter_jsonl
from reasonrm.scoring import read_calibration, slot_prior, write_calibration
from reasonrm.types import Judgment, shown_first_won

MODES: dict[str, dict] = {
    "vote-rrm": dict(protocol="rrm", score="vote", orders="both"),
    "vote-rrm-1": dict(protocol="rrm", score="vote", orders="random"),  # the papers' setting
    "vote-direct": dict(protocol="direct", score="vote", orders="both"),
    "vote-direct-1": dict(protocol="direct", score="vote", orders="random"),
    "prob-direct": dict(protocol="direct", score="prob", orders="both"),
    "prob-rrm": dict(protocol="rrm", score="prob", orders="both"),
    "prob-rrm-reason": dict(protocol="rrm", score="prob", reason=True, orders="both"),
    "calibrated-direct-1": dict(protocol="direct", score="calibrated", orders="random"),
    "calibrated-rrm-1": dict(protocol="rrm", score="calibrated", orders="random"),
    "pointwise": dict(score="pointwise", orders="fixed"),  # no position: orders do not apply
    "prob-direct-ref": dict(protocol="direct", score="prob", orders="both", reference="self"),
    "prob-rrm-ref": dict(protocol="rrm", score="prob", orders="both", reference="self"),
    # the other modes with the judge's own reference (read with --references-from prob-rrm-ref)
    "vote-rrm-1-ref": dict(protocol="rrm", score="vote", orders="random", reference="self"),
    "vote-direct-1-ref": dict(protocol="direct", score="vote", orders="random", reference="self"),
    "prob-rrm-reason-ref": dict(
        protocol="rrm", score="prob", reason=True, orders="both", reference="self"
    ),
    "calibrated-rrm-1-ref": dict(
        protocol="rrm", score="calibrated", orders="random", reference="self"
    ),
    "pointwise-ref": dict(score="pointwise", orders="fixed", reference="self"),
    # few-shot: the built-in worked examples before each pair
    "prob-direct-ex": dict(protocol="direct", score="prob", orders="both", examples="general"),
    "prob-rrm-ex": dict(protocol="rrm", score="prob", orders="both", examples="general"),
    # RM-R1's Chain-of-Rubrics prompt read at its answer tag: other slot names (Chatbot A/B)
    "prob-rm-r1": dict(protocol="rm-r1", score="prob", orders="both"),
}
SOURCES = {name: ALL_SOURCES[name] for name in ("rewardbench", "pandalm")}


def measure(rows: list[dict], benchmark, wall: dict) -> dict:
    judgments = [j for row in rows for j in row_judgments(row)]
    ok = [j for j in judgments if not j.get("error")]
    samples = [s for j in ok for s in j.get("samples") or []]
    won = [w for w in map(shown_first_won, samples) if w is not None]
    both = [j for j in ok if j.get("orders_agree") is not None]
    by_label = {}
    for label in ("A", "B"):
        group = [j for j in ok if j.get("label") == label]
        by_label[label] = (
            (sum(j["correct"] == 1 for j in group) / len(group), len(group)) if group else (None, 0)
        )
    # one order's verdict (a sample's, mapped back to a/b) right: what one random order scores
    # (pointwise readings name no slot: no one-order figure)
    one_order = [
        s["verdict"] == j["label"]
        for j in ok
        if j.get("label")
        for s in j["samples"]
        if s.get("invalid_reason") != "pointwise rating"
    ]
    figures = {
        "pairs": len(judgments),
        "single_order_accuracy": sum(one_order) / len(one_order) if one_order else None,
        "errors": len(judgments) - len(ok),
        "accuracy": sum(j.get("correct") == 1 for j in judgments) / len(judgments),
        "ties": sum(j["winner"] is None for j in ok),
        "accuracy_label_a": by_label["A"][0],
        "pairs_label_a": by_label["A"][1],
        "accuracy_label_b": by_label["B"][0],
        "pairs_label_b": by_label["B"][1],
        "first_slot_share": sum(won) / len(won) if won else None,
        "flip_rate": sum(not j["orders_agree"] for j in both) / len(both) if both else None,
        "prompt_tokens_per_pair": statistics.fmean(j["prompt_tokens"] for j in ok),
        # what the engine evaluated: the prompt tokens sent less those found in its cache
        "prompt_tokens_evaluated_per_pair": statistics.fmean(
            j["prompt_tokens"] - sum(s.get("cached_tokens", 0) for s in j["samples"]) for j in ok
        ),
        "completion_tokens_per_pair": statistics.fmean(j["completion_tokens"] for j in ok),
        "wall_seconds": round(wall["seconds"], 1),
        "pairs_per_hour": round(3600 * wall["pairs"] / wall["seconds"], 1)
        if wall["seconds"]
        else None,
    }
    scored = [(j["p_a"], j["label"]) for j in ok if j.get("p_a") is not None and j.get("label")]
    if scored:
        figures["brier"] = brier(scored)
        figures["auc"] = auc(scored)
        figures["accuracy_at_70pct_coverage"], _ = accuracy_at_coverage(scored, 0.7)
    official = benchmark.score_rows(rows, None)
    if "sections" in official and benchmark.name == "rewardbench":
        figures["sections"] = official["sections"]
        figures["official_score"] = official.get("overall")
    return figures


def calibrate_on(args, protocol: str, work: Path) -> Path:
    """The slot prior measured on another run's rows (both orders, probabilities; labels
    unused), as `reasonrm calibrate` measures it, written beside this run. A folder named
    after a mode records whether its prompts showed the judge's own reference."""
    if args.calibrate_on is None:
        raise SystemExit("calibrated modes need --calibration FILE or --calibrate-on RUN_DIR")
    rows = [row for _, row in iter_jsonl(args.calibrate_on / RESULTS_FILE)]
    prior, pairs = slot_prior(Judgment.from_dict(j) for row in rows for j in row_judgments(row))
    reference = MODES.get(args.calibrate_on.name, {}).get("reference", "none")
    path = work / f"calibration-{protocol}{'-ref' if reference == 'self' else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_calibration(
        path,
        model=args.model,
        protocol=protocol,
        reason=False,
        prior=prior,
        pairs=pairs,
        reference=reference,
    )
    print(f"slot prior {prior:+.3f} from {pairs} pairs of {args.calibrate_on}", flush=True)
    return path


def with_references(items: Iterable[EvalItem], rows: Path) -> Iterator[EvalItem]:
    """The items, each comparison given the reference another `--reference self` mode's rows
    hold for it. The judge's own answer is greedy and depends on the prompt alone, so a
    second mode reads the same text instead of writing it again; an item without one in the
    rows (or with an empty answer) gets its own as usual."""
    found = {
        row["key"]: [j.get("reference") for j in row_judgments(row)] for _, row in iter_jsonl(rows)
    }
    for item in items:
        refs = found.get(item.key)
        if refs and len(refs) == len(item.comparisons) and None not in refs:
            comparisons = tuple(
                replace(c, reference=r) for c, r in zip(item.comparisons, refs, strict=True)
            )
            item = replace(item, comparisons=comparisons)
        yield item


def reads_references(args, mode: str) -> bool:
    """Whether this mode reads --references-from's rows (not the mode that writes them)."""
    return bool(args.references_from) and mode != args.references_from


def check_references(args, modes: list[str]) -> None:
    """--references-from's modes, checked before the model loads: every mode that reads the
    references, and the mode that wrote them, must be --reference self modes."""
    if not args.references_from:
        return
    source = args.references_from
    if MODES.get(source, {}).get("reference") != "self":
        raise SystemExit(f"--references-from {source}: not a --reference self mode")
    for mode in modes:
        if reads_references(args, mode) and MODES[mode].get("reference") != "self":
            raise SystemExit(
                f"--references-from applies to --reference self modes; {mode} is not one"
            )


def reference_rows(args, mode: str, work: Path) -> Path | None:
    """The rows whose references this mode reads, if it reads any."""
    if not reads_references(args, mode):
        return None
    rows = work / args.references_from / RESULTS_FILE
    if not rows.exists():
        raise SystemExit(
            f"--references-from {args.references_from}: no rows at {rows}; run that mode first"
        )
    return rows


def run_mode(args, mode: str, engine, benchmark, keys: set[str], source: Path, work: Path) -> dict:
    options = dict(MODES[mode])
    references = reference_rows(args, mode, work)
    if options["score"] == "calibrated":
        calibration = args.calibration or calibrate_on(args, options["protocol"], work)
        options["slot_prior"] = read_calibration(
            calibration,
            model=args.model,
            protocol=options["protocol"],
            reason=False,
            reference=options.get("reference", "none"),
        )
    judge = Judge(engine, seed=args.seed, concurrency=args.concurrency, **options)
    out_dir = work / mode
    out_dir.mkdir(parents=True, exist_ok=True)
    done = done_keys(out_dir)
    todo = (
        item for item in benchmark.load(str(source)) if item.key in keys and item.key not in done
    )
    if references:
        todo = with_references(todo, references)

    run(todo, judge, out_dir, benchmark.make_row, on_row=wall_clock(out_dir))
    rows = [row for _, row in iter_jsonl(out_dir / RESULTS_FILE) if row["key"] in keys]
    figures = measure(rows, benchmark, read_wall(out_dir))
    figures["settings"] = judge.spec.to_dict()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("benchmark", choices=sorted(SOURCES))
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="sample and judge seed")
    ap.add_argument("--modes", default="prob-direct,vote-direct")
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--parallel", type=int, default=4, help="llama.cpp slots")
    ap.add_argument("--context", type=int, default=8192, help="tokens per slot")
    ap.add_argument("--concurrency", type=int, default=8, help="pairs in flight")
    ap.add_argument("--calibration", type=Path, help="slot prior for the calibrated modes")
    ap.add_argument(
        "--calibrate-on", type=Path, help="or measure it on this run folder's rows (another seed)"
    )
    ap.add_argument(
        "--rows",
        type=Path,
        default=MODE_ROWS,
        help="each mode's result rows (a rerun resumes from them), kept in the repository",
    )
    ap.add_argument(
        "--references-from",
        metavar="MODE",
        help="a --reference self mode: read the references its rows hold instead of writing "
        "them again (their time and tokens are not in this mode's figures, and its rows "
        "record no reference of their own)",
    )
    ap.add_argument("--work", type=Path, default=Path("runs/judge_modes"), help="scratch files")
    args = ap.parse_args()
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {unknown}; known: {', '.join(MODES)}")

    check_references(args, modes)
    benchmark = get_benchmark(args.benchmark)
    work = args.rows / f"{args.benchmark}-n{args.sample}-seed{args.seed}"
    source = source_file(args.benchmark, args.work)
    keys = select(benchmark.load(str(source)), sample=args.sample, seed=args.seed)
    name = f"judge_modes_{args.benchmark}_n{args.sample}_seed{args.seed}"
    results = previous_figures(name)
    engine = load_engine("llamacpp", args.model, parallel=args.parallel, context=args.context)
    with resumable(work), engine:
        for mode in modes:
            print(
                f"{mode}: judging {len(keys)} items of {args.benchmark} (seed {args.seed})",
                flush=True,
            )
            results[mode] = run_mode(args, mode, engine, benchmark, keys, source, work)
            results[mode]["command"] = (
                f"python benchmarks/judge_modes.py {args.benchmark} --sample {args.sample} "
                f"--seed {args.seed} --modes {mode}"
                + (
                    f" --references-from {args.references_from}"
                    if reads_references(args, mode)
                    else ""
                )
                + (
                    f" --calibrate-on {args.calibrate_on}"
                    if MODES[mode]["score"] == "calibrated" and args.calibrate_on
                    else f" --calibration {args.calibration}"
                    if MODES[mode]["score"] == "calibrated"
                    else ""
                )
            )
            write_result(name, results)  # a finished mode stays if the next is interrupted
    table = []
    for mode, f in results.items():
        table.append(
            {
                "mode": mode,
                "pairs": f["pairs"],
                "accuracy": f["accuracy"],
                "one order": f.get("single_order_accuracy"),
                "label A": f["accuracy_label_a"],
                "label B": f["accuracy_label_b"],
                "first slot": f["first_slot_share"],
                "flips": f["flip_rate"],
                "brier": f.get("brier"),
                "acc@70%": f.get("accuracy_at_70pct_coverage"),
                "tokens/pair": round(f["prompt_tokens_per_pair"] + f["completion_tokens_per_pair"]),
                "pairs/h": f["pairs_per_hour"],
            }
        )
    report(f"{args.benchmark}: {args.sample} items, seed {args.seed}, {args.model}", table)
    write_result(name, results)
    print(json.dumps({"benchmark": name, "modes": {m: results[m]["accuracy"] for m in results}}))


if __name__ == "__main__":
    main()
