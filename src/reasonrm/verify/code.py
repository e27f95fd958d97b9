"""The code check: run both responses' programs on tests and decide when one passes every
test the other fails.

Tests come in two tiers. First the examples the prompt states (authoritative). When they do
not decide (none stated, or both responses pass them), the judge writes test inputs and its
own solutions from the prompt alone, never seeing the responses; a test's expected value is
what most of the judge's solutions return, kept only where at least two agree. A coder model
writes a working function far more often than it computes a result by hand, so the expected
values come from its programs, not from the values it writes in its tests.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from reasonrm.sandbox.base import Limits, RunRequest, RunResult
from reasonrm.types import Comparison, Label
from reasonrm.verify.base import CheckContext, Evidence, Verifier
from reasonrm.verify.code_tasks import CodeTask, code_task, prompt_text
from reasonrm.verify.examples import TestCase, read_cases
from reasonrm.verify.languages import FENCES, LANGUAGES, NAMES, Language, fenced_blocks
from reasonrm.verify.literals import NotALiteral, read_value, same

PER_CALL_SECONDS = 2.0
RUN_SECONDS = 10.0
TEST_TOKENS = 400
SOLUTION_TOKENS = 512
JUDGE_TESTS = 8  # inputs asked of each test-writing sample


@dataclass(frozen=True)
class Result:
    """One test's outcome for one program: "ok" with the value it returned (as printed),
    "error" (an exception, a panic) or "missing" (the run ended before it)."""

    status: str
    got: str | None = None


@dataclass(frozen=True)
class Run:
    """A program's results on a list of tests, or why it produced none."""

    results: list[Result]
    failure: str | None = None  # "compile_error", "timeout", "unavailable", ...
    detail: str = ""


class CodeVerifier(Verifier):
    name = "code"

    def applies(self, c: Comparison) -> bool:
        return code_task(c) is not None

    async def check(self, c: Comparison, ctx: CheckContext) -> Evidence:
        started = time.monotonic()
        task = code_task(c)
        if task is None:
            return Evidence(self.name, None, "no check: not a coding task this check reads")
        outcome = await self._check(c, task, ctx)
        winner, summary, details, tokens = outcome
        details = {"language": task.language, "kind": task.kind} | details
        return Evidence(self.name, winner, summary, details, time.monotonic() - started, tokens)

    async def _check(
        self, c: Comparison, task: CodeTask, ctx: CheckContext
    ) -> tuple[Label | None, str, dict[str, Any], int]:
        if task.why_not:
            return None, f"no check: {task.why_not}", {}, 0
        why_not = await asyncio.to_thread(ctx.sandbox.why_not, task.language)
        if why_not is not None:
            return (
                None,
                f"no check: the sandbox cannot run {NAMES[task.language]}: {why_not}",
                {},
                0,
            )
        lang = LANGUAGES[task.language]
        programs = [self._program(lang, task, text) for text in (c.a, c.b)]
        missing = [slot for slot, p in zip("ab", programs, strict=True) if p is None]
        if missing:
            return None, f"no check: no program found in response {' and '.join(missing)}", {}, 0
        if programs[0] == programs[1]:
            return None, "no check: both responses are the same program", {}, 0

        cases = await self._valid(lang, task, list(task.examples), ctx)
        details: dict[str, Any] = {}
        if cases:
            runs = await self._run_each(lang, task, programs, cases, ctx)
            down = next((run.detail for run in runs if run.failure == "unavailable"), None)
            if down is not None:  # the sandbox itself: no test can run now
                return (
                    None,
                    f"no check: the sandbox could not run the programs ({down})",
                    details,
                    0,
                )
            winner, summary, shown = _decide(cases, runs, task, "of the prompt's examples")
            details["examples"] = shown
            if winner is not None or task.kind == "stdio":
                return winner, summary, details, 0
        else:
            summary = "the prompt states no example that can be run"
            if task.kind == "stdio":
                return None, f"no check: {summary}", details, 0

        judged, inputs, tokens = await self._judge_tests(c, lang, task, ctx)
        if judged:
            runs = await self._run_each(lang, task, programs, judged, ctx)
            winner, judged_summary, shown = _decide(judged, runs, task, "of the judge's tests")
            details["judge_tests"] = shown
            summary = f"{summary}; {judged_summary}"
            if winner is not None:
                return winner, summary, details, tokens
        else:
            summary = f"no check: {summary}; the judge's tests gave no agreed result"
        # where the two programs part ways, for people to see (no expected value decides it)
        differ = await self._disagreements(lang, task, programs, inputs, ctx)
        if differ:
            details["disagreements"] = differ
            summary += f"; a and b differ on {len(differ)} of its inputs"
        return None, summary, details, tokens

    async def score(self, prompt, response: str, ctx: CheckContext) -> float | None:
        """The share of tests the response passes: the prompt's examples, or where it states
        none, the judge's tests. None when no test can run; 0 when a coding prompt gets no
        program."""
        c = Comparison(prompt, response, response)
        task = code_task(c)
        if task is None or task.why_not:
            return None
        if await asyncio.to_thread(ctx.sandbox.why_not, task.language) is not None:
            return None
        lang = LANGUAGES[task.language]
        program = self._program(lang, task, response)
        if program is None:
            return 0.0
        cases = await self._valid(lang, task, list(task.examples), ctx)
        if not cases and task.kind == "function":
            cases, _, _ = await self._judge_tests(c, lang, task, ctx)
        if not cases:
            return None
        run = await self._run(lang, task, program, cases, ctx)
        if run.failure == "unavailable":  # the sandbox, not the completion
            return None
        passed = [_passes(case, r, task) for case, r in zip(cases, run.results, strict=True)]
        return sum(passed) / len(passed)

    def _program(self, lang: Language, task: CodeTask, text: str) -> str | None:
        if task.kind == "stdio":
            code = "\n".join(
                code for tag, code in _blocks(text) if tag in FENCES["python"] or not tag
            )
            return code or None
        assert task.signature is not None
        program = lang.program(text, task.signature)
        if program is not None and task.method_of and _method_in(program, task):
            # LeetCode: the method called as a function (a response may define either)
            name = task.signature.name
            program += f"\n\ndef {name}(*args, **kwargs):\n    return {task.method_of}().{name}(*args, **kwargs)\n"
        return program

    # ---- running ---------------------------------------------------------------------------

    async def _run(
        self, lang: Language, task: CodeTask, program: str, cases: list[TestCase], ctx: CheckContext
    ) -> Run:
        if task.kind == "stdio":
            return await self._run_stdio(program, cases, ctx)
        tag = f"@@rrm{secrets.token_hex(6)}@@"
        source = lang.harness(program, cases, tag, PER_CALL_SECONDS)
        seconds = min(RUN_SECONDS, 2 + PER_CALL_SECONDS * len(cases))
        request = RunRequest(
            source, lang.name, limits=Limits(seconds=seconds, output_bytes=1 << 20)
        )
        result = await ctx.sandbox.arun(request)
        if result.status == "timeout":  # once more: another program may have held the CPU
            result = await ctx.sandbox.arun(request)
        results = _tagged(result.stdout + "\n" + result.stderr, tag, len(cases))
        if result.status in ("compile_error", "unavailable"):
            return Run(results, result.status, _brief(result))
        failure = "timeout" if result.status == "timeout" else None
        return Run(results, failure, _brief(result) if failure else "")

    async def _run_each(
        self,
        lang: Language,
        task: CodeTask,
        programs: list[str],
        cases: list[TestCase],
        ctx: CheckContext,
    ) -> list[Run]:
        """The two responses' programs, one after the other: run side by side, one could
        hold the CPU until the other missed its deadlines (and win by it)."""
        return [await self._run(lang, task, program, cases, ctx) for program in programs]

    async def _run_stdio(self, program: str, cases: list[TestCase], ctx: CheckContext) -> Run:
        requests = [
            RunRequest(program, "python", stdin=case.call, limits=Limits(seconds=RUN_SECONDS))
            for case in cases
        ]
        done = await asyncio.gather(*(ctx.sandbox.arun(r) for r in requests))
        down = next((r for r in done if r.status == "unavailable"), None)
        if down is not None:
            return Run([Result("missing")] * len(cases), "unavailable", _brief(down))
        return Run(
            [
                Result("ok", r.stdout) if r.status == "ok" else Result("error", _brief(r))
                for r in done
            ]
        )

    async def _valid(
        self, lang: Language, task: CodeTask, cases: list[TestCase], ctx: CheckContext
    ) -> list[TestCase]:
        """The tests whose calls compile against a stub of the signature (compiled
        languages): a call the prompt wrote wrongly is dropped, not failed by both."""
        if not cases or not lang.compiled or task.signature is None:
            return cases
        stub = lang.stub(task.signature, cases)
        if stub is None:
            return cases
        source, lines = stub

        async def compile_stub() -> RunResult:
            request = RunRequest(source, lang.name, limits=Limits(seconds=RUN_SECONDS))
            return await ctx.sandbox.arun(request)

        key = "code-stub|" + json.dumps([lang.name, source])
        result = await ctx.shared(key, compile_stub)
        if result.status != "compile_error":
            return cases
        bad = _error_lines(result.stderr)
        kept = [case for case, line in zip(cases, lines, strict=True) if line not in bad]
        return kept if len(kept) < len(cases) else []  # errors elsewhere: the stub is wrong

    # ---- the judge's tests -------------------------------------------------------------------

    async def _judge_tests(
        self, c: Comparison, lang: Language, task: CodeTask, ctx: CheckContext
    ) -> tuple[list[TestCase], list[TestCase], int]:
        """The judge's tests, each with the value most of its own solutions return (at least
        two agreeing); every input they were tried on (the prompt's and the judge's calls);
        the tokens written for them, counted where they were made (once per prompt)."""
        prompt = prompt_text(c)
        assert task.signature is not None
        key = "code-judge|" + json.dumps(
            [lang.name, prompt, task.signature.text, task.method_of, ctx.samples, ctx.seed]
        )
        made = []

        async def make() -> tuple[list[TestCase], list[TestCase], int]:
            made.append(True)
            fence = f"```{FENCES[lang.name][0]}\n"
            asked_tests, asked_solutions = await asyncio.gather(
                # one greedy set of inputs: only the calls are used, their values come from
                # the solutions
                ctx.write(_tests_chat(prompt, lang, task), TEST_TOKENS, prefill=fence, samples=1),
                ctx.write(_solution_chat(prompt, lang, task), SOLUTION_TOKENS, prefill=fence),
            )
            tokens = sum(s.completion_tokens for s in [*asked_tests, *asked_solutions])
            assert task.signature is not None
            calls: dict[str, TestCase] = {}
            for case in [
                *task.examples,
                *_judge_cases(asked_tests, task.signature.name, lang.name),
            ]:
                calls.setdefault(re.sub(r"\s+", "", case.call), case)
            inputs = await self._valid(lang, task, list(calls.values()), ctx)
            # the same program written twice is two votes for its results, run once
            written = Counter(self._program(lang, task, s.text) for s in asked_solutions)
            written.pop(None, None)
            if not inputs or sum(written.values()) < 2:
                return [], inputs, tokens
            programs = list(written)
            runs = await asyncio.gather(*(self._run(lang, task, p, inputs, ctx) for p in programs))
            return _agreed(inputs, runs, [written[p] for p in programs], task), inputs, tokens

        cases, inputs, tokens = await ctx.shared(key, make)
        return cases, inputs, tokens if made else 0

    async def _disagreements(
        self,
        lang: Language,
        task: CodeTask,
        programs: list[str],
        inputs: list[TestCase],
        ctx: CheckContext,
    ) -> list[dict[str, Any]]:
        """The inputs on which the two programs return different results (at most 10)."""
        if not inputs:
            return []
        runs = await self._run_each(lang, task, programs, inputs, ctx)
        shown = lambda r: r.got if r.status == "ok" else r.status  # noqa: E731
        differ = [
            {"call": case.call, "a": shown(ra), "b": shown(rb)}
            for case, ra, rb in zip(inputs, runs[0].results, runs[1].results, strict=True)
            if (ra.status, ra.got) != (rb.status, rb.got)
        ]
        return differ[:10]


def _method_in(program: str, task: CodeTask) -> bool:
    """Whether this program defines the function as a method of the task's class."""
    assert task.signature is not None and task.method_of is not None
    return bool(
        re.search(rf"^class\s+{re.escape(task.method_of)}\b", program, re.M)
        and re.search(rf"def\s+{re.escape(task.signature.name)}\s*\(\s*self\b", program)
    )


def _blocks(text: str) -> list[tuple[str, str]]:
    blocks = fenced_blocks(text)
    return blocks or [("", text)]


def _tests_chat(prompt: str, lang: Language, task: CodeTask) -> list[dict[str, str]]:
    assert task.signature is not None
    name, language = task.signature.name, NAMES[lang.name]
    return [
        {
            "role": "system",
            "content": f"You are an expert {language} programmer who writes unit tests from a "
            "problem statement, before any solution exists.",
        },
        {
            "role": "user",
            "content": f"{prompt}\n\nWrite {JUDGE_TESTS} tests for the function `{task.signature.text}`: "
            "first each example stated above, then typical inputs and edge cases. Write each "
            f"test on one line, in this form:\nassert {name}(ARGUMENTS) == EXPECTED\nwith the "
            f"arguments and the expected value as {language} literals. Write only these lines, "
            f"in one ```{FENCES[lang.name][0]} block.",
        },
    ]


def _solution_chat(prompt: str, lang: Language, task: CodeTask) -> list[dict[str, str]]:
    assert task.signature is not None
    language = NAMES[lang.name]
    where = f" as a method of class {task.method_of}" if task.method_of else ""
    return [
        {"role": "system", "content": f"You are an expert {language} programmer."},
        {
            "role": "user",
            "content": f"{prompt}\n\nWrite the complete {language} function "
            f"`{task.signature.text}`{where} that solves this problem, with any helper it "
            f"needs. Reply with the code only, in one ```{FENCES[lang.name][0]} block.",
        },
    ]


def _judge_cases(samples: list, name: str, language: str) -> list[TestCase]:
    cases: list[TestCase] = []
    for s in samples:
        cases.extend(read_cases(s.text, name, "judge", language))
    return cases


def _value(text: str | None, task: CodeTask) -> tuple[bool, Any]:
    if text is None:
        return False, None
    try:
        return True, read_value(text, python=task.language == "python")
    except NotALiteral:
        return True, text  # not a literal (an object's repr): compared as text


def _agreed(
    inputs: list[TestCase], runs: list[Run], weights: list[int], task: CodeTask
) -> list[TestCase]:
    """Each input with the value most of the judge's solutions return (a program written
    `weight` times counts that often), where at least two agree and no other value is as
    common."""
    strict = task.language == "python"
    agreed = []
    for i, case in enumerate(inputs):
        groups: list[tuple[Any, int]] = []  # (value, votes)
        for run, weight in zip(runs, weights, strict=True):
            result = run.results[i]
            ok, value = _value(result.got, task) if result.status == "ok" else (False, None)
            if not ok:
                continue
            for g, (seen, votes) in enumerate(groups):
                if same(value, seen, strict_types=strict):
                    groups[g] = (seen, votes + weight)
                    break
            else:
                groups.append((value, weight))
        groups.sort(key=lambda group: group[1], reverse=True)
        if groups and groups[0][1] >= 2 and (len(groups) == 1 or groups[1][1] < groups[0][1]):
            agreed.append(TestCase(case.call, groups[0][0], "judge"))
    return agreed


def _passes(case: TestCase, result: Result, task: CodeTask) -> bool:
    if result.status != "ok":
        return False
    if task.kind == "stdio":
        return _same_output(result.got or "", str(case.expected))
    ok, value = _value(result.got, task)
    return ok and same(value, case.expected, strict_types=task.language == "python")


def _same_output(got: str, want: str) -> bool:
    """Program output against the expected output: token by token, numbers within 1e-6."""
    a, b = got.split(), want.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if re.fullmatch(r"[-+]?\d+", x) and re.fullmatch(r"[-+]?\d+", y):
            return False  # integers are exact: 1000000007 is not 1000000008
        try:
            if abs(float(x) - float(y)) > 1e-6 * max(1.0, abs(float(y))):
                return False
        except (ValueError, OverflowError):
            return False
    return True


def _decide(
    cases: list[TestCase], runs: list[Run], task: CodeTask, what: str
) -> tuple[Label | None, str, dict[str, Any]]:
    """A wins when it passes a test b fails and fails none that b passes (and the other
    way round); the summary counts the passes."""
    passed = [
        [_passes(case, r, task) for case, r in zip(cases, run.results, strict=True)] for run in runs
    ]
    a_only = sum(x and not y for x, y in zip(*passed, strict=True))
    b_only = sum(y and not x for x, y in zip(*passed, strict=True))
    counts = [sum(p) for p in passed]
    n = len(cases)
    line = f"a passes {counts[0]} and b {counts[1]} {what} ({n})"
    notes = [f"{slot}: {run.failure}" for slot, run in zip("ab", runs, strict=True) if run.failure]
    if notes:
        line += f" [{'; '.join(notes)}]"
    winner: Label | None = "A" if a_only and not b_only else "B" if b_only and not a_only else None
    shown = {
        "tests": [case.to_dict() for case in cases],
        "a": _shown(runs[0], passed[0]),
        "b": _shown(runs[1], passed[1]),
    }
    verdict = f": {winner.lower()} is better" if winner else ": no decision"
    return winner, line + verdict, shown


def _shown(run: Run, passed: list[bool]) -> dict[str, Any]:
    return {
        "passed": sum(passed),
        "failure": run.failure,
        "detail": run.detail[:500],
        "results": [
            {"status": r.status, "got": None if r.got is None else r.got[:200], "pass": p}
            for r, p in zip(run.results, passed, strict=True)
        ],
    }


def _tagged(output: str, tag: str, n: int) -> list[Result]:
    """The harness's tagged lines, by test index; a test without one is "missing". A line a
    program forged in the wrong shape is skipped (a right value is all a forgery could
    offer, and a program that knows it passes anyway)."""
    results = [Result("missing")] * n
    for line in output.split("\n"):  # not splitlines: results may hold U+2028 and the like
        if not line.startswith(tag):
            continue
        payload = line[len(tag) :]
        # Rust's Debug escapes \u{1f} where JSON writes \u001f
        fixed = re.sub(
            r"\\u\{([0-9a-fA-F]{1,6})\}", lambda m: f"\\u{int(m.group(1), 16):04x}", payload
        )
        try:
            index, status, text = json.loads(fixed, strict=False)
        except (json.JSONDecodeError, ValueError, TypeError):
            continue
        if not (isinstance(index, int) and isinstance(status, str) and isinstance(text, str)):
            continue
        if 0 <= index < n and results[index].status == "missing":
            results[index] = Result("ok" if status == "ok" else "error", text)
    return results


def _error_lines(stderr: str) -> set[int]:
    """Line numbers the compiler's errors point at (g++, javac, rustc), whatever the source
    file is called (the local sandbox's main.cpp, a SandboxFusion service's own names)."""
    lines = {int(m) for m in re.findall(r"\S*\.(?:cpp|cc):(\d+):\d+: error", stderr)}
    lines |= {int(m) for m in re.findall(r"\S*\.java:(\d+): error", stderr)}
    lines |= {int(m) for m in re.findall(r"error(?:\[\w+\])?:[^\n]*\n\s*--> \S*\.rs:(\d+)", stderr)}
    return lines


def _brief(result: RunResult) -> str:
    text = (result.reason or result.stderr or result.stdout or "").strip()
    return f"{result.status}: {text[-300:]}"
