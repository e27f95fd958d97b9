"""Reading a results file back for scoring: every row checked, every problem named by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.eval.base import Benchmark

REQUIRED = ("subset", "id", "correct")


def read_results(
    path: str | Path,
    allowed_correct: tuple[float, ...] | None = (0, 0.5, 1),
    skip_unfinished_line: bool = False,
) -> list[dict[str, Any]]:
    """All rows of a results file; an empty or truncated file, a missing field, a bad value
    or an item listed twice is an InputError naming the file, line and field.
    `allowed_correct=None` accepts any number from 0 to 1 (an item of several comparisons)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such results file: {path}")
    rows, seen = [], {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                if skip_unfinished_line and not line.endswith("\n"):
                    break
                hint = (
                    " (a truncated last line: resume the run to finish it)"
                    if not line.endswith("\n")
                    else ""
                )
                raise InputError(f"{where}: not valid JSON ({e.msg}){hint}") from None
            if not isinstance(row, dict):
                raise InputError(f"{where}: expected a JSON object")
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise InputError(f"{where}: missing field(s): {', '.join(missing)}")
            _check_correct(row["correct"], allowed_correct, where)
            key = (str(row["subset"]), str(row["id"]))
            if key in seen:
                raise InputError(
                    f"{where}: item {key[0]}/{key[1]} already appears on line {seen[key]}"
                )
            seen[key] = number
            rows.append(row)
    if not rows:
        raise InputError(f"{path} has no results")
    return rows


def _check_correct(value: Any, allowed: tuple[float, ...] | None, where: str) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if allowed is None:
        if not number or not 0 <= value <= 1:
            raise InputError(
                f"{where}: field 'correct' must be a number from 0 to 1, got {value!r}"
            )
    elif not number or value not in allowed:
        raise InputError(f"{where}: field 'correct' must be one of {allowed}, got {value!r}")


def score_rows(benchmark: Benchmark, rows: list[dict[str, Any]], invalid: str | None) -> dict:
    """The benchmark's scores as a dict with at least `sections` and `overall`, the number of
    items and the invalid-verdict rule used."""
    rule = benchmark.invalid_rule(invalid)
    result = benchmark.score_rows(rows, rule)
    result["items"] = len(rows)
    if rule is not None:
        result["invalid_counts_as"] = 0.5 if rule == "half" else 0.0
        result["invalid_rule"] = rule
        if benchmark.invalid_scope:
            result["invalid_scope"] = benchmark.invalid_scope
    return result


def score_file(benchmark: Benchmark, path: str | Path, invalid: str | None = None) -> dict:
    """Every score recomputed from a results file alone."""
    return score_rows(benchmark, read_results(path, benchmark.correct_values), invalid)
