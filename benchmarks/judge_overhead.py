"""The Judge's own cost per judgment: rendering, parsing, voting, batching and scheduling in
`Judge.judge_many`, against an engine that answers instantly (no model).

Real RewardBench pairs (synthetic ones if the data is missing) are judged with the `rrm`
protocol, votes 1, orders "both" and "random". Each configuration runs several times; the
figure is the median wall time per judgment. It is then set against a typical real judgment
on this machine: the measured seconds per generation from docs/benchmarks.md (the reasonrm
Judge row of the orchestration overhead table) times the generations each judgment needs.

Usage: python benchmarks/judge_overhead.py [--pairs 2000 --repeats 5 --real-seconds S]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import time

from common import DATA, ROOT, report, write_result

from reasonrm import Comparison, Judge
from reasonrm.engines.base import Engine
from reasonrm.eval import get_benchmark
from reasonrm.types import Sample

VERDICT = "The first response answers the question directly and correctly. \\boxed{Assistant 1}"
DOCS = ROOT / "docs" / "benchmarks.md"


class InstantEngine(Engine):
    """Answers every chat at once with the same verdict and plausible token counts."""

    name = "instant"

    async def agenerate(self, chats, params):
        return [
            [Sample(VERDICT, 20, sum(len(m["content"]) for m in chat) // 4, "stop", 0.0)] * params.n
            for chat in chats
        ]


def real_seconds_per_generation() -> tuple[float, str]:
    """Seconds per real generation from the orchestration overhead table of
    docs/benchmarks.md: the reasonrm Judge row's seconds over its pairs (one order, one vote,
    so one generation per pair)."""
    text = DOCS.read_text()
    pairs = re.search(r"^(\d+) pairs, one at a time", text, re.M)
    seconds = re.search(r"^\| reasonrm Judge \| ([\d.]+) \|", text, re.M)
    if not (pairs and seconds):
        raise SystemExit(f"no orchestration overhead table in {DOCS}; pass --real-seconds")
    n, s = int(pairs.group(1)), float(seconds.group(1))
    return s / n, (
        f"docs/benchmarks.md, 'Orchestration overhead': reasonrm Judge, {s} s for {n} pairs, "
        "qwen2.5-1.5b in llama.cpp, up to 256 tokens, one generation per pair"
    )


def load_pairs(count: int) -> tuple[list[Comparison], str]:
    path = DATA / "rewardbench" / "rewardbench_filtered.jsonl"
    if path.exists():
        items = get_benchmark("rewardbench").load(str(path))
        comparisons = [c for item in items for c in item.comparisons]
        source = f"RewardBench ({path.name})"
    else:  # still a measurement of the judge, only with shorter texts
        comparisons = [
            Comparison(f"Question {i}: what is {i} + {i}?", f"It is {2 * i}.", f"It is {i}.")
            for i in range(count)
        ]
        source = "synthetic pairs (no RewardBench data found)"
    # repeat the set if it is smaller than asked
    return list(itertools.islice(itertools.cycle(comparisons), count)), source


def measure(pairs: list[Comparison], votes: int, orders: str, repeats: int) -> dict:
    judge = Judge(InstantEngine(), "rrm", votes=votes, orders=orders)
    list(judge.judge_many(pairs[:200]))  # warm-up: imports, the shared loop, caches
    per_judgment = []
    for _ in range(repeats):
        start = time.perf_counter()
        judgments = list(judge.judge_many(pairs))
        per_judgment.append((time.perf_counter() - start) / len(pairs) * 1000)
    # every verdict was parsed (with both orders the fixed "Assistant 1" votes once each way)
    assert all(j.votes["invalid"] == 0 and j.error is None for j in judgments)
    samples = sum(sum(j.votes.values()) for j in judgments) / len(judgments)
    return {
        "votes": votes,
        "orders": orders,
        "generations_per_judgment": samples,
        "ms_per_judgment_median": round(statistics.median(per_judgment), 4),
        "ms_per_judgment_min": round(min(per_judgment), 4),
        "ms_per_judgment_max": round(max(per_judgment), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=2000, help="comparisons per repetition")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--real-seconds",
        type=float,
        help="seconds of one real generation (default: the measured figure in docs/benchmarks.md)",
    )
    args = ap.parse_args()
    if args.real_seconds is None:
        real_s, real_source = real_seconds_per_generation()
    else:
        real_s, real_source = args.real_seconds, "--real-seconds"

    pairs, source = load_pairs(args.pairs)
    rows = []
    for votes, orders in [(1, "both"), (1, "random")]:
        row = measure(pairs, votes, orders, args.repeats)
        real_judgment_ms = real_s * 1000 * row["generations_per_judgment"]
        row["real_ms_per_judgment"] = round(real_judgment_ms, 1)
        row["share_of_real"] = row["ms_per_judgment_median"] / real_judgment_ms
        rows.append(row)

    report(
        f"Judge overhead against an instant engine: {args.pairs} {source}, "
        f"median of {args.repeats} runs",
        [
            {
                "votes": r["votes"],
                "orders": r["orders"],
                "gens": int(r["generations_per_judgment"]),
                "ms median": r["ms_per_judgment_median"],
                "ms min": r["ms_per_judgment_min"],
                "ms max": r["ms_per_judgment_max"],
                "real ms": r["real_ms_per_judgment"],
                "share": f"{r['share_of_real']:.5%}",
            }
            for r in rows
        ],
    )
    print(f"real generation time: {real_s:.2f} s, from {real_source}")
    figures = {
        "pairs": args.pairs,
        "repeats": args.repeats,
        "source": source,
        "real_seconds_per_generation": round(real_s, 3),
        "real_seconds_source": real_source,
        "runs": rows,
    }
    print(json.dumps({"benchmark": "judge_overhead", **figures}))
    write_result("judge_overhead", figures)


if __name__ == "__main__":
    main()
