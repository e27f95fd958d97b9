"""Reading a results file back for scoring: every row checked, every problem named by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError

REQUIRED = ("subset", "id", "correct")


def read_results(
    path: str | Path, allowed_correct: tuple[float, ...] = (0, 0.5, 1)
) -> list[dict[str, Any]]:
    """All rows of a results file; an empty or truncated file, a missing field, a bad value
    or an item listed twice is an InputError naming the file, line and field."""
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
            if row["correct"] not in allowed_correct or isinstance(row["correct"], bool):
                raise InputError(
                    f"{where}: field 'correct' must be one of {allowed_correct}, got {row['correct']!r}"
                )
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
