"""Verdicts read as probabilities instead of sampled: where the label token sits for a model's
tokenizer, P(first slot) from the next-token distribution, the two orders combined into p_a,
and the judge's slot prior stored per model and protocol (`reasonrm calibrate`)."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonrm.errors import CalibrationError, LabelTokenError
from reasonrm.protocols import Protocol
from reasonrm.types import Judgment, NextToken

#: probabilities are kept inside (EPS, 1 - EPS) so that every log-odds is finite
EPS = 1e-6


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass(frozen=True)
class LabelReader:
    """How labels (a protocol's two verdicts, or a rating's digits) are read from one model's
    next-token distribution after `prefix`.

    `moved` is the end of the prefix that this tokenizer writes together with the label (a
    space, for tokenizers that have " 1" as one token): it is cut from the prefix sent, so
    that the next token is the label itself.
    """

    labels: tuple[str, ...]
    prefix: str
    moved: str = ""

    @classmethod
    def for_engine(
        cls, protocol: Protocol, tokenize: Callable[[str], list[int] | None]
    ) -> LabelReader:
        """A protocol's verdict labels after its answer prefix, checked at start-up."""
        prefix = protocol.score_prefix(None)
        assert protocol.labels is not None  # score_prefix refuses protocols without labels
        return cls.checked(prefix, protocol.labels, tokenize, f"protocol {protocol.name!r}")

    @classmethod
    def checked(
        cls, prefix: str, labels: tuple[str, ...], tokenize: Callable[[str], Any], what: str
    ) -> LabelReader:
        """Check that each label is one token after the prefix, moving the prefix's trailing
        space to the labels where the tokenizer wants it there. Engines that cannot tokenize
        (remote servers) get the split as declared."""
        declared = cls(labels, prefix)
        if tokenize(prefix) is None:
            return declared
        tail = prefix[len(prefix.rstrip()) :]
        candidates = [declared] + ([cls(labels, prefix, tail)] if tail else [])
        for reader in candidates:
            if reader._one_token_each(tokenize):
                return reader
        raise LabelTokenError(
            f"{what}: the labels {labels} are not one token each after {prefix!r} for this "
            "model's tokenizer, so their probabilities cannot be read from one next token: "
            "use score='vote'"
        )

    def _one_token_each(self, tokenize: Callable[[str], Any]) -> bool:
        base = self.cut(self.prefix)
        before = tokenize(base)
        for label in self.labels:
            after = tokenize(base + self.moved + label)
            if len(after) != len(before) + 1 or after[: len(before)] != before:
                return False
        return True

    def cut(self, prefix: str) -> str:
        """The assistant text to send: `prefix` without what goes with the label."""
        return prefix[: len(prefix) - len(self.moved)] if self.moved else prefix

    @classmethod
    def opening(cls, protocol: Protocol, tokenize: Callable[[str], Any]) -> str:
        """The verdict's opening to send before a generated label (a prefilled vote, a
        label-trained student's rollouts): cut where the label's token starts, as `prob`
        reads it and as training on the whole text saw it; the whole prefix when the labels
        are not one token each (a vote needs no single token)."""
        prefix = protocol.score_prefix(None)  # refuses a protocol without a fixed opening
        try:
            return cls.for_engine(protocol, tokenize).cut(prefix)
        except LabelTokenError:
            return prefix

    def label_logprobs(self, next_token: NextToken) -> list[float]:
        """Each label's log-probability at the position read. A label missing from the top
        tokens gets the lowest listed log-probability (an upper bound)."""
        mass: dict[str, list[float]] = {label: [] for label in self.labels}
        for token, logprob in next_token.logprobs.items():
            key = token.strip()
            if key in mass:
                mass[key].append(logprob)
        if not any(mass.values()):
            raise LabelTokenError(
                f"none of the labels {self.labels} is among the model's "
                f"{len(next_token.logprobs)} likeliest next tokens after {self.prefix!r}: it "
                "does not answer in the expected format here"
            )
        floor = min(next_token.logprobs.values())
        return [_logsumexp(mass[label]) if mass[label] else floor for label in self.labels]

    def first_logodds(self, next_token: NextToken) -> float:
        """log P(first label) − log P(second label): a pairwise verdict's log-odds."""
        first, second = self.label_logprobs(next_token)[:2]
        return first - second

    def expected_value(self, next_token: NextToken) -> float:
        """The mean of numeric labels (a rating's digits), weighted by their probabilities
        renormalized over the labels."""
        logprobs = self.label_logprobs(next_token)
        top = max(logprobs)
        weights = [math.exp(lp - top) for lp in logprobs]
        return sum(float(label) * w for label, w in zip(self.labels, weights, strict=True)) / sum(
            weights
        )


def combine(logodds_for_a: Iterable[float]) -> float:
    """p_a from each reading's log-odds that a is better: their mean in logit space, so a
    constant preference for one slot cancels between the two orders."""
    values = list(logodds_for_a)
    return sigmoid(sum(values) / len(values))


def slot_prior(judgments: Iterable[Judgment]) -> tuple[float, int]:
    """The judge's first-slot log-odds, averaged over both orders of every pair judged in
    both (labels are not needed): what `calibrated` scoring removes. Returns it and the
    number of pairs it came from."""
    per_pair = []
    for j in judgments:
        orders = {s.order for s in j.samples if s.p_first is not None}
        if j.error is None and orders == {"AB", "BA"}:
            values = [logit(s.p_first) for s in j.samples if s.p_first is not None]
            per_pair.append(sum(values) / len(values))
    if not per_pair:
        raise CalibrationError(
            "no pair was scored in both orders with probabilities: calibrate with "
            "score='prob' and orders='both'"
        )
    return sum(per_pair) / len(per_pair), len(per_pair)


def write_calibration(
    path: str | Path,
    *,
    model: str,
    protocol: str,
    reason: bool,
    prior: float,
    pairs: int,
    reference: str = "none",
) -> None:
    record = {
        "model": model,
        "protocol": protocol,
        "reason": reason,
        "reference": reference,
        "slot_prior": prior,
        "pairs": pairs,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    Path(path).write_text(json.dumps(record, indent=2) + "\n")


def read_calibration(
    path: str | Path, *, model: str, protocol: str, reason: bool, reference: str = "none"
) -> float:
    """The slot prior stored in `path`, refused when it was measured for another model,
    protocol or reading (with or without reasoning, with or without the judge's own
    reference: a prompt that shows one has another slot preference)."""
    try:
        record = json.loads(Path(path).read_text())
        stored = {k: record[k] for k in ("model", "protocol", "reason", "slot_prior")}
        stored["reference"] = record.get("reference", "none")  # files from before it was kept
    except FileNotFoundError:
        raise CalibrationError(
            f"no calibration file at {path}: write one with `reasonrm calibrate`"
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CalibrationError(
            f"{path} is not a calibration file from `reasonrm calibrate` (it needs model, "
            "protocol, reason and slot_prior)"
        ) from None
    wanted = {"model": model, "protocol": protocol, "reason": reason, "reference": reference}
    other = [f"{k} {stored[k]!r}, not {v!r}" for k, v in wanted.items() if stored[k] != v]
    if other:
        raise CalibrationError(f"{path} was measured for another judge: {'; '.join(other)}")
    if not isinstance(stored["slot_prior"], int | float) or not math.isfinite(stored["slot_prior"]):
        raise CalibrationError(f"{path}: slot_prior must be a finite number")
    return float(stored["slot_prior"])
