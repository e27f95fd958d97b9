"""Resumable runs: work through items in order, write each item's row as it completes, and
skip on a rerun what an earlier run already wrote. One mechanism for judging a file of pairs,
ranking a file of candidates, benchmark runs, distillation and checkpoint evaluation.

`judge_file` and `rank_file` are what `reasonrm judge --input` and `reasonrm rank` run."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reasonrm.engines.base import map_in_order
from reasonrm.errors import EngineUnavailableError, InputError, ReasonRMError
from reasonrm.jsonl import ResumableWriter, iter_jsonl, latest_by
from reasonrm.positions import Positions

if TYPE_CHECKING:  # only judge_file and rank_file need them, and only as types
    from reasonrm.judge import Judge
    from reasonrm.ranking import Ranker

T = TypeVar("T")
Row = dict[str, Any]


class ResumableRun:
    """A JSON-lines output that rows are appended to as they complete.

    `done` holds the keys already written (less those `retry` picks out, e.g. rows that
    failed and should run again; a retried row's new line replaces the old one for readers
    of `jsonl.latest_by`, and in `rows`). With `settings`, the file must hold rows of the same settings (else
    InputError) and every row records them."""

    def __init__(
        self,
        path: str | Path,
        key: str,
        settings: dict[str, Any] | None = None,
        retry: Callable[[Row], bool] | None = None,
    ) -> None:
        self.path = Path(path)
        self.key = key
        self._writer = ResumableWriter(self.path, key=key, settings=settings)
        self.done = set(self._writer.done)
        self.written = 0  # rows written by this run
        # the latest row per key, earlier runs' and this one's: kept only where `retry` needs
        # to read them (callers that retry also summarize from them)
        self.rows: dict[Any, Row] = latest_by(self.path, key) if retry is not None else {}
        self._keep_rows = retry is not None
        if retry is not None:
            self.done -= {k for k, row in self.rows.items() if retry(row)}

    def map(
        self,
        items: Iterable[T],
        work: Callable[[T], Awaitable[Row]],
        *,
        key_of: Callable[[T], Any],
        concurrency: int = 16,
        on_row: Callable[[Row], None] | None = None,
    ) -> int:
        """Run `work` on every item whose key is not done, `concurrency` at a time, and write
        the rows in input order as they complete; returns how many were written."""
        before = self.written
        pending = (item for item in items if key_of(item) not in self.done)
        with closing(map_in_order(work, pending, concurrency)) as rows:
            for row in rows:
                self.write(row)
                if on_row is not None:
                    on_row(row)
        return self.written - before

    def write(self, row: Row) -> None:
        self._writer.write(row)
        self.done.add(row[self.key])
        self.written += 1
        if self._keep_rows:
            self.rows[row[self.key]] = row

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ResumableRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- files of pairs and of candidates ---------------------------------------------------


@dataclass
class FileRun:
    """What a run over an input file did: rows in the file, rows already there before it,
    rows it wrote, malformed input rows, failed items, and accuracy over labelled pairs."""

    output: Path
    rows: int = 0
    resumed: int = 0
    written: int = 0
    malformed: int = 0
    failed: int = 0
    labelled: int = 0
    correct: int = 0
    errors: list[str] = field(default_factory=list)
    positions: Positions = field(default_factory=Positions)  # who won by slot, order flips

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None


def _row_id(row: Any) -> str | None:
    return str(row["id"]) if isinstance(row, dict) and row.get("id") is not None else None


def _run_file(
    input: str | Path,
    output: str | Path,
    settings: dict[str, Any] | None,
    parse: Callable[[dict[str, Any], str], T],
    work: Callable[[T], Awaitable[Row]],
    *,
    error_row: Row,
    concurrency: int,
    judgments: bool,
    on_start: Callable[[FileRun], None] | None,
    on_row: Callable[[Row, FileRun], None] | None,
) -> FileRun:
    """The shared loop of judge_file and rank_file: rows keyed by input line number; a line
    that does not parse is written as `error_row` with its error, and the others still run.
    `judgments`: the rows are judgments, whose position diagnostics are counted."""
    lines = list(iter_jsonl(input))  # small: lines of text; judging is what costs
    run = ResumableRun(output, key="line", settings=settings)
    stats = FileRun(Path(output), rows=len(lines))
    stats.resumed = sum(number in run.done for number, _ in lines)
    if on_start is not None:
        on_start(stats)

    async def one(line: tuple[int, Any]) -> Row:
        number, row = line
        head = {"line": number, "id": _row_id(row)}
        try:
            if isinstance(row, InputError):
                raise row
            item = parse(row, f"{input}:{number}")
        except InputError as e:
            stats.malformed += 1
            stats.errors.append(str(e))
            return head | error_row | {"error": str(e)}
        result = await work(item)
        if result.get("error") is not None:
            stats.failed += 1
        else:
            if judgments:
                stats.positions.add(result)
            if result.get("correct") is not None:
                stats.labelled += 1
                stats.correct += bool(result["correct"])
        return head | result

    def written(row: Row) -> None:
        stats.written += 1
        if on_row is not None:
            on_row(row, stats)

    with run:
        run.map(lines, one, key_of=lambda line: line[0], concurrency=concurrency, on_row=written)
    return stats


def judge_file(
    judge: Judge,
    input: str | Path,
    output: str | Path,
    *,
    settings: dict[str, Any] | None = None,
    on_start: Callable[[FileRun], None] | None = None,
    on_row: Callable[[Row, FileRun], None] | None = None,
) -> FileRun:
    """Judge every pair in a JSON-lines file (`prompt` with `a`/`b`/`label` or
    `chosen`/`rejected`, optional `id`) into `output`, one row per input line as it
    completes: the judgment's JSON plus `line`. Rerun to resume; a malformed line becomes a
    row with an `error` and the others still run; a file made with other settings is refused.
    `settings` default: the judge's spec and its engine's name and model."""
    from reasonrm.pairs import comparison_from_row

    async def work(c) -> Row:
        return (await judge.ajudge(c, errors="return")).to_dict()

    settings = settings if settings is not None else _judge_settings(judge)
    return _run_file(
        input,
        output,
        settings,
        comparison_from_row,
        work,
        error_row={"winner": None},
        concurrency=judge.concurrency,
        judgments=True,
        on_start=on_start,
        on_row=on_row,
    )


def rank_file(
    ranker: Ranker,
    input: str | Path,
    output: str | Path,
    *,
    settings: dict[str, Any] | None = None,
    on_start: Callable[[FileRun], None] | None = None,
    on_row: Callable[[Row, FileRun], None] | None = None,
) -> FileRun:
    """Rank the responses of every `{"prompt": ..., "responses": [...]}` line of a JSON-lines
    file into `output` with `ranker`'s tournament, one row per input line as it completes;
    resumable, bad lines become error rows, other settings are refused, as in judge_file."""
    from reasonrm.ranking import candidates_from_row

    async def work(item) -> Row:
        try:
            return (await ranker.arank(*item)).to_dict()
        except ReasonRMError as e:
            if isinstance(e, EngineUnavailableError):  # a dead server fails every line alike
                raise
            return {"error": str(e)}

    settings = settings if settings is not None else ranker_settings(ranker)
    return _run_file(
        input,
        output,
        settings,
        candidates_from_row,
        work,
        error_row={},
        concurrency=4,  # tournaments at once; each keeps the engine busy with its matches
        judgments=False,
        on_start=on_start,
        on_row=on_row,
    )


def _judge_settings(judge: Judge) -> dict[str, Any]:
    return judge.spec.to_dict() | {"engine": judge.engine.name, "model": judge.engine.model}


def ranker_settings(ranker: Ranker) -> dict[str, Any]:
    return {"method": ranker.method, "rating": ranker.rating} | _judge_settings(ranker.judge)


@dataclass
class Abstention:
    """What `abstain` did: pairs judged, pairs left to people, and accuracy on the rest."""

    judged: int
    abstained: int
    labelled_kept: int
    correct_kept: int

    @property
    def coverage(self) -> float:
        return (self.judged - self.abstained) / self.judged if self.judged else 0.0

    @property
    def accuracy_kept(self) -> float | None:
        return self.correct_kept / self.labelled_kept if self.labelled_kept else None


def abstain(input: str | Path, output: str | Path, threshold: float, to: str | Path) -> Abstention:
    """Active preference collection: write to `to` the input rows of the pairs in `output`
    (a judge_file output with probabilities) whose confidence max(p_a, 1 - p_a) is below
    `threshold`, each with its `p_a`, for people to label instead of trusting the judge."""
    from reasonrm.confidence import confidence

    rows = {number: row for number, row in iter_jsonl(input)}
    judged = [r for _, r in iter_jsonl(output) if isinstance(r, dict) and r.get("p_a") is not None]
    if not judged:
        raise InputError(
            f"{output} holds no judgments with p_a: abstaining needs --score prob or calibrated"
        )
    stats = Abstention(len(judged), 0, 0, 0)
    Path(to).parent.mkdir(parents=True, exist_ok=True)
    with open(to, "w", encoding="utf-8") as out:  # rewritten whole: it follows the output
        for r in judged:
            if confidence(r["p_a"]) < threshold:
                stats.abstained += 1
                out.write(
                    json.dumps(rows[r["line"]] | {"p_a": r["p_a"]}, ensure_ascii=False) + "\n"
                )
            elif r.get("correct") is not None:
                stats.labelled_kept += 1
                stats.correct_kept += bool(r["correct"])
    return stats
