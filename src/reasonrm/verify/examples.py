"""Test cases read from text: the examples a prompt gives, and the tests the judge writes.

A test case is a call written in the task's language (run as it is, in the language's own
harness) and the value it should return (read into Python by `literals.read_value`). Prompts
write examples many ways; the forms read here are doctest lines (`>>> f(x)` then the value on
the next line) and one-line forms `f(x) == y`, `f(x) => y`, `f(x) ==> y`, `f(x) ➞ y`,
`f(x) -> y`, `f(x) returns y`, `f(x) should return y`, `f(x) = y`, each with the call first.
A case whose value cannot be read is dropped, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reasonrm.verify.literals import try_value

_SEPARATORS = re.compile(
    r"^\s*(?:==>|=>|===|==|➞|→|->|=|,|\bshould\s+return\b|\breturns?\b|#\s*returns?\b|"
    r"\bshould\s+be\b|\bis\b|\bgives\b|\boutputs?\b)\s*:?\s*",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^\s*(?:[*\-•#]+\s*)?(?:assert(?:_eq!)?\s*\(?\s*)?(?:[Ee]xample\s*\d*\s*:\s*)?")


@dataclass(frozen=True)
class TestCase:
    """`call` in the task's language; `expected` a Python value; `source` "prompt" or
    "judge"."""

    call: str
    expected: Any
    source: str = "prompt"

    def to_dict(self) -> dict[str, Any]:
        return {"call": self.call, "expected": jsonable(self.expected), "source": self.source}


def jsonable(value: Any) -> Any:
    """A value as JSON holds it: sequences and sets as lists, dicts with text keys, and
    anything else JSON has no form for (bytes, complex, large or odd keys) as its repr."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value if not isinstance(value, int) or abs(value) < 2**63 else repr(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    return repr(value)


def find_call(text: str, name: str, start: int = 0) -> tuple[int, int] | None:
    """Where the first call `name(...)` at or after `start` begins and ends (its closing
    parenthesis included), strings and nesting respected; None if none is complete."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\s*\(")
    for m in pattern.finditer(text, start):
        end = _closing(text, m.end() - 1)
        if end is not None:
            return m.start(), end + 1
    return None


def _closing(text: str, open_at: int) -> int | None:
    """The index of the bracket that closes the one at open_at (strings skipped)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[open_at]]]
    i = open_at + 1
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            j = i + 1
            while j < len(text) and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
                if text[j - 1] == "\n":
                    return None  # an unclosed quote on this line (an apostrophe in prose)
            i = j + 1
            continue
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if ch != stack[-1]:
                return None
            stack.pop()
            if not stack:
                return i
        i += 1
    return None


def _value_after(rest: str, python: bool) -> tuple[bool, Any]:
    """The value a line states after a call: what follows the separator, read as a literal;
    a trailing full stop, comment or explanation ("-> 19 - 5 - 6 = 8") tried away."""
    m = _SEPARATORS.match(rest)
    if not m:
        return False, None
    tail = re.split(r"\s+#|\s+//", rest[m.end() :])[0].strip()
    candidates = [tail]
    for end in (".", ";", ");", ")", ").", "));", "))"):  # `assert(f(x) == y);`, prose
        if tail.endswith(end):
            candidates.append(tail[: -len(end)].rstrip())
    if "=" in tail:
        candidates.append(tail.rsplit("=", 1)[1].strip().rstrip("."))
    for candidate in candidates:
        ok, value = try_value(candidate, python)
        if ok:
            return True, value
    return False, None


def read_cases(
    text: str, name: str, source: str = "prompt", language: str = "python"
) -> list[TestCase]:
    """Every call of `name` in `text` with a stated result, in order, the first statement
    of each call kept. Values are read in `language`'s syntax."""
    python = language == "python"
    cases: list[TestCase] = []
    seen: set[str] = set()
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    position = 0
    while True:
        found = find_call(text, name, position)
        if found is None:
            break
        start, end = found
        position = end
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        doctest = before.strip().startswith(">>>")
        if not doctest and _LEAD.sub("", before).strip():
            continue  # the call sits inside prose or code, not at the head of an example
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end
        rest = text[end:line_end]
        call = re.sub(r"\s*\n\s*", " ", text[start:end])
        ok, value = False, None
        if doctest and not rest.strip():
            following = text[line_end + 1 :].split("\n", 1)[0]
            if following.strip() and not following.strip().startswith(">>>"):
                ok, value = try_value(following.strip(), python)
        elif rest.strip():
            ok, value = _value_after(rest, python)
        if ok and call not in seen:
            seen.add(call)
            cases.append(TestCase(call, value, source))
    return cases
