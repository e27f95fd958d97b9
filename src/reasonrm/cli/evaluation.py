"""`reasonrm eval run | score | report`: a judge on reward-model benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reasonrm.cli import common
from reasonrm.cli.app import app
from reasonrm.cli.common import (
    SpecOptions,
    err,
    friendly,
    out,
    progress_bar,
    spec_options,
)
from reasonrm.eval import BENCHMARKS, get_benchmark
from reasonrm.jsonl import check_settings_file
from reasonrm.judge import Judge
from reasonrm.specs import run_settings

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate a judge on reward-model benchmarks.")
app.add_typer(eval_app, name="eval")
# the benchmarks by command-line name: one registry, reasonrm.eval.BENCHMARKS
BENCHMARK_HELP = " | ".join(BENCHMARKS)


@eval_app.command("run")
@friendly
@spec_options()
def eval_run(
    benchmark: Annotated[str, typer.Argument(help=BENCHMARK_HELP)],
    data: Annotated[str, typer.Option(help="Official file or folder, or a Hugging Face id.")],
    out: Annotated[Path, typer.Option(help="Run folder: results.jsonl and run.json; resumable.")],
    limit: Annotated[int | None, typer.Option(help="Only the first N items.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="A stratified sample of about N items (every subset).")
    ] = None,
    *,
    specs: SpecOptions,
) -> None:
    """Judge a benchmark's items; results stream to OUT/results.jsonl. Orders default to
    what the benchmark's official script does (JudgeBench both, the others one random)."""
    from reasonrm.eval.runner import RESULTS, run, select

    bench = get_benchmark(benchmark)
    engine_spec = specs.engine()
    judge_spec = specs.judge().resolve_auto(engine_spec.judged_model(), bench.default_orders)
    # two passes: check every row and pick the keys before any judging, then stream the items
    keys = select(bench.load(data), limit, sample, judge_spec.seed)
    items = (item for item in bench.load(data) if item.key in keys)
    settings = run_settings(
        judge_spec,
        engine_spec,
        benchmark=benchmark,
        data=data,
        limit=limit,
        sample=sample,
        items=len(keys),
    )
    check_settings_file(out / "run.json", settings)
    scored = {"n": 0, "sum": 0.0}
    with common.open_engine(engine_spec) as eng:
        judge_ = Judge.from_spec(eng, judge_spec)
        done = _count_lines(out / RESULTS)
        with progress_bar() as progress:
            task = progress.add_task("judging", total=len(keys), completed=done, note="")

            def on_row(row: dict) -> None:
                scored["n"] += 1
                scored["sum"] += row["correct"]
                progress.update(task, advance=1, note=f"accuracy {scored['sum'] / scored['n']:.1%}")

            try:
                path = run(items, judge_, out, bench.make_row, on_row)
            except KeyboardInterrupt:
                err.print(f"interrupted; rerun the same command to resume from {out}")
                raise typer.Exit(130) from None
    _print_score(benchmark, path, None, as_json=False)


def _count_lines(path: Path) -> int:
    return sum(1 for _ in open(path, encoding="utf-8")) if path.exists() else 0


@eval_app.command("score")
@friendly
def eval_score(
    results: Annotated[Path, typer.Argument(help="A results.jsonl (ours or another tool's).")],
    benchmark: Annotated[str, typer.Option(help=BENCHMARK_HELP)],
    invalid: Annotated[
        str | None,
        typer.Option(
            help="half: an invalid verdict scores 0.5 (reward-bench); zero: 0 (RM-R1, and the "
            "strict rule of RM-Bench and RMB). Default: the benchmark's own."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute every score from a results file alone."""
    _print_score(benchmark, results, invalid, as_json)


def _print_score(benchmark: str, results: Path, invalid: str | None, as_json: bool) -> None:
    from reasonrm.eval.results import score_file

    result = score_file(get_benchmark(benchmark), results, invalid)
    if as_json:
        out.print_json(json.dumps(result))
        return
    table = Table("section", "score", title=f"{benchmark}: {results}")
    for name, value in result["sections"].items():
        table.add_row(name, f"{value:.4f}")
    overall = result["overall"]
    table.add_row("[bold]overall[/]", "n/a" if overall is None else f"{overall:.4f}")
    out.print(table)
    lines = [f"{result['items']} items"]
    if "invalid_counts_as" in result:
        names = {"half": "reward-bench's rule", "zero": "RM-R1's and the strict rule"}
        rule = result["invalid_rule"]
        scope = f" in {result['invalid_scope']}" if "invalid_scope" in result else ""
        lines.append(
            f"an invalid verdict counts {result['invalid_counts_as']}{scope} ({names[rule]})"
        )
    out.print("; ".join(lines), highlight=False)
    if "note" in result:
        out.print(f"[yellow]{result['note']}[/]")


@eval_app.command("report")
@friendly
def eval_report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (results.jsonl, run.json).")],
    benchmark: Annotated[
        str | None, typer.Option(help=f"{BENCHMARK_HELP}; default: the one in run.json.")
    ] = None,
    invalid: Annotated[
        str | None, typer.Option(help="half | zero; default: the benchmark's own.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where report.md and the plots go (default DIR).")
    ] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
) -> None:
    """Write report.md and PNG plots: scores with 95% bootstrap intervals, position bias,
    tokens per judgment and the invalid-verdict rate."""
    from reasonrm.eval import report

    name, settings = report.load_run(run_dir, benchmark)
    built = report.build(run_dir, get_benchmark(name), settings, invalid, resamples)
    path = report.write(built, out_dir or run_dir)
    table = Table("score", "value [95% CI]", title=f"{name}: {run_dir}")
    for key, estimate in built.headline.items():
        table.add_row(key, estimate.text())
    out.print(table)
    out.print(f"wrote {path} and {', '.join(built.plots)}", highlight=False)
