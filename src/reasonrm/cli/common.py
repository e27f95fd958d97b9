"""What the command modules share: consoles, the error decorator, the progress bar, and the
judge and engine options made from the specs' fields (`spec_options`)."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from reasonrm.errors import InputError, ReasonRMError
from reasonrm.specs import ENGINE_CHOICES, EngineSpec, JudgeSpec

out = Console()
err = Console(stderr=True)


# best-of-n's --policy-engine: the engines by name, without "auto"
EngineName = StrEnum("EngineName", {name: name for name in ENGINE_CHOICES if name != "auto"})


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


def existing_file(path: Path) -> Path:
    """`path`, checked to be a readable file before any model loads."""
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    return path


def open_engine(spec: EngineSpec):
    """The engine a spec names; download messages go to stderr."""
    from reasonrm.engines import load_engine

    say = lambda msg: err.print(f"[dim]{msg}[/]", highlight=False)  # noqa: E731
    return load_engine(spec, progress=say)


# ---- the judge and engine options, declared once (as JudgeSpec and EngineSpec fields) ----

_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}
_PREFIX = "spec_"  # parameter names of spec options, so they never clash with a command's own


@dataclass(frozen=True)
class SpecOptions:
    """What the command line gave for the spec fields (None where it gave nothing and the
    command declared no default); `judge()` and `engine()` build the specs, taking `fill`
    values for fields left None."""

    values: dict[str, Any]
    calibration: Path | None = None  # --calibration: where slot_prior comes from

    def judge(self, **fill: Any) -> JudgeSpec:
        picked = self._pick(JudgeSpec, fill)
        if self.calibration is not None:
            picked["slot_prior"] = self._stored_prior(picked, fill)
        return JudgeSpec(**picked)

    def _stored_prior(self, picked: dict[str, Any], fill: dict[str, Any]) -> float:
        """The slot prior in the --calibration file, refused if it was measured for another
        model, protocol, reading or reference setting."""
        from reasonrm.models import DEFAULT_MODEL
        from reasonrm.scoring import read_calibration

        if picked.get("slot_prior") is not None:
            raise InputError("give --calibration or --slot-prior, not both")
        defaults = JudgeSpec()
        return read_calibration(
            self.calibration,
            model=self.values.get("model") or fill.get("model") or DEFAULT_MODEL,
            protocol=picked.get("protocol") or defaults.protocol,
            reason=bool(picked.get("reason", defaults.reason)),
            reference=picked.get("reference") or defaults.reference,
        )

    def engine(self, **fill: Any) -> EngineSpec:
        return EngineSpec(**self._pick(EngineSpec, fill))

    def _pick(self, cls, fill: dict[str, Any]) -> dict[str, Any]:
        picked = {}
        for f in fields(cls):
            value = self.values.get(f.name)
            if value is None and f.name in fill:
                value = fill[f.name]
            if f.name in self.values or f.name in fill:
                picked[f.name] = value
        return picked


def _option_parameter(f, override: dict[str, Any]) -> inspect.Parameter:
    meta = f.metadata
    default = override.get("default", f.default)
    help_text = override.get("help", meta["help"])
    flag = override.get("flag", "--" + f.name.replace("_", "-"))
    if choices := override.get("choices", meta.get("choices")):
        kind: Any = StrEnum(f"{f.name.title()}Choice", {c: c for c in choices})
        default = None if default is None else kind(default)
    else:
        kind = _TYPES[f.type.split(" | ")[0]]
    optional = default is None or "None" in f.type
    decls = (f"{flag}/--no-{flag[2:]}",) if kind is bool else (flag,)
    bounds = {} if meta.get("min") is None else {"min": meta["min"]}
    annotation = Annotated[
        kind | None if optional else kind, typer.Option(*decls, help=help_text, **bounds)
    ]
    return inspect.Parameter(
        _PREFIX + f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


_CALIBRATION = inspect.Parameter(
    _PREFIX + "calibration",
    inspect.Parameter.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            help="calibrated: the slot prior measured by `reasonrm calibrate` for this model "
            "and protocol.",
        ),
    ],
)


def spec_options(
    judge: bool | tuple[str, ...] = True,
    engine: bool | tuple[str, ...] = True,
    overrides: dict[str, dict[str, Any]] | None = None,
):
    """Give a command the JudgeSpec and EngineSpec fields as options (all, or the named
    ones) and pass it `specs: SpecOptions`. `overrides` changes a field's default, help,
    flag or choices for this command (e.g. {"model": {"flag": "--teacher"}})."""
    overrides = overrides or {}
    chosen = [
        f
        for cls, which in ((JudgeSpec, judge), (EngineSpec, engine))
        if which
        for f in fields(cls)
        if which is True or f.name in which
    ]

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "specs"]
        added = [_option_parameter(f, overrides.get(f.name, {})) for f in chosen]

        if any(f.name == "slot_prior" for f in chosen):
            added.append(_CALIBRATION)

        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            values = {}
            for f in chosen:
                value = kwargs.pop(_PREFIX + f.name)
                values[f.name] = value.value if isinstance(value, StrEnum) else value
            calibration = kwargs.pop(_CALIBRATION.name, None)
            return command(*args, specs=SpecOptions(values, calibration), **kwargs)

        params = own + added
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate


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


def run_with_progress(what, unit, runner, worker, input, output, *, settings, note):
    """Run judge_file or rank_file with a progress bar; Ctrl-C keeps what is written."""
    with progress_bar() as progress:
        task = progress.add_task(what, total=None, note="")

        def on_start(run) -> None:
            if run.resumed:
                err.print(f"resuming: {run.resumed} of {run.rows} {unit} already in {output}")
            progress.update(task, total=run.rows, completed=run.resumed)

        def on_row(row: dict, run) -> None:
            progress.update(task, advance=1, note=note(row, run))

        try:
            return runner(
                worker, input, output, settings=settings, on_start=on_start, on_row=on_row
            )
        except KeyboardInterrupt:
            progress.stop()
            err.print(f"interrupted: rows done are in {output}; rerun the same command to resume")
            raise typer.Exit(130) from None
