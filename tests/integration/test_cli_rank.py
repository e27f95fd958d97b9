"""`reasonrm rank` and `reasonrm best-of-n` against the real SmolLM2 in llama.cpp."""

import json
import math

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app

runner = CliRunner()
SMALL = ["--model", "smollm2-135m", "--max-tokens", "24", "--parallel", "4", "--context", "2048"]


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rank_file_with_knockout_and_elo_resumes_and_reports_bad_lines(smollm2_path, tmp_path):
    src = tmp_path / "candidates.jsonl"
    rows = [
        {
            "id": "five",
            "prompt": "Name a colour.",
            "responses": ["Red.", "Blue.", "Green.", "", "7"],
        },
        {"prompt": "2 + 2?", "responses": ["4", "5"]},
        {"prompt": "Say hi.", "responses": []},
        {"prompt": "Only one?", "responses": ["Yes."]},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    out = tmp_path / "ranked.jsonl"
    result = runner.invoke(app, ["rank", "--input", str(src), "--output", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    got = {r["line"]: r for r in _rows(out)}
    assert sorted(got) == [1, 2, 3, 4, 5]
    five = got[1]
    assert five["id"] == "five" and sorted(five["ranking"]) == list(range(5))
    assert len(five["matches"]) == 4 and five["rounds"] == math.ceil(math.log2(5))
    assert 3 not in five["ranking"][:2]  # the empty one loses its first match
    judged = [m for m in five["matches"] if m["decided_by"] != "empty response"]
    assert five["judge_calls"] == len(judged) and five["completion_tokens"] > 0
    assert all(m["judgment"]["samples"][0]["text"] for m in judged)
    assert "at least one" in got[3]["error"] and "not valid JSON" in got[5]["error"]
    assert got[4]["ranking"] == [0] and got[4]["judge_calls"] == 0
    assert "2 lines failed" in result.output

    # resume: nothing is judged twice; a fresh elo run over the same file
    again = runner.invoke(app, ["rank", "--input", str(src), "--output", str(out), *SMALL])
    assert again.exit_code == 0 and "resuming: 5 of 5" in again.output
    assert len(_rows(out)) == 5
    other = runner.invoke(
        app, ["rank", "--input", str(src), "--output", str(out), *SMALL, "--seed", "1"]
    )
    assert other.exit_code == 2 and "other settings (seed: 0 → 1)" in " ".join(other.output.split())
    assert len(_rows(out)) == 5
    small = tmp_path / "three.jsonl"
    small.write_text(
        json.dumps({"prompt": "Name a fruit.", "responses": ["Apple.", "Pear.", "Car."]})
    )
    elo_out = tmp_path / "elo.jsonl"
    args = ["rank", "--input", str(small), "--output", str(elo_out), "--method", "elo"]
    result = runner.invoke(app, [*args, "--orders", "both", *SMALL])
    assert result.exit_code == 0, result.output
    (elo,) = _rows(elo_out)
    assert len(elo["matches"]) == 3 and elo["rating"] == "bt" and elo["judge_calls"] == 3
    assert sum(elo["scores"]) / 3 == pytest.approx(1000, abs=0.01)
    assert all(len(m["judgment"]["samples"]) == 2 for m in elo["matches"])


def test_best_of_n_with_one_model_as_policy_and_judge(smollm2_path):
    args = ["best-of-n", "--prompt", "Give one word that rhymes with cat.", "--n", "4"]
    args += ["--model", "smollm2-135m", "--policy-max-tokens", "12"]  # the policy: the same model
    result = runner.invoke(app, [*args, *SMALL[2:], "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert len(d["responses"]) == 4 and d["best"] == d["responses"][d["best_index"]]
    assert d["ranking"][0] == d["best_index"] and len(d["matches"]) == 3
    assert d["policy_tokens"] > 0 and len(set(d["responses"])) > 1  # sampled, not greedy

    shown = runner.invoke(app, [*args, *SMALL[2:], "--method", "elo"])
    assert shown.exit_code == 0, shown.output
    assert "best: response" in shown.stdout and "6 matches" in shown.stdout


def test_best_of_n_refuses_an_empty_prompt_before_loading(tmp_path):
    result = runner.invoke(app, ["best-of-n", "--prompt", " ", "--policy", "no-such-model"])
    assert result.exit_code == 2 and "prompt" in result.output and "empty" in result.output
