"""J1's both-order consistency reward: a judge completion earns +1 only when its verdict is
right **and** the completions for the same pair in the other order are right by majority;
otherwise -1 (the format bonus of `RewardRule` still applies on top).

A judge that names a slot is right in one order and wrong in the other, so under this rule
it earns -1 on every completion of the pair: the reward pays for judgments that survive a
swap, not for a lucky slot. The rule needs each pair's two orders in the same batch, which
`reasonrm.training.both_orders` arranges for TRL; `pair` is the column naming the pair
(rows from `reasonrm data prepare` carry it).

`both_order_agreement` gives, per completion, 1.0 when its pair's two orders' majority
verdicts name the same response and 0.0 otherwise; the GRPO trainer logs it as a reward
of weight 0 (`rewards/both_order_agreement/mean` per step), the consistency rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reasonrm.errors import InputError
from reasonrm.rewards.verdict_rule import (
    CORRECT,
    WRONG,
    RewardDetail,
    RewardRule,
    score_completions,
)


def _by_pair_and_label(pairs: Sequence[Any], labels: Sequence[str]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, (pair, label) in enumerate(zip(pairs, labels, strict=True)):
        groups.setdefault((str(pair), label), []).append(i)
    return groups


def _other(label: str) -> str:
    return "B" if label == "A" else "A"


def _missing_order(pair: str, label: str) -> InputError:
    return InputError(
        f"pair {pair!r} has completions with label {label} but none in the other order in "
        "this batch; the consistency reward needs both orders of each pair in one batch "
        "(see reasonrm.training.both_orders), or turn it off (consistency: false)"
    )


def consistent_rewards(
    details: Sequence[RewardDetail], pairs: Sequence[Any], labels: Sequence[str], rule: RewardRule
) -> list[float]:
    """Each completion's reward under the consistency rule, from its per-completion detail."""
    if not len(details) == len(pairs) == len(labels):
        raise InputError(f"{len(details)} completions, {len(pairs)} pairs, {len(labels)} labels")
    groups = _by_pair_and_label(pairs, labels)
    right_by_majority = {
        key: sum(details[i].correct for i in rows) * 2 > len(rows) for key, rows in groups.items()
    }
    rewards = []
    for detail, pair, label in zip(details, pairs, labels, strict=True):
        other = (str(pair), _other(label))
        if other not in right_by_majority:
            raise _missing_order(str(pair), label)
        reward = CORRECT if detail.correct and right_by_majority[other] else WRONG
        if rule.format_weight:
            reward += rule.format_weight if detail.well_formed else -rule.format_weight
        rewards.append(reward)
    return rewards


def _majority_pick(details: Sequence[RewardDetail], rows: list[int]) -> bool | None:
    """True when most valid verdicts named the chosen response, False the other, None tied."""
    valid = [details[i].correct for i in rows if details[i].verdict.valid]
    chosen = sum(valid)
    if chosen * 2 == len(valid):
        return None
    return chosen * 2 > len(valid)


def agreement(
    details: Sequence[RewardDetail], pairs: Sequence[Any], labels: Sequence[str]
) -> list[float]:
    """1.0 per completion whose pair's two orders pick the same response by majority."""
    groups = _by_pair_and_label(pairs, labels)
    picks = {key: _majority_pick(details, rows) for key, rows in groups.items()}
    out = []
    for pair, label in zip(pairs, labels, strict=True):
        mine, other = picks[(str(pair), label)], picks.get((str(pair), _other(label)))
        if (str(pair), _other(label)) not in picks:
            raise _missing_order(str(pair), label)
        out.append(float(mine is not None and mine == other))
    return out


class _PairReward:
    """A TRL reward function over the `label` and `pair` dataset columns: each call scores
    the completions by the rule, then `reduce`s the details per pair."""

    what = "this reward"

    def __init__(self, rule: RewardRule) -> None:
        self.rule = rule
        self.last: list[RewardDetail] = []  # the latest call's per-completion details

    def reduce(self, details: list[RewardDetail], pair: Sequence[Any], label: Sequence[Any]):
        raise NotImplementedError

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        label: Sequence[Any] | None = None,
        pair: Sequence[Any] | None = None,
        **_: Any,
    ) -> list[float]:
        if completions is None or label is None or pair is None:
            raise InputError(
                f"{self.what} needs `completions` and the dataset columns 'label' and 'pair'; "
                "rows from `reasonrm data prepare` have both"
            )
        self.last = score_completions(self.rule, completions, label)
        return self.reduce(self.last, pair, label)


class ConsistentVerdictReward(_PairReward):
    """The verdict reward under the consistency rule."""

    what = "the consistency reward"

    def __init__(self, rule: RewardRule) -> None:
        super().__init__(rule)
        suffix = "_strict" if rule.strict else ""
        self.__name__ = f"consistent_verdict_{rule.protocol.name.replace('-', '_')}{suffix}"

    def reduce(self, details, pair, label):
        return consistent_rewards(details, pair, label, self.rule)


class BothOrderAgreement(_PairReward):
    """Each pair's both-order agreement, to log with weight 0."""

    what = "both-order agreement"
    __name__ = "both_order_agreement"

    def reduce(self, details, pair, label):
        return agreement(details, pair, label)
