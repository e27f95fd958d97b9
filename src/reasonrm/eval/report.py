"""`reasonrm eval report DIR`: a run's scores with bootstrap confidence intervals, the judge's
position bias, its token spend and its invalid-verdict rate, as report.md plus PNG plots.

Everything is computed from DIR/results.jsonl (and DIR/run.json for the settings), so a report
can be redrawn at any time, also for a run still in progress."""

from __future__ import annotations

import json
import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.eval.base import Benchmark
from reasonrm.eval.estimate import Estimate
from reasonrm.eval.results import read_results, score_rows
from reasonrm.eval.runner import RESULTS, row_judgments
from reasonrm.positions import Positions

Interval = tuple[float, float]


@dataclass
class Behaviour:
    """How the judge behaved, counted over its samples (votes)."""

    samples: int = 0
    positions: Positions = field(default_factory=Positions)  # valid verdicts, first slot, flips
    forced: int = 0
    truncated: int = 0
    errors: int = 0
    tokens: list[int] = field(default_factory=list)  # completion tokens per judgment
    #: verified judging, per check: [pairs it decided, of them right (labelled)]
    decided: dict[str, list[int]] = field(default_factory=dict)
    checked: int = 0  # judgments a check applied to
    scored: list[tuple[float, str]] = field(default_factory=list)  # (p_a, label), prob modes
    invalid_by_subset: dict[str, list[int]] = field(default_factory=dict)  # [invalid, samples]
    by_subset: dict[str, Positions] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return self.positions.verdicts

    @property
    def invalid_rate(self) -> float | None:
        return (self.samples - self.valid) / self.samples if self.samples else None


def behaviour(rows: Sequence[dict[str, Any]]) -> Behaviour:
    b = Behaviour()
    for row in rows:
        invalid = b.invalid_by_subset.setdefault(row["subset"], [0, 0])
        subset = b.by_subset.setdefault(row["subset"], Positions())
        for j in row_judgments(row):
            b.errors += bool(j.get("error"))
            b.positions.add(j)
            subset.add(j)
            if j.get("p_a") is not None and j.get("label") in ("A", "B"):
                b.scored.append((j["p_a"], j["label"]))
            b.checked += bool(j.get("evidence"))
            if j.get("decided_by"):
                tally = b.decided.setdefault(j["decided_by"], [0, 0])
                tally[0] += 1
                tally[1] += j.get("correct") == 1  # True, or the benchmark's 1
            samples = j.get("samples") or []
            checks = sum(e.get("completion_tokens", 0) for e in j.get("evidence") or [])
            if samples or checks:
                b.tokens.append(sum(s["completion_tokens"] for s in samples) + checks)
            for s in samples:
                if s.get("rating") is not None:  # pointwise: a rating, not a verdict
                    continue
                b.samples += 1
                invalid[1] += 1
                b.forced += bool(s.get("forced"))
                b.truncated += s.get("finish_reason") == "length"
                invalid[0] += s["verdict"] is None
    return b


def bootstrap(
    benchmark: Benchmark,
    rows: Sequence[dict[str, Any]],
    invalid: str | None,
    resamples: int,
    seed: int,
    level: float = 0.95,
) -> tuple[dict[str, Estimate], dict[str, Estimate]]:
    """Headline scores and per-subset accuracies with percentile intervals from resampling
    items with replacement within each subset (so every subset keeps its size)."""
    by_subset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_subset[row["subset"]].append(row)
    point = score_rows(benchmark, list(rows), invalid)
    rule = benchmark.invalid_rule(invalid)
    headline_names = [*point["sections"], "overall"]
    draws: dict[str, list[float]] = defaultdict(list)
    subset_draws: dict[str, list[float]] = defaultdict(list)
    rng = random.Random(seed)
    for _ in range(resamples):
        sample = []
        for subset, members in by_subset.items():
            picked = rng.choices(members, k=len(members))
            sample.extend(picked)
            subset_draws[subset].append(
                statistics.fmean(benchmark.row_score(r, rule) for r in picked)
            )
        scored = score_rows(benchmark, sample, invalid)
        for name in headline_names:
            value = scored["overall"] if name == "overall" else scored["sections"].get(name)
            if value is not None:
                draws[name].append(value)

    def interval(values: list[float]) -> Interval | tuple[None, None]:
        if not values:
            return None, None
        values = sorted(values)
        tail = (1 - level) / 2
        return values[int(tail * (len(values) - 1))], values[round((1 - tail) * (len(values) - 1))]

    headline = {}
    for name in headline_names:
        value = point["overall"] if name == "overall" else point["sections"][name]
        headline[name] = Estimate(value, *interval(draws[name]), n=len(rows))
    subsets = {
        s: Estimate(
            statistics.fmean(benchmark.row_score(r, rule) for r in members),
            *interval(subset_draws[s]),
            n=len(members),
        )
        for s, members in sorted(by_subset.items())
    }
    return headline, subsets


@dataclass
class Report:
    benchmark: str
    settings: dict[str, Any]
    scores: dict[str, Any]
    headline: dict[str, Estimate]
    subsets: dict[str, Estimate]
    behaviour: Behaviour
    plots: list[str]


def load_run(run_dir: Path, benchmark: str | None) -> tuple[str, dict[str, Any]]:
    settings_path = run_dir / "run.json"
    try:
        settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    except json.JSONDecodeError as e:
        raise InputError(f"{settings_path}: not valid JSON ({e.msg})") from None
    name = benchmark or settings.get("benchmark")
    if not name:
        raise InputError(f"{run_dir} has no run.json naming the benchmark: give --benchmark")
    if settings.get("benchmark") not in (None, name):
        raise InputError(f"{settings_path} is a {settings['benchmark']} run, not {name}")
    return name, settings


def build(
    run_dir: Path,
    benchmark: Benchmark,
    settings: dict[str, Any],
    invalid: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> Report:
    # a run in progress may be writing its last line: leave that one out
    rows = read_results(run_dir / RESULTS, benchmark.correct_values, skip_unfinished_line=True)
    scores = score_rows(benchmark, rows, invalid)
    headline, subsets = bootstrap(benchmark, rows, invalid, resamples, seed)
    return Report(benchmark.name, settings, scores, headline, subsets, behaviour(rows), [])


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def markdown(report: Report) -> str:
    b = report.behaviour
    tokens = sorted(b.tokens)
    lines = [f"# {report.benchmark} report", ""]
    if report.settings:
        shown = {k: v for k, v in report.settings.items() if v is not None}
        lines += ["| setting | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in shown.items()]
        lines.append("")
    lines += [
        f"{report.scores['items']} items scored."
        + (
            f" An invalid verdict counts {report.scores['invalid_counts_as']}"
            f" (`--invalid {report.scores['invalid_rule']}`)."
            if "invalid_rule" in report.scores
            else ""
        ),
        "",
        "## Scores (95% bootstrap intervals)",
        "",
        "| score | value [95% CI] |",
        "|---|---|",
    ]
    lines += [f"| {name} | {e.text()} |" for name, e in report.headline.items()]
    if "note" in report.scores:
        lines += ["", f"Note: {report.scores['note']}."]
    lines += ["", "![accuracy per subset](accuracy.png)", ""]
    lines += checks_section(b)
    lines += ["## Per subset", ""]
    lines += ["| subset | items | accuracy [95% CI] |", "|---|---|---|"]
    lines += [f"| {s} | {e.n} | {e.text()} |" for s, e in report.subsets.items()]
    lines += [
        "",
        "## Position bias",
        "",
        f"The response shown first won {_percent(b.positions.first_slot_rate)} of {b.valid} valid votes "
        "(an unbiased judge: 50% when each response is shown first equally often).",
    ]
    if b.positions.both_orders:
        lines.append(
            f"Judged in both orders, the two orders agreed on {_percent(b.positions.agreement)} of "
            f"{b.positions.both_orders} comparisons."
        )
    lines += ["", "![position bias](position_bias.png)", ""]
    if b.scored:
        lines += probability_section(b.scored)
    lines += ["## Tokens per judgment", ""]
    if tokens:
        lines.append(
            f"{len(tokens)} judgments: mean {statistics.fmean(tokens):.0f}, median "
            f"{statistics.median(tokens):.0f}, 90th percentile "
            f"{tokens[int(0.9 * (len(tokens) - 1))]}, max {tokens[-1]} completion tokens."
        )
    lines += [
        "",
        "![tokens per judgment](tokens.png)",
        "",
        "## Invalid verdicts",
        "",
        f"{b.samples - b.valid} of {b.samples} votes had no valid verdict "
        f"({_percent(b.invalid_rate)}); {b.forced} verdicts were forced after the reasoning "
        f"stopped without one, {b.truncated} votes hit the token budget, and "
        f"{b.errors} judgments failed with an error.",
        "",
        "![invalid verdicts per subset](invalid.png)",
        "",
    ]
    return "\n".join(lines)


def checks_section(b: Behaviour) -> list[str]:
    """Verified judging: how many judgments a check applied to and decided, and how often
    the decided ones were right."""
    if not b.checked:
        return []
    decided = sum(n for n, _ in b.decided.values())
    lines = [
        "## Checks",
        "",
        f"A check applied to {b.checked} judgments and decided {decided}; the judge's reading "
        "decided the rest.",
        "",
    ]
    if b.decided:
        lines += ["| check | decided | right |", "|---|---|---|"]
        lines += [f"| {name} | {n} | {right} |" for name, (n, right) in sorted(b.decided.items())]
        lines.append("")
    return lines


def probability_section(scored: list[tuple[float, str]]) -> list[str]:
    """How good the judge's probabilities are: Brier score, AUC, a reliability table and
    accuracy when the least sure pairs are left to people (`--abstain-below`)."""
    from reasonrm.confidence import accuracy_above, auc, brier, reliability

    area = auc(scored)
    lines = [
        "## Probabilities",
        "",
        f"{len(scored)} judgments carry p_a, P(a is better). Brier score {brier(scored):.3f} "
        f"(0 is perfect, 0.25 a coin); AUC {'n/a' if area is None else f'{area:.3f}'}.",
        "",
        "| confidence | judgments | mean confidence | accuracy |",
        "|---|---|---|---|",
    ]
    for bin in reliability(scored):
        shown = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(
            f"| {bin.low:.1f}-{bin.high:.1f} | {bin.pairs} | {shown(bin.mean_confidence)} | "
            f"{shown(bin.accuracy)} |"
        )
    lines += [
        "",
        "![reliability](reliability.png)",
        "",
        "Abstaining below a confidence (`reasonrm judge --abstain-below T`):",
        "",
        "| T | coverage | accuracy |",
        "|---|---|---|",
    ]
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        accuracy, coverage = accuracy_above(scored, threshold)
        shown_acc = "n/a" if accuracy is None else f"{accuracy:.3f}"
        lines.append(f"| {threshold:.1f} | {coverage:.1%} | {shown_acc} |")
    return lines + [""]


def write(report: Report, out_dir: Path) -> Path:
    from reasonrm.eval import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    report.plots = plots.draw(report, out_dir)
    path = out_dir / "report.md"
    path.write_text(markdown(report), encoding="utf-8")
    return path
