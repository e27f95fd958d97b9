"""The resumable benchmark runner, with a scripted engine."""

import json

from fakes import ScriptedEngine, content_judge

from reasonrm import Comparison, Judge
from reasonrm.eval import rewardbench
from reasonrm.eval.runner import EvalItem, run, stratified_sample


def items(n=6):
    subsets = ["hep-go", "donotanswer", "alpacaeval-easy"]
    return [
        EvalItem(
            f"{subsets[i % 3]}/{i}",
            subsets[i % 3],
            (Comparison(f"q{i}", f"good {i}", f"bad {i}", label="A", id=str(i)),),
            {"id": str(i)},
        )
        for i in range(n)
    ]


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_carry_the_schema_and_score(tmp_path):
    judge = Judge(ScriptedEngine(content_judge), "rrm", orders="random", seed=1)
    out = run(items(), judge, tmp_path, rewardbench.BENCHMARK.make_row)
    result = rows(out)
    assert [r["key"] for r in result] == [i.key for i in items()]
    for r in result:
        assert {
            "subset",
            "id",
            "correct",
            "winner",
            "votes",
            "samples",
            "completion_tokens",
        } <= set(r)
        assert r["correct"] == 1.0
    assert {s["order"] for r in result for s in r["samples"]} == {"AB", "BA"}  # random placement
    assert rewardbench.score((r["subset"], r["correct"]) for r in result).sections["Safety"] == 1.0


def test_invalid_verdicts_score_half(tmp_path):
    # one order, as a benchmark run judges: one invalid vote per item
    no_verdict = ScriptedEngine(lambda chat, params: "no idea")
    judge = Judge(no_verdict, "rrm", orders="random", force_verdict=False)
    result = rows(run(items(3), judge, tmp_path, rewardbench.BENCHMARK.make_row))
    assert [r["correct"] for r in result] == [0.5, 0.5, 0.5]
    assert all(r["votes"]["invalid"] == 1 for r in result)


def test_interrupted_run_resumes_without_loss_or_repeat(tmp_path):
    judge = Judge(ScriptedEngine(content_judge), "rrm", orders="fixed")
    out = run(items(), judge, tmp_path, rewardbench.BENCHMARK.make_row)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]) + lines[2][:20])  # killed while writing the third row

    engine = ScriptedEngine(content_judge)
    run(items(), Judge(engine, "rrm", orders="fixed"), tmp_path, rewardbench.BENCHMARK.make_row)
    assert len(engine.calls) == 4  # only the four items not fully written
    keys = [r["key"] for r in rows(out)]
    assert sorted(keys) == sorted(i.key for i in items()) and len(keys) == len(set(keys))


def test_items_with_many_comparisons_get_all_their_judgments(tmp_path):
    item = EvalItem(
        "x/1", "chat", tuple(Comparison("q", f"good {k}", f"bad {k}", label="A") for k in range(9))
    )
    seen = []

    def make_row(it, judgments):
        seen.append([j.winner for j in judgments])
        return {"subset": it.subset, "id": "1", "correct": 1.0}

    run(
        [item, item.__class__("x/2", "chat", item.comparisons)],
        Judge(ScriptedEngine(content_judge), "rrm", orders="fixed"),
        tmp_path,
        make_row,
    )
    assert seen == [["A"] * 9, ["A"] * 9]


def test_stratified_sample_covers_every_subset_deterministically():
    pool = [
        EvalItem(f"{s}/{i}", s, ())
        for s, size in (("big", 90), ("mid", 9), ("tiny", 1))
        for i in range(size)
    ]
    sample = stratified_sample(pool, 20, seed=3)
    subsets = [i.subset for i in sample]
    assert subsets.count("big") == 18 and subsets.count("mid") == 2 and subsets.count("tiny") == 1
    assert sample == stratified_sample(pool, 20, seed=3)
    assert sample != stratified_sample(pool, 20, seed=4)
    assert [pool.index(i) for i in sample] == sorted(pool.index(i) for i in sample)
