"""The `reasonrm` command: a thin layer over the library."""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from reasonrm.cli_common import (
    EngineName,
    SpecOptions,
    err,
    existing_file,
    friendly,
    open_engine,
    out,
    progress_bar,
    spec_options,
)
from reasonrm.cli_serve import serve
from reasonrm.cli_train import add_top_level_commands, train_app
from reasonrm.errors import InputError
from reasonrm.eval import BENCHMARKS, get_benchmark
from reasonrm.jsonl import check_settings, check_settings_file
from reasonrm.judge import Judge
from reasonrm.specs import run_settings
from reasonrm.types import Comparison, Judgment

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reasoning reward models: judge pairs of responses with an LLM that thinks first.",
)
models_app = typer.Typer(no_args_is_help=True, help="List, download and verify named models.")


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


app.add_typer(models_app, name="models")


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
    with open_engine(engine_spec) as eng:
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

    run = _run_with_progress(
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


def _run_with_progress(what, unit, runner, worker, input, output, *, settings, note):
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
    with open_engine(engine_spec) as eng:
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


class MethodName(StrEnum):
    knockout = "knockout"
    elo = "elo"


class RatingName(StrEnum):
    bt = "bt"
    elo = "elo"


MethodOpt = Annotated[
    MethodName,
    typer.Option(help="knockout: n-1 matches; elo: a round robin over all n(n-1)/2 pairs."),
]
RatingOpt = Annotated[
    RatingName,
    typer.Option(help="elo method: bt (Bradley-Terry fit) or elo (sequential updates)."),
]


@app.command()
@friendly
@spec_options()
def rank(
    input: Annotated[Path, typer.Option(help='JSONL: {"prompt": ..., "responses": [...]}.')],
    output: Annotated[Path, typer.Option(help="JSONL of rankings; rerun to resume.")],
    method: MethodOpt = MethodName.knockout,
    rating: RatingOpt = RatingName.bt,
    *,
    specs: SpecOptions,
) -> None:
    """Rank the responses of each line with a tournament of the judge, best first. Each
    match is judged in one random order unless --orders says otherwise."""
    from reasonrm.runs import rank_file

    existing_file(input)  # before the model loads
    engine_spec = specs.engine()
    judge_spec = specs.judge().resolve_auto(engine_spec.judged_model(), "random")
    settings = run_settings(judge_spec, engine_spec, method=method.value, rating=rating.value)
    check_settings(output, settings)  # before the model loads

    def note(row: dict, run) -> str:
        if row.get("error") is not None:
            err.print(f"[yellow]line {row['line']}:[/] {row['error']}", highlight=False)
        return ""

    with open_engine(engine_spec) as eng:
        ranker = _ranker(eng, judge_spec, method, rating)
        run = _run_with_progress(
            "ranking", "lines", rank_file, ranker, input, output, settings=settings, note=note
        )
    failed = run.malformed + run.failed
    note_ = f"; {failed} lines failed (see 'error')" if failed else ""
    err.print(f"wrote {output}: {run.resumed + run.written} lines{note_}")


def _ranker(engine, judge_spec, method: MethodName, rating: RatingName):
    """The tournament `rank` and `best-of-n` play: the spec's judge, seeded by its seed."""
    from reasonrm.ranking import Ranker

    return Ranker(
        Judge.from_spec(engine, judge_spec), method.value, rating=rating.value, seed=judge_spec.seed
    )


@app.command("best-of-n")
@friendly
@spec_options(
    overrides={
        "model": {"help": "Judge model (default: the default model)."},
        "engine": {"help": "Judge backend (auto: as for the other commands)."},
    }
)
def best_of_n(
    prompt: Annotated[str, typer.Option(help="The user prompt.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Responses to sample.")] = 8,
    policy: Annotated[
        str | None, typer.Option(help="Policy model (default: the judge's, on the same backend).")
    ] = None,
    policy_engine: Annotated[
        EngineName | None, typer.Option(help="Policy backend (default: the judge's).")
    ] = None,
    policy_base_url: Annotated[
        str | None, typer.Option(help="openai policy engine: server URL(s) (default: the judge's).")
    ] = None,
    policy_max_tokens: Annotated[int, typer.Option(min=1, help="Policy token budget.")] = 512,
    policy_temperature: Annotated[float, typer.Option(min=0, help="Policy temperature.")] = 0.8,
    method: MethodOpt = MethodName.knockout,
    rating: RatingOpt = RatingName.bt,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    *,
    specs: SpecOptions,
) -> None:
    """Sample N responses from a policy and keep the one the judge's tournament ranks first.
    One model loads once when the policy and the judge are the same."""
    from contextlib import ExitStack

    from reasonrm.best_of_n import best_of_n as sample_and_rank
    from reasonrm.types import SamplingParams

    Comparison(prompt, "", "")  # check before a model loads
    judge_engine = specs.engine().resolved()
    judge_spec = specs.judge().resolve_auto(judge_engine.judged_model(), "random")
    policy_spec = judge_engine  # by default the policy is the judge's own engine and model
    if policy_engine is not None and policy_engine.value != judge_engine.engine:
        policy_spec = policy_spec.replace(engine=policy_engine.value, model=None, base_url=None)
    policy_spec = policy_spec.replace(
        model=policy if policy is not None else policy_spec.model,
        base_url=policy_base_url if policy_base_url is not None else policy_spec.base_url,
    )
    with ExitStack() as stack:
        judge_eng = stack.enter_context(open_engine(judge_engine))
        same = policy_spec == judge_engine
        policy_eng = judge_eng if same else stack.enter_context(open_engine(policy_spec))
        ranker = _ranker(judge_eng, judge_spec, method, rating)
        params = SamplingParams(
            max_tokens=policy_max_tokens,
            temperature=policy_temperature,
            top_p=0.95,
            seed=judge_spec.seed,
        )
        err.print(f"[dim]sampling {n} responses, then a {method.value} tournament[/]")
        result = sample_and_rank(policy_eng, ranker, prompt, n, params)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    r = result.ranking
    table = Table("rank", "response", "score", "reward", title=f"{n} responses")
    for place, i in enumerate(r.ranking, start=1):
        text = result.responses[i].strip().replace("\n", " ")
        short = text[:70] + ("…" if len(text) > 70 else "")
        table.add_row(str(place), f"[{i}] {short}", f"{r.scores[i]:.1f}", f"{r.rewards[i]:.2f}")
    out.print(table)
    out.print(
        Panel(
            Text(result.best.strip() or "(empty)"),
            title=f"best: response {r.best}",
            title_align="left",
        )
    )
    out.print(
        f"{len(r.matches)} matches, {r.judge_calls} judged, {r.samples} judge samples, "
        f"{r.completion_tokens} judge tokens; policy {result.policy_tokens} tokens",
        highlight=False,
    )


eval_app = typer.Typer(no_args_is_help=True, help="Evaluate a judge on reward-model benchmarks.")
app.add_typer(eval_app, name="eval")
# the benchmarks by command-line name: one registry, reasonrm.eval.BENCHMARKS
BENCHMARK_HELP = " | ".join(BENCHMARKS)


@eval_app.command("run")
@friendly
@spec_options()
def eval_run(
    benchmark: Annotated[str, typer.Argument(help=BENCHMARK_HELP)],
    data: Annotated[str, typer.Option(help="Official file or folder, or a Hugging Face id.")],
    out: Annotated[Path, typer.Option(help="Run folder: results.jsonl and run.json; resumable.")],
    limit: Annotated[int | None, typer.Option(help="Only the first N items.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="A stratified sample of about N items (every subset).")
    ] = None,
    *,
    specs: SpecOptions,
) -> None:
    """Judge a benchmark's items; results stream to OUT/results.jsonl. Orders default to
    what the benchmark's official script does (JudgeBench both, the others one random)."""
    from reasonrm.eval.runner import RESULTS, run, select

    bench = get_benchmark(benchmark)
    engine_spec = specs.engine()
    judge_spec = specs.judge().resolve_auto(engine_spec.judged_model(), bench.default_orders)
    # two passes: check every row and pick the keys before any judging, then stream the items
    keys = select(bench.load(data), limit, sample, judge_spec.seed)
    items = (item for item in bench.load(data) if item.key in keys)
    settings = run_settings(
        judge_spec,
        engine_spec,
        benchmark=benchmark,
        data=data,
        limit=limit,
        sample=sample,
        items=len(keys),
    )
    check_settings_file(out / "run.json", settings)
    scored = {"n": 0, "sum": 0.0}
    with open_engine(engine_spec) as eng:
        judge_ = Judge.from_spec(eng, judge_spec)
        done = _count_lines(out / RESULTS)
        with progress_bar() as progress:
            task = progress.add_task("judging", total=len(keys), completed=done, note="")

            def on_row(row: dict) -> None:
                scored["n"] += 1
                scored["sum"] += row["correct"]
                progress.update(task, advance=1, note=f"accuracy {scored['sum'] / scored['n']:.1%}")

            try:
                path = run(items, judge_, out, bench.make_row, on_row)
            except KeyboardInterrupt:
                err.print(f"interrupted; rerun the same command to resume from {out}")
                raise typer.Exit(130) from None
    _print_score(benchmark, path, None, as_json=False)


def _count_lines(path: Path) -> int:
    return sum(1 for _ in open(path, encoding="utf-8")) if path.exists() else 0


@eval_app.command("score")
@friendly
def eval_score(
    results: Annotated[Path, typer.Argument(help="A results.jsonl (ours or another tool's).")],
    benchmark: Annotated[str, typer.Option(help=BENCHMARK_HELP)],
    invalid: Annotated[
        str | None,
        typer.Option(
            help="half: an invalid verdict scores 0.5 (reward-bench); zero: 0 (RM-R1, and the "
            "strict rule of RM-Bench and RMB). Default: the benchmark's own."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute every score from a results file alone."""
    _print_score(benchmark, results, invalid, as_json)


def _print_score(benchmark: str, results: Path, invalid: str | None, as_json: bool) -> None:
    from reasonrm.eval.results import score_file

    result = score_file(get_benchmark(benchmark), results, invalid)
    if as_json:
        out.print_json(json.dumps(result))
        return
    table = Table("section", "score", title=f"{benchmark}: {results}")
    for name, value in result["sections"].items():
        table.add_row(name, f"{value:.4f}")
    overall = result["overall"]
    table.add_row("[bold]overall[/]", "n/a" if overall is None else f"{overall:.4f}")
    out.print(table)
    lines = [f"{result['items']} items"]
    if "invalid_counts_as" in result:
        names = {"half": "reward-bench's rule", "zero": "RM-R1's and the strict rule"}
        rule = result["invalid_rule"]
        scope = f" in {result['invalid_scope']}" if "invalid_scope" in result else ""
        lines.append(
            f"an invalid verdict counts {result['invalid_counts_as']}{scope} ({names[rule]})"
        )
    out.print("; ".join(lines), highlight=False)
    if "note" in result:
        out.print(f"[yellow]{result['note']}[/]")


@eval_app.command("report")
@friendly
def eval_report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (results.jsonl, run.json).")],
    benchmark: Annotated[
        str | None, typer.Option(help=f"{BENCHMARK_HELP}; default: the one in run.json.")
    ] = None,
    invalid: Annotated[
        str | None, typer.Option(help="half | zero; default: the benchmark's own.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where report.md and the plots go (default DIR).")
    ] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
) -> None:
    """Write report.md and PNG plots: scores with 95% bootstrap intervals, position bias,
    tokens per judgment and the invalid-verdict rate."""
    from reasonrm.eval import report

    name, settings = report.load_run(run_dir, benchmark)
    built = report.build(run_dir, get_benchmark(name), settings, invalid, resamples)
    path = report.write(built, out_dir or run_dir)
    table = Table("score", "value [95% CI]", title=f"{name}: {run_dir}")
    for key, estimate in built.headline.items():
        table.add_row(key, estimate.text())
    out.print(table)
    out.print(f"wrote {path} and {', '.join(built.plots)}", highlight=False)


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


app.add_typer(train_app, name="train")
add_top_level_commands(app)
app.command()(serve)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    sys.exit(main())
