"""`reasonrm train distill` (also `reasonrm distill`): the teacher's checked reasoning chains for SFT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    TaskID,
)
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
from reasonrm.cli.train import DATA_PROTOCOL, LimitOpt, train_app
from reasonrm.jsonl import check_settings_file


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
    from reasonrm.training.data import data_file, read_labelled, resolve_protocol

    path = data_file(data, d.TRAIN)
    all_rows = read_labelled(path)  # bad data fails before the teacher loads
    rows = all_rows[:limit] if limit else all_rows
    teacher = specs.engine().resolved()
    proto = resolve_protocol(path, specs.values["protocol"])
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
    with common.open_engine(teacher) as e, progress_bar() as progress:
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


# `reasonrm distill`, the name the recipe's docs use, is the same command as `train distill`
app.command(
    "distill", help="Teacher reasoning chains for SFT (the same as `reasonrm train distill`)."
)(train_distill)
