"""Pointwise rating: one response judged alone, with no other response and so no position.
The judge is asked for a digit from 1 to 9 and the rating is the digits' mean weighted by
their probabilities at the answer position (`score="pointwise"`). A pair is decided by the
difference of its two ratings; a GRPO trainer can rate one completion at a time
(`Judge.rate`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reasonrm.protocols.rrm import query_text
from reasonrm.types import Comparison, Message

SYSTEM_PROMPT = (
    "You are a strict, impartial grader. You will see a user's query and one AI assistant's "
    "response. Rate how well the response serves the query: instruction fidelity first, then "
    "accuracy, helpfulness, detail and harmlessness; a wrong answer is a poor answer however "
    "well written. Reply with the rating only, a digit from 1 (useless or wrong) to 9 "
    "(excellent)."
)
ANSWER_PREFIX = "Rating: "
LABELS = tuple(str(d) for d in range(1, 10))
LOWEST, HIGHEST = 1, 9


def rating_chat(c: Comparison, response: str) -> list[Message]:
    """The chat that asks for a rating of `response` to c's prompt (c's reference shown
    when it has one), continued at the answer prefix."""
    reference = f"## Reference answer\n\n{c.reference}\n\n" if c.reference is not None else ""
    user = (
        f"## Query\n\n{query_text(c)}\n\n{reference}## Response\n\n{response}\n\n"
        "Rate the response from 1 to 9."
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
        {"role": "assistant", "content": ANSWER_PREFIX},
    ]


@dataclass(frozen=True)
class RatingFormat:
    """How a response is rated alone: the chat (ending with the assistant's answer prefix),
    the prefix, and the labels whose probabilities are read (numbers: the rating is their
    probability-weighted mean). A pointwise template protocol brings its own."""

    chat: Callable[[Comparison, str], list[Message]]
    prefix: str
    labels: tuple[str, ...]


DEFAULT = RatingFormat(rating_chat, ANSWER_PREFIX, LABELS)
