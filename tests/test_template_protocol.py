"""Protocols from the user's template file: a template written to match `rrm` renders the
same prompts and reads the same verdicts from the same completions; every mistake in a
template is named; runs record the template's hash."""

from __future__ import annotations

import json

import pytest
import yaml
from fakes import ScriptedEngine

from reasonrm import Comparison, Judge
from reasonrm.errors import InputError
from reasonrm.protocols import get_protocol
from reasonrm.protocols.rrm import INSTRUCTION, SYSTEM_PROMPT
from reasonrm.specs import JudgeSpec


def braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


RRM_LIKE = {
    "name": "rrm-template",
    "system": braces(SYSTEM_PROMPT),
    "user": "## Query\n\n{question}\n\n## Assistant responses\n\n### Assistant 1\n\n{a}\n\n\n"
    "### Assistant 2\n\n{b}\n\n## Analysis\n\n" + braces(INSTRUCTION),
    "verdict": {"pattern": r"\\boxed\{Assistant ([12])\}", "labels": {"1": "A", "2": "B"}},
    "verdict_cue": "\n\nTherefore, the better response is \\boxed{Assistant",
    "answer_prefix": "\\boxed{Assistant ",
    "answer_suffix": "}",
}
COMPLETIONS = [
    "The first is right. \\boxed{Assistant 1}",
    "Assistant 2 is better. \\boxed{Assistant 2}",
    "At first \\boxed{Assistant 1}, but on reflection \\boxed{Assistant 2}",  # the last counts
    "I cannot tell.",
    "",
]


def write(tmp_path, spec, name="judge.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return str(path)


def test_a_template_reproduces_rrm_prompts_and_verdicts(tmp_path):
    template, rrm = get_protocol(write(tmp_path, RRM_LIKE)), get_protocol("rrm")
    pair = Comparison("What is 2 + 2?", "4", "5")
    assert template.render(pair) == rrm.render(pair)
    for text in COMPLETIONS:
        for truncated in (False, True):
            assert template.parse(text, truncated) == rrm.parse(text, truncated), text
    for winner in "AB":
        assert template.verdict_text(winner) == rrm.verdict_text(winner)


def test_judging_with_the_template_gives_rrm_s_judgments(tmp_path):
    path = write(tmp_path, RRM_LIKE)
    script = iter(COMPLETIONS * 4)

    def same_completions():
        return ScriptedEngine(lambda chat, params: COMPLETIONS[len(chat[-1]["content"]) % 3])

    pairs = [Comparison(f"q{i}", f"answer {i}", f"other {i}") for i in range(6)]
    ours = Judge(same_completions(), protocol=path, score="vote").judge_many(pairs)
    theirs = Judge(same_completions(), protocol="rrm", score="vote").judge_many(pairs)
    assert [j.winner for j in ours] == [j.winner for j in theirs]
    assert [j.votes for j in ours] == [j.votes for j in theirs]
    assert next(script)  # the scripted list is real completions, not placeholders


def test_probability_scoring_reads_the_template_s_labels(tmp_path):
    path = write(tmp_path, RRM_LIKE)

    def scores(chat):
        assert chat[-1] == {"role": "assistant", "content": "\\boxed{Assistant "}
        first = chat[-2]["content"].index("### Assistant 1\n\nright")
        return {"1": 0.8, "2": 0.2} if first >= 0 else {"1": 0.2, "2": 0.8}

    engine = ScriptedEngine(["x"], scores=lambda chat: {"1": 0.7, "2": 0.3})
    j = Judge(engine, protocol=path, score="prob").judge(Comparison("q", "right", "wrong"))
    assert j.p_a == pytest.approx(0.5) and len(engine.scored) == 2  # a constant lean cancels


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"user": "{question} {a}"}, r"never show \{b\}"),
        ({"user": "{question} {a} {b} {rubric}"}, r"unknown placeholder\(s\) \{rubric\}"),
        ({"user": "{a} {b} {"}, "not a valid template"),
        ({"verdict": {"pattern": "([12", "labels": {"1": "A", "2": "B"}}}, "does not compile"),
        ({"verdict": {"pattern": "Assistant [12]", "labels": {"1": "A"}}}, "exactly one capturing"),
        ({"verdict": {"pattern": "([12])", "labels": {"1": "A", "2": "A"}}}, "both A and B"),
        ({"verdict": {"pattern": "([12])"}}, "needs 'pattern'"),
        ({"user": None}, "field 'user'"),
        ({"rubric": "x"}, r"unknown field\(s\) rubric"),
    ],
)
def test_template_mistakes_are_named(tmp_path, change, message):
    spec = {k: v for k, v in (RRM_LIKE | change).items() if v is not None}
    path = write(tmp_path, spec)
    with pytest.raises(InputError, match=message) as e:
        get_protocol(path)
    assert path in str(e.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(InputError, match="no such protocol template"):
        get_protocol(str(tmp_path / "none.yaml"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a valid template file"):
        get_protocol(str(bad))


def test_runs_record_the_template_hash_so_an_edit_is_refused(tmp_path):
    path = write(tmp_path, RRM_LIKE)
    spec = JudgeSpec(protocol=path, score="vote")
    recorded = spec.to_dict()
    assert len(recorded["protocol_sha256"]) == 64
    assert JudgeSpec.from_dict(recorded) == spec  # the hash is derived, not a setting
    write(tmp_path, RRM_LIKE | {"name": "edited"})
    assert JudgeSpec(protocol=path, score="vote").to_dict() != recorded


def test_the_cli_judges_with_a_template_and_resume_refuses_an_edit(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import reasonrm.cli as cli

    path = write(tmp_path, RRM_LIKE)
    monkeypatch.setattr(
        cli.common, "open_engine", lambda spec: ScriptedEngine(lambda c, p: "\\boxed{Assistant 1}")
    )
    rows = tmp_path / "pairs.jsonl"
    rows.write_text(json.dumps({"prompt": "q", "a": "x", "b": "y"}) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["judge", "--input", str(rows), "--output", str(out), "--protocol", path]
    runner = CliRunner()
    first = runner.invoke(cli.app, [*args, "--score", "vote"])
    assert first.exit_code == 0, first.output
    assert len(json.loads(out.read_text().splitlines()[0])["settings"]["protocol_sha256"]) == 64
    write(tmp_path, RRM_LIKE | {"name": "edited"})
    again = runner.invoke(cli.app, [*args, "--score", "vote"])
    assert again.exit_code == 2 and "protocol_sha256" in " ".join(again.output.split())


def test_a_pointwise_template_reproduces_the_built_in_rating(tmp_path):
    from reasonrm.protocols import pointwise

    user = "## Query\n\n{question}\n\n## Response\n\n{response}\n\nRate the response from 1 to 9."
    spec = {
        "kind": "pointwise",
        "system": braces(pointwise.SYSTEM_PROMPT),
        "user": user,
        "rating": {"prefix": "Rating: ", "labels": list(range(1, 10))},
    }
    path = write(tmp_path, spec, "rate.yaml")
    template = get_protocol(path)
    pair = Comparison("What is 2 + 2?", "4", "5")
    assert template.rating.chat(pair, "4") == pointwise.rating_chat(pair, "4")

    def digits(chat):
        top = "8" if chat[1]["content"].split("## Response")[1].strip().startswith("4") else "2"
        return {d: 0.9 if d == top else 0.0125 for d in "123456789"}

    ours = Judge(ScriptedEngine(["x"], scores=digits), protocol=path)  # auto: pointwise
    theirs = Judge(ScriptedEngine(["x"], scores=digits), score="pointwise")
    assert ours.spec.score == "pointwise"
    assert ours.judge(pair).p_a == pytest.approx(theirs.judge(pair).p_a)
    assert ours.rate("What is 2 + 2?", "4") == pytest.approx(8 * 0.9 + 0.0125 * 37)
    with pytest.raises(InputError, match="pointwise template.*score='pointwise'"):
        Judge(ScriptedEngine(["x"]), protocol=path, score="vote")
    with pytest.raises(InputError, match="pointwise template shows one"):
        get_protocol(write(tmp_path, spec | {"user": "{response} {a}"}, "bad.yaml"))
    with pytest.raises(InputError, match="field 'rating' needs"):
        get_protocol(write(tmp_path, {k: v for k, v in spec.items() if k != "rating"}, "r.yaml"))
    with pytest.raises(InputError, match="rating.labels must be numbers"):
        bad = spec | {"rating": {"prefix": "Rating: ", "labels": ["good", "bad"]}}
        get_protocol(write(tmp_path, bad, "l.yaml"))


def test_prepared_data_and_training_settings_find_a_template_again(tmp_path):
    from reasonrm.pairs import PreferencePair
    from reasonrm.training.config import load_settings
    from reasonrm.training.data import prepare, resolve_protocol, write_prepared

    path = write(tmp_path, RRM_LIKE)
    pairs = [PreferencePair(({"role": "user", "content": "q"},), "good", "bad", "f:1")]
    prepared = prepare(pairs, path)
    write_prepared(prepared, tmp_path / "data")
    stats = json.loads((tmp_path / "data" / "stats.json").read_text())
    assert stats["protocol"] == path  # the file, so later stages find it
    assert resolve_protocol(tmp_path / "data" / "train.jsonl", None).sha256
    grpo = ["model=tiny-random", "data=d", "output_dir=o", f"protocol={path}"]
    assert load_settings(None, "grpo", grpo).protocol == path
    with pytest.raises(InputError, match="no such protocol template"):
        load_settings(None, "grpo", [*grpo[:3], f"protocol={tmp_path / 'none.yaml'}"])


def test_the_protocols_command_lists_names_and_points_to_templates():
    from typer.testing import CliRunner

    from reasonrm.cli import app
    from reasonrm.protocols import PROTOCOLS

    shown = CliRunner().invoke(app, ["protocols"]).output
    assert all(f"{name}:" in shown for name in PROTOCOLS) and "template file" in shown
