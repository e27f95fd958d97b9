"""Preference pairs from files: `prompt` plus `a`/`b`, or `chosen`/`rejected`."""

from __future__ import annotations

from typing import Any

from reasonrm.errors import InputError
from reasonrm.types import Comparison


def comparison_from_row(row: dict[str, Any], where: str = "") -> Comparison:
    """A row with `prompt` and either `a`/`b` (optional `label`) or `chosen`/`rejected`
    (then a = chosen, b = rejected and label = "A"). `where` prefixes error messages."""
    prefix = f"{where}: " if where else ""
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
    row_id = row.get("id")
    try:
        return Comparison(label=label, id=None if row_id is None else str(row_id), **fields)
    except InputError as e:
        raise InputError(f"{prefix}{e}") from None
