"""Probability scoring from the command line: `judge --score prob`, `calibrate`, and
`--score calibrated --calibration FILE`, with a scripted engine that leans to the first slot."""

from __future__ import annotations

import json
import math

from fakes import ScriptedEngine
from test_scoring import biased_model
from typer.testing import CliRunner

import reasonrm.cli as cli

runner = CliRunner()


def patch_engine(monkeypatch, **engine):
    monkeypatch.setattr(cli.common, "open_engine", lambda spec: ScriptedEngine(**engine))


def pairs_file(tmp_path, n=6):
    path = tmp_path / "pairs.jsonl"
    rows = [
        {
            "prompt": f"q{i}",
            "a": "a good answer" if i % 2 else "a poor answer",
            "b": "a poor answer" if i % 2 else "a good answer",
            "label": "A" if i % 2 else "B",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_judge_reads_p_a_where_votes_tie(monkeypatch):
    patch_engine(monkeypatch, scores=biased_model(bias=2.0))
    args = ["judge", "--prompt", "q", "--a", "a poor answer", "--b", "a good answer"]
    result = runner.invoke(cli.app, [*args, "--protocol", "direct", "--score", "prob", "--json"])
    assert result.exit_code == 0, result.output
    j = json.loads(result.stdout)
    assert j["winner"] == "B" and j["p_a"] < 0.5 and j["margin"] < 0
    assert [s["order"] for s in j["samples"]] == ["AB", "BA"]
    shown = runner.invoke(cli.app, [*args, "--protocol", "direct", "--score", "prob"])
    assert "P(a better) 0.269" in shown.stdout and "Winner: B" in shown.stdout
    table = [line.split() for line in shown.stdout.splitlines() if "first │" in line]
    assert [row[-4] for row in table] == ["0.731", "0.953"]  # P(first slot) per order


def test_calibrate_then_judge_one_order_calibrated(monkeypatch, tmp_path):
    patch_engine(monkeypatch, scores=biased_model(bias=2.0))
    pairs = pairs_file(tmp_path)
    calibration = tmp_path / "cal.json"
    made = runner.invoke(
        cli.app, ["calibrate", str(pairs), "--protocol", "direct", "--out", str(calibration)]
    )
    assert made.exit_code == 0, made.output
    stored = json.loads(calibration.read_text())
    assert abs(stored["slot_prior"] - 2.0) < 1e-3 and stored["pairs"] == 6
    assert (stored["model"], stored["protocol"], stored["reason"], stored["reference"]) == (
        "qwen2.5-1.5b",
        "direct",
        False,
        "none",
    )
    assert "the response shown first won 100% of 12 verdicts" in made.output

    out = tmp_path / "judged.jsonl"
    args = [
        "judge",
        "--input",
        str(pairs),
        "--output",
        str(out),
        "--protocol",
        "direct",
        "--orders",
        "fixed",
    ]
    calibrated = runner.invoke(
        cli.app, [*args, "--score", "calibrated", "--calibration", str(calibration)]
    )
    assert calibrated.exit_code == 0, calibrated.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["correct"] for r in rows) and len(rows) == 6
    assert rows[0]["settings"]["slot_prior"] == stored["slot_prior"]

    # a file measured for another protocol is refused, naming both
    other = runner.invoke(
        cli.app,
        [
            *args[:-4],
            "--protocol",
            "rrm",
            "--score",
            "calibrated",
            "--calibration",
            str(calibration),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert other.exit_code == 2 and "protocol 'direct', not 'rrm'" in other.output
    # a prompt that shows the judge's own reference has another slot preference
    referenced = runner.invoke(
        cli.app,
        [*args, "--score", "calibrated", "--calibration", str(calibration), "--reference", "self"],
    )
    assert referenced.exit_code == 2 and "reference 'none', not 'self'" in referenced.output
    both = runner.invoke(
        cli.app,
        [*args, "--score", "calibrated", "--calibration", str(calibration), "--slot-prior", "1"],
    )
    assert both.exit_code == 2 and "not both" in both.output


def test_prob_on_an_engine_without_probabilities_is_one_line(monkeypatch):
    patch_engine(monkeypatch, script=lambda chat, p: "\\boxed{Assistant 1}")
    args = ["judge", "--prompt", "q", "--a", "x", "--b", "y", "--score", "prob"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2 and "score='vote'" in result.output
    assert "Traceback" not in result.output


def test_abstain_below_leaves_the_unsure_pairs_to_people(monkeypatch, tmp_path):
    # a judge that is sure where the prompt says so, and unsure elsewhere
    def scores(chat):
        first, second = chat[1]["content"].split("### Assistant 1")[1].split("### Assistant 2")
        margin = 2.0 if "sure" in chat[1]["content"] else 0.1
        p = 1 / (1 + math.exp(-(margin if "good" in first else -margin)))
        return {"1": p, "2": 1 - p}

    patch_engine(monkeypatch, scores=scores)
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"prompt": "sure q", "a": "good", "b": "bad", "label": "A"},
        {"prompt": "q", "a": "bad", "b": "good", "label": "B"},
        {"prompt": "sure q2", "a": "bad", "b": "good", "label": "B"},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "judged.jsonl"
    args = [
        "judge",
        "--input",
        str(pairs),
        "--output",
        str(out),
        "--protocol",
        "direct",
        "--score",
        "prob",
    ]
    result = runner.invoke(cli.app, [*args, "--abstain-below", "0.8"])
    assert result.exit_code == 0, result.output
    left = [
        json.loads(line) for line in (tmp_path / "judged.abstained.jsonl").read_text().splitlines()
    ]
    assert [r["prompt"] for r in left] == ["q"] and 0.45 < left[0]["p_a"] < 0.5
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "abstained on 1 of 3 pairs" in said and "coverage 66.7%" in said
    assert "accuracy on the rest 100.0%" in said
    voted = runner.invoke(
        cli.app,
        [
            "judge",
            "--input",
            str(pairs),
            "--output",
            str(tmp_path / "v.jsonl"),
            "--abstain-below",
            "0.8",
            "--score",
            "vote",
        ],
    )
    assert voted.exit_code == 2 and "--score prob" in voted.output


def test_pointwise_from_the_command_line(monkeypatch):
    from test_scoring import rating_model

    patch_engine(monkeypatch, scores=rating_model)
    args = [
        "judge",
        "--prompt",
        "q",
        "--a",
        "a poor answer",
        "--b",
        "a good answer",
        "--score",
        "pointwise",
    ]
    shown = runner.invoke(cli.app, args)
    assert shown.exit_code == 0, shown.output
    assert "Pointwise ratings" in shown.stdout and "Winner: B" in shown.stdout
    j = json.loads(runner.invoke(cli.app, [*args, "--json"]).stdout)
    assert [s["rating"] > 5 for s in j["samples"]] == [False, True] and j["p_a"] < 0.05


def test_calibrate_with_the_judges_own_reference_records_it(monkeypatch, tmp_path):
    """`calibrate --reference self` measures the prior on prompts that show the judge's own
    answer, and says so in the file, so only a judge that shows one may use it."""
    patch_engine(monkeypatch, script=lambda chat, p: "an answer", scores=biased_model(bias=1.0))
    calibration = tmp_path / "cal.json"
    made = runner.invoke(
        cli.app,
        [
            "calibrate",
            str(pairs_file(tmp_path)),
            "--protocol",
            "direct",
            "--reference",
            "self",
            "--out",
            str(calibration),
        ],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(calibration.read_text())["reference"] == "self"
    args = ["judge", "--prompt", "q", "--a", "x", "--b", "y", "--protocol", "direct"]
    args += ["--orders", "fixed", "--score", "calibrated", "--calibration", str(calibration)]
    assert runner.invoke(cli.app, [*args, "--reference", "self"]).exit_code == 0
    refused = runner.invoke(cli.app, args)
    assert refused.exit_code == 2 and "reference 'self', not 'none'" in refused.output


def test_train_evaluate_offers_only_the_scores_it_reads():
    """Its --score lists vote and prob, the two it reads; another is refused by the parser
    before anything loads."""
    shown = runner.invoke(cli.app, ["train", "evaluate", "--help"], terminal_width=200)
    assert (
        "<vote|prob>" in shown.output and "calibrated" not in shown.output.split("--score")[1][:40]
    )
    refused = runner.invoke(
        cli.app, ["train", "evaluate", "x.gguf", "--data", "d", "--score", "pointwise"]
    )
    assert refused.exit_code == 2 and "Invalid value for '--score'" in refused.output
