"""Held-out verdict accuracy of a judge checkpoint (`reasonrm train evaluate`): did training
teach the model to give the labelled verdict, in the protocol's format?

Each held-out row's `messages` (the judge prompt from `reasonrm data prepare`) is sent as
it is, once, greedy (temperature 0), and the completion's verdict is read by the
protocol's own `parse`. With `score="prob"` the verdict is instead read from the label's probability right after
the prompt (one token; an undertrained student's slot preference then cannot hide what it
has learned): `probabilities` gives each order's accuracy, the same with the run's mean
first-slot log-odds removed (calibrated), and the two orders combined per pair.
Unlike `reasonrm judge`, no verdict is forced: an untrained model
that never writes the verdict format scores as invalid, which is exactly what format
training must fix. Invalid verdicts count as wrong in `accuracy` (as in the training
reward); `accuracy_valid` is the accuracy over valid verdicts only. A student trained with
`target: label` never wrote the verdict's opening (it was in its prompt): `prefill` sends
that opening as the start of the reply, so its greedy vote generates the label alone.

Rows from `data prepare` hold each pair in both orders (`pair`): `both_orders` reports how
often the two verdicts of a pair name the same response (consistency) and how often both
name the chosen one. The per-label breakdown exposes position bias: a model that always answers "A" scores
100% on rows labelled A and 0% on rows labelled B, 50% overall on balanced data;
`predicted` counts its verdicts per slot.

Results stream to a JSONL file, one row per held-out row (keyed by id, so an interrupted
run resumes without judging a row twice; each row records the settings, and resuming
with other settings is refused). A row too long for the model's context is skipped and
counted (and tried again on a rerun). `summarize` recomputes the figures from the rows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonrm.engines.base import Engine
from reasonrm.errors import ContextLengthError, InputError
from reasonrm.protocols import Protocol, get_protocol
from reasonrm.runs import ResumableRun
from reasonrm.scoring import LabelReader, combine, sigmoid
from reasonrm.training.data import LabelledChat
from reasonrm.types import SamplingParams

log = logging.getLogger(__name__)

LABELS = ("A", "B")


async def evaluate_row(
    engine: Engine,
    protocol: Protocol,
    row: LabelledChat,
    max_tokens: int,
    reader: LabelReader | None = None,
    opening: str = "",
) -> dict[str, Any]:
    """One greedy completion of the row's judge prompt and its parsed verdict; with a
    `reader` (score prob), the verdict label's probability read right after the prompt.
    `opening` (prefill) is sent as the start of the reply and read as part of the verdict."""
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0, n=1, seed=0)
    result: dict[str, Any] = {"id": row.id, "label": row.label}
    if row.pair is not None:
        result["pair"] = row.pair
    try:
        if reader is not None:
            return result | await _read_verdict(engine, protocol, row, reader)
        reply = [{"role": "assistant", "content": opening}] if opening else []
        ((s,),) = await engine.agenerate([[*row.messages, *reply]], params)
    except ContextLengthError as e:
        log.warning("row %s is too long for the model: %s", row.id, e)
        return result | {"verdict": None, "correct": None, "error": str(e)}
    verdict = protocol.parse(opening + s.text, truncated=s.finish_reason == "length")
    return result | {
        "verdict": verdict.winner,
        "correct": verdict.winner == row.label,
        "invalid_reason": verdict.invalid_reason,
        "finish_reason": s.finish_reason,
        "completion_tokens": s.completion_tokens,
        "prompt_tokens": s.prompt_tokens,
        "seconds": round(s.seconds, 3),
        "text": s.text,
        "error": None,
    }


async def _read_verdict(
    engine: Engine, protocol: Protocol, row: LabelledChat, reader: LabelReader
) -> dict[str, Any]:
    prefix = reader.cut(protocol.score_prefix(None))
    (next_token,) = await engine.anext_tokens(
        [[*row.messages, {"role": "assistant", "content": prefix}]]
    )
    logodds = reader.first_logodds(next_token)
    verdict = "A" if logodds > 0 else "B"
    return {
        "verdict": verdict,
        "correct": verdict == row.label,
        "first_logodds": round(logodds, 6),
        "p_first": round(sigmoid(logodds), 6),
        "invalid_reason": None,
        "finish_reason": "stop",
        "completion_tokens": 1,
        "prompt_tokens": next_token.prompt_tokens,
        "seconds": round(next_token.seconds, 3),
        "error": None,
    }


def probabilities(judged: list[dict[str, Any]]) -> dict[str, Any] | None:
    """For rows scored by probability: accuracy of each order alone, then with the run's own
    slot prior removed (calibrated), and of the two orders combined per pair (prob)."""
    scored = [r for r in judged if r.get("first_logodds") is not None]
    if not scored:
        return None
    prior = sum(r["first_logodds"] for r in scored) / len(scored)
    calibrated = sum((r["first_logodds"] - prior > 0) == (r["label"] == "A") for r in scored)
    chosen: dict[str, list[float]] = {}  # per pair, each order's log-odds that chosen is better
    for r in scored:
        if r.get("pair") is not None:
            sign = 1 if r["label"] == "A" else -1
            chosen.setdefault(r["pair"], []).append(sign * r["first_logodds"])
    both = [combine(v) for v in chosen.values() if len(v) == 2]
    return {
        "rows": len(scored),
        "slot_prior": round(prior, 4),
        "single_order_accuracy": _rate(sum(bool(r["correct"]) for r in scored), len(scored)),
        "single_order_accuracy_calibrated": _rate(calibrated, len(scored)),
        "pairs": len(both),
        "pair_accuracy": _rate(sum(p > 0.5 for p in both), len(both)),
        "brier": round(sum((1 - p) ** 2 for p in both) / len(both), 4) if both else None,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def both_orders(judged: list[dict[str, Any]]) -> dict[str, Any]:
    """Over pairs judged in both orders: how often the two verdicts name the same response
    (consistency) and how often both name the chosen one (right in both orders)."""
    picks: dict[str, dict[str, bool | None]] = {}
    for r in judged:
        if r.get("pair") is not None:  # verdict == label: the chosen response was named
            named = None if r["verdict"] is None else r["verdict"] == r["label"]
            picks.setdefault(r["pair"], {})[r["label"]] = named
    both = [p for p in picks.values() if len(p) == 2]
    agree = sum(p["A"] is not None and p["A"] == p["B"] for p in both)
    right = sum(p["A"] is True and p["B"] is True for p in both)
    return {
        "pairs": len(both),
        "agree": agree,
        "consistency": _rate(agree, len(both)),
        "right_in_both": right,
        "pair_accuracy": _rate(right, len(both)),
    }


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, valid-verdict rate, the per-label breakdown and tokens of result rows."""
    results = list(results)
    judged = [r for r in results if r.get("error") is None]
    valid = [r for r in judged if r["verdict"] is not None]
    correct = sum(bool(r["correct"]) for r in judged)
    by_label = {}
    for label in LABELS:
        mine = [r for r in judged if r["label"] == label]
        right = sum(bool(r["correct"]) for r in mine)
        by_label[label] = {
            "rows": len(mine),
            "correct": right,
            "valid": sum(r["verdict"] is not None for r in mine),
            "accuracy": _rate(right, len(mine)),
        }
    reasons = Counter(
        (r.get("invalid_reason") or "unknown").split(":")[0] for r in judged if r["verdict"] is None
    )
    completion = sum(r["completion_tokens"] for r in judged)
    return {
        "rows": len(judged),
        "skipped_too_long": len(results) - len(judged),
        "correct": correct,
        "valid": len(valid),
        "invalid": len(judged) - len(valid),
        "accuracy": _rate(correct, len(judged)),
        "valid_rate": _rate(len(valid), len(judged)),
        "accuracy_valid": _rate(correct, len(valid)),
        "by_label": by_label,
        "predicted": {
            "A": sum(r["verdict"] == "A" for r in judged),
            "B": sum(r["verdict"] == "B" for r in judged),
            "invalid": len(judged) - len(valid),
        },
        "first_slot_share": _rate(sum(r["verdict"] == "A" for r in valid), len(valid)),
        "both_orders": both_orders(judged),
        "probabilities": probabilities(judged),
        "invalid_reasons": dict(sorted(reasons.items())),
        "truncated": sum(r.get("finish_reason") == "length" for r in judged),
        "completion_tokens": completion,
        "prompt_tokens": sum(r["prompt_tokens"] for r in judged),
        "mean_completion_tokens": round(completion / len(judged), 1) if judged else None,
        "seconds": round(sum(r["seconds"] for r in judged), 3),
    }


SCORES = ("vote", "prob")


def eval_settings(
    protocol: str | Protocol,
    max_tokens: int | None,
    extra: dict[str, Any] | None = None,
    score: str = "vote",
    prefill: bool = False,
) -> dict[str, Any]:
    """What a results file records and a resumed run must match."""
    proto = get_protocol(protocol)
    if prefill:
        if score != "vote":
            raise InputError("--prefill is for score vote (prob already reads after the opening)")
        problem = proto.no_opening_for_prefill("--prefill")
        if problem:
            raise InputError(problem)
    budget = max_tokens or proto.default_max_tokens
    if budget < 1:
        raise InputError("--max-tokens must be at least 1")
    if score not in SCORES:
        raise InputError(
            f"train evaluate scores by 'vote' (one greedy verdict) or 'prob' (the verdict's "
            f"probability, both orders combined per pair; calibrated figures come with it), "
            f"not {score!r}"
        )
    settings = {"protocol": proto.ref, "max_tokens": budget, "score": score, "prefill": prefill}
    return settings | (extra or {})


@dataclass
class EvalResult:
    summary: dict[str, Any]
    results: Path
    judged: int  # rows judged by this run


def evaluate(
    engine: Engine,
    rows: list[LabelledChat],
    out: str | Path,
    protocol: str | Protocol = "rrm",
    *,
    max_tokens: int | None = None,
    score: str = "vote",
    settings: dict[str, Any] | None = None,
    concurrency: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    prefill: bool = False,
) -> EvalResult:
    """Judge each row once, greedy, without verdict forcing; results go to `out` (JSONL,
    resumable). The summary covers `rows` (a later run with fewer rows reports on those).
    With `prefill` (score vote) the reply starts with the verdict's opening
    (`\\boxed{Assistant`), as a student trained with `target: label` saw it: only the label
    is generated.

    on_start(rows, rows already done); on_result(result row) as each is written."""
    proto = get_protocol(protocol)
    settings = eval_settings(proto, max_tokens, settings, score, prefill)
    budget = settings["max_tokens"]
    reader = LabelReader.for_engine(proto, engine.tokenize) if score == "prob" else None
    opening = LabelReader.opening(proto, engine.tokenize) if prefill else ""
    path = Path(out)
    # a row that failed (too long for the context) is tried again on a rerun
    run = ResumableRun(
        path, key="id", settings=settings, retry=lambda r: r.get("error") is not None
    )
    if on_start:
        on_start(len(rows), sum(r.id in run.done for r in rows))

    work = lambda r: evaluate_row(engine, proto, r, budget, reader, opening)  # noqa: E731
    with run:
        in_flight = concurrency or max(16, 2 * engine.capacity)
        run.map(rows, work, key_of=lambda r: r.id, concurrency=in_flight, on_row=on_result)
    summary = summarize(run.rows[r.id] for r in rows if r.id in run.rows)
    return EvalResult(summary, path, run.written)
