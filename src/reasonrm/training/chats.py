"""Training data files: JSONL rows of chat messages, read and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.jsonl import iter_jsonl
from reasonrm.training.config import TrainSettings
from reasonrm.types import Message


def read_data(settings: TrainSettings) -> tuple[Path, list[tuple[str, dict[str, Any]]]]:
    """(the file, its rows as ("file:line", row)); a malformed line is an error."""
    path = settings.data_file()
    rows = []
    for number, row in iter_jsonl(path):
        if isinstance(row, InputError):
            raise row
        rows.append((f"{path}:{number}", row))
        if settings.max_rows and len(rows) >= settings.max_rows:
            break
    if not rows:
        raise InputError(f"{path}: no rows to train on")
    return path, rows


def check_chat(value: Any, where: str, name: str = "messages") -> list[Message]:
    """A list of {role, content} messages (other keys dropped, so Arrow sees one type)."""
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: field '{name}' must be a non-empty list of messages")
    chat = []
    for i, m in enumerate(value):
        if (
            not isinstance(m, dict)
            or m.get("role") not in ("system", "user", "assistant")
            or not isinstance(m.get("content"), str)
        ):
            raise InputError(
                f"{where}: {name}[{i}] must be {{'role': 'system'|'user'|'assistant', "
                "'content': str}"
            )
        chat.append({"role": m["role"], "content": m["content"]})
    return chat
