"""Shared by the speed scripts: real pairs from RewardBench, and how results are printed."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import random
import re
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reasonrm import Comparison
from reasonrm.eval.rewardbench import load
from reasonrm.eval.runner import RESULTS as RESULTS_FILE
from reasonrm.eval.runner import row_judgments
from reasonrm.jsonl import iter_jsonl

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# judge_modes' result rows, one folder per benchmark sample and mode, kept in the repository:
# a measurement longer than one session resumes from them on any machine, and scripts that
# re-read rows (combine_modes, length_baseline) need no model
MODE_ROWS = RESULTS / "rows" / "judge_modes"
# train_judge's teacher chains (distill-sft's data), kept the same way: hours of teacher time
TRAIN_ROWS = RESULTS / "rows" / "train_judge"
DATA = Path(
    os.environ.get("REASONRM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


#: the benchmark files the measurement scripts read (in the data folder's layout)
SOURCES = {
    "rewardbench": DATA / "rewardbench" / "rewardbench_filtered.jsonl",
    "pandalm": DATA / "pandalm" / "pandalm_testset_v1_with_majority.jsonl",
    "judgebench": DATA
    / "judgebench"
    / "original"
    / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl",
}


def source_file(name: str, work: Path) -> Path:
    """The rows to load; for PandaLM only the unanimous, non-tie pairs (written once to
    `work`)."""
    from reasonrm.jsonl import iter_jsonl

    if name != "pandalm":
        return SOURCES[name]
    path = work / "pandalm_unanimous.jsonl"
    if not path.exists():
        rows = [r for _, r in iter_jsonl(SOURCES[name])]
        kept = [r for r in rows if r.get("num_agree") == 3 and r.get("majority_label") in (1, 2)]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    return path


def previous_figures(name: str) -> dict:
    """The figures of the result file `write_result(name, ...)` wrote before, or {}: a rerun
    that measures some stages or modes keeps the others."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["figures"] if path.exists() else {}


def rewardbench_pairs(count: int, seed: int = 0, max_chars: int = 1500) -> list[Comparison]:
    """`count` real pairs, spread over RewardBench subsets, short enough that prefill does
    not dominate every figure (the chosen response is placed as `a`, label "A")."""
    items = load(str(DATA / "rewardbench" / "rewardbench_filtered.jsonl"))
    by_subset = defaultdict(list)
    for item in items:
        (c,) = item.comparisons
        if len(c.prompt) + len(c.a) + len(c.b) <= max_chars:
            by_subset[item.subset].append(c)
    rng = random.Random(seed)
    for group in by_subset.values():
        rng.shuffle(group)
    picked, subsets = [], sorted(by_subset)
    while len(picked) < count:  # round-robin over subsets
        for s in subsets:
            if by_subset[s] and len(picked) < count:
                picked.append(by_subset[s].pop())
    return picked


def prometheus_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of metric `name` in Prometheus text whose labels include
    `labels` (0.0 when there are none, as for a counter not yet incremented)."""
    total = 0.0
    for found in re.finditer(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)", text, re.M):
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(2))
    return total


def done_keys(out: Path) -> set[str]:
    """The keys of the rows an evaluation run has already written to `out`."""
    path = out / RESULTS_FILE
    return {row["key"] for _, row in iter_jsonl(path)} if path.exists() else set()


def read_wall(out: Path) -> dict:
    """The wall time and pair count of the rows written to `out` so far (out/wall.json)."""
    path = out / "wall.json"
    return json.loads(path.read_text()) if path.exists() else {"seconds": 0.0, "pairs": 0}


def wall_clock(out: Path, label: str | None = None) -> Callable[[dict], None]:
    """An `on_row` for the eval runner that adds each new row's wall time to out/wall.json,
    so that a resumed run adds up; with a label, it prints a progress line per row."""
    path, wall = out / "wall.json", read_wall(out)
    last = time.perf_counter()

    def on_row(row: dict) -> None:
        nonlocal last
        now = time.perf_counter()
        wall["seconds"] += now - last
        wall["pairs"] += len(row_judgments(row))
        last = now
        path.write_text(json.dumps(wall))
        if label:
            print(
                f"{label}: {wall['pairs']} pairs, {row.get('subset')} {row.get('correct')}",
                flush=True,
            )

    return on_row


@contextlib.contextmanager
def resumable(kept: Path):
    """Ctrl-C, or `timeout -s INT` ending a background run, stops a long measurement with one
    line instead of a traceback: what is done stays in `kept`, and the same command resumes."""
    try:
        yield
    except KeyboardInterrupt:
        print(
            f"interrupted: what is done is kept in {kept}; rerun the command to resume",
            file=sys.stderr,
        )
        raise SystemExit(130) from None


def report(title: str, rows: list[dict]) -> None:
    """A table for people (each script ends with one JSON line for machines)."""
    console = Console(width=max(160, Console().width))  # logs of background runs stay readable
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)


def this_command(command: list[str] | None = None) -> str:
    """The command line that is running (or `command`), as typed from the repository root."""
    if command is None:
        script = Path(sys.argv[0]).resolve()
        if script.is_relative_to(ROOT):  # as run from the repository root
            script = script.relative_to(ROOT)
        command = [script.as_posix(), *sys.argv[1:]]
    return "python " + shlex.join(command)


def write_result(name: str, figures: dict, command: list[str] | None = None) -> Path:
    """Write `figures` to benchmarks/results/<name>.json with what produced them: the
    command, the machine and the date, so a figure on docs/benchmarks.md can be traced."""
    result = {
        "benchmark": name,
        "command": this_command(command),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "figures": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"result written to {path.relative_to(ROOT)}")
    return path
