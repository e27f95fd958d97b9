"""RM-R1's Chain-of-Rubrics: classify the task, write rubrics or solve it, evaluate, then
<answer>[[A]]</answer> or <answer>[[B]]</answer>. Two variants: instruct models with a system
prompt, and R1-style distilled models with no system prompt that think in <think>…</think>."""

from __future__ import annotations

import re

from reasonrm.protocols.base import BOTH_VERDICTS, UNRECOGNIZED, Protocol, conversation_lines
from reasonrm.types import Comparison, Message, Verdict

SYSTEM_PROMPT = """You are an impartial judge comparing two chatbot responses, from Chatbot A and Chatbot B, to a client's question.

First decide what kind of task it is and write <type>Chat</type> or <type>Reasoning</type>. A Reasoning task has an answer that can be checked (mathematics, code, logic); anything else is Chat.

For a Chat task:
- Inside <rubric>…</rubric>, list the criteria that matter for this question, each with a weight (the weights sum to 100%), and explain inside <justify>…</justify> why you chose those criteria and weights.
- Inside <eval>…</eval>, compare the two responses criterion by criterion. Ground every claim in the text: quote with <quote_A>…</quote_A> or <quote_B>…</quote_B>, or paraphrase with <summary_A>…</summary_A> or <summary_B>…</summary_B>.

For a Reasoning task:
- Inside <solution>…</solution>, solve the problem yourself first.
- Inside <eval>…</eval>, check each response against your solution, quoting or paraphrasing as above.

Judge the content only: ignore the order of the responses, their length and the chatbots' names. Finish with your verdict naming exactly one chatbot: <answer>[[A]]</answer> or <answer>[[B]]</answer>."""

DISTILLED_INSTRUCTION = """Please act as an impartial judge and decide which of the two chatbot responses below better answers the client. Think it through inside <think>…</think> first: work out what the client needs (solve the problem yourself if it has a checkable answer), then weigh both responses against that, ignoring their order, length and names. After thinking, give your verdict naming exactly one chatbot: <answer>[[A]]</answer> if Chatbot A is better, or <answer>[[B]]</answer> if Chatbot B is better."""

# The text between an <answer> and its </answer> with no other <answer> inside: a cut-off
# "<answer>[[B]]" followed by a forced "<answer>[[A]]</answer>" reads as A, not as both.
_ANSWER = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.DOTALL | re.IGNORECASE)


def render_pair(c: Comparison) -> str:
    """The question and both responses in RM-R1's layout (single- or multi-turn), after a
    reference answer when the comparison has one."""
    if c.reference is None:
        return _render_responses(c)
    return f"[Reference Answer]\n{c.reference}\n\n{_render_responses(c)}"


def _render_responses(c: Comparison) -> str:
    if isinstance(c.prompt, str) or (len(c.prompt) == 1 and c.prompt[0]["role"] == "user"):
        question = c.prompt if isinstance(c.prompt, str) else c.prompt[0]["content"]
        return (
            f"[Client Question]\n{question}\n\n"
            f"[The Start of Chatbot A's Response]\n{c.a}\n[The End of Chatbot A's Response]\n\n"
            f"[The Start of Chatbot B's Response]\n{c.b}\n[The End of Chatbot B's Response]"
        )
    blocks = []
    for name, response in (("A", c.a), ("B", c.b)):
        turns = c.messages + [{"role": "assistant", "content": response}]
        title = f"the Conversation between Chatbot {name} and the Client"
        body = "\n".join(conversation_lines(turns, f"Chatbot {name}"))
        blocks.append(f"[The Start of {title}]\n{body}\n[The End of {title}]")
    return "\n\n".join(blocks)


def answer_verdict(completion: str, truncated: bool) -> Verdict:
    answers = _ANSWER.findall(completion)
    if not answers:
        return Protocol.missing_verdict(truncated)
    last = answers[-1]
    named = {side for side in ("A", "B") if f"[[{side}]]" in last}
    if len(named) == 2:
        return Verdict(None, BOTH_VERDICTS)
    if not named:
        return Verdict(None, f"{UNRECOGNIZED}: {last.strip()[:40]!r}")
    return Verdict(named.pop())


class RubricsProtocol(Protocol):
    name = "rm-r1"
    description = "RM-R1 Chain-of-Rubrics with its system prompt; <answer>[[A]]</answer>"
    verdict_cue = "\n\n<answer>[["
    cue_grammar = 'root ::= ("A" | "B") "]]</answer>"'
    verdict_open = "<answer>[["
    answer_prefix = "<answer>[["
    labels = ("A", "B")
    answer_suffix = "]]</answer>"
    default_max_tokens = 1536

    def render(self, c: Comparison) -> list[Message]:
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": render_pair(c)},
        ]

    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        return answer_verdict(completion, truncated)


class DistilledRubricsProtocol(RubricsProtocol):
    name = "rm-r1-distilled"
    description = "RM-R1 for R1-style models: no system prompt, <think>…</think> first"

    def render(self, c: Comparison) -> list[Message]:
        return [{"role": "user", "content": f"{DISTILLED_INSTRUCTION}\n\n{render_pair(c)}"}]

    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        # Only the text after the thinking counts: a draft answer inside <think> is not a verdict.
        if "</think>" in completion:
            completion = completion.rsplit("</think>", 1)[1]
        elif "<think>" in completion:
            return self.missing_verdict(truncated)
        return answer_verdict(completion, truncated)

    def score_prefix(self, completion: str | None = None) -> str:
        if completion is None:  # an R1-style model answers after its thinking: an empty one
            return "<think>\n\n</think>\n\n" + self.answer_prefix
        if "<think>" in completion and "</think>" not in completion:
            return completion + self.verdict_cue_for(completion)  # closes the thinking
        return super().score_prefix(completion)

    def verdict_cue_for(self, completion: str) -> str:
        if "<think>" in completion and "</think>" not in completion:
            return "\n</think>" + self.verdict_cue
        return self.verdict_cue
