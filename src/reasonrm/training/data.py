"""Preference pairs to judge-training rows (`reasonrm data prepare`).

Formats (`open_pairs`), each read row by row by `reasonrm.pairs` into `PreferencePair`s:

- `hh-rlhf`: `chosen`/`rejected` full transcripts ("\\n\\nHuman: …\\n\\nAssistant: …"). The
  turns the two share are the prompt (a message list), the final assistant replies the two
  responses. Transcripts that differ before their last reply are dropped and counted.
- `ultrafeedback`: `prompt` plus `chosen`/`rejected` as strings, or (the Hugging Face
  layout) as message lists ending with the assistant's reply; the messages before it are
  the conversation when there is no `prompt`.
- `pairs`: our JSONL: `prompt` (string or message list) with `chosen`/`rejected`, or
  with `a`/`b` and `label`.
- `auto`: decided from the first row: transcripts are hh-rlhf, message-list sides
  ultrafeedback, anything else with a `prompt` pairs (string-layout UltraFeedback reads
  the same either way).

A field that is absent is an error naming the file, line and field; a side that is
present but null or blank is dropped and counted (real data sets have them).

`prepare` then, in this order: drops rows with an empty prompt or response, identical
responses, exact duplicates and (with `max_tokens`) rendered prompts over the limit,
counting each reason; splits off a seeded held-out set of pairs; writes each pair in both
orders (`orders="both"`, the default: chosen in slot A, then in slot B, so a judge that
names a slot is right exactly half the time), or in one order (`orders="one"`: chosen in
slot A or B so that exactly half (±1) of each split has label A, seeded); and renders the
protocol's judge prompt with the protocol's own `render`, so training sees exactly what
judging sends. The rendering gets no label, and responses are stripped of surrounding whitespace,
so neither a name, a tag, the order nor formatting can hint which one was chosen.

Output rows (train.jsonl, heldout.jsonl; `JudgeRow.to_dict`):

    id        unique per row: the pair's id, then "-AB" or "-BA" with both orders
    pair      the pair's id: the input's id, else a hash of its content (the same for any
              seed); both orders of a pair share it
    order     "AB" when the chosen response is shown first (label A), "BA" when second
    messages  the rendered judge chat: what the judge is trained on
    label     "A" or "B": the slot holding the chosen response (the reward's target)
    prompt    the conversation before the responses, always a message list (one type per
              column for Arrow; one user message renders exactly like a plain string)
    a, b      the responses in slot 1 and slot 2
    source    where the pair came from, "file:line"

Rows are also valid `reasonrm judge --input` lines. For TRL's GRPOTrainer, whose prompt
column is what the policy sees, use `messages` as the prompt, e.g.
`ds.rename_columns({"prompt": "conversation", "messages": "prompt"})`; `label` is the
column `reasonrm.rewards.verdict_reward` reads. stats.json holds counts read,
kept and dropped by reason, and the A/B balance of each split.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.eval.data import read_rows
from reasonrm.jsonl import iter_jsonl
from reasonrm.pairs import EMPTY_PROMPT, EMPTY_RESPONSE, PreferencePair, read_hh, read_preference
from reasonrm.protocols import Protocol, get_protocol
from reasonrm.types import Comparison, Message

FORMATS = ("auto", "hh-rlhf", "ultrafeedback", "pairs")
ORDERS = ("both", "one")
TokenCounter = Callable[[list[Message]], int]

# drop reasons, in the order they are checked (the readers' own come first: pairs.py)
IDENTICAL = "identical_responses"
DUPLICATE = "duplicate"
TOO_LONG = "too_long"


# --- formats: each reads rows with a reader from reasonrm.pairs -------------------------

READERS: dict[str, Callable[[dict[str, Any], str], PreferencePair]] = {
    "hh-rlhf": read_hh,
    "ultrafeedback": read_preference,
    "pairs": read_preference,
}


def detect_format(row: dict[str, Any], where: str) -> str:
    chosen = row.get("chosen")
    if "prompt" not in row and isinstance(chosen, str) and "\n\nAssistant:" in chosen:
        return "hh-rlhf"
    if isinstance(chosen, list):
        return "ultrafeedback"
    if "prompt" in row:
        return "pairs"
    raise InputError(
        f"{where}: cannot tell the format: expected hh-rlhf (chosen/rejected transcripts), "
        "ultrafeedback or pairs (prompt with chosen/rejected); pass --format"
    )


def open_pairs(
    source: str | Path, format: str = "auto", split: str = "train"
) -> tuple[str, Iterator[PreferencePair]]:
    """(the format, resolved when "auto"; the pairs) from a file, folder or hub dataset id."""
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    rows = read_rows(source, split)
    if format == "auto":
        first = next(rows, None)
        if first is None:
            raise InputError(f"{source}: no rows")
        format = detect_format(first[1], first[0])
        rows = chain([first], rows)
    reader = READERS[format]
    return format, (reader(row, where) for where, row in rows)


# --- preparation ----------------------------------------------------------------------


def estimate_tokens(messages: list[Message]) -> int:
    """About 4 characters a token (English text), plus a few for each message's template."""
    return sum(math.ceil(len(m["content"]) / 4) + 4 for m in messages)


@dataclass(frozen=True)
class JudgeRow:
    id: str
    messages: list[Message]
    label: str
    prompt: list[Message]
    a: str
    b: str
    source: str
    pair: str
    order: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PrepareStats:
    protocol: str
    seed: int
    max_tokens: int | None
    orders: str = "both"
    read: int = 0
    kept: int = 0
    train: int = 0
    heldout: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    balance: dict[str, dict[str, int]] = field(default_factory=dict)
    format: str | None = None
    input: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    train: list[JudgeRow]
    heldout: list[JudgeRow]
    stats: PrepareStats


def _drop_reason(p: PreferencePair) -> str | None:
    if p.drop:
        return p.drop
    if not p.prompt:
        return EMPTY_PROMPT
    if not p.chosen.strip() or not p.rejected.strip():
        return EMPTY_RESPONSE
    if p.chosen.strip() == p.rejected.strip():
        return IDENTICAL
    return None


def _heldout_count(heldout: float, n: int) -> int:
    if heldout < 0:
        raise InputError("--heldout must be >= 0 (a fraction below 1, or a count)")
    if heldout < 1:
        count = round(heldout * n)
    elif float(heldout).is_integer():
        count = int(heldout)
    else:
        raise InputError(f"--heldout {heldout}: give a fraction below 1 or a whole count")
    if count and count >= n:
        raise InputError(f"--heldout {heldout} leaves no training rows: only {n} pairs kept")
    return count


def _balanced_labels(n: int, rng: random.Random, extra: str) -> list[str]:
    """n labels, half A and half B; an odd n gets one `extra`."""
    labels = ["A", "B"] * (n // 2) + ([extra] if n % 2 else [])
    rng.shuffle(labels)
    return labels


def _pair_id(p: PreferencePair) -> str:
    if p.id is not None:
        return p.id
    content = json.dumps([list(p.prompt), p.chosen, p.rejected], ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def _row(p: PreferencePair, label: str, protocol: Protocol, both: bool) -> JudgeRow:
    chosen, rejected = p.chosen.strip(), p.rejected.strip()
    a, b = (chosen, rejected) if label == "A" else (rejected, chosen)
    # no label on the comparison: the rendering cannot depend on it
    messages = protocol.render(Comparison(prompt=p.prompt, a=a, b=b))
    pair, order = _pair_id(p), "AB" if label == "A" else "BA"
    row_id = f"{pair}-{order}" if both else pair
    prompt = [dict(m) for m in p.prompt]
    return JudgeRow(row_id, messages, label, prompt, a, b, p.where, pair, order)


def _rows(
    pairs: list[PreferencePair], labels: list[str] | None, protocol: Protocol
) -> list[JudgeRow]:
    """Each pair in both orders (labels None), or in the order its label places it."""
    if labels is None:
        return [_row(p, lab, protocol, True) for p in pairs for lab in ("A", "B")]
    return [_row(p, lab, protocol, False) for p, lab in zip(pairs, labels, strict=True)]


def prepare(
    pairs: Iterable[PreferencePair],
    protocol: str | Protocol = "rrm",
    *,
    max_tokens: int | None = None,
    count_tokens: TokenCounter = estimate_tokens,
    heldout: float = 0,
    seed: int = 0,
    orders: str = "both",
) -> Prepared:
    """Filter, split, place and render. `heldout`: a fraction below 1, or a count, of
    pairs. `orders`: "both" (two rows per pair) or "one". `count_tokens` measures a
    rendered chat (chosen first; the other order has the same text, so it differs by a few
    tokens at most)."""
    if orders not in ORDERS:
        raise InputError(f"unknown orders {orders!r}; choose one of: {', '.join(ORDERS)}")
    proto = get_protocol(protocol)
    stats = PrepareStats(protocol=proto.ref, seed=seed, max_tokens=max_tokens, orders=orders)
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    kept: list[PreferencePair] = []
    for p in pairs:
        stats.read += 1
        reason = _drop_reason(p)
        key = json.dumps([list(p.prompt), p.chosen.strip(), p.rejected.strip()])
        if reason is None and key in seen:
            reason = DUPLICATE
        seen.add(key)
        if reason is None and max_tokens is not None:
            chat = proto.render(
                Comparison(prompt=p.prompt, a=p.chosen.strip(), b=p.rejected.strip())
            )
            if count_tokens(chat) > max_tokens:
                reason = TOO_LONG
        if reason:
            dropped[reason] += 1
        else:
            kept.append(p)
    stats.dropped = dict(sorted(dropped.items()))
    if not kept:
        raise InputError(f"no pairs left to train on: {stats.read} read, dropped {stats.dropped}")

    rng = random.Random(seed)
    held = set(rng.sample(range(len(kept)), _heldout_count(heldout, len(kept))))
    train_pairs = [p for i, p in enumerate(kept) if i not in held]
    held_pairs = [p for i, p in enumerate(kept) if i in held]
    train_labels = held_labels = None
    if orders == "one":
        # when both splits are odd, their extra labels differ, so the whole set is balanced too
        extra = rng.choice("AB")
        train_labels = _balanced_labels(len(train_pairs), rng, extra)
        held_labels = _balanced_labels(len(held_pairs), rng, "B" if extra == "A" else "A")
    train = _rows(train_pairs, train_labels, proto)
    heldout_rows = _rows(held_pairs, held_labels, proto)

    stats.kept, stats.train, stats.heldout = len(kept), len(train), len(heldout_rows)
    stats.balance = {
        name: {s: sum(r.label == s for r in rows) for s in ("A", "B")}
        for name, rows in (("train", train), ("heldout", heldout_rows))
    }
    return Prepared(train, heldout_rows, stats)


def write_prepared(prepared: Prepared, out_dir: str | Path) -> list[Path]:
    """train.jsonl, heldout.jsonl and stats.json in out_dir (replaced if there)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in (("train", prepared.train), ("heldout", prepared.heldout)):
        path = out / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in rows)
        paths.append(path)
    stats = out / "stats.json"
    stats.write_text(json.dumps(prepared.stats.to_dict(), indent=1) + "\n", encoding="utf-8")
    return paths + [stats]


def prepare_file(
    source: str | Path,
    out_dir: str | Path,
    format: str = "auto",
    protocol: str | Protocol = "rrm",
    *,
    split: str = "train",
    max_tokens: int | None = None,
    count_tokens: TokenCounter = estimate_tokens,
    heldout: float = 0,
    seed: int = 0,
    orders: str = "both",
) -> tuple[Prepared, list[Path]]:
    """Read, prepare and write: what `reasonrm data prepare` runs."""
    get_protocol(protocol)  # an unknown protocol fails before any reading
    resolved, pairs = open_pairs(source, format, split)
    prepared = prepare(
        pairs,
        protocol,
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        heldout=heldout,
        seed=seed,
        orders=orders,
    )
    prepared.stats.format, prepared.stats.input = resolved, str(source)
    return prepared, write_prepared(prepared, out_dir)


# --- reading prepared rows (evaluate, sft, distill and the benchmarks read them) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledChat:
    """A judge prompt with the slot of the better response: a `data prepare` row."""

    id: str
    messages: list[Message]
    label: str
    where: str
    pair: str | None = None  # both orders of a pair share it (`data prepare`)


def data_file(data: str | Path, name: str) -> Path:
    """`data` itself, or `data/name` when it is a folder (from `reasonrm data prepare`)."""
    path = Path(data).expanduser()
    if path.is_dir():
        path = path / name
    if not path.is_file():
        raise InputError(
            f"no such file {path} (give a folder from `reasonrm data prepare`, which holds "
            f"{name}, or a .jsonl file)"
        )
    return path


def read_labelled(path: str | Path, limit: int | None = None) -> list[LabelledChat]:
    """Every row of a `data prepare` file, checked (a bad row is an InputError naming its
    line), then the first `limit`. A row without an id is known by its line number."""
    from reasonrm.training.chats import check_chat

    path = Path(path)
    rows: list[LabelledChat] = []
    seen: dict[str, str] = {}
    for number, row in iter_jsonl(path):
        where = f"{path}:{number}"
        if isinstance(row, InputError):
            raise row
        missing = [k for k in ("messages", "label") if k not in row]
        if missing:
            raise InputError(
                f"{where}: missing field(s) {', '.join(missing)}; expected rows from "
                "`reasonrm data prepare` (messages: the judge chat, label: 'A' or 'B')"
            )
        chat = check_chat(row["messages"], where)
        if chat[-1]["role"] != "user":
            raise InputError(
                f"{where}: the judge chat must end with the user's turn (the judge writes "
                "the reply); this looks like an SFT row"
            )
        if row["label"] not in ("A", "B"):
            raise InputError(f"{where}: label must be 'A' or 'B', got {row['label']!r}")
        row_id = str(row["id"]) if row.get("id") is not None else f"line-{number}"
        if row_id in seen:
            raise InputError(
                f"{where}: id {row_id!r} is also at {seen[row_id]}; ids must be unique "
                "(results are resumed by id)"
            )
        seen[row_id] = where
        pair = str(row["pair"]) if row.get("pair") is not None else None
        rows.append(LabelledChat(row_id, chat, row["label"], where, pair))
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows[:limit] if limit else rows


def data_protocol(path: str | Path) -> str | None:
    """The protocol `data prepare` rendered a file's rows with (its stats.json), if known."""
    stats = Path(path).parent / "stats.json"
    try:
        found = json.loads(stats.read_text(encoding="utf-8")).get("protocol")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def resolve_protocol(path: str | Path, protocol: str | None) -> Protocol:
    """The protocol to parse verdicts with: the one given, else the data's, else rrm. A
    protocol other than the one the rows were rendered with is an error: its parser would
    not read the verdicts the prompt asks for."""
    rendered = data_protocol(path)
    if protocol and rendered and protocol != rendered:
        raise InputError(
            f"{path}: the rows were rendered with the {rendered!r} protocol (stats.json), "
            f"not {protocol!r}; pass --protocol {rendered}, or prepare the data again"
        )
    return get_protocol(protocol or rendered or "rrm")
