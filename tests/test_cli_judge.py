"""The judge and rank commands with a scripted engine: which order policy applies where, and
how the specs reach the engine."""

from __future__ import annotations

import json

from fakes import ScriptedEngine, content_judge
from typer.testing import CliRunner

import reasonrm.cli as cli

runner = CliRunner()


def content_scores(chat) -> dict[str, float]:
    """Verdict probabilities of a judge that favours the slot holding 'good'."""
    first = content_judge(chat[:-1], None) == "\\boxed{Assistant 1}"  # before the prefix
    return {"1": 0.9 if first else 0.1, "2": 0.1 if first else 0.9}


def patch_engine(monkeypatch):
    """The CLI's engine, faked: it samples verdicts and reads their probabilities alike."""
    seen = []

    def fake(spec):
        seen.append(spec)
        return ScriptedEngine(content_judge, scores=content_scores)

    monkeypatch.setattr(cli.common, "open_engine", fake)
    return seen


def test_one_pair_is_judged_in_both_orders_by_default(monkeypatch):
    seen = patch_engine(monkeypatch)
    args = ["judge", "--prompt", "q", "--a", "bad", "--b", "good", "--json"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    j = json.loads(result.stdout)
    assert [s["order"] for s in j["samples"]] == ["AB", "BA"]
    assert j["winner"] == "B" and j["orders_agree"] is True
    # the embedded default model reads the verdict's probability (score "auto")
    assert j["p_a"] is not None and j["p_a"] < 0.5
    voted = json.loads(runner.invoke(cli.app, [*args, "--score", "vote"]).stdout)
    assert voted["p_a"] is None and voted["winner"] == "B" and len(voted["samples"]) == 2
    # engine "auto" with no --base-url and no folder is the embedded llama.cpp
    assert seen[0].resolved().engine == "llamacpp" and seen[0].model is None
    one = runner.invoke(cli.app, [*args, "--orders", "fixed"])
    assert [s["order"] for s in json.loads(one.stdout)["samples"]] == ["AB"]


def test_options_reach_the_engine_and_a_bad_value_is_one_line(monkeypatch):
    seen = patch_engine(monkeypatch)
    args = ["judge", "--prompt", "q", "--a", "x", "--b", "good", "--json"]
    url = ["--base-url", "http://127.0.0.1:9/v1", "--parallel", "3", "--threads", "1"]
    result = runner.invoke(cli.app, [*args, *url])
    assert result.exit_code == 0, result.output
    spec = seen[0]
    assert (spec.resolved().engine, spec.parallel, spec.threads) == ("openai", 3, 1)
    bad = runner.invoke(cli.app, [*args, "--top-p", "1.5"])
    assert bad.exit_code == 2 and "top_p must be in (0, 1]" in bad.output
    assert "Traceback" not in bad.output


def test_rank_records_one_random_order_per_match(monkeypatch, tmp_path):
    patch_engine(monkeypatch)
    cands = tmp_path / "c.jsonl"
    cands.write_text(json.dumps({"prompt": "q", "responses": ["bad", "good", "meh"]}) + "\n")
    out = tmp_path / "r.jsonl"
    args = ["rank", "--input", str(cands), "--output", str(out), "--score", "vote"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text())
    assert row["settings"]["orders"] == "random" and row["ranking"][0] == 1
    judged = [m for m in row["matches"] if m["judgment"]]
    assert judged and all(len(m["judgment"]["samples"]) == 1 for m in judged)
    # a probability judge (the default model's "auto") reads both orders of every match
    prob = tmp_path / "p.jsonl"
    result = runner.invoke(cli.app, ["rank", "--input", str(cands), "--output", str(prob)])
    row = json.loads(prob.read_text())
    assert row["settings"]["orders"] == "both" and row["settings"]["score"] == "prob"
    judged = [m for m in row["matches"] if m["judgment"]]
    assert all(len(m["judgment"]["samples"]) == 2 for m in judged) and row["ranking"][0] == 1


def test_judge_shows_what_the_checks_found(monkeypatch):
    def checked(chat, params):
        if "Write a Python program" in chat[1]["content"]:
            return "print(25 + 17)\n```"
        return content_judge(chat, params)

    monkeypatch.setattr(
        cli.common, "open_engine", lambda spec: ScriptedEngine(checked, scores=content_scores)
    )
    args = ["judge", "--prompt", "What is 25 + 17?", "--a", "25 + 17 = 52", "--b", "25 + 17 = 42"]
    shown = runner.invoke(cli.app, args)
    assert shown.exit_code == 0, shown.output
    assert "Checks" in shown.stdout and "math" in shown.stdout
    assert "decided by the math check" in shown.stdout and "Winner: B" in shown.stdout
    as_json = json.loads(runner.invoke(cli.app, [*args, "--json"]).stdout)
    assert as_json["decided_by"] == "math" and as_json["evidence"][0]["winner"] == "B"
    off = json.loads(runner.invoke(cli.app, [*args, "--json", "--verify", "off"]).stdout)
    assert off["evidence"] == [] and off["decided_by"] is None
    bad = runner.invoke(cli.app, [*args, "--verify", "magic"])
    assert bad.exit_code == 2 and "unknown verifier 'magic'" in bad.output


def test_a_missing_input_file_is_one_line_before_any_model_loads(monkeypatch, tmp_path):
    def never(spec):
        raise AssertionError("the engine was opened before the input was checked")

    monkeypatch.setattr(cli.common, "open_engine", never)
    missing = str(tmp_path / "missing.jsonl")
    for args in (
        ["judge", "--input", missing, "--output", str(tmp_path / "o.jsonl")],
        ["rank", "--input", missing, "--output", str(tmp_path / "r.jsonl")],
        ["calibrate", missing],
    ):
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 2 and "no such file" in result.output, args
        assert len(result.output.strip().splitlines()) == 1


def test_version():
    from reasonrm import __version__

    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"reasonrm {__version__}"
