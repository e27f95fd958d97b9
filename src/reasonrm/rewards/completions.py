"""The text a reward scores, taken out of what an RL trainer hands a reward function."""

from __future__ import annotations

from typing import Any

from reasonrm.errors import InputError


def text_of(completion: Any) -> str:
    """A completion as TRL passes it: a string, or a list of messages (the last is the reply)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content") or "")
    raise TypeError(f"a completion must be a string or a list of messages, got {completion!r}")


def response_of(query: str, prompt: str, row: int = 0) -> str:
    """The response inside an OpenRLHF query. The prompt itself asks for
    "\\boxed{Assistant 1} or \\boxed{Assistant 2}", so parsing the whole query would read
    the instruction as a verdict: a query that does not contain its prompt is an error."""
    if query.startswith(prompt):
        return query[len(prompt) :]
    at = query.find(prompt)  # leading pad or BOS text the decoder kept
    if prompt and at >= 0:
        return query[at + len(prompt) :]
    raise InputError(
        f"row {row}: the query does not contain its prompt, so the response cannot be "
        "separated from the judge's instructions"
    )
