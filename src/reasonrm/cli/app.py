"""The `reasonrm` application and its entry point; the commands register themselves on it from the other modules of this package."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from reasonrm.cli.common import (
    out,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reasoning reward models: judge pairs of responses with an LLM that thinks first.",
)


def _version(asked: bool) -> None:
    if asked:
        from reasonrm import __version__

        out.print(f"reasonrm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Reasoning reward models: judge pairs of responses with an LLM that thinks first."""


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
