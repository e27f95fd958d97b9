"""`reasonrm eval run` with SmolLM2 on real RewardBench rows: results, resume, settings."""

import json

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app

runner = CliRunner()
SMALL = ["--model", "smollm2-135m", "--max-tokens", "8", "--parallel", "2", "--context", "4096"]


def test_run_resume_and_settings_guard(tmp_path, shared_data, smollm2_path):
    data = str(shared_data / "rewardbench" / "rewardbench_filtered.jsonl")
    out = tmp_path / "run"
    args = ["eval", "run", "rewardbench", "--data", data, "--out", str(out), "--limit", "3", *SMALL]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["subset"] for r in rows] == ["alpacaeval-easy"] * 3
    assert all(r["correct"] in (0, 0.5, 1) and r["samples"] for r in rows)
    assert (
        "overall" in result.stdout
        and "invalid verdict counts 0.5 (reward-bench's rule)" in result.stdout
    )

    result = runner.invoke(app, args)  # nothing left to judge
    assert result.exit_code == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 3

    result = runner.invoke(app, [*args, "--protocol", "direct"])
    assert result.exit_code == 2 and "other settings (protocol: 'rrm' → 'direct')" in " ".join(
        result.output.split()
    )


def test_judgebench_run_judges_both_orders(tmp_path, shared_data, smollm2_path):
    data = (
        shared_data
        / "judgebench"
        / "original"
        / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl"
    )
    out = tmp_path / "jb"
    result = runner.invoke(
        app,
        [
            "eval",
            "run",
            "judgebench",
            "--data",
            str(data),
            "--out",
            str(out),
            "--limit",
            "1",
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1
    assert all({s["order"] for s in r["samples"]} == {"AB", "BA"} for r in rows)
    assert json.loads((out / "run.json").read_text())["orders"] == "both"
    scored = runner.invoke(
        app, ["eval", "score", str(out / "results.jsonl"), "--benchmark", "judgebench", "--json"]
    )
    assert scored.exit_code == 0 and "overall" in json.loads(scored.stdout)


@pytest.mark.parametrize(
    ("benchmark", "path", "limit", "comparisons"),
    [
        ("rm-bench", "rm-bench/rm_bench_partial_total.jsonl", 1, [9]),
        ("pandalm", "pandalm/original/testset-v1.json", 2, [1, 1]),
        ("rmb", "rmb/original/RMB_dataset", 1, [2]),  # the first BoN item has 2 losers
    ],
)
def test_other_benchmarks_run_and_score(
    tmp_path, shared_data, smollm2_path, benchmark, path, limit, comparisons
):
    out = tmp_path / "run"
    data = str(shared_data / path)
    args = ["eval", "run", benchmark, "--data", data, "--out", str(out), "--limit", str(limit)]
    result = runner.invoke(app, [*args, *SMALL])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    counts = [len(r["judgments"]) if "judgments" in r else 1 for r in rows]
    assert counts == comparisons
    assert all(0 <= r["correct"] <= 1 for r in rows)
    scored = runner.invoke(
        app, ["eval", "score", str(out / "results.jsonl"), "--benchmark", benchmark, "--json"]
    )
    assert scored.exit_code == 0, scored.output
    assert "sections" in json.loads(scored.stdout)


def test_rewardbench2_fixture_runs_with_a_real_model(tmp_path, smollm2_path):
    """The command a user runs (`--data allenai/reward-bench-2` with the hub), on our fixture in
    the official layout: every completion scored, the six subsets and the leaderboard mean."""
    from pathlib import Path

    data = Path(__file__).parents[1] / "data" / "rewardbench2_fixture.jsonl"
    out = tmp_path / "rb2"
    args = ["eval", "run", "rewardbench-2", "--data", str(data), "--out", str(out), *SMALL]
    result = runner.invoke(app, [*args, "--score", "vote"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 14 and {r["method"] for r in rows} == {"pairwise-vote"}
    for r in rows:  # completion 0 against each other one: a score for every completion
        assert len(r["scores"]) == len(r["judgments"]) + 1 and r["scores"][0] == 0.0
    score = ["eval", "score", "--benchmark", "rewardbench-2", str(out / "results.jsonl"), "--json"]
    scored = json.loads(runner.invoke(app, score).stdout)
    assert len(scored["sections"]) == 6 and scored["overall"] is not None
