"""Values written in any of the judged languages, read as Python values, and compared.

Tests come from prompts and from the judge in the language of the task (`{1, 2}` in C++,
`Arrays.asList(1, 2)` in Java, `vec![1, 2]` in Rust, `[1, 2]` in Python and JavaScript), and a
program's result comes back printed by its language. Both sides are read here into plain
Python values, so one comparison serves every language.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

_WRAPPERS = re.compile(
    r"^(?:Arrays\.asList|List\.of|Set\.of|new\s+ArrayList<[^>]*>|new\s+ArrayList|vec!|Some|"
    r"Optional\.of|Optional\.ofNullable|new\s+\w+(?:<[^>]*>)?\[\]|vector<[^>]*>|std::vector<[^>]*>)"
)
_SUFFIXES = re.compile(r"\.(?:to_string|to_owned|into)\(\)$|(?<=\d)[LlFfDd]$")
_NULLS = {"None", "null", "nullptr", "Optional.empty()", "undefined"}


class NotALiteral(ValueError):
    """The text is not a value this reader knows (a call, a variable, an expression)."""


def read_value(text: str, python: bool = False) -> Any:
    """A literal in Python, JavaScript, C++, Java or Rust syntax as a Python value: sequences
    as lists (tuples and brace lists too), strings, numbers, booleans, None; dicts where
    keys are written. python=True reads Python's own literals exactly first (a tuple stays a
    tuple, `{1, 2}` is a set); elsewhere `{1, 2}` is C++'s list. Raises NotALiteral for
    anything else."""
    text = text.strip().rstrip(";").strip()
    if not text:
        raise NotALiteral("empty")
    if python:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    value, rest = _Reader(text).value_and_rest()
    if rest.strip():
        raise NotALiteral(f"unexpected {rest.strip()[:20]!r}")
    return value


def try_value(text: str, python: bool = False) -> tuple[bool, Any]:
    try:
        return True, read_value(text, python)
    except NotALiteral:
        return False, None


class _Reader:
    """A small recursive reader for the literal forms of the five languages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def value_and_rest(self) -> tuple[Any, str]:
        value = self.value()
        return value, self.text[self.i :]

    def skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def value(self) -> Any:
        self.skip()
        rest = self.text[self.i :]
        for null in _NULLS:
            if rest.startswith(null) and not _ident_char(rest, len(null)):
                self.i += len(null)
                return None
        for word, val in (("true", True), ("True", True), ("false", False), ("False", False)):
            if rest.startswith(word) and not _ident_char(rest, len(word)):
                self.i += len(word)
                return val
        wrapper = _WRAPPERS.match(rest)
        if wrapper:
            self.i += wrapper.end()
            self.skip()
            rest = self.text[self.i :]
            if not rest or rest[0] not in "([{":
                raise NotALiteral("a wrapper without a value")
            inner = self.sequence()
            if wrapper.group().startswith(("Some", "Optional")):
                return inner[0] if len(inner) == 1 else inner
            return inner
        if not rest:
            raise NotALiteral("end of text")
        ch = rest[0]
        if ch in "[({":
            return self.sequence()
        if ch in "\"'":
            return self.string()
        number = re.match(r"[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)", rest)
        if number and number.group() not in ("-", "+"):
            self.i += number.end()
            tail = re.match(
                r"(?:[LlFfDd]|_?[iu](?:8|16|32|64|128|size)|_?f(?:32|64))\b", self.text[self.i :]
            )
            if tail:
                self.i += tail.end()
            return _number(number.group())
        for word, val in (("inf", math.inf), ("-inf", -math.inf), ("nan", math.nan)):
            if rest.startswith(word) and not _ident_char(rest, len(word)):
                self.i += len(word)
                return val
        raise NotALiteral(f"not a literal at {rest[:20]!r}")

    def sequence(self) -> Any:
        opener = self.text[self.i]
        closer = {"[": "]", "(": ")", "{": "}"}[opener]
        self.i += 1
        items: list[Any] = []
        keys: list[Any] = []
        is_dict = None
        while True:
            self.skip()
            if self.i < len(self.text) and self.text[self.i] == closer:
                self.i += 1
                break
            item = self.value()
            self.skip()
            if self.i < len(self.text) and self.text[self.i] == ":" and opener == "{":
                self.i += 1
                if is_dict is False:
                    raise NotALiteral("mixed set and dict")
                is_dict = True
                keys.append(item)
                item = self.value()
                self.skip()
            elif is_dict:
                raise NotALiteral("mixed dict and set")
            else:
                is_dict = False
            items.append(item)
            self.skip()
            if self.i >= len(self.text):
                raise NotALiteral("unclosed")
            if self.text[self.i] == ",":
                self.i += 1
            elif self.text[self.i] != closer:
                raise NotALiteral(f"expected , or {closer}")
        if is_dict:
            try:
                return dict(zip(keys, items, strict=True))
            except TypeError as e:  # an unhashable key
                raise NotALiteral(str(e)) from None
        return items

    def string(self) -> str:
        quote = self.text[self.i]
        j = self.i + 1
        out = []
        while j < len(self.text):  # collected as the body of a JSON string
            ch = self.text[j]
            if ch == "\\" and j + 1 < len(self.text):
                follows = self.text[j + 1]
                out.append("'" if follows == "'" else self.text[j : j + 2])
                j += 2
                continue
            if ch == quote:
                break
            out.append('\\"' if ch == '"' else ch)
            j += 1
        else:
            raise NotALiteral("unclosed string")
        self.i = j + 1
        body = "".join(out)
        try:
            return json.loads(f'"{body}"', strict=False)
        except json.JSONDecodeError:
            return body


def _ident_char(text: str, at: int) -> bool:
    return at < len(text) and (text[at].isalnum() or text[at] == "_")


def _number(text: str) -> int | float:
    text = text.replace("_", "")
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return float(text)


def same(got: Any, want: Any, *, strict_types: bool = False) -> bool:
    """Whether a result equals an expected value: numbers within a relative 1e-6 (6.00 is
    6), sequences item by item. strict_types (Python): a tuple is not a list, as `==` has it;
    otherwise (values read from other languages' prints) every sequence is a list."""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool | int) and isinstance(want, bool | int) and got == want
    if isinstance(want, int) and isinstance(got, int):
        return got == want  # exact: 1000000007 is not 1000000008
    if isinstance(want, int | float) and isinstance(got, int | float):
        if isinstance(want, float) and math.isnan(want):
            return isinstance(got, float) and math.isnan(got)
        try:
            return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        except OverflowError:  # an int too large for a float
            return False
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        if strict_types and type(want) is not type(got):
            return False
        return len(got) == len(want) and all(
            same(g, w, strict_types=strict_types) for g, w in zip(got, want, strict=True)
        )
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(
            same(got[k], want[k], strict_types=strict_types) for k in want
        )
    if isinstance(want, set | frozenset) and isinstance(got, set | frozenset):
        return got == want
    return type(got) is type(want) and got == want
