"""What the command modules share: consoles, the error decorator, engine options."""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from reasonrm.errors import ReasonRMError

out = Console()
err = Console(stderr=True)


class EngineName(StrEnum):
    llamacpp = "llamacpp"
    openai = "openai"
    transformers = "transformers"


class OrdersName(StrEnum):
    random = "random"
    both = "both"
    fixed = "fixed"


def friendly(command):
    """Errors a user can fix end in one line, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ReasonRMError as e:
            # escaped: messages name extras like 'reasonrm[train]', which rich reads as markup
            err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def open_engine(
    engine: EngineName,
    model: str | None,
    base_url: str | None,
    api_key_env: str,
    parallel: int,
    context: int,
    concurrency: int = 16,
):
    from reasonrm.engines import load_engine

    if engine is EngineName.llamacpp:
        say = lambda msg: err.print(f"[dim]{msg}[/]", highlight=False)  # noqa: E731
        return load_engine("llamacpp", model, parallel=parallel, context=context, progress=say)
    if engine is EngineName.openai:
        return load_engine(
            "openai", model, base_url=base_url, api_key_env=api_key_env, concurrency=concurrency
        )
    return load_engine("transformers", model, batch_size=parallel)


# Engine and judge options, shared by the commands that judge.
ModelOpt = Annotated[
    str | None, typer.Option(help="Registry name, .gguf path, checkpoint folder or served model.")
]
EngineOpt = Annotated[EngineName, typer.Option(help="Generation backend.")]
ProtocolOpt = Annotated[str, typer.Option(help="rrm | rm-r1 | rm-r1-distilled | direct")]
VotesOpt = Annotated[int, typer.Option(min=1, help="Samples per order; majority wins.")]
OrdersOpt = Annotated[
    OrdersName, typer.Option(help="both: judge A/B and B/A (position-bias control).")
]
AdaptiveOpt = Annotated[bool, typer.Option(help="Stop voting once the leader cannot be overtaken.")]
SeedOpt = Annotated[int, typer.Option(help="Seeds order placement, sampling and samples.")]
MaxTokensOpt = Annotated[
    int | None, typer.Option(help="Token budget per sample (default: the protocol's).")
]
TemperatureOpt = Annotated[
    float | None, typer.Option(help="Default: 0 for one vote, 0.7 for several.")
]
ForceOpt = Annotated[
    bool, typer.Option(help="Append the verdict cue when a sample ends without a verdict.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="openai engine: server URL, e.g. http://127.0.0.1:8000/v1; several, "
        "comma-separated, spread requests over replicas."
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option(min=1, help="openai engine: requests in flight per server URL.")
]
ApiKeyEnvOpt = Annotated[
    str, typer.Option(help="openai engine: environment variable holding the API key.")
]
ParallelOpt = Annotated[
    int,
    typer.Option(min=1, help="llamacpp engine: parallel slots; transformers engine: batch size."),
]
ContextOpt = Annotated[int, typer.Option(help="llamacpp engine: context tokens per slot.")]


def progress_bar() -> Progress:
    """Items done, a note (e.g. the accuracy so far) and the time left, on stderr."""
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, console=err)
