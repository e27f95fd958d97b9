"""`reasonrm data prepare`: preference data made into judge training rows."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reasonrm.cli.app import app
from reasonrm.cli.common import (
    SpecOptions,
    friendly,
    out,
    spec_options,
)

data_app = typer.Typer(no_args_is_help=True, help="Prepare preference data for training judges.")
app.add_typer(data_app, name="data")


class DataFormat(StrEnum):
    auto = "auto"
    hh_rlhf = "hh-rlhf"
    ultrafeedback = "ultrafeedback"
    pairs = "pairs"


class PairOrders(StrEnum):
    both = "both"
    one = "one"


@data_app.command("prepare")
@friendly
@spec_options(judge=("protocol",), engine=False)
def data_prepare(
    input: Annotated[
        str, typer.Option(help="JSONL(.gz)/JSON/parquet file or folder, or a Hugging Face id.")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for train.jsonl, heldout.jsonl, stats.json.")
    ],
    format: Annotated[DataFormat, typer.Option(help="Input layout; auto reads the first row.")] = (
        DataFormat.auto
    ),
    max_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Drop pairs whose judge prompt is longer (about 4 chars/token)."),
    ] = None,
    heldout: Annotated[
        float, typer.Option(min=0, help="Held-out pairs: a count, or a fraction below 1.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seeds the held-out split and A/B placement.")] = 0,
    orders: Annotated[
        PairOrders,
        typer.Option(help="both: two rows per pair, chosen first and second; one: one row."),
    ] = PairOrders.both,
    split: Annotated[str, typer.Option(help="Hugging Face dataset split.")] = "train",
    as_json: Annotated[bool, typer.Option("--json", help="Print stats.json's object.")] = False,
    *,
    specs: SpecOptions,
) -> None:
    """Turn preference pairs into judge-training rows: the protocol's judge prompt with the
    chosen response as A and as B (both orders, the default), or placed once (balanced,
    seeded), and the label to reward."""
    from reasonrm.training.data import prepare_file

    prepared, paths = prepare_file(
        input,
        out_dir,
        format.value,
        specs.judge().protocol,
        split=split,
        max_tokens=max_tokens,
        heldout=heldout,
        seed=seed,
        orders=orders.value,
    )
    stats = prepared.stats
    if as_json:
        out.print_json(json.dumps(stats.to_dict()))
        return
    table = Table("", "pairs", title=f"{stats.input} ({stats.format}) → {out_dir}")
    table.add_row("read", str(stats.read))
    for reason, count in stats.dropped.items():
        table.add_row(f"dropped: {reason.replace('_', ' ')}", str(count))
    for name in ("train", "heldout"):
        balance = stats.balance[name]
        table.add_row(name, f"{getattr(stats, name)} (A {balance['A']}, B {balance['B']})")
    out.print(table)
    out.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
