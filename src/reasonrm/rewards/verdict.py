"""The verifiable verdict reward (`reasonrm.rewards.verdict_rule`: +1 when a judge
completion's verdict names the labelled slot, -1 otherwise) as reward functions for three RL
trainers: `make_verdict_reward` (TRL `GRPOTrainer(reward_funcs=...)`), `compute_score`
(verl's `custom_reward_function`), `reward_func` (OpenRLHF's `--remote_rm_url file.py`).

`compute_score_batch` is verl's batch form, which applies the both-order consistency rule
when the rows name their pairs.

verl and OpenRLHF load a function by name from a file: point them at this one,
`src/reasonrm/rewards/verdict.py` (installed: `reasonrm/rewards/verdict.py` under
site-packages). OpenRLHF loads it without registering a module, so this file defines no
dataclass (Python 3.11's dataclasses need the module registered); the rule lives in
`verdict_rule`. Since they call it by name, theirs read the rule from keyword arguments
(verl `reward_kwargs`, or `extra_info["protocol"]`) or the environment variables
REASONRM_REWARD_PROTOCOL, REASONRM_REWARD_STRICT (1/0) and REASONRM_REWARD_FORMAT_WEIGHT.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from reasonrm.errors import InputError
from reasonrm.protocols import Protocol
from reasonrm.rewards.completions import response_of
from reasonrm.rewards.verdict_rule import (
    DEFAULT_TAIL,
    RewardDetail,
    RewardRule,
    score_completions,
)


def _rule_from_env(**overrides: Any) -> RewardRule:
    """The rule for trainers that load a function by name (verl, OpenRLHF)."""
    env = os.environ
    settings: dict[str, Any] = {
        "protocol": env.get("REASONRM_REWARD_PROTOCOL", "rrm"),
        "strict": env.get("REASONRM_REWARD_STRICT", "0").lower() in ("1", "true", "yes"),
        "format_weight": float(env.get("REASONRM_REWARD_FORMAT_WEIGHT", "0")),
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return RewardRule.make(**settings)


# --- TRL ------------------------------------------------------------------------------


class VerdictReward:
    """A TRL reward function: `f(prompts=..., completions=..., label=[...], **columns)`.
    Completions are strings or message lists (the last message is the reply); `label`
    is the dataset column holding "A" or "B". `last` keeps the latest call's details."""

    def __init__(self, rule: RewardRule) -> None:
        self.rule = rule
        self.last: list[RewardDetail] = []
        suffix = "_strict" if rule.strict else ""
        self.__name__ = f"verdict_{rule.protocol.name.replace('-', '_')}{suffix}"

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        label: Sequence[Any] | None = None,
        **_: Any,
    ) -> list[float]:
        if completions is None:
            raise InputError("the verdict reward needs `completions`")
        if label is None:
            raise InputError(
                "the verdict reward needs a 'label' dataset column ('A' or 'B'); "
                "rows from `reasonrm data prepare` have one"
            )
        self.last = score_completions(self.rule, completions, label)
        return [d.reward for d in self.last]


def make_verdict_reward(
    protocol: str | Protocol = "rrm",
    strict: bool = False,
    format_weight: float = 0.0,
    tail_chars: int = DEFAULT_TAIL,
    min_reasoning_words: int = 20,
) -> VerdictReward:
    """A TRL reward function for `GRPOTrainer(reward_funcs=[make_verdict_reward("rrm")])`."""
    return VerdictReward(
        RewardRule.make(protocol, strict, format_weight, tail_chars, min_reasoning_words)
    )


verdict_reward = make_verdict_reward()  # the plain rule for RRM: +1 / -1


# --- verl -----------------------------------------------------------------------------


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    **kwargs: Any,
) -> float:
    """verl's custom reward: `custom_reward_function.path=.../reasonrm/rewards/verdict.py`,
    `name=compute_score`. `ground_truth` is "A" or "B". The protocol comes from `extra_info["protocol"]`, else
    `reward_kwargs` (protocol, strict, format_weight), else the environment."""
    extra = extra_info if isinstance(extra_info, dict) else {}
    row = extra.get("index", 0)
    if extra.get("protocol"):
        kwargs = {**kwargs, "protocol": extra["protocol"]}
    return _rule_from_env(**kwargs).score(solution_str, ground_truth, row=row).reward


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None],
    **kwargs: Any,
) -> list[float]:
    """verl's batch reward (`reward_model.reward_manager=batch`, `custom_reward_function.name=
    compute_score_batch`): the whole batch at once, so when every `extra_info` names its
    `pair`, J1's both-order consistency rule applies (`reasonrm.rewards.consistency`); rows
    without one are scored one by one as `compute_score` does."""
    from reasonrm.rewards.consistency import consistent_rewards

    extras = [e if isinstance(e, dict) else {} for e in extra_infos]
    protocols = {e.get("protocol") for e in extras} - {None}
    if len(protocols) > 1:
        raise InputError(f"one batch, one protocol: got {sorted(protocols)}")
    if protocols:
        kwargs = {**kwargs, "protocol": protocols.pop()}
    rule = _rule_from_env(**kwargs)
    details = score_completions(rule, solution_strs, ground_truths)
    pairs = [e.get("pair") for e in extras]
    if all(p is not None for p in pairs):
        return consistent_rewards(details, pairs, list(ground_truths), rule)
    return [d.reward for d in details]


# --- OpenRLHF -------------------------------------------------------------------------


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kw: Any):
    """OpenRLHF's custom reward (`--remote_rm_url .../reasonrm/rewards/verdict.py
    --label_key label`). `queries` are prompt + response; the response is the text after the prompt. Returns
    {"rewards", "scores", "extra_logs"}: rewards as scored here, scores 1/0 (correct or
    not, for OpenRLHF's 0-1 dynamic filtering), extra_logs accuracy and invalid rate per
    sample. Torch tensors when torch imports (what OpenRLHF expects), else float lists.
    OpenRLHF hands the function queries, prompts and labels only, with no pair ids and no
    promise that a pair's two orders share a batch, so the consistency rule is not offered
    here: use TRL (`reasonrm train grpo`) or verl's batch reward for it."""
    if not len(queries) == len(prompts) == len(labels):
        raise InputError(
            f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels differ"
        )
    rule = _rule_from_env(**{k: kw[k] for k in ("protocol", "strict", "format_weight") if k in kw})
    details = [
        rule.score(response_of(q, p, i), lab, row=i)
        for i, (q, p, lab) in enumerate(zip(queries, prompts, labels, strict=True))
    ]
    rewards = [d.reward for d in details]
    scores = [float(d.correct) for d in details]
    invalid = [float(not d.verdict.valid) for d in details]
    return {
        "rewards": _tensor(rewards),
        "scores": _tensor(scores),
        "extra_logs": {"verdict_accuracy": _tensor(scores), "verdict_invalid": _tensor(invalid)},
    }


def _tensor(values: list[float]):
    try:
        import torch
    except ImportError:
        return values
    return torch.tensor(values, dtype=torch.float32)
