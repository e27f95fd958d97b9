"""JSON-lines files that survive interruption: each row is flushed as it is written, a
half-written last row (kill -9 mid-write) is cut off on reopening, and the keys already
written are known, so a rerun skips them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """(line number, row) for each non-blank line; a malformed line gives an InputError
    naming the file and line instead of stopping the read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield number, InputError(f"{path}:{number}: not valid JSON ({e.msg})")
                continue
            if not isinstance(row, dict):
                yield number, InputError(f"{path}:{number}: expected a JSON object")
                continue
            yield number, row


class ResumableWriter:
    """Append rows to a JSON-lines file, keyed by `key`; `done` holds the keys already there."""

    def __init__(self, path: str | Path, key: str) -> None:
        self.path = Path(path)
        self.key = key
        self.done: set = set()
        if self.path.exists():
            self._recover()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def _recover(self) -> None:
        good = 0  # byte offset after the last complete row
        with open(self.path, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError:
                    break
                good += len(raw)
                if isinstance(row, dict) and self.key in row:
                    self.done.add(row[self.key])
        if good != self.path.stat().st_size:
            with open(self.path, "r+b") as f:
                f.truncate(good)

    def write(self, row: dict[str, Any]) -> None:
        self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done.add(row[self.key])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ResumableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def latest_by(path: str | Path, key: str) -> dict[Any, dict[str, Any]]:
    """The rows of a JSON-lines file by `key`; a later row of a key replaces an earlier one
    (a retried row). Lines that are not JSON objects with the key are passed over."""
    found: dict[Any, dict[str, Any]] = {}
    if Path(path).exists():
        for _, row in iter_jsonl(path):
            if isinstance(row, dict) and key in row:
                found[row[key]] = row
    return found
