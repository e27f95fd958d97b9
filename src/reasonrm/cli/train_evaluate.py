"""`reasonrm train evaluate`: held-out verdict accuracy of a trained judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reasonrm.cli import common
from reasonrm.cli.common import (
    SpecOptions,
    err,
    friendly,
    out,
    progress_bar,
    spec_options,
)
from reasonrm.cli.train import DATA_PROTOCOL, LimitOpt, train_app
from reasonrm.jsonl import check_settings
from reasonrm.training.evaluate import SCORES as EVALUATE_SCORES


def _default_results(checkpoint: str, data: Path) -> Path:
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        return folder / f"eval-{data.stem}.jsonl"
    return Path(f"eval-{folder.name.removesuffix('.gguf')}-{data.stem}.jsonl")


@train_app.command("evaluate")
@friendly
@spec_options(
    judge=("protocol", "max_tokens", "score"),
    engine=(
        "engine",
        "base_url",
        "api_key_env",
        "concurrency",
        "parallel",
        "context",
        "threads",
        "dtype",
        "device",
    ),
    overrides={
        "dtype": {
            "default": None,
            "help": "transformers engine: weight precision (default float32: in bfloat16 a "
            "small student's two verdict labels often tie exactly, and greedy decoding then "
            "names slot 1).",
        },
        "protocol": DATA_PROTOCOL,
        "max_tokens": {"help": "Token budget per row (default: the protocol's)."},
        "score": {
            "default": "vote",
            "choices": EVALUATE_SCORES,
            "help": "vote: one greedy verdict per row; prob: the verdict's probability "
            "(both orders combined per pair, and calibrated).",
        },
    },
)
def train_evaluate(
    checkpoint: Annotated[
        str,
        typer.Argument(
            help="A `train sft|grpo` output folder, a .gguf, a registry name, or a served "
            "model (--engine openai)."
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(help="Held-out rows: a `data prepare` folder (heldout.jsonl) or a file."),
    ],
    limit: LimitOpt = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Results JSONL, one row per held-out row; resumable. Default: "
            "CHECKPOINT/eval-DATA.jsonl for a folder, else ./eval-MODEL-DATA.jsonl.",
        ),
    ] = None,
    prefill: Annotated[
        bool,
        typer.Option(
            help="Score vote: start the reply with the verdict's opening (\\boxed{Assistant), "
            "as a student trained with target: label saw it; only the label is generated."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON object.")] = False,
    *,
    specs: SpecOptions,
) -> None:
    """Held-out verdict accuracy and valid-verdict rate (greedy, no verdict forcing)."""
    from reasonrm.training.data import data_file, read_labelled, resolve_protocol
    from reasonrm.training.evaluate import eval_settings, evaluate

    path = data_file(data, "heldout.jsonl")
    rows = read_labelled(path, limit)
    proto = resolve_protocol(path, specs.values["protocol"])
    max_tokens = specs.values["max_tokens"]
    engine = specs.engine(model=checkpoint, dtype="float32").resolved()
    results = results or _default_results(checkpoint, path)
    settings = {"data": str(path.resolve())} | engine.result_settings()  # model: the checkpoint
    score = specs.values["score"]
    # before loading the model
    check_settings(results, eval_settings(proto, max_tokens, settings, score, prefill))
    tally = {"n": 0, "correct": 0, "valid": 0}
    with common.open_engine(engine) as e, progress_bar() as progress:
        task = progress.add_task("evaluating", total=len(rows), note="")

        def on_start(total: int, done: int) -> None:
            if done:
                err.print(f"resuming: {done} of {total} rows already in {results}")
            progress.update(task, completed=done)

        def on_result(r: dict) -> None:
            if r["error"] is None:
                tally["n"] += 1
                tally["correct"] += bool(r["correct"])
                tally["valid"] += r["verdict"] is not None
            note = (
                f"accuracy {tally['correct'] / tally['n']:.1%}, valid {tally['valid'] / tally['n']:.1%}"
                if tally["n"]
                else ""
            )
            progress.update(task, advance=1, note=note)

        try:
            result = evaluate(
                e,
                rows,
                results,
                proto,
                max_tokens=max_tokens,
                score=score,
                settings=settings,
                prefill=prefill,
                on_start=on_start,
                on_result=on_result,
            )
        except KeyboardInterrupt:
            err.print(f"interrupted: results so far are in {results}; rerun to resume")
            raise typer.Exit(130) from None
    report = {
        "checkpoint": checkpoint,
        "engine": engine.engine,
        "protocol": proto.ref,
        "data": str(path),
        "results": str(result.results),
        **result.summary,
    }
    if as_json:
        out.print_json(json.dumps(report))
        return
    _show_evaluation(report)
    out.print(json.dumps(report), highlight=False, soft_wrap=True, markup=False)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _show_evaluation(r: dict) -> None:
    table = Table("", "value", title=f"{r['checkpoint']} on {r['data']} ({r['protocol']})")
    table.add_row("rows judged", str(r["rows"]))
    if r["skipped_too_long"]:
        table.add_row("skipped: too long", str(r["skipped_too_long"]))
    table.add_row("accuracy (invalid = wrong)", f"{_pct(r['accuracy'])} ({r['correct']})")
    table.add_row("valid verdicts", f"{_pct(r['valid_rate'])} ({r['valid']})")
    table.add_row("accuracy of valid verdicts", _pct(r["accuracy_valid"]))
    for label, s in r["by_label"].items():
        table.add_row(
            f"label {label}: accuracy", f"{_pct(s['accuracy'])} ({s['correct']}/{s['rows']})"
        )
    p = r["predicted"]
    table.add_row("verdicts given", f"A {p['A']}, B {p['B']}, invalid {p['invalid']}")
    for reason, count in r["invalid_reasons"].items():
        table.add_row(f"invalid: {reason}", str(count))
    table.add_row("cut off by max tokens", str(r["truncated"]))
    both = r.get("both_orders") or {}
    if both.get("pairs"):
        table.add_row(
            "pairs in both orders: consistent",
            f"{_pct(both['consistency'])}; right in both {_pct(both['pair_accuracy'])}",
        )
    probs = r.get("probabilities")
    if probs:
        table.add_row("one order, calibrated", _pct(probs["single_order_accuracy_calibrated"]))
        table.add_row("both orders combined (prob)", _pct(probs["pair_accuracy"]))
    table.add_row(
        "completion tokens (mean)", f"{r['completion_tokens']} ({r['mean_completion_tokens']})"
    )
    out.print(table)
