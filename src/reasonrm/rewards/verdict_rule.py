"""The verifiable reward of RM-R1 and RRM: the rule that scores one judge completion.

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

A missing or unknown label raises InputError naming the row: a silent -1 would train
the judge on noise. The trainers' adapters are in `reasonrm.rewards.verdict`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.errors import InputError
from reasonrm.protocols import Protocol, get_protocol
from reasonrm.protocols.base import BOTH_VERDICTS
from reasonrm.protocols.rrm import RRMProtocol
from reasonrm.protocols.rubrics import RubricsProtocol
from reasonrm.rewards.completions import text_of
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


def score_completions(
    rule: RewardRule, completions: Sequence[Any], labels: Sequence[Any]
) -> list[RewardDetail]:
    """Each completion (a string or TRL's message list) scored against its label."""
    if len(labels) != len(completions):
        raise InputError(f"{len(completions)} completions but {len(labels)} labels")
    return [
        rule.score(text_of(c), lab, row=i)
        for i, (c, lab) in enumerate(zip(completions, labels, strict=True))
    ]


def check_label(label: Any, row: int = 0) -> str:
    if label not in LABELS:
        raise InputError(
            f"row {row}: label must be 'A' or 'B' (the slot of the better response), got {label!r}"
        )
    return label
