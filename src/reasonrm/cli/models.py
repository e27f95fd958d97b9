"""`reasonrm models ...` and `reasonrm protocols`: the named models and the prompt formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reasonrm.cli.app import app
from reasonrm.cli.common import (
    err,
    friendly,
    out,
)
from reasonrm.errors import InputError

models_app = typer.Typer(no_args_is_help=True, help="List, download and verify named models.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """Named models and whether they are downloaded."""
    from reasonrm import models

    table = Table("name", "model", "size", "downloaded", "path")
    for spec in models.REGISTRY.values():
        path = models.model_path(spec.name)
        state = (
            "verified"
            if models.is_verified(spec.name)
            else ("unverified" if path.exists() else "no")
        )
        table.add_row(spec.name, spec.description, f"{spec.size / 1e6:,.0f} MB", state, str(path))
    out.print(table)


@models_app.command("pull")
@friendly
def models_pull(name: str) -> None:
    """Download, assemble and sha256-verify a named model."""
    from reasonrm import models

    path = models.pull(name, progress=lambda msg: err.print(msg, highlight=False))
    out.print(f"{name}: {path}")


@models_app.command("verify")
@friendly
def models_verify(name: str) -> None:
    """Recompute a downloaded model's sha256 against the registry."""
    from reasonrm import models

    path = models.verify(name)
    out.print(f"{name}: sha256 OK ({path})")


@models_app.command("export")
@friendly
def models_export(
    model: Annotated[str, typer.Argument(help="Registry name or .gguf file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the checkpoint.")],
) -> None:
    """Dequantize a GGUF model into a Hugging Face checkpoint folder (what training starts
    from and `--engine transformers` loads, in bfloat16 where the CPU has it)."""
    from reasonrm.training.checkpoints import load_trainable

    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir} is not empty: give a new folder")
    net, tokenizer = load_trainable(model)
    net.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    out.print(f"{model}: {out_dir}")


@models_app.command("to-gguf")
@friendly
def models_to_gguf(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint folder saved by training.")],
    out_file: Annotated[Path, typer.Option("--out", help="The .gguf file to write.")],
    base: Annotated[
        str | None,
        typer.Option(help="Registry name or .gguf with the same tokenizer [default: the run's]."),
    ] = None,
    tensor_type: Annotated[
        str, typer.Option("--type", help="f16, q8_0 (smaller, faster on a CPU) or f32.")
    ] = "f16",
) -> None:
    """Write a trained llama checkpoint (SmolLM2) as one GGUF file: `reasonrm judge --model
    FILE.gguf` then serves it with the embedded llama.cpp engine."""
    from reasonrm.training.gguf_export import export_gguf

    path = export_gguf(checkpoint, out_file, base=base, tensor_type=tensor_type)
    out.print(f"{checkpoint}: {path} ({path.stat().st_size / 1e6:,.0f} MB)")


@app.command()
def protocols() -> None:
    """The prompt formats a judge can use."""
    from reasonrm.protocols import PROTOCOLS

    for name in PROTOCOLS:
        out.print(f"[bold]{name}[/]: {PROTOCOLS.get(name).description}", highlight=False)
    out.print(
        "or a template file (--protocol judge.yaml): any judge's own prompt; see "
        "docs/judging.md#your-own-template-a-published-judges-exact-prompt",
        highlight=False,
    )
