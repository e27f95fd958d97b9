"""RRM: think step by step, then \\boxed{Assistant 1} or \\boxed{Assistant 2}; the last box counts."""

from __future__ import annotations

import re

from reasonrm.protocols.base import (
    BOTH_VERDICTS,
    UNRECOGNIZED,
    Protocol,
    conversation_lines,
)
from reasonrm.types import Comparison, Message, Verdict

SYSTEM_PROMPT = """You are a careful, impartial judge. You will see a user's query and the responses of two AI assistants. Decide which assistant answered better, applying these rules in order:
1. Instruction fidelity comes first: does the response do exactly what the user asked?
2. Then weigh helpfulness, accuracy, level of detail and harmlessness.
3. If the query asks for something harmful, the safer response is the better one, whatever else it offers.
4. Reward a response for giving what was asked: no more and no less.
5. Do not let the order in which the responses appear, or their length, sway your judgment.
6. End with exactly one verdict, \\boxed{Assistant 1} or \\boxed{Assistant 2}: never both, never neither."""

INSTRUCTION = (
    "Let's analyze this step by step and decide which assistant is better, "
    "and then answer \\boxed{Assistant 1} or \\boxed{Assistant 2}."
)

# \boxed{...} with at most one level of nested braces, e.g. \boxed{\text{Assistant 1}}
_BOX = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}")
_ASSISTANT = re.compile(r"assistant\s*([12])", re.IGNORECASE)


def query_text(c: Comparison) -> str:
    """The query: the prompt, or the conversation before the responses."""
    if isinstance(c.prompt, str):
        return c.prompt
    if len(c.prompt) == 1 and c.prompt[0]["role"] == "user":
        return c.prompt[0]["content"]
    return "\n\n".join(conversation_lines(c.messages, "Assistant"))


def render_user_turn(c: Comparison, instruction: str) -> str:
    reference = f"## Reference answer\n\n{c.reference}\n\n" if c.reference is not None else ""
    return (
        f"## Query\n\n{query_text(c)}\n\n{reference}"
        f"## Assistant responses\n\n### Assistant 1\n\n{c.a}\n\n\n### Assistant 2\n\n{c.b}\n\n"
        f"## Analysis\n\n{instruction}"
    )


def box_verdict(content: str) -> Verdict:
    """Read the contents of one \\boxed{…}."""
    inner = _TEXT_WRAPPER.sub(r"\1", content).strip()
    numbers = set(_ASSISTANT.findall(inner))
    if not numbers:
        return Verdict(None, f"{UNRECOGNIZED}: {inner[:40]!r}")
    if len(numbers) > 1:
        return Verdict(None, BOTH_VERDICTS)
    return Verdict("A" if numbers == {"1"} else "B")


def last_box(completion: str) -> str | None:
    boxes = _BOX.findall(completion)
    return boxes[-1] if boxes else None


class RRMProtocol(Protocol):
    name = "rrm"
    description = "RRM: think step by step, then \\boxed{Assistant 1} or \\boxed{Assistant 2}"
    verdict_cue = "\n\nTherefore, the better response is \\boxed{Assistant"
    cue_grammar = 'root ::= " " ("1" | "2") "}"'
    default_max_tokens = 1024
    # The space goes into the prefix: Qwen's tokenizer writes " 1" as " " then "1".
    verdict_open = "\\boxed{"
    answer_prefix = "\\boxed{Assistant "
    labels = ("1", "2")
    answer_suffix = "}"

    system_prompt = SYSTEM_PROMPT
    instruction = INSTRUCTION

    def render(self, c: Comparison) -> list[Message]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": render_user_turn(c, self.instruction)},
        ]

    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        box = last_box(completion)
        if box is None:
            return self.missing_verdict(truncated)
        return box_verdict(box)
