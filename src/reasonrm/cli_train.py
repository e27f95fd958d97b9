"""`reasonrm train sft|grpo`: the training stages, configured by a YAML file (configs/);
`reasonrm train distill` (also `reasonrm distill`): verdict-checked teacher chains for SFT;
`reasonrm train evaluate`: held-out verdict accuracy of a checkpoint."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    TaskID,
)
from rich.table import Table

from reasonrm.cli_common import (
    SpecOptions,
    err,
    friendly,
    open_engine,
    out,
    progress_bar,
    spec_options,
)
from reasonrm.errors import InputError
from reasonrm.jsonl import check_settings, check_settings_file
from reasonrm.training.evaluate import SCORES as EVALUATE_SCORES

train_app = typer.Typer(
    no_args_is_help=True,
    help="Train a judge: distill verdict-checked teacher chains, SFT on them with TRL, then "
    "GRPO with the verdict reward; evaluate checkpoints on held-out rows.",
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="YAML settings (see configs/README.md).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a field: key=value, dotted keys for nested fields (lora.r=8), values "
        "read as YAML (max_steps=2, lora=null). Repeatable.",
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Build the settings, TRL arguments (GPU configs too) and accelerate config; "
        "print them and what only the GPU machine can check; train nothing.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
AccelerateOpt = Annotated[
    Path | None,
    typer.Option(
        "--accelerate-config",
        help="With --dry-run: check the run against this accelerate config (its processes, "
        "its DeepSpeed file).",
    ),
]


def _train(
    stage: str,
    config: Path,
    overrides: list[str] | None,
    dry_run: bool,
    as_json: bool,
    accelerate_config: Path | None = None,
):
    from reasonrm.training.config import dump_settings, load_settings

    settings = load_settings(config, stage, overrides or [])  # type: ignore[arg-type]
    if dry_run:
        from reasonrm.training.dry_run import dry_run as check

        done = check(settings, accelerate_config)  # builds what a run would, GPU ones too
        if as_json:
            out.print_json(json.dumps(done.to_dict(), default=str))
            return
        out.print(dump_settings(done.settings), highlight=False, end="")
        out.print(
            f"{done.trl_class}: {json.dumps(done.trl, default=str)}", highlight=False, markup=False
        )
        if done.accelerate:
            out.print(f"accelerate: {json.dumps(done.accelerate)}", highlight=False)
        for note in done.notes:
            out.print(f"note: {note}", highlight=False, markup=False)
        return
    if accelerate_config is not None:
        raise InputError(
            "--accelerate-config is for --dry-run; to train, pass it to accelerate: "
            "accelerate launch --config_file FILE -m reasonrm.cli train ..."
        )
    err.print(
        f"[bold]train {stage}[/]: {settings.model} on {settings.data} → {settings.output_dir}",
        highlight=False,
    )
    if stage == "sft":
        from reasonrm.training.sft import run_sft as run
    else:
        from reasonrm.training.grpo import run_grpo as run
    # trainers print their logs to stdout: keep it for the result (--json stays parseable)
    with contextlib.redirect_stdout(sys.stderr):
        result = run(settings)  # type: ignore[arg-type]
    if os.environ.get("RANK", "0") != "0":  # under accelerate launch, one process reports
        return
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    resumed = f", resumed from {result.resumed_from.name}" if result.resumed_from else ""
    out.print(
        f"[bold green]saved[/] {result.output_dir} (step {result.global_step}: "
        f"{result.steps_this_run} this run on {result.rows} rows, {result.seconds:.1f} s{resumed})",
        highlight=False,
        soft_wrap=True,
    )
    command = judge_command(settings, result.output_dir)
    out.print(f"judge with: {command}", highlight=False, markup=False, soft_wrap=True)


def judge_command(settings, output_dir) -> str:
    """The `reasonrm judge` line for what was trained: its protocol, and for a student that
    learned the label after the verdict's opening (target: label, or GRPO with prefill) its
    label probability, since its own greedy reply never writes that opening."""
    from reasonrm.training.distill import data_protocol

    words = ["reasonrm", "judge", "--model", str(output_dir)]
    protocol = settings.protocol or data_protocol(settings.data_file())
    if protocol:
        words += ["--protocol", protocol]
    if getattr(settings, "target", None) == "label" or getattr(settings, "prefill", False):
        words += ["--score", "prob"]
    return shlex.join(words) + " --prompt P --a A --b B"


@train_app.command("sft")
@friendly
def train_sft(
    config: ConfigOpt,
    set_: SetOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    accelerate_config: AccelerateOpt = None,
) -> None:
    """Supervised fine-tuning on chat rows ending with the judge's reasoning and verdict."""
    _train("sft", config, set_, dry_run, as_json, accelerate_config)


@train_app.command("grpo")
@friendly
def train_grpo(
    config: ConfigOpt,
    set_: SetOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    accelerate_config: AccelerateOpt = None,
) -> None:
    """GRPO on `reasonrm data prepare` rows, rewarded +1 for the labelled verdict, else -1."""
    _train("grpo", config, set_, dry_run, as_json, accelerate_config)


# --- distillation and evaluation -------------------------------------------------------

DATA_PROTOCOL = {
    "default": None,
    "help": "rrm | rm-r1 | rm-r1-distilled | direct; default: the one the data was prepared "
    "with (its stats.json), else rrm.",
}
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")]


def _open_engine(spec):
    """The engine, as `reasonrm judge` opens it (tests replace this with a scripted one)."""
    return open_engine(spec)


@train_app.command("distill")
@friendly
@spec_options(
    judge=("protocol", "max_tokens", "temperature", "top_p", "seed"),
    overrides={
        "model": {
            "flag": "--teacher",
            "default": ...,
            "help": "Teacher judge: registry name, .gguf, checkpoint folder or served model.",
        },
        "protocol": DATA_PROTOCOL,
        "max_tokens": {"help": "Token budget per chain (default: the protocol's)."},
        "temperature": {"default": 0.7, "help": "Teacher sampling temperature."},
        "seed": {"help": "Seeds the teacher's sampling (per row and pass)."},
    },
)
def train_distill(
    data: Annotated[
        Path,
        typer.Option(help="Rows from `reasonrm data prepare`: its folder (train.jsonl) or a file."),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for train.jsonl (SFT rows), chains.jsonl, stats.json; resumable."
        ),
    ],
    samples: Annotated[
        int, typer.Option(min=1, help="Chains per row (one teacher request with n = K).")
    ] = 4,
    keep: Annotated[
        int, typer.Option(min=1, help="Most SFT rows per data row: its first distinct kept chains.")
    ] = 1,
    hint: Annotated[
        bool,
        typer.Option(
            help="Second pass for rows with no kept chain: the teacher is told the correct "
            "verdict (the SFT row never shows it)."
        ),
    ] = False,
    balance: Annotated[
        bool,
        typer.Option(
            help="As many SFT rows labelled A as B (the first of each, in data order), so "
            "that a teacher's position bias does not teach the student to name one slot."
        ),
    ] = False,
    teacher_note: Annotated[
        str | None,
        typer.Option(
            help="An instruction for the teacher only, appended to its user turn (e.g. "
            "'Keep the analysis under 120 words.'); never in the SFT rows."
        ),
    ] = None,
    limit: LimitOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print stats.json's object.")] = False,
    *,
    specs: SpecOptions,
) -> None:
    """Teacher reasoning chains for SFT, kept only when their verdict matches the label."""
    from reasonrm.training import distill as d

    path = d.data_file(data, d.TRAIN)
    all_rows = d.read_labelled(path)  # bad data fails before the teacher loads
    rows = all_rows[:limit] if limit else all_rows
    teacher = specs.engine().resolved()
    proto = d.resolve_protocol(path, specs.values["protocol"])
    sampling = specs.judge(protocol=proto.ref)
    config = d.DistillConfig(
        samples=samples,
        keep=keep,
        balance=balance,
        max_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        seed=sampling.seed,
        hint=hint,
        teacher_note=teacher_note or None,
    )
    settings = {"data": str(path.resolve()), "teacher": teacher.model, "engine": teacher.engine}
    settings |= d.run_settings(config, proto)
    check_settings_file(out_dir / d.RUN, settings)  # before the teacher loads
    names = {1: "pass 1", 2: "pass 2 (hint)"}
    with _open_engine(teacher) as e, progress_bar() as progress:
        tasks: dict[int, TaskID] = {}
        kept = {1: 0, 2: 0}

        def on_pass(pass_no: int, total: int, done: int) -> None:
            if done:
                err.print(f"resuming {names[pass_no]}: {done} of {total} rows already in {out_dir}")
            tasks[pass_no] = progress.add_task(names[pass_no], total=total, completed=done, note="")

        def on_record(rec: dict) -> None:
            p = rec["pass"]
            kept[p] += bool(d.kept_chains(rec))
            note = f"{kept[p]} rows with a kept chain"
            progress.update(tasks[p], advance=1, note=note)

        try:
            result = d.distill(
                e,
                rows,
                out_dir,
                proto,
                config,
                settings=settings,
                all_rows=all_rows,
                on_pass=on_pass,
                on_record=on_record,
            )
        except KeyboardInterrupt:
            err.print(
                f"interrupted: what finished is in {out_dir}; rerun the same command to resume"
            )
            raise typer.Exit(130) from None
    stats = result.stats
    if as_json:
        out.print_json(json.dumps(stats))
        return
    _show_distill(stats, result.train)


def _show_distill(stats: dict, train: Path) -> None:
    table = Table("pass", "rows", "chains", "kept", "rows with a kept chain", "too long")
    for p, s in stats["passes"].items():
        if s["rows"] or s["too_long"]:
            counts = (s[k] for k in ("rows", "chains", "kept", "rows_with_kept_chain", "too_long"))
            table.add_row(p, *map(str, counts))
    out.print(table)
    tokens = stats["teacher_tokens"]
    out.print(
        f"{stats['rows_with_kept_chain']} of {stats['rows']} rows have a kept chain; wrote "
        f"{stats['sft_rows']} SFT rows to {train} (teacher: {tokens['prompt']} prompt and "
        f"{tokens['completion']} completion tokens)",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"train with: reasonrm train sft --config configs/cpu-smollm2-sft.yaml "
        f"--set data={train.parent}",
        highlight=False,
        soft_wrap=True,
    )


def add_top_level_commands(app: typer.Typer) -> None:
    """Register `reasonrm distill` (the issue's name) as the same command as `train distill`.
    Called by reasonrm.cli on its own app: registering from here would miss the app of
    `python -m reasonrm.cli`, which is a second copy of that module."""
    app.command(
        "distill", help="Teacher reasoning chains for SFT (the same as `reasonrm train distill`)."
    )(train_distill)


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
    from reasonrm.training import distill as d
    from reasonrm.training.evaluate import eval_settings, evaluate

    path = d.data_file(data, "heldout.jsonl")
    rows = d.read_labelled(path, limit)
    proto = d.resolve_protocol(path, specs.values["protocol"])
    max_tokens = specs.values["max_tokens"]
    engine = specs.engine(model=checkpoint, dtype="float32").resolved()
    results = results or _default_results(checkpoint, path)
    settings = {"data": str(path.resolve())} | engine.result_settings()  # model: the checkpoint
    score = specs.values["score"]
    # before loading the model
    check_settings(results, eval_settings(proto, max_tokens, settings, score, prefill))
    tally = {"n": 0, "correct": 0, "valid": 0}
    with _open_engine(engine) as e, progress_bar() as progress:
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
