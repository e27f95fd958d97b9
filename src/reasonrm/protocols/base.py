"""What every prompt format provides: render a comparison, parse a completion, force a verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod

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

    @abstractmethod
    def render(self, c: Comparison) -> list[Message]:
        """The chat messages that ask the judge to compare c.a (first) with c.b (second)."""

    @abstractmethod
    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        """Read the verdict; `truncated` says generation hit its token limit."""

    def verdict_cue_for(self, completion: str) -> str:
        """The cue to append to this particular cut-off completion."""
        return self.verdict_cue

    @staticmethod
    def missing_verdict(truncated: bool) -> Verdict:
        """The verdict of a completion that has none: truncated, or finished without one."""
        return Verdict(None, TRUNCATED if truncated else NO_VERDICT)
