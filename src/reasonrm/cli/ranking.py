"""`reasonrm rank` and `reasonrm best-of-n`: tournaments over a prompt's responses."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from reasonrm.cli import common
from reasonrm.cli.app import app
from reasonrm.cli.common import (
    EngineName,
    SpecOptions,
    err,
    existing_file,
    friendly,
    out,
    spec_options,
)
from reasonrm.jsonl import check_settings
from reasonrm.judge import Judge
from reasonrm.specs import run_settings
from reasonrm.types import Comparison


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

    with common.open_engine(engine_spec) as eng:
        ranker = _ranker(eng, judge_spec, method, rating)
        run = common.run_with_progress(
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
        judge_eng = stack.enter_context(common.open_engine(judge_engine))
        same = policy_spec == judge_engine
        policy_eng = judge_eng if same else stack.enter_context(common.open_engine(policy_spec))
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
