"""Memory of a full benchmark run: the process's resident memory as `eval run` streams every
item of a full set through the judge and into results.jsonl.

The engine answers at once (a fixed verdict, no model), so this measures reasonrm's own
memory: the two passes over the data, the runner, the judge and the writer. A model's memory
is a constant on top. Usage: python benchmarks/eval_memory.py [rmb|rm-bench|rewardbench]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from common import DATA, report, write_result

from reasonrm import Judge
from reasonrm.engines.base import Engine
from reasonrm.eval.rewardbench import BENCHMARK as rewardbench
from reasonrm.eval.rmb import BENCHMARK as rmb
from reasonrm.eval.rmbench import BENCHMARK as rmbench
from reasonrm.eval.runner import run, select
from reasonrm.types import Sample

SETS = {
    "rmb": (rmb, DATA / "rmb" / "original" / "RMB_dataset"),
    "rm-bench": (rmbench, DATA / "rm-bench" / "rm_bench_partial_total.jsonl"),
    "rewardbench": (rewardbench, DATA / "rewardbench" / "rewardbench_filtered.jsonl"),
}


class InstantEngine(Engine):
    """Answers every chat with a verdict for the first slot, immediately."""

    name = "instant"

    async def agenerate(self, chats, params):
        return [[Sample("\\boxed{Assistant 1}", 5, 100, "stop", 0.0)] * params.n for _ in chats]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("benchmark", nargs="?", default="rmb", choices=SETS)
    name = parser.parse_args().benchmark
    module, path = SETS[name]
    start_rss = rss_mb()
    t0 = time.perf_counter()
    keys = select(module.load(str(path)))
    after_select = rss_mb()
    total = len(keys)
    marks = {round(total * f): f"{f:.0%}" for f in (0.1, 0.25, 0.5, 0.75, 1.0)}
    samples: list[dict] = []
    done = 0

    def on_row(row: dict) -> None:
        nonlocal done
        done += 1
        if done in marks:
            samples.append({"items done": f"{marks[done]} ({done:,})", "rss MB": rss_mb()})

    judge = Judge(InstantEngine(), "rrm", orders="random")
    with tempfile.TemporaryDirectory() as out:
        items = (item for item in module.load(str(path)) if item.key in keys)
        run(items, judge, out, module.make_row, on_row)
    seconds = time.perf_counter() - t0
    rows = [
        {"items done": "start", "rss MB": start_rss},
        {"items done": "after the checking pass", "rss MB": after_select},
        *samples,
    ]
    report(f"{name}: resident memory during a full run ({total:,} items)", rows)
    at_10 = samples[0]["rss MB"]
    result = {
        "benchmark": name,
        "items": total,
        "rss_mb_start": round(start_rss, 1),
        "rss_mb_at_10pct": round(at_10, 1),
        "rss_mb_at_100pct": round(samples[-1]["rss MB"], 1),
        "growth_10_to_100pct": round(samples[-1]["rss MB"] / at_10, 3),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result))
    write_result(f"eval_memory_{name}", result)


if __name__ == "__main__":
    main()
