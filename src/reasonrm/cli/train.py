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

from reasonrm.cli.app import app
from reasonrm.cli.common import (
    err,
    friendly,
    out,
)
from reasonrm.errors import InputError

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
    from reasonrm.training.data import data_protocol

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


app.add_typer(train_app, name="train")
