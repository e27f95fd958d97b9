"""A trained checkpoint read by transformers (float32, as training evaluates it) and by
llama.cpp on its GGUF exports (`reasonrm models to-gguf`): speed, and whether the greedy
reasoning and verdict stay the same.

The rows: the first --rows held-out `rrm` rows train_judge.py's reasoning vote reads (the
teacher's vote pairs, both orders). Every engine judges the same rows, 4 at a time, one
engine at a time.

Usage:
  python benchmarks/gguf_export.py                     # the distill-sft student, 8 rows
  python benchmarks/gguf_export.py --checkpoint runs/train_judge/distill-grpo --rows 16
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import report, write_result

from reasonrm import load_engine
from reasonrm.training.data import read_labelled
from reasonrm.training.evaluate import evaluate
from reasonrm.training.gguf_export import export_gguf

WORK = Path("runs/train_judge")


def judge_rows(engine, rows, out: Path, max_tokens: int) -> tuple[float, dict[str, dict]]:
    started = time.perf_counter()
    with engine:
        evaluate(engine, rows, out, "rrm", max_tokens=max_tokens, score="vote", concurrency=4)
    wall = time.perf_counter() - started
    return wall, {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--checkpoint", type=Path, default=WORK / "distill-sft")
    ap.add_argument("--heldout", type=Path, default=WORK / "data" / "hh" / "heldout-rrm.jsonl")
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--types", default="f16,q8_0")
    args = ap.parse_args()

    import train_judge  # the reasoning vote's rows: the teacher's vote pairs, both orders

    rows = read_labelled(args.heldout)
    rows = train_judge.teachers_pairs(rows, args.heldout, 60)[: args.rows]
    scratch = Path(tempfile.mkdtemp(prefix="reasonrm-gguf-bench-"))
    engine = load_engine("transformers", str(args.checkpoint), dtype="float32")
    base_wall, base = judge_rows(engine, rows, scratch / "transformers.jsonl", args.max_tokens)
    tokens = sum(r["completion_tokens"] for r in base.values())
    table = [
        {
            "engine": "transformers, float32",
            "file MB": None,
            "export seconds": None,
            "seconds": round(base_wall, 1),
            "tokens/s": round(tokens / base_wall, 1),
            "speedup": 1.0,
            "same text": len(rows),
            "same verdict": len(rows),
        }
    ]
    for kind in args.types.split(","):
        started = time.perf_counter()
        gguf = export_gguf(args.checkpoint, scratch / f"{kind}.gguf", tensor_type=kind)
        export_seconds = time.perf_counter() - started
        engine = load_engine("llamacpp", str(gguf), parallel=4, context=4096)
        wall, got = judge_rows(engine, rows, scratch / f"{kind}.jsonl", args.max_tokens)
        produced = sum(r["completion_tokens"] for r in got.values())
        table.append(
            {
                "engine": f"llamacpp, {kind} GGUF",
                "file MB": round(gguf.stat().st_size / 1e6),
                "export seconds": round(export_seconds, 1),
                "seconds": round(wall, 1),
                "tokens/s": round(produced / wall, 1),
                "speedup": round(base_wall / wall, 2),
                "same text": sum(got[i]["text"] == base[i]["text"] for i in base),
                "same verdict": sum(got[i]["verdict"] == base[i]["verdict"] for i in base),
            }
        )
    report(f"{args.checkpoint}: {len(rows)} held-out rows, greedy, 4 at a time", table)
    figures = {"checkpoint": str(args.checkpoint), "rows": len(rows), "engines": table}
    write_result("gguf_export", figures)
    print(json.dumps({"benchmark": "gguf_export", "engines": table}))


if __name__ == "__main__":
    main()
