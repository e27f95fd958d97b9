"""`reasonrm train sft|grpo`: the training stages, configured by a YAML file (configs/)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

train_app = typer.Typer(
    no_args_is_help=True,
    help="Train a judge with TRL: SFT on reasoning chains, then GRPO with the verdict reward.",
)

# reasonrm.cli imports train_app back to register it, so it must exist before this import
from reasonrm.cli import err, friendly, out  # noqa: E402

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
    bool, typer.Option("--dry-run", help="Print the settings and TRL arguments; train nothing.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def _train(stage: str, config: Path, overrides: list[str] | None, dry_run: bool, as_json: bool):
    from reasonrm.training.config import (
        build_trl_args,
        dump_settings,
        load_settings,
        trl_kwargs,
    )

    settings = load_settings(config, stage, overrides or [])  # type: ignore[arg-type]
    if dry_run:
        args = build_trl_args(settings)  # checks them the way a run would
        trl = {k: getattr(args, k) for k in trl_kwargs(settings) if hasattr(args, k)}
        if as_json:
            payload = {"settings": settings.model_dump(mode="json"), type(args).__name__: trl}
            out.print_json(json.dumps(payload, default=str))
            return
        out.print(dump_settings(settings), highlight=False, end="")
        out.print(f"{type(args).__name__}: {json.dumps(trl, default=str)}", highlight=False)
        return
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
    out.print(
        f"judge with: reasonrm judge --engine transformers --model {result.output_dir} ...",
        highlight=False,
        soft_wrap=True,
    )


@train_app.command("sft")
@friendly
def train_sft(
    config: ConfigOpt,
    set_: SetOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Supervised fine-tuning on chat rows ending with the judge's reasoning and verdict."""
    _train("sft", config, set_, dry_run, as_json)


@train_app.command("grpo")
@friendly
def train_grpo(
    config: ConfigOpt,
    set_: SetOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """GRPO on `reasonrm data prepare` rows, rewarded +1 for the labelled verdict, else -1."""
    _train("grpo", config, set_, dry_run, as_json)
