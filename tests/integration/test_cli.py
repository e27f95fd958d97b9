"""The `reasonrm` command against real models, as a user runs it."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app
from reasonrm.types import Judgment

runner = CliRunner()
# not a math or coding pair: these tests read the judge's verdicts, which a check would skip
PAIR = ["--prompt", "What is the capital of France?", "--a", "Paris.", "--b", "Berlin."]
SMALL = ["--model", "smollm2-135m", "--max-tokens", "24", "--parallel", "2", "--context", "2048"]


def _without_timings(result: dict) -> dict:
    return result | {
        "seconds": None,
        "samples": [s | {"seconds": None} for s in result["samples"]],
    }


def test_judge_json_through_the_real_entry_point(smollm2_path, judgment_checker):
    # one slot: llama.cpp's greedy decode is repeatable only when a sequence is not batched
    # with others (the two orders side by side change the numerics); CI saw one such flake
    cmd = [
        sys.executable,
        "-m",
        "reasonrm.cli",
        "judge",
        *PAIR,
        *SMALL,
        "--parallel",
        "1",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [s["order"] for s in result["samples"]] == ["AB", "BA"]  # both orders by default
    # the winner, votes and verdicts are what the samples' texts say, read back by order
    judgment_checker(Judgment.from_dict(result), "rrm", grammar=True)
    assert result["completion_tokens"] == sum(s["completion_tokens"] for s in result["samples"])
    # one vote with a fixed seed: the same command gives the same judgment. One order only:
    # the two orders' requests reach the slot in either order, and the second reuses the
    # first's cached prefix, which moves the numerics enough to change a 135M model's text
    fixed = [*cmd, "--orders", "fixed"]
    runs = [subprocess.run(fixed, capture_output=True, text=True, timeout=300) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    first, second = (_without_timings(json.loads(r.stdout)) for r in runs)
    assert first == second and len(first["samples"]) == 1


def test_judge_readable_output(smollm2_path):
    result = runner.invoke(
        app, ["judge", *PAIR, *SMALL, "--protocol", "rm-r1", "--orders", "fixed"]
    )
    assert result.exit_code == 0, result.output
    assert "vote 1" in result.stdout and "Winner:" in result.stdout


def _write_pairs(path):
    rows = [
        {"id": "p1", "prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
        {"prompt": "Name a colour.", "a": "Seven.", "b": "Blue.", "label": "B"},
        "{not json",
        {"prompt": "Say hi", "a": "hi"},
        {
            "prompt": [
                {"role": "user", "content": "Hi!"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "What colour is the sky on a clear day?"},
            ],
            "a": "Blue.",
            "b": "Green.",
        },
    ]
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_judging_reports_bad_rows_and_resumes(tmp_path, smollm2_path, judgment_checker):
    pairs, out = tmp_path / "pairs.jsonl", tmp_path / "judgments.jsonl"
    _write_pairs(pairs)
    args = ["judge", "--input", str(pairs), "--output", str(out), *SMALL, "--orders", "random"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert sorted(r["line"] for r in rows) == [1, 2, 3, 4, 5]
    by_line = {r["line"]: r for r in rows}
    assert "not valid JSON" in by_line[3]["error"] and f"{pairs}:3" in by_line[3]["error"]
    assert "missing field" in by_line[4]["error"] and "b (or rejected)" in by_line[4]["error"]
    assert by_line[1]["id"] == "p1" and by_line[1]["label"] == "A"
    assert by_line[2]["label"] == "B" and by_line[2]["correct"] == (by_line[2]["winner"] == "B")
    assert by_line[5]["error"] is None and len(by_line[5]["samples"]) == 1
    for line in (1, 2, 5):
        judgment_checker(Judgment.from_dict(by_line[line]), "rrm", grammar=True)

    # An interrupted run: two complete rows and a half-written third.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "resuming: 2 of 5" in result.output
    rows = _rows(out)
    assert sorted(r["line"] for r in rows) == [1, 2, 3, 4, 5]  # nothing lost, nothing twice
    assert all(r["settings"]["orders"] == "random" for r in rows)

    # Resuming with other settings would mix two runs in one file: refused, file untouched.
    before = out.read_text()
    other = runner.invoke(app, [*args, "--votes", "3"])
    assert other.exit_code == 2 and "other settings (votes: 1 → 3)" in " ".join(
        other.output.split()
    )
    assert out.read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "nope"], "unknown protocol"),
        (["--model", "no-such-model"], "unknown model"),
        (["--model", "/tmp/missing.gguf"], "no such GGUF file"),
        (
            ["--engine", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
            "cannot reach",
        ),
    ],
)
def test_user_errors_are_one_clear_line(args, message):
    result = runner.invoke(app, ["judge", *PAIR, *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_and_empty_fields():
    result = runner.invoke(app, ["judge", "--prompt", "x", "--a", "y"])
    assert result.exit_code == 2 and "missing --b" in result.output
    result = runner.invoke(app, ["judge", "--prompt", " ", "--a", "y", "--b", "z"])
    assert result.exit_code == 2 and "field 'prompt' is empty" in result.output


def test_openai_engine_from_the_cli(server_url, judgment_checker):
    result = runner.invoke(
        app,
        [
            "judge",
            *PAIR,
            "--engine",
            "openai",
            "--base-url",
            server_url,
            "--max-tokens",
            "24",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    judgment = Judgment.from_dict(json.loads(result.stdout))
    assert len(judgment.samples) == 2
    judgment_checker(judgment, "rrm")


def test_transformers_engine_from_the_cli(smollm2_path, judgment_checker):
    result = runner.invoke(
        app,
        [
            "judge",
            *PAIR,
            "--engine",
            "transformers",
            "--model",
            str(smollm2_path),
            "--max-tokens",
            "16",
            "--orders",
            "fixed",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    judgment = Judgment.from_dict(json.loads(result.stdout))
    assert [s.order for s in judgment.samples] == ["AB"]
    judgment_checker(judgment, "rrm")


def test_models_list_verify_and_corruption(tmp_path, smollm2_path, monkeypatch):
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "smollm2-135m" in result.stdout
    result = runner.invoke(app, ["models", "verify", "smollm2-135m"])
    assert result.exit_code == 0 and "sha256 OK" in result.stdout

    cache = tmp_path / "cache"
    monkeypatch.setenv("REASONRM_CACHE", str(cache))
    target = cache / "models" / smollm2_path.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(smollm2_path, target)
    with open(target, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    result = runner.invoke(app, ["models", "verify", "smollm2-135m"])
    assert result.exit_code == 2 and "sha256" in result.output
    assert not target.exists()  # a corrupt file is never loaded later
    assert os.environ["REASONRM_CACHE"] == str(cache)


def test_models_export_writes_a_checkpoint_the_transformers_engine_loads(tmp_path, smollm2_path):
    pytest.importorskip("transformers")
    from reasonrm.engines.transformers import TransformersEngine
    from reasonrm.types import SamplingParams

    folder = tmp_path / "base"
    result = runner.invoke(app, ["models", "export", "smollm2-135m", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    engine = TransformersEngine(str(folder), dtype="float32")
    gguf = TransformersEngine(str(smollm2_path))  # float32 from the GGUF itself
    try:
        chat = [[{"role": "user", "content": "Name a primary colour."}]]
        params = SamplingParams(max_tokens=12, temperature=0.0)
        # the same weights: greedy text is the same
        assert engine.generate(chat, params)[0][0].text == gguf.generate(chat, params)[0][0].text
        assert engine.net.config.num_hidden_layers == gguf.net.config.num_hidden_layers
    finally:
        engine.close()
        gguf.close()
    again = runner.invoke(app, ["models", "export", "smollm2-135m", "--out", str(folder)])
    assert again.exit_code == 2 and "is not empty" in again.output
