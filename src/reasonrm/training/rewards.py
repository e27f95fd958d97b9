"""The verifiable reward of RM-R1 and RRM, with adapters for three RL trainers.

A judge completion earns +1 when the verdict parsed from it names the labelled (better)
slot, -1 otherwise; an invalid verdict (none, both, cut off) earns -1. Parsing is the
protocol's own `parse`, the same as judging, so a verdict that counts in `reasonrm judge`
counts here and nothing else does. Labels are slots: "A" means the response shown first
("Assistant 1" in RRM, Chatbot A in RM-R1), as in the rows `reasonrm data prepare` writes.

Options (`RewardRule`):

- `strict` (RM-R1's rule): besides parsing, the final verdict must lie in the last
  `tail_chars` characters (80, as in RM-R1's reward) and the tail must hold exactly one
  verdict: a tail that also names the other side (two boxes, or `[[A]]` and `[[B]]`)
  earns -1 even though the plain parser reads its last verdict.
- `format_weight` w: adds +w to a well-formed completion and -w to any other, so the
  reward lies in [-1-w, 1+w]. Well-formed: a valid verdict (strict when `strict`) with at
  least `min_reasoning_words` words of reasoning before it (none asked of the `direct`
  protocol, which wants the verdict alone). It rewards thinking before judging, which an
  untrained small model skips; keep w small (0.1-0.2) so correctness dominates.

Adapters: `make_verdict_reward` (TRL `GRPOTrainer(reward_funcs=...)`), `compute_score`
(verl's `custom_reward_function`), `reward_func` (OpenRLHF's `--remote_rm_url file.py`).
verl and OpenRLHF load a function by name, so theirs read the rule from keyword arguments
(verl `reward_kwargs`, or `extra_info["protocol"]`) or the environment variables
REASONRM_REWARD_PROTOCOL, REASONRM_REWARD_STRICT (1/0) and REASONRM_REWARD_FORMAT_WEIGHT.

A missing or unknown label raises InputError naming the row: a silent -1 would train
the judge on noise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.errors import InputError
from reasonrm.group_rewards import text_of
from reasonrm.protocols import Protocol, get_protocol
from reasonrm.protocols.base import BOTH_VERDICTS
from reasonrm.protocols.rrm import RRMProtocol
from reasonrm.protocols.rubrics import RubricsProtocol
from reasonrm.types import Verdict

CORRECT, WRONG = 1.0, -1.0
DEFAULT_TAIL = 80  # RM-R1 checks the last 80 characters of a completion
LABELS = ("A", "B")

# Where verdicts can sit, per protocol family: each candidate is read with the protocol's
# own parse, so these only find places and never decide a verdict themselves.
_BOXES = re.compile(r"\\boxed\s*\{(?:[^{}]|\{[^{}]*\})*\}")
_BRACKETS = re.compile(r"\[\[[^\[\]]*\]\]")


@dataclass(frozen=True)
class RewardDetail:
    """One scored completion: the verdict, whether it counts, and the reward."""

    verdict: Verdict
    correct: bool
    well_formed: bool
    reward: float


@dataclass(frozen=True)
class RewardRule:
    protocol: Protocol
    strict: bool = False
    format_weight: float = 0.0
    tail_chars: int = DEFAULT_TAIL
    min_reasoning_words: int = 20

    @classmethod
    def make(
        cls,
        protocol: str | Protocol = "rrm",
        strict: bool = False,
        format_weight: float = 0.0,
        tail_chars: int = DEFAULT_TAIL,
        min_reasoning_words: int = 20,
    ) -> RewardRule:
        if format_weight < 0:
            raise InputError("format_weight must be >= 0")
        if tail_chars < 1:
            raise InputError("tail_chars must be at least 1")
        return cls(get_protocol(protocol), strict, format_weight, tail_chars, min_reasoning_words)

    def verdict(self, completion: str) -> Verdict:
        """The protocol's verdict, then (strict) the tail rule."""
        verdict = self.protocol.parse(completion)
        if not verdict.valid or not self.strict:
            return verdict
        tail = completion[-self.tail_chars :]
        if self.protocol.parse(tail).winner != verdict.winner:
            return Verdict(None, f"strict: no verdict in the last {self.tail_chars} characters")
        spans = self._verdict_spans(tail)
        if any(winner != verdict.winner for _, winner in spans):
            return Verdict(None, "strict: more than one verdict in the tail")
        return verdict

    def _verdict_spans(self, text: str) -> list[tuple[int, str | None]]:
        """(start, winner) of every verdict-like mark in text; an unknown protocol has none."""
        if isinstance(self.protocol, RRMProtocol):
            found = _BOXES.finditer(text)
        elif isinstance(self.protocol, RubricsProtocol):
            found = _BRACKETS.finditer(text)
        else:
            return []
        spans = []
        for m in found:
            mark = m.group(0)
            # rm-r1 parses only inside <answer>, so wrap a bare [[X]] to read it the same way
            probe = f"<answer>{mark}</answer>" if mark.startswith("[[") else mark
            v = self.protocol.parse(probe)
            if v.valid or v.invalid_reason == BOTH_VERDICTS:
                spans.append((m.start(), v.winner))
        return spans

    def well_formed(self, completion: str, verdict: Verdict) -> bool:
        if not verdict.valid:
            return False
        if self.protocol.name == "direct":
            return True
        spans = self._verdict_spans(completion)
        before = completion[: spans[-1][0]] if spans else completion
        return len(before.split()) >= self.min_reasoning_words

    def score(self, completion: str, label: Any, row: int = 0) -> RewardDetail:
        label = check_label(label, row)
        verdict = self.verdict(completion)
        correct = verdict.winner == label
        reward = CORRECT if correct else WRONG
        formed = False
        if self.format_weight:
            formed = self.well_formed(completion, verdict)
            reward += self.format_weight if formed else -self.format_weight
        return RewardDetail(verdict, correct, formed, reward)


def check_label(label: Any, row: int = 0) -> str:
    if label not in LABELS:
        raise InputError(
            f"row {row}: label must be 'A' or 'B' (the slot of the better response), got {label!r}"
        )
    return label


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
        if len(label) != len(completions):
            raise InputError(f"{len(completions)} completions but {len(label)} labels")
        self.last = [
            self.rule.score(text_of(c), lab, row=i)
            for i, (c, lab) in enumerate(zip(completions, label, strict=True))
        ]
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
    """verl's custom reward: `custom_reward_function.path=.../rewards.py`, `name=compute_score`.
    `ground_truth` is "A" or "B". The protocol comes from `extra_info["protocol"]`, else
    `reward_kwargs` (protocol, strict, format_weight), else the environment."""
    extra = extra_info if isinstance(extra_info, dict) else {}
    row = extra.get("index", 0)
    if extra.get("protocol"):
        kwargs = {**kwargs, "protocol": extra["protocol"]}
    return _rule_from_env(**kwargs).score(solution_str, ground_truth, row=row).reward


# --- OpenRLHF -------------------------------------------------------------------------


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kw: Any):
    """OpenRLHF's custom reward (`--remote_rm_url path/to/rewards.py --label_key label`).
    `queries` are prompt + response; the response is the text after the prompt. Returns
    {"rewards", "scores", "extra_logs"}: rewards as scored here, scores 1/0 (correct or
    not, for OpenRLHF's 0-1 dynamic filtering), extra_logs accuracy and invalid rate per
    sample. Torch tensors when torch imports (what OpenRLHF expects), else float lists."""
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


def response_of(query: str, prompt: str, row: int = 0) -> str:
    """The response inside an OpenRLHF query. The prompt itself asks for
    "\\boxed{Assistant 1} or \\boxed{Assistant 2}", so parsing the whole query would read
    the instruction as a verdict: a query that does not contain its prompt is an error."""
    if query.startswith(prompt):
        return query[len(prompt) :]
    at = query.find(prompt)  # leading pad or BOS text the decoder kept
    if prompt and at >= 0:
        return query[at + len(prompt) :]
    raise InputError(
        f"row {row}: the query does not contain its prompt, so the response cannot be "
        "separated from the judge's instructions"
    )


def _tensor(values: list[float]):
    try:
        import torch
    except ImportError:
        return values
    return torch.tensor(values, dtype=torch.float32)
