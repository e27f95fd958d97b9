"""examples: worked pairs shown before the pair to judge (few-shot), balanced over the slots,
from the built-in set or a user's file, recorded so that a resumed run with an edited file
is refused."""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedEngine

from reasonrm import Judge
from reasonrm.errors import InputError
from reasonrm.examples import GENERAL, balanced, load_examples
from reasonrm.specs import JudgeSpec
from reasonrm.types import Comparison


def rows_file(tmp_path, rows, name="examples.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_examples_alternate_the_better_slot_whatever_their_labels():
    given = [Comparison(f"q{i}", f"good{i}", f"bad{i}", label="A") for i in range(4)]
    given[1] = given[1].swapped()  # this one says B: the better response is second
    shown = balanced(given)
    assert [c.label for c in shown] == ["B", "A", "B", "A"]
    for before, after in zip(given, shown, strict=True):
        better = after.a if after.label == "A" else after.b
        assert better == (before.a if before.label == "A" else before.b)
        assert after.prompt == before.prompt
    assert [c.label for c in load_examples("general")] == ["B", "A", "B", "A"]
    assert load_examples("none") == ()


def probs_for_first_slot(chat):
    """Leans to the first slot unless it holds the word 'bad'."""
    first = chat[-2]["content"].split("### Assistant 1")[1].split("### Assistant 2")[0]
    p = 0.3 if "bad" in first else 0.8
    return {"1": p, "2": 1 - p}


def test_the_judge_shows_the_examples_before_the_pair_in_both_orders():
    engine = ScriptedEngine(scores=probs_for_first_slot)
    judge = Judge(engine, "direct", score="prob", examples="general")
    j = judge.judge(Comparison("Which?", "bad answer", "fine answer"))
    assert j.winner == "B"
    assert len(engine.scored) == 2  # one reading per order
    first, second = engine.scored
    # system prompt, four (pair, verdict) turns, the pair, the verdict's opening
    assert [m["role"] for m in first] == ["system"] + ["user", "assistant"] * 5
    verdicts = [m["content"] for m in first[1:9] if m["role"] == "assistant"]
    assert verdicts == [f"\\boxed{{Assistant {n}}}" for n in (2, 1, 2, 1)]
    for shown, example in zip(first[1:9:2], load_examples("general"), strict=True):
        assert example.a in shown["content"] and example.b in shown["content"]
    # the orders differ only in the pair: everything before it is one cacheable prefix
    assert first[:9] == second[:9] and first[9] != second[9]
    Judge(engine, "direct", score="prob").judge(Comparison("Which?", "bad answer", "fine"))
    assert [m["role"] for m in engine.scored[-1]] == ["system", "user", "assistant"]


def test_a_users_file_is_read_and_its_hash_recorded(tmp_path):
    path = rows_file(
        tmp_path,
        [
            {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
            {"prompt": "Capital of France?", "a": "Lyon", "b": "Paris", "label": "B"},
        ],
    )
    shown = load_examples(path)
    assert [(c.a, c.b, c.label) for c in shown] == [("5", "4", "B"), ("Paris", "Lyon", "A")]
    spec = JudgeSpec(protocol="direct", score="prob", examples=path)
    recorded = spec.to_dict()
    assert len(recorded["examples_sha256"]) == 64
    assert JudgeSpec.from_dict(recorded) == spec  # the hash is derived, not a setting
    rows_file(tmp_path, [{"prompt": "2+2?", "chosen": "4", "rejected": "3"}])
    assert JudgeSpec(protocol="direct", score="prob", examples=path).to_dict() != recorded
    assert "examples_sha256" not in JudgeSpec(examples="general").to_dict()


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "no rows"),
        ([{"prompt": "q", "a": "x", "b": "y"}], r"examples\.jsonl:1: an example needs"),
        ([{"prompt": "q", "a": "x"}], r"examples\.jsonl:1: missing field"),
    ],
)
def test_bad_example_files_are_named_at_start_up(tmp_path, rows, message):
    path = rows_file(tmp_path, rows)
    with pytest.raises(InputError, match=message):
        JudgeSpec(examples=path)


def test_examples_need_a_pairwise_verdict(tmp_path):
    with pytest.raises(InputError, match="no such file.*none, general"):
        JudgeSpec(examples=str(tmp_path / "absent.jsonl"))
    with pytest.raises(InputError, match="pointwise"):
        JudgeSpec(examples="general", score="pointwise")
    with pytest.raises(InputError, match="measured without examples"):
        JudgeSpec(examples="general", score="calibrated", slot_prior=1.0)
    assert len(GENERAL) == 4 and {c.label for c in GENERAL} == {"A"}


def test_the_cli_judges_with_examples_and_resume_refuses_an_edited_file(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import reasonrm.cli as cli

    engine = ScriptedEngine(scores=probs_for_first_slot)
    monkeypatch.setattr(cli.common, "open_engine", lambda spec: engine)
    examples = rows_file(tmp_path, [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}])
    rows = rows_file(tmp_path, [{"prompt": "q", "a": "bad x", "b": "y"}], "pairs.jsonl")
    out = tmp_path / "out.jsonl"
    args = ["judge", "--input", rows, "--output", str(out), "--protocol", "direct"]
    args += ["--score", "prob", "--examples", examples]
    runner = CliRunner()
    first = runner.invoke(cli.app, args)
    assert first.exit_code == 0, first.output
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["settings"]["examples"] == examples and row["winner"] == "B"
    assert "2+2?" in engine.scored[0][1]["content"]  # the example opens the prompt
    rows_file(tmp_path, [{"prompt": "2+2?", "chosen": "4", "rejected": "3"}])
    again = runner.invoke(cli.app, args)
    assert again.exit_code == 2 and "examples_sha256" in " ".join(again.output.split())
