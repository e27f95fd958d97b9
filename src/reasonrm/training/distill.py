"""Distillation data for SFT (`reasonrm train distill`): a teacher judge writes reasoning
chains for `reasonrm data prepare` rows, and only the chains whose verdict matches the
row's label are kept (rejection sampling: RM-R1 checked its teacher's verdicts the same way).

Pass 1: one teacher request per row, n = `samples` chains sampled (temperature 0.7 by
default) from the row's `messages`, the judge prompt exactly as training and judging see
it. Each chain's verdict is read by the protocol's own `parse` (what `reasonrm judge` and
the GRPO reward read); a chain is kept when that verdict is the row's label. A chain cut
off by the token budget is rejected even if it holds a verdict: trained on, it would teach
the student not to finish.

`teacher_note` (optional) is an instruction for the teacher alone, appended to the user
turn in both passes (to ask for short chains a small student can learn, say); like the
hint, it never reaches the SFT rows.

Pass 2 (`hint`): rows with no kept chain are shown to the teacher again with the correct
verdict appended to the user turn (`hint_text`), and its verdict-checked chains are kept
too, minus any that mention the hint. The SFT row never contains the hint: it is the
original prompt followed by the chain, so the student learns to reach the verdict alone.

Files in the output folder:

    chains.jsonl  the record: one line per row and pass, with every chain drawn, its
                  verdict and why it was rejected (or null: kept), and the teacher's
                  tokens. Appended as rows finish (resumable by row id and pass: a rerun
                  skips what is there, so nothing is judged twice; a row that was too
                  long for the teacher's context is tried again).
    train.jsonl   chat-format SFT rows, rebuilt from chains.jsonl at the end of every run
                  (finished, interrupted or failed): {id, messages: [system?, user,
                  assistant chain], label, source_id, pass, pair}, at most `keep` rows per
                  source row (its first distinct kept chains, in the order drawn), in data
                  order. Rows that carry a `pair` (both orders, as `data prepare` writes
                  them) are kept only for pairs with chains in both orders, as many of each
                  order as the rarer has, so SFT can read the two orders together.
                  `reasonrm train sft` reads this folder (or the file) as its `data`.
    stats.json    rows, chains drawn, kept, rows with a kept chain, per pass; rows too long
                  for the teacher; SFT rows written; teacher tokens.
    run.json      the settings that decide what a chain is; resuming with other settings
                  is refused (`keep` and `hint` may change between runs).

A teacher that fails (EngineError, an unreachable server) stops the run with a
`TeacherError` naming the row; what was written stays, and rerunning resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonrm.engines.base import Engine
from reasonrm.errors import ContextLengthError, EngineError, InputError, ReasonRMError
from reasonrm.jsonl import check_settings_file
from reasonrm.protocols import Protocol, get_protocol
from reasonrm.runs import ResumableRun
from reasonrm.training.data import LabelledChat
from reasonrm.types import Message, Sample, SamplingParams

log = logging.getLogger(__name__)

CHAINS, TRAIN, STATS, RUN = "chains.jsonl", "train.jsonl", "stats.json", "run.json"
OK, TOO_LONG = "ok", "too_long"
# reasons a chain is rejected
CUT_OFF, WRONG, LEAK = "cut off", "wrong verdict", "mentions the hint"

HINT = "(The better response is {name}.) Explain why step by step and end with the verdict."
# what each protocol calls its two slots
SLOT_NAMES = {
    "rrm": ("Assistant 1", "Assistant 2"),
    "direct": ("Assistant 1", "Assistant 2"),
    "rm-r1": ("Chatbot A", "Chatbot B"),
    "rm-r1-distilled": ("Chatbot A", "Chatbot B"),
}
_LEAK = re.compile(
    r"\bhint(?:s|ed)?\b|\(the better response is|\b(?:i was|i am|we are|we were) told\b",
    re.IGNORECASE,
)


class TeacherError(EngineError):
    """The teacher failed on a row: the run stops, keeping what it wrote."""


# --- one row --------------------------------------------------------------------------


@dataclass(frozen=True)
class DistillConfig:
    samples: int = 4
    keep: int = 1
    # drop SFT rows of the more frequent label until both labels have as many: a teacher
    # with a position bias is right more often on one slot, and a student trained on its
    # kept chains learns to name that slot
    balance: bool = False
    max_tokens: int | None = None  # None: the protocol's default budget
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    hint: bool = False
    # an instruction for the teacher only (e.g. "be brief"), appended to the user turn in
    # both passes; like the hint, never part of the SFT rows
    teacher_note: str | None = None
    concurrency: int | None = None  # rows in flight; None: twice the engine's capacity

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise InputError("--samples must be at least 1")
        if self.keep < 1:
            raise InputError("--keep must be at least 1")
        if self.temperature < 0:
            raise InputError("--temperature must be >= 0")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InputError("--max-tokens must be at least 1")


def hint_text(protocol: Protocol, label: str) -> str:
    first, second = SLOT_NAMES.get(protocol.name, ("the first response", "the second response"))
    return HINT.format(name=first if label == "A" else second)


def with_hint(messages: list[Message], hint: str) -> list[Message]:
    """The chat with `hint` appended to its last user turn."""
    chat = [dict(m) for m in messages]
    last = max(i for i, m in enumerate(chat) if m["role"] == "user")
    chat[last]["content"] = chat[last]["content"].rstrip() + "\n\n" + hint
    return chat


def reject_reason(protocol: Protocol, s: Sample, label: str, hinted: bool) -> str | None:
    """Why a chain is not kept; None: its verdict, read by the protocol, is the label."""
    if s.finish_reason == "length":
        return CUT_OFF
    verdict = protocol.parse(s.text)
    if not verdict.valid:
        return f"invalid: {verdict.invalid_reason}"
    if verdict.winner != label:
        return WRONG
    if hinted and _LEAK.search(s.text):
        return LEAK
    return None


def record_key(row_id: str, pass_no: int) -> str:
    return f"{row_id}#{pass_no}"


def row_seed(seed: int, row_id: str, pass_no: int) -> int:
    """A request seed from the run's seed and the row: the same wherever the row sits."""
    digest = hashlib.sha256(f"{seed}|distill|{row_id}|{pass_no}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


async def distill_row(
    engine: Engine, protocol: Protocol, row: LabelledChat, pass_no: int, config: DistillConfig
) -> dict[str, Any]:
    """Draw the row's chains (one request, n = samples) and check each: the row's record."""
    hinted = pass_no == 2
    chat = with_hint(row.messages, config.teacher_note) if config.teacher_note else row.messages
    chat = with_hint(chat, hint_text(protocol, row.label)) if hinted else chat
    params = SamplingParams(
        max_tokens=config.max_tokens or protocol.default_max_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        n=config.samples,
        seed=row_seed(config.seed, row.id, pass_no),
    )
    record: dict[str, Any] = {
        "key": record_key(row.id, pass_no),
        "id": row.id,
        "pass": pass_no,
        "label": row.label,
        "status": OK,
        "error": None,
        "chains": [],
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "seconds": 0.0,
    }
    try:
        (drawn,) = await engine.agenerate([chat], params)
    except ContextLengthError as e:
        log.warning("row %s is too long for the teacher: %s", row.id, e)
        return record | {"status": TOO_LONG, "error": str(e)}
    except ReasonRMError as e:
        raise TeacherError(f"the teacher failed on row {row.id} ({row.where}): {e}") from e
    record["chains"] = [
        {
            "text": s.text,
            "verdict": protocol.parse(s.text, truncated=s.finish_reason == "length").winner,
            "reject": reject_reason(protocol, s, row.label, hinted),
            "finish_reason": s.finish_reason,
            "completion_tokens": s.completion_tokens,
        }
        for s in drawn
    ]
    # n samples of one request share its prompt: it is processed once
    record["prompt_tokens"] = drawn[0].prompt_tokens if drawn else 0
    record["completion_tokens"] = sum(s.completion_tokens for s in drawn)
    record["seconds"] = round(sum(s.seconds for s in drawn), 3)
    return record


def kept_chains(record: dict[str, Any] | None) -> list[tuple[int, str]]:
    """(sample index, text) of a record's distinct kept chains, in the order drawn."""
    if record is None or record["status"] != OK:
        return []
    seen: set[str] = set()
    kept = []
    for i, chain in enumerate(record["chains"]):
        text = chain["text"].strip()
        if chain["reject"] is None and text and text not in seen:
            seen.add(text)
            kept.append((i, text))
    return kept


# --- the run --------------------------------------------------------------------------


@dataclass
class DistillResult:
    out_dir: Path
    stats: dict[str, Any]
    train: Path
    judged: int  # teacher requests made by this run


def run_settings(config: DistillConfig, protocol: Protocol) -> dict[str, Any]:
    """What decides the chains drawn and kept: a run resumes only with the same."""
    return {
        "protocol": protocol.ref,
        "samples": config.samples,
        "max_tokens": config.max_tokens,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "seed": config.seed,
        "teacher_note": config.teacher_note,
    }


def distill(
    engine: Engine,
    rows: list[LabelledChat],
    out_dir: str | Path,
    protocol: str | Protocol = "rrm",
    config: DistillConfig | None = None,
    *,
    settings: dict[str, Any] | None = None,
    all_rows: list[LabelledChat] | None = None,
    on_pass: Callable[[int, int, int], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> DistillResult:
    """Distill `rows` into out_dir (see the module's docstring), resuming what is there.

    settings: what run.json records and checks (default: the config's and the protocol's).
    all_rows: every row of the data file, for rebuilding train.jsonl in data order when a
    run covers only some (`--limit`); default `rows`.
    on_pass(pass, rows in the pass, rows already done): called as each pass starts.
    on_record(record): called as each row's record is written.
    """
    config = config or DistillConfig()
    proto = get_protocol(protocol)
    out = Path(out_dir)
    check_settings_file(out / RUN, run_settings(config, proto) | (settings or {}))
    in_flight = config.concurrency or max(16, 2 * engine.capacity)
    # a row too long for the teacher is tried again on a rerun
    run = ResumableRun(out / CHAINS, key="key", retry=lambda rec: rec["status"] == TOO_LONG)
    records = run.rows

    def run_pass(pass_no: int, eligible: list[LabelledChat]) -> None:
        key_of = lambda r: record_key(r.id, pass_no)  # noqa: E731
        if on_pass:
            on_pass(pass_no, len(eligible), sum(key_of(r) in run.done for r in eligible))

        work = lambda r: distill_row(engine, proto, r, pass_no, config)  # noqa: E731
        run.map(eligible, work, key_of=key_of, concurrency=in_flight, on_row=on_record)

    try:
        run_pass(1, rows)
        if config.hint:
            unkept = [
                r
                for r in rows
                if (rec := records.get(record_key(r.id, 1))) is not None
                and rec["status"] == OK
                and not kept_chains(rec)
            ]
            run_pass(2, unkept)
    except TeacherError as e:
        raise TeacherError(
            f"{e}; {len(records)} finished row records are kept in {out / CHAINS} "
            "(train.jsonl rebuilt from them): rerun the same command to resume"
        ) from e
    finally:
        run.close()
        stats, train = write_outputs(out, all_rows or rows, records, config, proto)
    return DistillResult(out, stats, train, run.written)


def sft_rows(
    rows: Iterable[LabelledChat], records: dict[str, dict[str, Any]], keep: int
) -> list[dict[str, Any]]:
    """Each row's first `keep` distinct kept chains (pass 1's, else pass 2's) as SFT rows:
    the original prompt (never the hint) followed by the chain."""
    out = []
    for row in rows:
        for pass_no in (1, 2):
            chains = kept_chains(records.get(record_key(row.id, pass_no)))
            if chains:
                break
        for index, text in chains[:keep]:
            out.append(
                {
                    "id": f"{row.id}-{pass_no}-{index}",
                    "messages": [*row.messages, {"role": "assistant", "content": text}],
                    "label": row.label,
                    "source_id": row.id,
                    "pass": pass_no,
                }
                | ({"pair": row.pair} if row.pair is not None else {})
            )
    return out


def complete_pairs(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of pairs with kept chains in both orders, as many of each order as the rarer
    has (SFT reads both orders of a pair together); rows without a pair pass through."""
    counts: dict[str, dict[str, int]] = {}
    for r in train:
        if "pair" in r:
            counts.setdefault(r["pair"], {"A": 0, "B": 0})[r["label"]] += 1
    room = {pair: min(c.values()) for pair, c in counts.items()}
    taken: dict[tuple[str, str], int] = {}
    out = []
    for r in train:
        if "pair" in r:
            key = (r["pair"], r["label"])
            if taken.get(key, 0) >= room[r["pair"]]:
                continue
            taken[key] = taken.get(key, 0) + 1
        out.append(r)
    return out


def balanced(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first rows of each label, as many of each as the rarer label has, in data order."""
    counts = {label: sum(r["label"] == label for r in train) for label in ("A", "B")}
    room = dict.fromkeys(counts, min(counts.values()))
    out = []
    for r in train:
        if room[r["label"]] > 0:
            room[r["label"]] -= 1
            out.append(r)
    return out


def pass_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in records if r["status"] == OK]
    chains = [c for r in done for c in r["chains"]]
    rejected: dict[str, int] = {}
    for c in chains:
        if c["reject"] is not None:
            reason = c["reject"].split(":")[0]
            rejected[reason] = rejected.get(reason, 0) + 1
    drawn, kept = len(chains), sum(c["reject"] is None for c in chains)
    return {
        "rows": len(done),
        "too_long": len(records) - len(done),
        "chains": drawn,
        "kept": kept,
        "kept_rate": round(kept / drawn, 4) if drawn else None,
        "rows_with_kept_chain": sum(bool(kept_chains(r)) for r in done),
        "rejected": dict(sorted(rejected.items())),
        "prompt_tokens": sum(r["prompt_tokens"] for r in done),
        "completion_tokens": sum(r["completion_tokens"] for r in done),
    }


def distill_stats(
    rows: list[LabelledChat],
    records: dict[str, dict[str, Any]],
    config: DistillConfig,
    protocol: Protocol,
    train: list[dict[str, Any]],
) -> dict[str, Any]:
    passes = {
        str(p): pass_stats([rec for rec in records.values() if rec["pass"] == p]) for p in (1, 2)
    }
    ids = {r.id for r in rows}
    done = {rec["id"] for rec in records.values() if rec["pass"] == 1 and rec["status"] == OK}
    with_chain = {rec["id"] for rec in records.values() if rec["status"] == OK and kept_chains(rec)}
    too_long = {
        rec["id"] for rec in records.values() if rec["pass"] == 1 and rec["status"] == TOO_LONG
    }
    return {
        "protocol": protocol.ref,
        "samples": config.samples,
        "keep": config.keep,
        "balance": config.balance,
        "hint": config.hint,
        "rows": len(done & ids),
        "rows_too_long": len(too_long & ids),
        "rows_with_kept_chain": len(with_chain & ids),
        "sft_rows": len(train),
        "sft_labels": {label: sum(r["label"] == label for r in train) for label in ("A", "B")},
        "passes": passes,
        "teacher_tokens": {
            "prompt": sum(p["prompt_tokens"] for p in passes.values()),
            "completion": sum(p["completion_tokens"] for p in passes.values()),
        },
    }


def write_outputs(
    out: Path,
    rows: list[LabelledChat],
    records: dict[str, dict[str, Any]],
    config: DistillConfig,
    protocol: Protocol,
) -> tuple[dict[str, Any], Path]:
    """train.jsonl and stats.json from the records (replaced whole, so always consistent)."""
    known = {r.id for r in rows}
    stray = {rec["id"] for rec in records.values()} - known
    if stray:
        log.warning("%d rows in %s are not in the data file; they are left out", len(stray), CHAINS)
    chains = sft_rows(rows, records, config.keep)
    train = complete_pairs(chains)
    if config.balance:
        train = balanced(train)
    path = out / TRAIN
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in train)
    tmp.replace(path)
    stats = distill_stats(
        rows, {k: v for k, v in records.items() if v["id"] in known}, config, protocol, train
    )
    stats["sft_rows_without_other_order"] = len(chains) - len(complete_pairs(chains))
    (out / STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return stats, path
