"""The `reasonrm` command: a thin layer over the library, one module per command group.
Importing the package registers every command on `app`, in the order `reasonrm --help`
lists them."""

# isort: off
from reasonrm.cli import judging, ranking, evaluation, models, data  # noqa: F401
from reasonrm.cli import train, distill, train_evaluate, serve  # noqa: F401

# isort: on
from reasonrm.cli.app import app, main

__all__ = ["app", "main"]
