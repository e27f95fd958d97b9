"""`reasonrm eval report`: behaviour counts by hand, bootstrap intervals, files written."""

import json

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app
from reasonrm.errors import InputError
from reasonrm.eval import get_benchmark, report
from reasonrm.positions import Positions

runner = CliRunner()
rewardbench = get_benchmark("rewardbench")


def sample(order, verdict, tokens=10, forced=False, finish="stop"):
    return {
        "text": "...",
        "verdict": verdict,
        "order": order,
        "completion_tokens": tokens,
        "prompt_tokens": 100,
        "finish_reason": finish,
        "seconds": 1.0,
        "forced": forced,
    }


def row(subset, rid, correct, samples, agree=None):
    return {
        "subset": subset,
        "id": rid,
        "correct": correct,
        "samples": samples,
        "orders_agree": agree,
    }


def test_behaviour_counts_first_slot_wins_invalid_and_tokens():
    rows = [
        row("hep-go", "1", 1, [sample("AB", "A", 30)]),  # a shown first, a won: first slot
        row("hep-go", "2", 0, [sample("BA", "A", 20)]),  # b shown first, a won: second slot
        row("hep-go", "3", 1, [sample("BA", "B", 5), sample("AB", None, 7, finish="length")]),
        row("donotanswer", "1", 0.5, [sample("AB", None, 3, forced=True)], agree=False),
    ]
    b = report.behaviour(rows)
    assert (b.samples, b.valid, b.positions.first_slot) == (5, 3, 2)
    assert b.positions.first_slot_rate == pytest.approx(2 / 3)
    assert b.invalid_rate == pytest.approx(2 / 5)
    assert (b.forced, b.truncated, b.positions.both_orders, b.positions.flips) == (1, 1, 1, 1)
    assert b.positions.agreement == 0
    assert b.tokens == [30, 20, 12, 3]
    assert b.invalid_by_subset == {"hep-go": [1, 4], "donotanswer": [1, 1]}
    assert b.by_subset == {"hep-go": Positions(3, 2, 0, 0), "donotanswer": Positions(0, 0, 1, 1)}


def test_behaviour_reads_items_of_several_judgments():
    judgments = [{"samples": [sample("AB", "A")], "orders_agree": None}] * 9
    b = report.behaviour([{"subset": "chat", "id": "1", "correct": 1, "judgments": judgments}])
    assert (b.samples, b.positions.first_slot, len(b.tokens)) == (9, 9, 9)


def test_pairs_a_check_decided_are_counted_apart():
    decided = {"decided_by": "code", "evidence": [{"verifier": "code", "winner": "A"}]}
    read = {"evidence": [{"verifier": "math", "winner": None}]}
    rows = [
        row("hep-python", "1", 1, []) | decided,
        row("hep-python", "2", 0, []) | decided,
        row("math-prm", "3", 1, [sample("AB", "A")]) | read,
        row("alpacaeval-easy", "4", 1, [sample("AB", "A")]),
    ]
    b = report.behaviour(rows)
    assert b.checked == 3 and b.decided == {"code": [2, 1]}
    assert b.samples == 2  # a decided pair has no votes
    text = "\n".join(report.checks_section(b))
    assert "applied to 3 judgments and decided 2" in text and "| code | 2 | 1 |" in text
    assert report.checks_section(report.behaviour(rows[3:])) == []


def rewardbench_rows():
    rows = []
    for subset in ("alpacaeval-easy", "mt-bench-hard", "donotanswer", "math-prm"):
        rows += [row(subset, str(i), i % 2, [sample("AB", "A")]) for i in range(10)]
    return rows


def test_bootstrap_is_deterministic_and_brackets_the_point():
    rows = rewardbench_rows()
    headline, subsets = report.bootstrap(rewardbench, rows, None, resamples=200, seed=1)
    assert headline["overall"].value == 0.5
    assert headline["overall"].low < 0.5 < headline["overall"].high
    assert subsets["math-prm"].n == 10 and subsets["math-prm"].value == 0.5
    again, _ = report.bootstrap(rewardbench, rows, None, resamples=200, seed=1)
    assert again == headline
    # a subset where every item is right has no spread
    perfect = [r | {"correct": 1} for r in rows]
    headline, _ = report.bootstrap(rewardbench, perfect, None, resamples=100, seed=0)
    assert (headline["Chat"].low, headline["Chat"].high) == (1.0, 1.0)


def write_run(folder, rows, settings):
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if settings is not None:
        (folder / "run.json").write_text(json.dumps(settings))
    return folder


def test_report_command_writes_markdown_and_plots(tmp_path):
    run_dir = write_run(tmp_path / "run", rewardbench_rows(), {"benchmark": "rewardbench"})
    result = runner.invoke(app, ["eval", "report", str(run_dir), "--resamples", "100"])
    assert result.exit_code == 0, result.output
    text = (run_dir / "report.md").read_text()
    assert "| overall | 0.500 [" in text and "| math-prm | 10 | 0.500 [" in text
    assert "won 100.0% of 40 valid votes" in text
    for name in ("accuracy.png", "position_bias.png", "tokens.png", "invalid.png"):
        assert (run_dir / name).read_bytes()[:4] == b"\x89PNG"
        assert f"({name})" in text


def test_report_of_another_tools_file_needs_the_benchmark(tmp_path):
    rows = [{"subset": "livecodebench", "id": "1", "correct": 1}]
    run_dir = write_run(tmp_path / "run", rows, None)
    result = runner.invoke(app, ["eval", "report", str(run_dir)])
    assert result.exit_code == 2 and "give --benchmark" in result.output
    result = runner.invoke(app, ["eval", "report", str(run_dir), "--benchmark", "judgebench"])
    assert result.exit_code == 0, result.output
    assert "no valid verdict" in (run_dir / "report.md").read_text()


def test_report_refuses_a_mismatched_benchmark(tmp_path):
    run_dir = write_run(tmp_path / "run", rewardbench_rows(), {"benchmark": "rewardbench"})
    with pytest.raises(InputError, match="is a rewardbench run, not judgebench"):
        report.load_run(run_dir, "judgebench")


def test_subset_accuracy_follows_the_invalid_rule():
    """RMB pairwise counts an invalid verdict as 0 by default: the subset row must agree with
    the headline number."""
    rmb = get_benchmark("rmb")
    rows = [
        row("Pairwise Helpfulness", str(i), c, [sample("AB", "A")])
        for i, c in enumerate((1, 0.5, 0.5, 0))
    ]
    headline, subsets = report.bootstrap(rmb, rows, None, resamples=100, seed=0)
    assert headline["Pairwise Helpfulness"].value == 0.25
    assert subsets["Pairwise Helpfulness"].value == 0.25
    _, subsets = report.bootstrap(rmb, rows, "half", resamples=100, seed=0)
    assert subsets["Pairwise Helpfulness"].value == 0.5


def test_report_leaves_out_a_line_still_being_written(tmp_path):
    run_dir = write_run(tmp_path / "run", rewardbench_rows(), {"benchmark": "rewardbench"})
    with open(run_dir / "results.jsonl", "a") as f:
        f.write('{"subset": "math-prm", "id": "99", "corr')
    built = report.build(run_dir, rewardbench, {}, resamples=100)
    assert built.scores["items"] == 40


def test_report_names_a_broken_run_json(tmp_path):
    run_dir = write_run(tmp_path / "run", rewardbench_rows(), None)
    (run_dir / "run.json").write_text("{oops")
    with pytest.raises(InputError, match="run.json: not valid JSON"):
        report.load_run(run_dir, None)


def test_a_probability_run_reports_brier_auc_reliability_and_abstention(tmp_path):
    # chosen is a (label A) in every row; p_a 0.9 four times (right), 0.3 twice (wrong),
    # 0.65 four times (right) per subset
    rows = []
    for subset in ("alpacaeval-easy", "mt-bench-hard", "donotanswer", "math-prm"):
        for i, p in enumerate([0.9] * 4 + [0.3] * 2 + [0.65] * 4):
            r = row(
                subset, str(i), int(p > 0.5), [sample("AB", "A"), sample("BA", "A")], agree=True
            )
            r |= {"p_a": p, "label": "A"}
            rows.append(r)
    run_dir = write_run(tmp_path / "run", rows, {"benchmark": "rewardbench"})
    result = runner.invoke(app, ["eval", "report", str(run_dir), "--resamples", "100"])
    assert result.exit_code == 0, result.output
    text = (run_dir / "report.md").read_text()
    brier = (4 * 0.01 + 2 * 0.49 + 4 * 0.1225) / 10
    assert f"40 judgments carry p_a, P(a is better). Brier score {brier:.3f}" in text
    assert "AUC n/a" in text  # every label is A: no ranking of A against B to measure
    assert "| 0.6-0.7 | 16 | 0.650 | 1.000 |" in text  # the 0.65s
    assert "| 0.7-0.8 | 8 | 0.700 | 0.000 |" in text  # the 0.3s: sure of the wrong side
    assert "| 0.8-0.9 | 0 |  |  |" in text and "| 0.9-1.0 | 16 | 0.900 | 1.000 |" in text
    assert "| 0.7 | 40.0% | 1.000 |" not in text  # 0.3 has confidence 0.7: kept at T=0.7
    assert "| 0.7 | 60.0% | 0.667 |" in text and "| 0.5 | 100.0% | 0.800 |" in text
    assert (run_dir / "reliability.png").read_bytes()[:4] == b"\x89PNG"
