"""Worked examples shown to a judge before the pair it judges (few-shot judging).

Each example is a labelled pair, rendered by the judge's own protocol as an earlier user
turn and answered with the protocol's bare verdict as an assistant turn; the pair to judge
follows: they show a judge what the user prefers (docs/judging.md has what the built-in set
did for the embedded model).

`examples` in a judge's spec: "none", "general" (the built-in set below: a wrong fact, an
ignored format instruction, a failed rewrite and an empty answer, each against a good
response) or a JSONL file of the rows `reasonrm judge` reads, each with a known better
side (`chosen`/`rejected`, or `a`/`b` with `label`). Whatever the file says, the examples
alternate which slot holds the better response (second, first, second, …), so that
together they name both slots equally and teach no position. The system prompt and the
examples open every prompt alike, so an engine's prompt cache evaluates them once per slot,
not once per pair.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from reasonrm.errors import InputError
from reasonrm.jsonl import iter_jsonl
from reasonrm.pairs import comparison_from_row
from reasonrm.types import Comparison, Message

NONE = "none"
# written for reasonrm, not taken from a benchmark: everyday failures a judge must catch
GENERAL: tuple[Comparison, ...] = (
    Comparison(
        "What is the boiling point of water at sea level in degrees Fahrenheit?",
        "At sea level water boils at 212 degrees Fahrenheit (100 degrees Celsius).",
        "Water boils at 100 degrees Fahrenheit at sea level.",
        label="A",
    ),
    Comparison(
        "List three primary colors. Reply with the colors only, separated by commas.",
        "Red, yellow, blue",
        "Sure! The three primary colors are red, yellow and blue. These colors cannot be "
        "made by mixing other colors, and artists have used them for centuries to mix every "
        "other hue.",
        label="A",
    ),
    Comparison(
        'Rewrite this sentence in the passive voice: "The committee approved the budget."',
        "The budget was approved by the committee.",
        "The committee has approved the budget.",
        label="A",
    ),
    Comparison(
        "Give me a short tip for falling asleep faster.",
        "Keep a regular bedtime and put screens away 30 minutes before bed; a cool, dark "
        "room helps too.",
        "Sleep is important for health.",
        label="A",
    ),
)
BUILT_IN = {"general": GENERAL}


def balanced(examples: list[Comparison] | tuple[Comparison, ...]) -> tuple[Comparison, ...]:
    """The examples with the better response second in the 1st, 3rd, … and first in the
    2nd, 4th, …: both slots named equally, in a fixed order."""
    shown = []
    for i, c in enumerate(examples):
        better_first = c if c.label == "A" else c.swapped()
        shown.append(better_first.swapped() if i % 2 == 0 else better_first)
    return tuple(shown)


@cache
def _read_file(path: str, sha256: str) -> tuple[Comparison, ...]:
    """A file's examples, cached by path and content (`sha256`): the spec's check and the
    judge (and a judge remade by `with_options`) read a file once, again only if it changed."""
    examples = []
    for line, row in iter_jsonl(path):
        where = f"{path}:{line}"
        if isinstance(row, InputError):
            raise InputError(f"examples {row}")
        c = comparison_from_row(row, where)
        if c.label not in ("A", "B"):
            raise InputError(
                f"examples {where}: an example needs its better side: chosen/rejected, or "
                "a/b with label A or B"
            )
        examples.append(c)
    if not examples:
        raise InputError(f"examples {path}: no rows; give at least one labelled pair")
    return tuple(examples)


def file_sha256(ref: str) -> str | None:
    """The content hash of an examples file (what a resumed run compares); None for the
    built-in sets and "none"."""
    if ref == NONE or ref in BUILT_IN:
        return None
    path = Path(ref).expanduser()
    if not path.is_file():
        known = ", ".join([NONE, *BUILT_IN])
        raise InputError(f"examples {ref!r}: no such file; give a JSONL file or one of {known}")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_examples(ref: str) -> tuple[Comparison, ...]:
    """The examples `ref` names, balanced over the slots; () for "none"."""
    if ref == NONE:
        return ()
    if ref in BUILT_IN:
        return balanced(BUILT_IN[ref])
    sha256 = file_sha256(ref)
    return balanced(_read_file(str(Path(ref).expanduser()), sha256))


def example_turns(protocol, examples: tuple[Comparison, ...]) -> list[Message]:
    """The examples as conversation turns: each pair as the protocol shows it, then its
    bare verdict (refused for a protocol that declares no verdict labels)."""
    turns: list[Message] = []
    for c in examples:
        turns += [m for m in protocol.render(c) if m["role"] != "system"]
        turns.append({"role": "assistant", "content": protocol.verdict_text(c.label)})
    return turns


def with_examples(chat: list[Message], turns: list[Message]) -> list[Message]:
    """`chat` with the example turns after its system prompt."""
    opening = next((i for i, m in enumerate(chat) if m["role"] != "system"), len(chat))
    return [*chat[:opening], *turns, *chat[opening:]]
