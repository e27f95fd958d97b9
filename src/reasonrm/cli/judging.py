"""`reasonrm judge` and `reasonrm calibrate`: one pair or a file of pairs, and a judge's slot prior."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from reasonrm.cli import common
from reasonrm.cli.app import app
from reasonrm.cli.common import (
    SpecOptions,
    err,
    existing_file,
    friendly,
    out,
    spec_options,
)
from reasonrm.errors import InputError
from reasonrm.jsonl import check_settings
from reasonrm.judge import Judge
from reasonrm.specs import run_settings
from reasonrm.types import Comparison, Judgment


@app.command()
@friendly
@spec_options()
def judge(
    prompt: Annotated[str | None, typer.Option(help="The user prompt.")] = None,
    a: Annotated[str | None, typer.Option("--a", help="First response.")] = None,
    b: Annotated[str | None, typer.Option("--b", help="Second response.")] = None,
    input: Annotated[
        Path | None, typer.Option(help="JSONL of pairs: prompt + a/b or chosen/rejected.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="JSONL of judgments (with --input); resumable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    abstain_below: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=1.0,
            help="With --input and a probability score: write the pairs whose confidence "
            "max(p_a, 1 - p_a) is below this to OUTPUT.abstained.jsonl, for people to label.",
        ),
    ] = None,
    *,
    specs: SpecOptions,
) -> None:
    """Judge which of two responses is better (or every pair in a JSONL file). A pair is
    judged in both orders unless --orders says otherwise."""
    single = prompt is not None or a is not None or b is not None
    if single == (input is not None):
        raise InputError("give either --prompt/--a/--b for one pair, or --input FILE --output FILE")
    if input is not None and output is None:
        raise InputError("--input needs --output (the judgments file; rerun to resume)")
    if input is not None:
        existing_file(input)  # before the model loads
    comparison = None
    if single:
        missing = [n for n, v in (("--prompt", prompt), ("--a", a), ("--b", b)) if v is None]
        if missing:
            raise InputError(f"missing {', '.join(missing)}")
        comparison = Comparison(prompt, a, b)  # validated before the model loads
    engine_spec = specs.engine()
    judge_spec = specs.judge().resolve_auto(engine_spec.judged_model(), "both")
    if abstain_below is not None and (input is None or judge_spec.score == "vote"):
        raise InputError("--abstain-below needs --input and --score prob or calibrated")
    settings = run_settings(judge_spec, engine_spec)
    if output is not None:
        check_settings(output, settings)  # before the model loads
    with common.open_engine(engine_spec) as eng:
        judge_ = Judge.from_spec(eng, judge_spec)
        if comparison is None:
            _judge_file(judge_, input, output, settings)
            if abstain_below is not None:
                _abstain(input, output, abstain_below)
        elif as_json:
            out.print_json(json.dumps(judge_.judge(comparison).to_dict()))
        else:
            _show(judge_.judge(comparison))


def _show(j: Judgment) -> None:
    if j.evidence:
        _show_evidence(j)
    if any(s.rating is not None for s in j.samples):
        _show_ratings(j)
    elif j.samples and j.p_a is not None and all(s.completion_tokens == 1 for s in j.samples):
        _show_readings(j)  # probabilities read right after the prompt: no text to show
    for i, s in enumerate(j.samples, start=1):
        if j.p_a is not None and s.completion_tokens <= 1:
            continue
        shown = "a first" if s.order == "AB" else "b first"
        verdict = s.verdict.winner or f"invalid ({s.verdict.invalid_reason})"
        if s.p_first is not None:  # probability scoring: what the model gave the first slot
            verdict = f"P(first slot) {s.p_first:.3f}"
        title = (
            f"vote {i} · {shown} · {s.completion_tokens} tokens · {s.seconds:.1f}s"
            + (" · verdict forced" if s.forced else "")
            + f" · [bold]{verdict}[/]"
        )
        out.print(Panel(Text(s.text.strip() or "(empty)"), title=title, title_align="left"))
    votes = f"A {j.votes['A']}, B {j.votes['B']}, invalid {j.votes['invalid']}"
    agree = {None: "", True: "; both orders agree", False: "; the two orders disagree"}[
        j.orders_agree
    ]
    winner = {
        "A": "A (response a)",
        "B": "B (response b)",
        None: "none (a tie, or no valid verdict)",
    }
    basis = f"votes {votes}" if j.p_a is None else f"P(a better) {j.p_a:.3f}"
    if j.decided_by:
        basis = f"decided by the {j.decided_by} check; {basis}"
    out.print(
        f"[bold]Winner: {winner[j.winner]}[/]  ({basis}{agree}; "
        f"{j.completion_tokens} tokens, {j.seconds:.1f}s)"
    )


def _show_evidence(j: Judgment) -> None:
    """Verified judging: what each check that applied found, and whether it decided."""
    table = Table("check", "decided", "what it found", "seconds", title="Checks")
    for e in j.evidence:
        decided = {"A": "a", "B": "b", None: "no"}[e.winner]
        table.add_row(e.verifier, decided, escape(e.summary), f"{e.seconds:.1f}")
    out.print(table)


def _show_readings(j: Judgment) -> None:
    """Probability scoring: what the model gave each slot in each order."""
    table = Table(
        "order", "P(first slot)", "P(a better), this order", title="Verdict probabilities"
    )
    for s in j.samples:
        p_a = s.p_first if s.order == "AB" else 1 - s.p_first
        shown = "a first" if s.order == "AB" else "b first"
        table.add_row(shown, f"{s.p_first:.3f}", f"{p_a:.3f}")
    out.print(table)


def _show_ratings(j: Judgment) -> None:
    """Pointwise scoring: each response's rating, read alone."""
    table = Table("response", "rating (1-9)", title="Pointwise ratings")
    for s in j.samples:
        table.add_row("a" if s.order == "AB" else "b", f"{s.rating:.2f}")
    out.print(table)


def _judge_file(judge_: Judge, input: Path, output: Path, settings: dict) -> None:
    from reasonrm.runs import judge_file

    def note(row: dict, run) -> str:
        if row.get("error") is not None and row.get("samples") is None:
            err.print(f"[yellow]skipped[/] {row['error']}", highlight=False)
        return f"accuracy {run.accuracy:.1%}" if run.accuracy is not None else ""

    run = common.run_with_progress(
        "judging", "pairs", judge_file, judge_, input, output, settings=settings, note=note
    )
    summary = f"wrote {output}: {run.resumed + run.written} rows"
    if run.labelled:
        summary += f", accuracy {run.correct}/{run.labelled}"
    if run.malformed or run.failed:
        summary += (
            f"; {run.malformed} malformed rows and {run.failed} failed judgments (see 'error')"
        )
    if run.positions.note():
        summary += f"\nposition: {run.positions.note()}"
    err.print(summary)


def _abstain(input: Path, output: Path, threshold: float) -> None:
    from reasonrm.runs import abstain

    to = output.with_suffix(".abstained.jsonl")
    done = abstain(input, output, threshold, to)
    kept = "" if done.accuracy_kept is None else f"; accuracy on the rest {done.accuracy_kept:.1%}"
    err.print(
        f"abstained on {done.abstained} of {done.judged} pairs below confidence {threshold} "
        f"(coverage {done.coverage:.1%}{kept}): wrote {to}"
    )


@app.command()
@friendly
@spec_options(
    judge=(
        "protocol",
        "reason",
        "votes",
        "seed",
        "max_tokens",
        "temperature",
        "top_p",
        "reference",
        "reference_tokens",
    )
)
def calibrate(
    input: Annotated[Path, typer.Argument(help="JSONL of pairs (labels are not needed).")],
    out_file: Annotated[Path, typer.Option("--out", help="The calibration file to write.")] = Path(
        "calibration.json"
    ),
    *,
    specs: SpecOptions,
) -> None:
    """Measure the judge's slot prior: its mean first-slot log-odds over both orders of the
    pairs in INPUT, for `--score calibrated --calibration FILE`. The readings go to
    OUT.judgments.jsonl, so an interrupted run resumes."""
    from reasonrm.jsonl import iter_jsonl
    from reasonrm.models import DEFAULT_MODEL
    from reasonrm.scoring import sigmoid, slot_prior, write_calibration

    existing_file(input)  # before the model loads
    judge_spec = specs.judge(score="prob", orders="both")
    engine_spec = specs.engine()
    readings = out_file.with_suffix(".judgments.jsonl")
    settings = run_settings(judge_spec, engine_spec)
    check_settings(readings, settings)
    with common.open_engine(engine_spec) as eng:
        _judge_file(Judge.from_spec(eng, judge_spec), input, readings, settings)
    rows = [row for _, row in iter_jsonl(readings) if isinstance(row, dict) and "votes" in row]
    prior, pairs = slot_prior(Judgment.from_dict(row) for row in rows)
    write_calibration(
        out_file,
        model=engine_spec.model or DEFAULT_MODEL,
        protocol=judge_spec.to_dict()["protocol"],
        reason=judge_spec.reason,
        prior=prior,
        pairs=pairs,
        reference=judge_spec.reference,
    )
    out.print(
        f"slot prior {prior:+.3f} (first-slot log-odds; P(first) {sigmoid(prior):.3f} on a "
        f"pair of equals) from {pairs} pairs: wrote {out_file}"
    )
