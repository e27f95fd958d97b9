"""Resumable runs from Python: judge_file and rank_file, with a scripted engine."""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedEngine, content_judge, quality_judge

from reasonrm.errors import EngineUnavailableError, InputError
from reasonrm.judge import Judge
from reasonrm.ranking import Ranker
from reasonrm.runs import ResumableRun, judge_file, rank_file
from reasonrm.specs import EngineSpec


def write_lines(path, lines):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


PAIRS = [
    {"prompt": "q1", "chosen": "a good answer", "rejected": "a bad one", "id": "p1"},
    "not json",
    {"prompt": "q3", "a": "meh", "b": "good stuff", "label": "B"},
    {"prompt": "q4", "a": "x"},
    {"prompt": "q5", "a": "fine", "b": "good", "label": "A"},
]


def test_judge_file_writes_every_line_in_order_with_errors_for_bad_ones(tmp_path):
    pairs = write_lines(tmp_path / "pairs.jsonl", PAIRS)
    out = tmp_path / "out.jsonl"
    engine = ScriptedEngine(content_judge)
    run = judge_file(Judge(engine), pairs, out)
    rows = read(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["id"] == "p1" and rows[0]["winner"] == "A" and rows[0]["correct"] is True
    assert "not valid JSON" in rows[1]["error"] and rows[1]["winner"] is None
    assert "missing" in rows[3]["error"] and "pairs.jsonl:4" in rows[3]["error"]
    # the default orders judge each good pair both ways
    assert [len(r["samples"]) for r in (rows[0], rows[2], rows[4])] == [2, 2, 2]
    assert (run.rows, run.written, run.malformed, run.failed) == (5, 5, 2, 0)
    assert (run.labelled, run.correct) == (3, 2)  # q5's label A is wrong for this judge
    # each row records the judge's spec and the engine
    assert rows[0]["settings"]["orders"] == "auto" and rows[0]["settings"]["engine"] == "scripted"


def test_judge_file_resumes_without_judging_twice_and_refuses_other_settings(tmp_path):
    pairs = write_lines(tmp_path / "pairs.jsonl", PAIRS)
    out = tmp_path / "out.jsonl"
    judge_file(Judge(ScriptedEngine(content_judge)), pairs, out)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])  # a torn last row
    again = ScriptedEngine(content_judge)
    run = judge_file(Judge(again), pairs, out)
    assert (run.resumed, run.written) == (2, 3)
    assert [r["line"] for r in read(out)] == [1, 2, 3, 4, 5]
    assert len(again.calls) == 4  # lines 3 and 5, both orders; line 1 was not judged again
    with pytest.raises(InputError, match="votes: 1 → 3"):
        judge_file(Judge(ScriptedEngine(content_judge), votes=3), pairs, out)


def test_rank_file_ranks_each_line_and_keeps_going_past_bad_ones(tmp_path):
    lines = [
        {"prompt": "p", "responses": ["q=1", "q=3", "q=2"], "id": "r1"},
        {"prompt": "p", "responses": []},
        {"prompt": "p", "responses": ["q=5", "q=9"]},
    ]
    path = write_lines(tmp_path / "cands.jsonl", lines)
    out = tmp_path / "ranked.jsonl"
    ranker = Ranker(Judge(ScriptedEngine(quality_judge)), "elo")
    run = rank_file(ranker, path, out)
    rows = read(out)
    assert rows[0]["ranking"] == [1, 2, 0] and rows[0]["id"] == "r1"
    assert "error" in rows[1] and "ranking" not in rows[1]
    assert rows[2]["ranking"] == [1, 0]
    assert (run.written, run.malformed) == (3, 1)
    assert rows[0]["settings"]["method"] == "elo" and rows[0]["settings"]["orders"] == "random"
    assert rank_file(ranker, path, out).written == 0  # all done: a rerun judges nothing


def test_a_dead_engine_stops_the_run_and_keeps_what_was_written(tmp_path):
    pairs = write_lines(tmp_path / "pairs.jsonl", [PAIRS[0], PAIRS[2]])
    calls = []

    def dies_on_q3(chat, params):
        calls.append(1)
        if "q3" in chat[-1]["content"]:
            raise EngineUnavailableError("server gone")
        return content_judge(chat, params)

    out = tmp_path / "out.jsonl"
    judge = Judge(ScriptedEngine(dies_on_q3), concurrency=1)
    with pytest.raises(EngineUnavailableError):
        judge_file(judge, pairs, out)
    assert [r["line"] for r in read(out)] == [1]


def test_resumable_run_retries_the_rows_it_is_told_to(tmp_path):
    out = tmp_path / "rows.jsonl"
    with ResumableRun(out, key="k") as run:
        run.write({"k": 1, "ok": True})
        run.write({"k": 2, "ok": False})
    again = ResumableRun(out, key="k", retry=lambda row: not row["ok"])
    assert again.done == {1} and again.rows[2] == {"k": 2, "ok": False}

    async def work(k):
        return {"k": k, "ok": True}

    assert again.map([1, 2, 3], work, key_of=lambda k: k) == 2
    assert again.written == 2 and again.rows[2] == {"k": 2, "ok": True}  # the retried row
    again.close()
    assert [r["k"] for r in read(out)] == [1, 2, 2, 3]


def test_a_transformers_engine_records_its_precision_and_others_do_not():
    assert "dtype" not in EngineSpec(model="qwen2.5-1.5b").result_settings()
    spec = EngineSpec(engine="transformers", model="out/sft", dtype="float32")
    assert spec.result_settings() == {
        "engine": "transformers",
        "model": "out/sft",
        "dtype": "float32",
    }
    with pytest.raises(InputError, match="dtype must be one of auto, bfloat16"):
        EngineSpec(model="out/sft", dtype="fp8")


def test_a_run_records_the_precision_auto_resolves_to():
    # "auto" loads a checkpoint folder in bfloat16 and a GGUF file in float32: the record
    # says which, so that a resumed run with the other precision spelled out is refused
    def recorded(model):
        return EngineSpec(engine="transformers", model=model).result_settings()["dtype"]

    assert recorded("out/sft") == "bfloat16"
    assert recorded("smollm2-135m") == "float32"
    assert recorded("~/models/student.Q4_1.gguf") == "float32"
