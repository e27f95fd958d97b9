"""JSON-lines files that survive interruption: each row is flushed as it is written, a
half-written last row (kill -9 mid-write) is cut off on reopening, and the keys already
written are known, so a rerun skips them.

One output holds one run. What decides its rows (model, protocol, votes, ...) is its
settings: a JSONL output records them in every row (`ResumableWriter(settings=...)`), a run
folder in a JSON file beside its rows (`check_settings_file`), and resuming with other
settings is refused by the same rule either way (`refuse_other_settings`)."""

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


#: settings added after results were first kept, with the value older rows were made with
ADDED_SETTINGS: dict[str, Any] = {"prefill": False, "dtype": "auto"}


def refuse_other_settings(where: str | Path, before: dict[str, Any], now: dict[str, Any]) -> None:
    """InputError naming what changed when `now` differs from the settings `before` on a key
    both have. A key added since is not a change, unless `ADDED_SETTINGS` knows the value it
    stood for (older rows of `train evaluate` were not prefilled, and a transformers engine
    ran at its default precision)."""
    if before:  # rows were kept: what they lack, they were made with the old value
        before = {k: v for k, v in ADDED_SETTINGS.items() if k in now} | before
    changed = [k for k in now if k in before and before[k] != now[k]]
    if changed:
        was = ", ".join(f"{k}: {before[k]!r} → {now[k]!r}" for k in changed)
        raise InputError(
            f"{where} holds results made with other settings ({was}): write to another "
            "output, or use the same settings to resume"
        )


def recorded_settings(path: str | Path) -> dict[str, Any]:
    """The settings recorded in a JSON-lines output (its first row that has them), or {}."""
    if Path(path).exists():
        for _, row in iter_jsonl(path):
            if isinstance(row, dict) and isinstance(row.get("settings"), dict):
                return row["settings"]
    return {}


def check_settings(path: str | Path, settings: dict[str, Any]) -> None:
    """Refuse to add rows made with `settings` to a JSON-lines output made with others."""
    refuse_other_settings(path, recorded_settings(path), settings)


def check_settings_file(path: str | Path, settings: dict[str, Any]) -> None:
    """A run folder's settings file (run.json): refuse other settings, then record these."""
    path = Path(path)
    if path.exists():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            before = {}
        refuse_other_settings(path.parent, before if isinstance(before, dict) else {}, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")


class ResumableWriter:
    """Append rows to a JSON-lines file, keyed by `key`; `done` holds the keys already there.
    With `settings`, the file must hold rows of the same settings (else InputError), and
    every row written records them."""

    def __init__(self, path: str | Path, key: str, settings: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.key = key
        self.settings = settings
        if settings is not None:
            check_settings(self.path, settings)
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
        if self.settings is not None:
            row = row | {"settings": self.settings}
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
