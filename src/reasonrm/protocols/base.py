"""What every prompt format provides: render a comparison, parse a completion, force a verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod

from reasonrm.errors import ScoringUnsupportedError
from reasonrm.types import Comparison, Message, Verdict

NO_VERDICT = "no verdict"
BOTH_VERDICTS = "both verdicts"
TRUNCATED = "truncated"  # cut off by the token limit before any verdict
UNRECOGNIZED = "unrecognized verdict"


def conversation_lines(messages: list[Message], assistant_name: str) -> list[str]:
    """Prior turns as 'User: …' / '<assistant_name>: …' lines."""
    names = {"user": "User", "system": "System", "assistant": assistant_name}
    return [f"{names[m['role']]}: {m['content']}" for m in messages]


class Protocol(ABC):
    """A prompt format: how a comparison is shown to the judge and how its verdict is read."""

    name: str
    description: str = ""
    #: text appended to a completion cut off before its verdict, so the model states one
    verdict_cue: str
    #: GBNF for what follows the cue, for engines that constrain output (llama.cpp)
    cue_grammar: str | None = None
    #: a sensible generation budget for this format
    default_max_tokens: int = 1024
    #: Probability scoring (score="prob"): where a verdict opens in a completion (a chain is
    #: cut there), the text after which one token names the slot, and the label naming the
    #: first and the second slot. A protocol without labels can only be voted.
    verdict_open: str | None = None
    answer_prefix: str | None = None
    labels: tuple[str, str] | None = None
    #: what closes a verdict after its label (for writing one: `verdict_text`)
    answer_suffix: str | None = None

    @property
    def ref(self) -> str:
        """What finds this protocol again with `get_protocol`: its name (a template: its
        file's path). Records of runs and prepared data keep this."""
        return self.name

    @abstractmethod
    def render(self, c: Comparison) -> list[Message]:
        """The chat messages that ask the judge to compare c.a (first) with c.b (second)."""

    @abstractmethod
    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        """Read the verdict; `truncated` says generation hit its token limit."""

    def verdict_cue_for(self, completion: str) -> str:
        """The cue to append to this particular cut-off completion."""
        return self.verdict_cue

    @property
    def has_verdict_opening(self) -> bool:
        """Whether a verdict opens with fixed text followed by one label: what reading the
        label's probability, and starting a reply at the label (prefill), both need."""
        return None not in (self.labels, self.answer_prefix, self.verdict_open)

    def no_opening_for_prefill(self, option: str) -> str | None:
        """Why `option` (a prefill setting) cannot work with this protocol, or None."""
        if self.has_verdict_opening:
            return None
        return (
            f"{option} starts the reply with the verdict's opening, and protocol "
            f"{self.name!r} declares none (answer_prefix and verdict labels)"
        )

    def score_prefix(self, completion: str | None = None) -> str:
        """The assistant text after which the next token is the verdict label: the answer
        prefix alone (no reasoning), or the judge's own chain up to its verdict (where it
        wrote none, the chain followed by the verdict cue)."""
        if not self.has_verdict_opening:
            raise ScoringUnsupportedError(
                f"protocol {self.name!r} declares no verdict labels, so its verdicts cannot "
                "be read as probabilities: use score='vote'"
            )
        if completion is None:
            return self.answer_prefix
        cut = completion.rfind(self.verdict_open)
        if cut >= 0:
            return completion[:cut] + self.answer_prefix
        cue = self.verdict_cue_for(completion)
        opening = cue.rfind(self.verdict_open)
        lead = cue[:opening] if opening >= 0 else cue
        return completion + lead + self.answer_prefix

    def verdict_text(self, winner: str) -> str:
        """The bare verdict naming slot "A" or "B", as the protocol parses it: the target of
        label-only training (a judge that answers with its verdict alone)."""
        if self.labels is None or self.answer_suffix is None:
            raise ScoringUnsupportedError(f"protocol {self.name!r} declares no verdict labels")
        return self.score_prefix() + self.labels["AB".index(winner)] + self.answer_suffix

    @staticmethod
    def missing_verdict(truncated: bool) -> Verdict:
        """The verdict of a completion that has none: truncated, or finished without one."""
        return Verdict(None, TRUNCATED if truncated else NO_VERDICT)
