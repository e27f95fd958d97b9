"""The languages the code check runs: how to find a response's program, complete a bare
function body from the prompt's signature, and run a list of calls in a harness that prints
each result, tagged, in a form `literals.read_value` reads.

The harness prints results; it never compares them. Expected values stay outside the sandbox
and are compared by the caller, so a response cannot pass a test by rewriting the harness's
comparison (it would have to return the right value). A call that does not compile is found
against a stub of the signature first (compiled languages) and dropped, so one bad test
cannot fail a whole program.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass

from reasonrm.verify.examples import TestCase

#: fence tags each language is written under in Markdown
FENCES = {
    "python": ("python", "py", "python3"),
    "javascript": ("javascript", "js", "node"),
    "cpp": ("cpp", "c++", "cc", "cxx"),
    "java": ("java",),
    "rust": ("rust", "rs"),
}
#: how prompts name the languages ("Write a C++ function", "in JavaScript")
NAMES = {
    "python": "Python",
    "javascript": "JavaScript",
    "cpp": "C++",
    "java": "Java",
    "rust": "Rust",
}
_FENCE = re.compile(r"```[ \t]*([\w+#-]*)[^\n]*\n(.*?)```", re.S)


@dataclass(frozen=True)
class Signature:
    """The function a prompt asks for: its name and its declaration as the prompt writes it."""

    name: str
    text: str


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(tag, code) of every fenced block, in order; an unclosed last fence counts too."""
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    opened = text.count("```")
    if opened % 2 == 1:  # a response cut off inside its code
        tail = text[text.rfind("```") + 3 :]
        tag, _, code = tail.partition("\n")
        blocks.append((tag.strip().lower(), code))
    return blocks


def code_of(response: str, language: str) -> str:
    """The response's code in `language`: its fenced blocks in that language (or untagged),
    joined; the whole response when it has no fence."""
    blocks = fenced_blocks(response)
    if not blocks:
        return response
    tags = FENCES[language]
    mine = [code for tag, code in blocks if tag in tags]
    if not mine:
        mine = [code for tag, code in blocks if not tag]
    return "\n\n".join(mine)


class Language:
    """One language: `program` builds the response's source, `harness` the file that runs
    the calls, `stub` (compiled languages) a file that only type-checks the calls."""

    name = ""
    compiled = False

    def signature(self, declared: str) -> Signature | None:
        raise NotImplementedError

    def program(self, response: str, sig: Signature) -> str | None:
        raise NotImplementedError

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        raise NotImplementedError

    def stub(self, sig: Signature, cases: list[TestCase]) -> tuple[str, list[int]] | None:
        """Source that declares the function with an empty body and makes every call, and the
        line each call sits on: the compiler's errors name the calls to drop."""
        return None


# ---- Python -------------------------------------------------------------------------------

PYTHON_PRELUDE = (
    "from typing import *\n"
    "import math, re, string, itertools, functools, collections, heapq, bisect, hashlib\n"
    "from collections import Counter, defaultdict, deque, OrderedDict\n"
    "from functools import reduce, lru_cache\n"
    "from itertools import permutations, combinations, accumulate\n"
)

# Before the program: its own prints go nowhere, so they cannot crowd out the results
_PY_HEAD = """import os as _rrm_os, sys as _rrm_sys
_rrm_out = _rrm_sys.stdout
_rrm_sys.stdout = open(_rrm_os.devnull, "w")
"""
_PY_RUNNER = """

import json as _rrm_json, signal as _rrm_signal

def _rrm_late(*_):
    raise TimeoutError("the call ran past {per_call} s")

_rrm_signal.signal(_rrm_signal.SIGALRM, _rrm_late)
for _rrm_i, _rrm_call in enumerate({calls}):
    _rrm_signal.setitimer(_rrm_signal.ITIMER_REAL, {per_call})
    try:
        _rrm_line = ["ok", repr(eval(_rrm_call))[:4000]]
    except BaseException as _rrm_e:
        _rrm_line = ["error", (type(_rrm_e).__name__ + ": " + str(_rrm_e))[:300]]
    finally:
        _rrm_signal.setitimer(_rrm_signal.ITIMER_REAL, 0)
    _rrm_out.write("\\n{tag}" + _rrm_json.dumps([_rrm_i] + _rrm_line) + "\\n")
    _rrm_out.flush()
"""


class Python(Language):
    name = "python"

    def signature(self, declared: str) -> Signature | None:
        m = re.match(r"\s*(?:def\s+)?([A-Za-z_]\w*)\s*\(", declared)
        return (
            Signature(m.group(1), declared.strip().removeprefix("def ").rstrip(":")) if m else None
        )

    def program(self, response: str, sig: Signature) -> str | None:
        code = code_of(response, "python").expandtabs(4)
        tree = _parses(code)
        if tree is not None and _defines(tree, sig.name):
            return PYTHON_PRELUDE + _without_main(code, tree)
        # a bare body, as HumanEval-style completions are: completed from the signature
        body = code.strip("\n")
        if not body.strip():
            return None
        if not body.startswith((" ", "\t")):
            body = textwrap.indent(body, "    ")
        source = f"def {sig.text}:\n{body}\n"
        tree = _parses(source)
        if tree is None:
            return None
        return PYTHON_PRELUDE + _without_main(source, tree)

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        calls = json.dumps([c.call for c in cases])
        # `from __future__` must open the file
        future = re.findall(r"^from __future__ import [^\n]*$", program, re.M)
        body = re.sub(r"^from __future__ import [^\n]*$", "", program, flags=re.M)
        head = "\n".join(future) + "\n" + _PY_HEAD
        return head + body + _PY_RUNNER.format(calls=calls, tag=tag, per_call=per_call)


def _parses(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        for node in tree.body
    ) or any(
        isinstance(node, ast.ClassDef)
        and any(isinstance(f, ast.FunctionDef) and f.name == name for f in node.body)
        for node in tree.body
    )


def _without_main(code: str, tree: ast.Module) -> str:
    """The module without what runs when it is the main program (`if __name__ ==
    "__main__":` blocks and top-level calls such as `print(f(3))` or `input()`): the harness
    calls the function itself, and a response's demo must not read stdin or print."""
    keep = []
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
            continue
        if not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ) and _reads_input(node):
            continue  # `n = int(input())`: a demo that would wait for input
        keep.append(ast.get_source_segment(code, node) or ast.unparse(node))
    return "\n\n".join(keep) + "\n"


def _reads_input(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "input"
        ):
            return True
        if isinstance(inner, ast.Attribute) and inner.attr == "stdin":
            return True
    return False


# ---- JavaScript ---------------------------------------------------------------------------

_JS_HEAD = """const _rrm_write = process.stdout.write.bind(process.stdout);
console.log = console.info = console.debug = console.warn = console.error = () => {};
"""
_JS_RUNNER = """

const _rrm_show = (v) => {
  const s = JSON.stringify(v === undefined ? null : v, (k, x) =>
    x instanceof Set ? [...x] : x instanceof Map ? Object.fromEntries(x) :
    typeof x === "bigint" ? Number(x) : (typeof x === "number" && !isFinite(x)) ? String(x) : x);
  return s === undefined ? "null" : s;
};
const _rrm_calls = {calls};
for (let _rrm_i = 0; _rrm_i < _rrm_calls.length; _rrm_i++) {
  let _rrm_line;
  try { _rrm_line = ["ok", _rrm_show(eval(_rrm_calls[_rrm_i])).slice(0, 4000)]; }
  catch (_rrm_e) { _rrm_line = ["error", String(_rrm_e).slice(0, 300)]; }
  _rrm_write("\\n{tag}" + JSON.stringify([_rrm_i, ..._rrm_line]) + "\\n");
}
"""


class JavaScript(Language):
    name = "javascript"

    def signature(self, declared: str) -> Signature | None:
        m = re.match(r"\s*(?:const|let|var|function)\s+([A-Za-z_$][\w$]*)", declared)
        return Signature(m.group(1), declared.strip()) if m else None

    def program(self, response: str, sig: Signature) -> str | None:
        code = code_of(response, "javascript")
        if not code.strip():
            return None
        defined = re.search(
            rf"(?:function\s+{re.escape(sig.name)}\b|(?:const|let|var)\s+{re.escape(sig.name)}\s*=)",
            code,
        )
        if defined:
            return _strip_js_exports(code)
        head = sig.text if sig.text.startswith("function") else f"{sig.text} => {{"
        if sig.text.startswith("function") and not sig.text.rstrip().endswith("{"):
            head += " {"
        return _close_braces(f"{head}\n{code}")

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        runner = _JS_RUNNER.replace("{calls}", json.dumps([c.call for c in cases]))
        return _JS_HEAD + program + runner.replace("{tag}", tag)


def _strip_js_exports(code: str) -> str:
    return re.sub(r"^\s*(?:module\.exports\b.*|export\s+default\b.*)$", "", code, flags=re.M)


def _close_braces(code: str) -> str:
    """Append the closing braces a body leaves open (a cut-off response)."""
    depth = code.count("{") - code.count("}")
    return code + "\n}" * max(0, depth)


# ---- C++ ----------------------------------------------------------------------------------

# The headers responses use, not <bits/stdc++.h>: that one header takes twice as long to
# compile, and a pair compiles three to seven programs.
CPP_HEADERS = "".join(
    f"#include <{h}>\n"
    for h in [
        "algorithm",
        "climits",
        "cmath",
        "cstdio",
        "cstdlib",
        "cstring",
        "functional",
        "iostream",
        "map",
        "numeric",
        "queue",
        "set",
        "sstream",
        "stack",
        "string",
        "unordered_map",
        "unordered_set",
        "utility",
        "vector",
    ]
)
CPP_PRELUDE = CPP_HEADERS + "using namespace std;\n"

_CPP_SHOW = r"""
#include <fcntl.h>
#include <unistd.h>
namespace rrm {
inline std::string quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += (char)c; }
    else if (c == '\n') o += "\\n"; else if (c == '\t') o += "\\t";
    else if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
    else o += (char)c;
  }
  return o + "\"";
}
inline std::string show(bool v) { return v ? "True" : "False"; }
inline std::string show(char v) { return quote(std::string(1, v)); }
inline std::string show(const std::string& v) { return quote(v); }
inline std::string show(const char* v) { return quote(v); }
template <class T> typename std::enable_if<std::is_integral<T>::value, std::string>::type
show(T v) { return std::to_string(v); }
template <class T> typename std::enable_if<std::is_floating_point<T>::value, std::string>::type
show(T v) { char b[64]; snprintf(b, sizeof b, "%.9g", (double)v); return b; }
template <class A, class B> std::string show(const std::pair<A, B>& p);
template <class T> std::string show(const std::vector<T>& v);
template <class K, class V> std::string show(const std::map<K, V>& m);
template <class T> std::string show(const std::set<T>& v);
template <class It> std::string seq(It b, It e) {
  std::string o = "["; bool first = true;
  for (; b != e; ++b) { if (!first) o += ", "; first = false; o += show(*b); }
  return o + "]";
}
template <class A, class B> std::string show(const std::pair<A, B>& p) {
  return "[" + show(p.first) + ", " + show(p.second) + "]";
}
template <class T> std::string show(const std::vector<T>& v) { return seq(v.begin(), v.end()); }
template <class T> std::string show(const std::set<T>& v) { return seq(v.begin(), v.end()); }
template <class K, class V> std::string show(const std::map<K, V>& m) { return seq(m.begin(), m.end()); }
inline int out = 1;  // the harness's own copy of stdout; the program's prints go nowhere
inline void quiet() {
  out = dup(1);
  int nowhere = open("/dev/null", O_WRONLY);
  if (out >= 0 && nowhere >= 0) dup2(nowhere, 1); else out = 1;
}
inline void emit(int i, const char* status, const std::string& text) {
  std::string esc;
  for (char c : text) { if (c == '"' || c == '\\') esc += '\\'; if (c == '\n') { esc += "\\n"; continue; } esc += c; }
  std::string line = "\nTAG[" + std::to_string(i) + ", \"" + status + "\", \"" + esc + "\"]\n";
  if (write(out, line.data(), line.size()) < 0) {}
}
}
"""


class Cpp(Language):
    name = "cpp"
    compiled = True

    def signature(self, declared: str) -> Signature | None:
        m = re.search(r"([A-Za-z_]\w*)\s*\(", declared)
        return Signature(m.group(1), declared.strip()) if m else None

    def program(self, response: str, sig: Signature) -> str | None:
        code = code_of(response, "cpp")
        if not code.strip():
            return None
        if re.search(rf"\b{re.escape(sig.name)}\s*\([^;{{]*\)\s*{{", code):
            # a whole program: its own main, if any, renamed out of the way of the harness's
            return CPP_PRELUDE + re.sub(r"\bint\s+main\s*\(", "int _rrm_response_main(", code)
        return CPP_PRELUDE + _close_braces(f"{sig.text} {{\n{code}")

    def _main(self, cases: list[TestCase]) -> tuple[str, list[int]]:
        lines = ["int main() {", "  rrm::quiet();"]
        at = []
        for i, case in enumerate(cases):
            at.append(len(lines))
            lines.append(
                f'  try {{ auto _rrm_v = {case.call}; rrm::emit({i}, "ok", rrm::show(_rrm_v)); }}'
                f' catch (...) {{ rrm::emit({i}, "error", "an exception"); }}'
            )
        lines.append("  return 0;\n}")
        return "\n".join(lines) + "\n", at

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        main, _ = self._main(cases)
        return CPP_HEADERS + _CPP_SHOW.replace("TAG", tag) + program + "\n" + main

    def stub(self, sig: Signature, cases: list[TestCase]) -> tuple[str, list[int]]:
        head = (
            CPP_HEADERS
            + _CPP_SHOW.replace("TAG", "")
            + CPP_PRELUDE
            + f"{sig.text} {{ throw 0; }}\n"
        )
        main, at = self._main(cases)
        offset = head.count("\n")
        return head + main, [offset + line + 1 for line in at]


# ---- Java ---------------------------------------------------------------------------------

JAVA_PRELUDE = (
    "import java.util.*;\nimport java.lang.*;\nimport java.util.stream.*;\nimport java.math.*;\n"
)

_JAVA_SHOW = r"""
  static String quote(String s) {
    StringBuilder o = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') o.append('\\').append(c);
      else if (c == '\n') o.append("\\n");
      else if (c < 0x20) o.append(String.format("\\u%04x", (int) c));
      else o.append(c);
    }
    return o.append('"').toString();
  }
  static String show(Object v) {
    if (v == null) return "None";
    if (v instanceof Boolean) return ((Boolean) v) ? "True" : "False";
    if (v instanceof String) return quote((String) v);
    if (v instanceof Character) return quote(String.valueOf(v));
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      return Double.isNaN(d) ? "nan" : Double.isInfinite(d) ? (d > 0 ? "inf" : "-inf") : String.format("%.9g", d);
    }
    if (v instanceof Number) return v.toString();
    if (v instanceof Optional) return ((Optional<?>) v).map(Main::show).orElse("None");
    if (v instanceof Map) {
      StringBuilder o = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!first) o.append(", "); first = false;
        o.append(show(e.getKey())).append(": ").append(show(e.getValue()));
      }
      return o.append("}").toString();
    }
    if (v instanceof Iterable) {
      StringBuilder o = new StringBuilder("[");
      boolean first = true;
      for (Object x : (Iterable<?>) v) { if (!first) o.append(", "); first = false; o.append(show(x)); }
      return o.append("]").toString();
    }
    if (v.getClass().isArray()) {
      StringBuilder o = new StringBuilder("[");
      for (int i = 0; i < java.lang.reflect.Array.getLength(v); i++) {
        if (i > 0) o.append(", ");
        o.append(show(java.lang.reflect.Array.get(v, i)));
      }
      return o.append("]").toString();
    }
    return quote(v.toString());
  }
  static final java.io.PrintStream OUT = System.out;  // the program's prints go nowhere
  static void emit(int i, String status, String text) {
    String esc = text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    OUT.print("\nTAG[" + i + ", \"" + status + "\", \"" + esc + "\"]\n");
    OUT.flush();
  }
"""


class Java(Language):
    name = "java"
    compiled = True

    def signature(self, declared: str) -> Signature | None:
        m = re.search(r"([A-Za-z_]\w*)\s*\(", declared)
        return Signature(m.group(1), declared.strip()) if m else None

    def program(self, response: str, sig: Signature) -> str | None:
        code = code_of(response, "java")
        if not code.strip():
            return None
        code = re.sub(r"^\s*(?:package|import)\s[^;]*;\s*$", "", code, flags=re.M)
        if re.search(r"\bclass\s+Solution\b", code):
            # one public class per file: the harness's Main
            body = re.sub(r"\bpublic\s+((?:final\s+|abstract\s+)*class\s+Solution\b)", r"\1", code)
        elif re.search(rf"\b{re.escape(sig.name)}\s*\([^;{{]*\)\s*(?:throws[^{{]*)?{{", code):
            body = f"class Solution {{\n{code}\n}}"  # a method on its own
        else:  # a bare body, completed from the signature
            body = _close_braces(f"class Solution {{\n{sig.text} {{\n{code}")
        body = re.sub(
            r"\bpublic\s+static\s+void\s+main\s*\(", "static void _rrmResponseMain(", body
        )
        return JAVA_PRELUDE + body

    def _main(self, cases: list[TestCase]) -> tuple[str, list[int]]:
        lines = [
            "public class Main {",
            "  public static void main(String[] args) {",
            "    System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));",
            "    Solution _rrm_s = new Solution();",
        ]
        at = []
        for i, case in enumerate(cases):
            at.append(len(lines))
            lines.append(
                f'    try {{ Object _rrm_v = _rrm_s.{case.call}; emit({i}, "ok", show(_rrm_v)); }}'
                f' catch (Throwable _rrm_e) {{ emit({i}, "error", String.valueOf(_rrm_e)); }}'
            )
        lines.append("  }")
        return "\n".join(lines) + "\n", at

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        main, _ = self._main(cases)
        return program + "\n" + main + _JAVA_SHOW.replace("TAG", tag) + "}\n"

    def stub(self, sig: Signature, cases: list[TestCase]) -> tuple[str, list[int]]:
        head = (
            JAVA_PRELUDE
            + f"class Solution {{\n{sig.text} {{ throw new RuntimeException(); }}\n}}\n"
        )
        main, at = self._main(cases)
        offset = head.count("\n")
        return head + main + _JAVA_SHOW.replace("TAG", "") + "}\n", [offset + n + 1 for n in at]


# ---- Rust ---------------------------------------------------------------------------------

RUST_PRELUDE = (
    "#![allow(unused_imports, dead_code, unused_variables, unused_mut, non_snake_case)]\n"
    "use std::collections::*;\nuse std::cmp::{max, min, Ordering};\nuse std::mem::replace;\n"
    "use std::ops::Index;\nuse std::any::Any;\n"
)


class Rust(Language):
    name = "rust"
    compiled = True

    def signature(self, declared: str) -> Signature | None:
        m = re.match(r"\s*(?:pub\s+)?(?:fn\s+)?([A-Za-z_]\w*)", declared)
        text = declared.strip()
        if not text.startswith(("fn ", "pub fn ")):
            text = "fn " + text
        return Signature(m.group(1), text) if m else None

    def program(self, response: str, sig: Signature) -> str | None:
        code = code_of(response, "rust")
        if not code.strip():
            return None
        code = re.sub(r"^\s*use\s+(?:rand|regex|md5)\b[^;]*;\s*$", "", code, flags=re.M)
        code = re.sub(r"\bfn\s+main\s*\(\s*\)", "fn _rrm_response_main()", code)
        if re.search(rf"\bfn\s+{re.escape(sig.name)}\b", code):
            return RUST_PRELUDE + code
        return RUST_PRELUDE + _close_braces(f"{sig.text} {{\n{code}")

    def _main(self, cases: list[TestCase], tag: str) -> tuple[str, list[int]]:
        lines = [
            "fn _rrm_emit(i: usize, status: &str, text: &str) {",
            # on stderr: the program's own prints (stdout) cannot crowd out the results
            f'    eprintln!("\\n{tag}[{{}}, {{:?}}, {{:?}}]", i, status, text);',
            "}",
            "fn main() {",
            "    std::panic::set_hook(Box::new(|_| {}));",
        ]
        at = []
        for i, case in enumerate(cases):
            at.append(len(lines))
            lines.append(
                f"    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| "
                f'format!("{{:?}}", {case.call}))) {{ Ok(s) => _rrm_emit({i}, "ok", &s), '
                f'Err(_) => _rrm_emit({i}, "error", "a panic") }}'
            )
        lines.append("}")
        return "\n".join(lines) + "\n", at

    def harness(self, program: str, cases: list[TestCase], tag: str, per_call: float) -> str:
        main, _ = self._main(cases, tag)
        return program + "\n" + main

    def stub(self, sig: Signature, cases: list[TestCase]) -> tuple[str, list[int]]:
        head = RUST_PRELUDE + f"{sig.text} {{ unimplemented!() }}\n"
        main, at = self._main(cases, "")
        offset = head.count("\n")
        return head + main, [offset + n + 1 for n in at]


LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in (Python(), JavaScript(), Cpp(), Java(), Rust())
}
