"""Final answers, read from a response's text, and compared by Hugging Face's math-verify.

The comparison runs in the local sandbox, not in this process: math-verify hands expressions
to sympy's parser, which evaluates them, and neither the responses nor the judge's programs
are trusted. One sandbox run compares everything a pair needs.
"""

from __future__ import annotations

import json
import re
import secrets

from reasonrm.sandbox.base import Limits, RunRequest, Sandbox

_MARKERS = (
    re.compile(r"#+\s*(?:Final\s+)?Answer\s*:?\s*\n+\s*([^\n]+)", re.IGNORECASE),
    re.compile(r"(?:final answer|the answer)\s+(?:is|=)\s*:?\s*([^\n]+)", re.IGNORECASE),
    re.compile(r"^\s*\**(?:Final\s+)?Answer\**\s*:\s*\**\s*([^\n]+)", re.IGNORECASE | re.M),
)
SHORT = 80  # a response this short that states a number is its own final answer
# A computation can settle it: LaTeX, an arithmetic expression, or a question asking for a
# quantity. A digit alone is not enough ("a haiku about 3 cats").
_MATHY = re.compile(
    r"\\frac|\\sqrt|\\boxed|\$[^$]+\$|\d\s*[-+*/^×÷]\s*\(?\d|\b(?:how many|how much|compute|"
    r"calculate|evaluate|simplify|solve|find the|what is the (?:value|sum|product|difference|"
    r"remainder|probability|area|perimeter|volume|total|average|mean)|what is \d)",
    re.IGNORECASE,
)
# A short response that is its answer: a number, or an expression ending in one, after at
# most a few words such as "It is" ("25 + 17 = 42", "42 dollars.", "It is 42."), not prose
# that happens to end in a number ("France won 4-2.").
_SHORT_ANSWER = re.compile(
    r"^(?:(?:it is|it's|that is|that's|the (?:result|total|sum) is|equals|answer:?)\s+)?"
    r"(?:[-+*/^×÷()\w\s.,=$\\]*=\s*)?\$?(?P<value>-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)\$?"
    r"(?:\s*[A-Za-z%]+)?[.!]?$",
    re.IGNORECASE,
)


def boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} (or \\fbox{...}), braces balanced."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip() or None
    return None


def final_answer(text: str) -> str | None:
    """A response's final answer: its last \\boxed{}, a "# Answer" heading's line, "the
    answer is ...", "Answer: ...", or, for a short response, the value after its last "="
    or its last number. None when the response states none."""
    found = boxed(text)
    if found is not None:
        return found
    for marker in _MARKERS:
        hits = marker.findall(text)
        if hits:
            answer = hits[-1].strip().strip("*").strip().rstrip(".").strip()
            answer = answer.strip("$").strip()
            if answer:
                return answer
    stripped = text.strip()
    if len(stripped) <= SHORT and (short := _SHORT_ANSWER.match(stripped)):
        return short.group("value").replace(",", "")
    return None


def is_choice(answer: str) -> bool:
    """A multiple-choice letter ("C", "(C)", "CCCCC"): not a value a program computes."""
    return bool(re.fullmatch(r"\(?([A-J])\)?|([A-J])\2{2,}|\\text\{\(?[A-J]\)?\}", answer.strip()))


def is_math_prompt(prompt: str) -> bool:
    """Whether a prompt asks for something a computation can settle (a number, a formula)."""
    return bool(_MATHY.search(prompt))


def computed_answer(stdout: str) -> str | None:
    """The answer a program printed: its last line, without a label ("Answer: ", "x = ")."""
    lines = [line.strip() for line in stdout.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = re.sub(r"^(?:the\s+)?(?:final\s+)?answer\s*(?:is)?\s*:?\s*", "", lines[-1], flags=re.I)
    if "=" in last and not last.startswith(("[", "(", "{")):
        last = last.rsplit("=", 1)[-1]
    return last.strip() or None


_COMPARE = r"""
import json, re, sys
import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

CONFIG = [LatexExtractionConfig(), ExprExtractionConfig()]
PYTHON = standard_transformations + (convert_xor,)

def written(text):
    # what a response writes: LaTeX, or plain text
    text = (text or "").strip()
    for candidate in ("$" + text + "$", text) if text else ():
        try:
            found = parse(candidate, extraction_config=CONFIG, parsing_timeout=3)
        except Exception:
            found = []
        if found:
            return found
    return []

def printed(text):
    # what a program prints: sympy's or Python's notation (5*r**5, sqrt(3)/3, 6 + 9*I, [5])
    text = (text or "").strip()
    try:
        value = parse_expr(text, transformations=PYTHON)
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        value = sympy.sympify(value)
        if value.has(sympy.I):  # a response's LaTeX reads i as a symbol
            value = value.subs(sympy.I, sympy.Symbol("i"))
        return [value]
    except Exception:
        return written(text)

def same_names(gold, target):
    # a symbol x in a program is not math-verify's x (other assumptions): match by name
    names = {s.name: s for t in target if isinstance(t, sympy.Basic) for s in t.free_symbols}
    out = []
    for g in gold:
        if isinstance(g, sympy.Basic):
            g = g.subs({s: names[s.name] for s in g.free_symbols if s.name in names})
        out.append(g)
    return out

def equal(gold, target):
    try:
        return bool(gold and target and verify(same_names(gold, target), target, timeout_seconds=3))
    except Exception:
        return False

data = json.load(sys.stdin)
a, b = written(data["a"]), written(data["b"])
computed = [printed(x) for x in data["computed"]]
print(data["tag"] + json.dumps({
    "parsed": [bool(a), bool(b)],
    "a_is_b": equal(a, b) or equal(b, a),
    "a": [equal(c, a) for c in computed],
    "b": [equal(c, b) for c in computed],
}))
"""


async def compare(sandbox: Sandbox, a: str, b: str, computed: list[str]) -> dict | None:
    """Whether a's and b's answers are equivalent, and which computed answers each equals;
    None when the comparison could not run (math-verify missing, the sandbox down)."""
    tag = f"@@compare{secrets.token_hex(6)}@@"
    stdin = json.dumps({"a": a, "b": b, "computed": computed, "tag": tag})
    request = RunRequest(_COMPARE, "python", stdin=stdin, limits=Limits(seconds=30, memory_mb=2048))
    result = await sandbox.arun(request)
    found = [line for line in result.stdout.split("\n") if line.startswith(tag)]
    if not found:
        return None
    try:  # the last: what the comparison printed after parsing every answer
        answer = json.loads(found[-1].removeprefix(tag))
    except json.JSONDecodeError:
        return None
    shape = {"parsed": list, "a_is_b": bool, "a": list, "b": list}
    if not isinstance(answer, dict) or any(
        not isinstance(answer.get(k), t) for k, t in shape.items()
    ):
        return None
    return answer
