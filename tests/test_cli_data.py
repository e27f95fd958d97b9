"""`reasonrm data prepare` on small files: outputs, stats and one-line errors."""

import json

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app

runner = CliRunner()


def write(path, rows, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)
    return path


def pairs(n):
    return [{"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(n)]


def test_prepare_writes_train_heldout_and_stats(tmp_path):
    src = write(tmp_path / "p.jsonl", pairs(21) + [{"prompt": "q", "chosen": "x", "rejected": "x"}])
    out = tmp_path / "out"
    args = ["data", "prepare", "--input", str(src), "--out", str(out), "--heldout", "5"]
    result = runner.invoke(app, args + ["--seed", "1", "--protocol", "rm-r1", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats == json.loads((out / "stats.json").read_text())
    # 21 usable pairs: 16 to train and 5 held out, each written in both orders
    assert (stats["read"], stats["train"], stats["heldout"]) == (22, 32, 10)
    assert stats["dropped"] == {"identical_responses": 1} and stats["format"] == "pairs"
    assert stats["balance"]["train"] == {"A": 16, "B": 16} and stats["protocol"] == "rm-r1"
    assert stats["orders"] == "both"
    train = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    held = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    assert len(train) == 32 and len(held) == 10
    assert [r["order"] for r in train[:2]] == ["AB", "BA"] and train[0]["pair"] == train[1]["pair"]
    one = runner.invoke(app, args + ["--out", str(tmp_path / "one"), "--orders", "one", "--json"])
    assert json.loads(one.stdout)["train"] == 16
    assert "Chatbot A" in train[0]["messages"][-1]["content"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "identical responses" in table.stdout
    assert "train.jsonl" in table.stdout


@pytest.mark.parametrize(
    ("rows", "tail", "extra", "message"),
    [
        ([{"prompt": "q", "chosen": "c"}], "", [], "p.jsonl:1: missing field(s): rejected"),
        (pairs(2), '{"prompt": ', [], "p.jsonl:3: not valid JSON"),
        (pairs(2), "", ["--format", "hh-rlhf"], "not an hh-rlhf transcript"),
        (pairs(2), "", ["--heldout", "2"], "leaves no training rows"),
        (pairs(2), "", ["--protocol", "nope"], "unknown protocol 'nope'"),
        (pairs(2), "", ["--max-tokens", "5"], "no pairs left to train on"),
    ],
)
def test_errors_are_one_line(tmp_path, rows, tail, extra, message):
    src = write(tmp_path / "p.jsonl", rows, tail)
    result = runner.invoke(
        app, ["data", "prepare", "--input", str(src), "--out", str(tmp_path / "o"), *extra]
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_unknown_format_and_missing_file(tmp_path):
    result = runner.invoke(
        app, ["data", "prepare", "--input", "x.jsonl", "--out", str(tmp_path), "--format", "csv"]
    )
    assert result.exit_code == 2 and "csv" in result.output
    missing = runner.invoke(
        app, ["data", "prepare", "--input", str(tmp_path / "no.jsonl"), "--out", str(tmp_path)]
    )
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
