"""What a coding prompt asks for, read without a model: the language, the function (or a
program that reads standard input), and the examples the prompt states.

Forms read: HumanEvalPack's "Write a Python function `f(x)` to solve the following problem"
(any of the five languages), a Python function both responses define (LeetCode's `class
Solution` methods included, with "Input: a = 1, b = 2 / Output: 3" examples), and programs
that read standard input with "Sample Input 1 / Sample Output 1" blocks (AtCoder and
Codeforces, as in LiveCodeBench).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from reasonrm.types import Comparison
from reasonrm.verify.examples import TestCase, read_cases
from reasonrm.verify.languages import FENCES, LANGUAGES, NAMES, Signature, fenced_blocks
from reasonrm.verify.literals import try_value

_ASKED = re.compile(
    r"\b(Python|JavaScript|C\+\+|Java|Rust|Go)\s+function\s+`([^`]+)`", re.IGNORECASE
)
_BY_NAME = {v.lower(): k for k, v in NAMES.items()} | {"go": "go"}
_SAMPLE = re.compile(
    r"Sample Input\s*(\d*)\s*:?\s*\n(.*?)\n\s*Sample Output\s*\1\s*:?\s*\n(.*?)(?:\n\s*\n|\Z)",
    re.S | re.IGNORECASE,
)
_LEETCODE = re.compile(r"^\s*Input:\s*(.+?)\s*\n\s*Output:\s*(.+?)\s*$", re.M)


@dataclass(frozen=True)
class CodeTask:
    """`kind` "function": tests are calls of `signature.name`; "stdio": a whole program,
    tests are (standard input, expected output) pairs. `examples` come from the prompt;
    `why_not` says why no check can run (e.g. a language this check does not run)."""

    language: str
    kind: str
    signature: Signature | None
    examples: tuple[TestCase, ...] = ()
    method_of: str | None = None  # LeetCode: the function is a method of this class
    why_not: str | None = None


def prompt_text(c: Comparison) -> str:
    """The request the responses answer: the last user message of a conversation."""
    if isinstance(c.prompt, str):
        return c.prompt
    users = [m["content"] for m in c.prompt if m["role"] == "user"]
    return users[-1] if users else ""


def code_task(c: Comparison) -> CodeTask | None:
    """The coding task `c` poses, or None when it is not one this check reads."""
    prompt = prompt_text(c)
    asked = _ASKED.search(prompt)
    if asked:
        language = _BY_NAME[asked.group(1).lower()]
        if language not in LANGUAGES:
            return CodeTask(
                language, "function", None, why_not=f"{asked.group(1)} is not checked yet"
            )
        # the declaration's first line (HumanEvalPack's can run on: `max_fill(grid, capacity):
        # \n    import math`)
        sig = LANGUAGES[language].signature(asked.group(2).strip().splitlines()[0])
        if sig is None:
            return None
        examples = read_cases(prompt, sig.name, language=language)
        return CodeTask(language, "function", sig, tuple(examples))
    return _python_task(prompt, c.a, c.b)


def _python_task(prompt: str, a: str, b: str) -> CodeTask | None:
    """A Python task both responses answer with code: the function both define (called
    as the prompt's examples call it), or a program reading standard input."""
    codes = [_python_code(r) for r in (a, b)]
    if not all(codes):
        return None
    samples = _stdio_samples(prompt)
    if samples and all(re.search(r"\binput\s*\(|sys\.stdin", code) for code in codes):
        return CodeTask("python", "stdio", None, tuple(samples))
    shared = _defined(codes[0]) & _defined(codes[1])
    if not shared:
        return None
    classes = {m.group(1) for m in re.finditer(r"^class\s+(\w+)", codes[0], re.M)}
    # the function the prompt's examples call, else the only one both define
    named = [n for n in shared if re.search(rf"(?<![\w.]){re.escape(n)}\s*\(", prompt)]
    name = named[0] if len(named) == 1 else next(iter(shared)) if len(shared) == 1 else None
    if name is None:
        return None
    method_of = (
        "Solution"
        if "Solution" in classes and re.search(rf"def\s+{re.escape(name)}\s*\(\s*self", codes[0])
        else None
    )
    examples = read_cases(prompt, name) + _leetcode_cases(prompt, name)
    return CodeTask("python", "function", Signature(name, name), tuple(examples), method_of)


def _python_code(response: str) -> str:
    """The response's Python: its python blocks, or the whole response when it is code
    without a fence (a program that parses, with a def or a class)."""
    blocks = fenced_blocks(response)
    if blocks:
        return "\n".join(code for tag, code in blocks if tag in FENCES["python"])
    if re.search(r"^\s*(?:def|class)\s+\w+", response, re.M):
        try:
            ast.parse(response)
        except (SyntaxError, ValueError):
            return ""
        return response
    return ""


def _defined(code: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\s*def\s+(\w+)\s*\(", code, re.M)} - {
        "main",
        "__init__",
        "solve",
    }


def _leetcode_cases(prompt: str, name: str) -> list[TestCase]:
    """LeetCode's "Input: x = [1, 2], k = 3" / "Output: 4": the call with keyword arguments."""
    cases = []
    for m in _LEETCODE.finditer(prompt):
        arguments, result = m.group(1).strip(), m.group(2).strip()
        ok, value = try_value(result, python=True)
        if not ok:
            continue
        cases.append(TestCase(f"{name}({arguments})", value, "prompt"))
    return cases


def _stdio_samples(prompt: str) -> list[TestCase]:
    """Sample input and output blocks: the input as the `call`, the output text expected."""
    return [
        TestCase(m.group(2).strip("\n") + "\n", m.group(3).strip(), "prompt")
        for m in _SAMPLE.finditer(prompt)
    ]
