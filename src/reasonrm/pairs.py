"""User rows from files, read in one place: every command that takes rows (judge, rank,
data prepare) parses them here, so a row means the same thing everywhere.

- `comparison_from_row`: a pair to judge: `prompt` plus `a`/`b` (optional `label`) or
  `chosen`/`rejected`; strict (a bad field is an error).
- `candidates_from_row`: responses to rank: `prompt` plus `responses` (a list of strings).
- `read_preference` and `read_hh`: a preference pair to train on (`PreferencePair`);
  lenient, as real data sets need: a null or blank side or prompt is kept and marked to
  drop (`drop`), and responses may be message lists (the Hugging Face layout).

A prompt is a string or a list of chat messages; `id`, when present, is kept as a string.
`where` (usually "file:line") prefixes error messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.errors import InputError
from reasonrm.types import Comparison, Message, check_messages

# why a preference pair is dropped as read (`prepare` adds its own reasons)
DIFFERENT_HISTORY = "transcripts_differ_before_reply"
EMPTY_PROMPT = "empty_prompt"
EMPTY_RESPONSE = "empty_response"


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _fields(row: dict[str, Any], where: str, *names: str) -> list[Any]:
    """The values of `names`, all of which must be present (null is present)."""
    absent = [n for n in names if n not in row]
    if absent:
        raise InputError(f"{_prefix(where)}missing field(s): {', '.join(absent)}")
    return [row[n] for n in names]


def row_id(row: dict[str, Any]) -> str | None:
    """The row's `id` as a string; None when it has none."""
    return None if row.get("id") is None else str(row["id"])


# --- judging and ranking (strict) ---------------------------------------------------------


def comparison_from_row(row: dict[str, Any], where: str = "") -> Comparison:
    """A row with `prompt` and either `a`/`b` (optional `label`) or `chosen`/`rejected`
    (then a = chosen, b = rejected and label = "A"), and an optional `reference` answer.
    `where` prefixes error messages."""
    prefix = _prefix(where)
    has_ab = "a" in row or "b" in row
    has_cr = "chosen" in row or "rejected" in row
    if has_ab and has_cr:
        raise InputError(f"{prefix}give either a/b or chosen/rejected, not both")
    if has_cr:
        fields = {"prompt": row.get("prompt"), "a": row.get("chosen"), "b": row.get("rejected")}
        label = "A"
    else:
        fields = {"prompt": row.get("prompt"), "a": row.get("a"), "b": row.get("b")}
        label = row.get("label")
    missing = [k for k, v in fields.items() if v is None]
    if missing:
        names = {"a": "a (or chosen)", "b": "b (or rejected)"}
        raise InputError(f"{prefix}missing field(s): {', '.join(names.get(m, m) for m in missing)}")
    try:
        return Comparison(label=label, id=row_id(row), reference=row.get("reference"), **fields)
    except InputError as e:
        raise InputError(f"{prefix}{e}") from None


def candidates_from_row(row: dict[str, Any], where: str = "") -> tuple[Any, list[str]]:
    """A `{"prompt": ..., "responses": [...]}` row, checked; `where` prefixes errors."""
    prompt, responses = _fields(row, where, "prompt", "responses")
    try:
        Comparison(prompt, "", "")  # the same prompt check as a pair's
        return prompt, check_responses(responses)
    except InputError as e:
        raise InputError(f"{_prefix(where)}{e}") from None


def check_responses(responses: Any) -> list[str]:
    """Responses to rank: a non-empty list of strings."""
    if isinstance(responses, str) or not isinstance(responses, Sequence):
        raise InputError("responses must be a list of strings")
    if not responses:
        raise InputError("responses is empty: give at least one response to rank")
    for k, r in enumerate(responses):
        if not isinstance(r, str):
            raise InputError(f"responses[{k}] must be a string, got {type(r).__name__}")
    return list(responses)


# --- training (lenient) -------------------------------------------------------------------


@dataclass(frozen=True)
class PreferencePair:
    """One preference pair as read; `drop` is set when the reader already knows it must go."""

    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    where: str
    id: str | None = None
    drop: str | None = None


_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ ]?")


def _transcript(text: Any, where: str, name: str) -> list[Message]:
    if not isinstance(text, str) or not _TURN.match(text):
        raise InputError(
            f"{where}: field '{name}' is not an hh-rlhf transcript "
            "('\\n\\nHuman: …\\n\\nAssistant: …')"
        )
    parts = _TURN.split(text)  # "", speaker, words, speaker, words, …
    return [
        {"role": "user" if who == "Human" else "assistant", "content": said.strip()}
        for who, said in zip(parts[1::2], parts[2::2], strict=True)
    ]


def read_hh(row: dict[str, Any], where: str) -> PreferencePair:
    """hh-rlhf: `chosen`/`rejected` full transcripts; the turns they share are the prompt,
    their last assistant replies the two responses."""
    raw_chosen, raw_rejected = _fields(row, where, "chosen", "rejected")
    if raw_chosen is None or raw_rejected is None:
        return PreferencePair((), "", "", where, row_id(row), EMPTY_RESPONSE)
    chosen = _transcript(raw_chosen, where, "chosen")
    rejected = _transcript(raw_rejected, where, "rejected")
    history = chosen[:-1]
    drop = None
    if history != rejected[:-1] or not chosen[-1]["role"] == rejected[-1]["role"] == "assistant":
        drop = DIFFERENT_HISTORY
    prompt = _prompt(history, where)
    if prompt is None:
        drop = drop or EMPTY_PROMPT
    return PreferencePair(
        prompt or (), chosen[-1]["content"], rejected[-1]["content"], where, row_id(row), drop
    )


def _response(value: Any, where: str, name: str) -> tuple[str, list[Any]]:
    """(reply, the messages before it) from a string or a message list; null reads as ""."""
    if value is None:
        return "", []
    if isinstance(value, str):
        return value.strip(), []
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        last = value[-1]
        content = last.get("content")
        if last.get("role") != "assistant" or not isinstance(content, str | None):
            raise InputError(f"{where}: field '{name}' must end with an assistant message")
        return (content or "").strip(), value[:-1]
    raise InputError(
        f"{where}: field '{name}' must be a string or a list of messages, "
        f"got {type(value).__name__}"
    )


def _prompt(value: Any, where: str) -> tuple[Message, ...] | None:
    """The prompt as messages; None when it is empty (dropped, not an error)."""
    if value is None or isinstance(value, str):
        text = (value or "").strip()
        return ({"role": "user", "content": text},) if text else None
    if isinstance(value, list) and not value:
        return None
    try:
        return check_messages(value, "prompt")
    except InputError as e:
        if "no non-empty user message" in str(e):
            return None
        raise InputError(f"{where}: {e}") from None


def read_preference(row: dict[str, Any], where: str) -> PreferencePair:
    """ultrafeedback and pairs: a prompt with chosen/rejected (or a/b and a label)."""
    if "chosen" not in row and "rejected" not in row and ("a" in row or "b" in row):
        a, b, label = _fields(row, where, "a", "b", "label")
        if label not in ("A", "B"):
            raise InputError(f"{where}: field 'label' must be 'A' or 'B', got {label!r}")
        row = {**row, "chosen": a if label == "A" else b, "rejected": b if label == "A" else a}
    raw_chosen, raw_rejected = _fields(row, where, "chosen", "rejected")
    chosen, chosen_history = _response(raw_chosen, where, "chosen")
    rejected, rejected_history = _response(raw_rejected, where, "rejected")
    drop = None
    if chosen_history or rejected_history:
        # the Hugging Face layout: each side carries the conversation before its reply
        if rejected_history and chosen_history and chosen_history != rejected_history:
            drop = DIFFERENT_HISTORY
        history = chosen_history or rejected_history
        prompt = _prompt(history, where)
    else:
        prompt = _prompt(_fields(row, where, "prompt")[0], where)
    if prompt is None:
        drop = drop or EMPTY_PROMPT
    return PreferencePair(prompt or (), chosen, rejected, where, row_id(row), drop)
