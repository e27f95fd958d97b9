"""`reasonrm train distill` and `reasonrm train evaluate` with SmolLM2-135M in llama.cpp, as
a user runs them: small limits (3 rows, 2 chains of 48 tokens, 2 slots), about a minute on
a 2-core CPU for the two. SmolLM2 does not follow the judge format untrained, so these
check the plumbing and the bookkeeping, not the figures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app
from reasonrm.protocols import get_protocol

runner = CliRunner()
SMALL = ["--max-tokens", "48", "--parallel", "2", "--context", "2048"]
PAIRS = [
    ("What is 2 + 2?", "4.", "5."),
    ("Capital of France?", "Paris.", "Rome."),
    ("Is 7 prime?", "Yes.", "No."),
    ("Legs on a spider?", "Eight.", "Six."),
    ("Boiling point of water at sea level?", "100 °C.", "50 °C."),
    ("Opposite of hot?", "Cold.", "Warm."),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-data")
    pairs = folder / "pairs.jsonl"
    rows = [{"prompt": q, "chosen": c, "rejected": r} for q, c, r in PAIRS]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = folder / "prepared"
    args = ["data", "prepare", "--input", str(pairs), "--out", str(out), "--heldout", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_distill_with_smollm2(prepared, smollm2_path, tmp_path):
    out = tmp_path / "distill"
    args = ["train", "distill", "--data", str(prepared), "--teacher", str(smollm2_path)]
    args += ["--out", str(out), "--limit", "3", "--samples", "2", "--hint", *SMALL, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats == json.loads((out / "stats.json").read_text())
    assert stats["rows"] + stats["rows_too_long"] == 3
    p1 = stats["passes"]["1"]
    assert p1["chains"] == 2 * p1["rows"] and p1["completion_tokens"] > 0
    assert p1["kept"] + sum(p1["rejected"].values()) == p1["chains"]
    records = _lines(out / "chains.jsonl")
    assert sorted({r["id"] for r in records if r["pass"] == 1}) == sorted(
        r["id"] for r in _lines(prepared / "train.jsonl")[:3]
    )
    rrm = get_protocol("rrm")
    train = _lines(out / "train.jsonl")
    # keep 1: a chain per row, less those whose pair's other order kept none
    without = stats["sft_rows_without_other_order"]
    assert len(train) == stats["sft_rows"] == stats["rows_with_kept_chain"] - without
    for row in train:
        assert row["messages"][-1]["role"] == "assistant"
        assert "(The better response is" not in json.dumps(row["messages"])
        assert rrm.parse(row["messages"][-1]["content"]).winner == row["label"]

    # rerun: everything is there, nothing is judged again
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert _lines(out / "chains.jsonl") == records


def test_evaluate_smollm2(prepared, smollm2_path, tmp_path):
    results = tmp_path / "eval.jsonl"
    args = ["train", "evaluate", str(smollm2_path), "--data", str(prepared), *SMALL]
    result = runner.invoke(app, [*args, "--out", str(results), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "llamacpp" and report["protocol"] == "rrm"
    assert report["rows"] + report["skipped_too_long"] == 6  # 3 held-out pairs, both orders
    assert report["valid"] + report["invalid"] == report["rows"]
    assert sum(s["rows"] for s in report["by_label"].values()) == report["rows"]
    assert 0 <= report["correct"] <= report["valid"]
    assert report["completion_tokens"] > 0
    rows = _lines(results)
    assert len(rows) == 6 and all("text" in r or r["error"] for r in rows)
    both = report["both_orders"]
    assert both["pairs"] == 3 and 0 <= both["right_in_both"] <= both["agree"] <= 3


def test_evaluate_with_prefill_generates_the_label_after_the_opening(
    prepared, smollm2_path, tmp_path
):
    """--prefill (a label-trained student's setting): the reply starts with the verdict's
    opening, so even the untrained model's greedy continuation is read as a verdict."""
    results = tmp_path / "eval.jsonl"
    args = ["train", "evaluate", str(smollm2_path), "--data", str(prepared), "--prefill"]
    opts = ["--max-tokens", "4", "--parallel", "2", "--context", "2048"]
    result = runner.invoke(app, [*args, *opts, "--out", str(results), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = _lines(results)
    assert len(rows) == 6 and all(r["settings"]["prefill"] is True for r in rows)
    # without the opening SmolLM2 writes no verdict; with it the first token is the label
    assert report["valid"] >= 5, [r["text"] for r in rows]
    assert all(r["completion_tokens"] <= 4 for r in rows)


def test_evaluate_in_transformers_reads_a_student_in_float32(prepared, smollm2_path, tmp_path):
    """The transformers engine (what a trained folder opens with) reads the labels'
    probabilities in float32 by default, and --dtype is recorded, so a resumed run in
    another precision is refused."""
    results = tmp_path / "eval.jsonl"
    args = ["train", "evaluate", str(smollm2_path), "--data", str(prepared), "--limit", "2"]
    args += ["--engine", "transformers", "--score", "prob", "--out", str(results)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = _lines(results)
    assert len(rows) == 2 and all(r["settings"]["dtype"] == "float32" for r in rows)
    assert all(r["settings"]["engine"] == "transformers" for r in rows)
    assert all(0.0 < r["p_first"] < 1.0 for r in rows if not r.get("error")), rows
    again = runner.invoke(app, [*args, "--dtype", "bfloat16"])
    assert again.exit_code == 2 and "dtype" in again.output
