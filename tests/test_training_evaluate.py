"""`reasonrm train evaluate` with a scripted model: the figures on known outputs, computed
by hand; no verdict forcing; resuming; rows too long; the CLI."""

from __future__ import annotations

import json
import math
import re

import pytest
from fakes import ScriptedEngine
from typer.testing import CliRunner

import reasonrm.cli.common as cli_common
from reasonrm.cli import app
from reasonrm.errors import ContextLengthError, InputError
from reasonrm.protocols import get_protocol
from reasonrm.training.data import read_labelled
from reasonrm.training.evaluate import evaluate, summarize
from reasonrm.types import Comparison

runner = CliRunner()
ONE, TWO = "\\boxed{Assistant 1}", "\\boxed{Assistant 2}"


def write_heldout(folder, labels):
    """A `data prepare`-style folder: heldout.jsonl rows q0, q1, … with the given labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rrm = get_protocol("rrm")
    with open(folder / "heldout.jsonl", "w") as f:
        for i, label in enumerate(labels):
            a, b = (f"right {i}", f"wrong {i}") if label == "A" else (f"wrong {i}", f"right {i}")
            messages = rrm.render(Comparison(prompt=f"q{i}", a=a, b=b))
            f.write(json.dumps({"id": f"r{i}", "messages": messages, "label": label}) + "\n")
    (folder / "stats.json").write_text(json.dumps({"protocol": "rrm"}))
    return folder


def query_of(chat):
    return re.search(r"## Query\n\n(q\d+)\n", chat[-1]["content"]).group(1)


LABELS = ["A", "A", "A", "B", "B", "B"]
OUTPUTS = {
    "q0": f"Response 1 is right. {ONE}",  # A: correct
    "q1": ONE,  # A: correct
    "q2": "I think no verdict",  # A: invalid (no verdict)
    "q3": ONE,  # B: wrong
    "q4": TWO,  # B: correct
    "q5": ("Let me think", "length"),  # B: invalid (cut off)
}
# by hand: 6 rows; correct q0 q1 q4 = 3; valid q0 q1 q3 q4 = 4
EXPECTED = {
    "rows": 6,
    "skipped_too_long": 0,
    "correct": 3,
    "valid": 4,
    "invalid": 2,
    "accuracy": 0.5,
    "valid_rate": 0.6667,
    "accuracy_valid": 0.75,
    "by_label": {
        "A": {"rows": 3, "correct": 2, "valid": 2, "accuracy": 0.6667},
        "B": {"rows": 3, "correct": 1, "valid": 2, "accuracy": 0.3333},
    },
    "predicted": {"A": 3, "B": 1, "invalid": 2},
    "invalid_reasons": {"no verdict": 1, "truncated": 1},
    "truncated": 1,
    "completion_tokens": 6 + 2 + 4 + 2 + 2 + 3,  # the fake tokenizer counts words
}


def model(outputs=OUTPUTS, fail=None):
    def script(chat, params):
        q = query_of(chat)
        if fail and q in fail:
            raise fail[q]
        return outputs[q]

    return ScriptedEngine(script)


@pytest.fixture
def heldout(tmp_path):
    return write_heldout(tmp_path / "data", LABELS)


def rows_of(folder):
    return read_labelled(folder / "heldout.jsonl")


def test_figures_on_scripted_outputs(heldout, tmp_path):
    engine = model()
    result = evaluate(engine, rows_of(heldout), tmp_path / "eval.jsonl", "rrm", max_tokens=64)
    summary = result.summary
    for key, value in EXPECTED.items():
        assert summary[key] == value, key
    assert summary["mean_completion_tokens"] == 3.2  # 19 / 6
    # greedy, one sample, the row's messages as they are, and no verdict forcing
    assert engine.requests == 6 and not engine.continuations
    assert all(c.params.temperature == 0 and c.params.n == 1 for c in engine.calls)
    assert all(c.params.max_tokens == 64 for c in engine.calls)
    prompts = sorted(json.dumps(c.chats[0]) for c in engine.calls)
    assert prompts == sorted(json.dumps(r.messages) for r in rows_of(heldout))

    results = [json.loads(x) for x in (tmp_path / "eval.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == [f"r{i}" for i in range(6)]
    by_id = {r["id"]: r for r in results}
    assert by_id["r3"]["verdict"] == "A" and by_id["r3"]["correct"] is False
    assert by_id["r5"]["invalid_reason"] == "truncated" and by_id["r5"]["verdict"] is None
    assert summarize(results) == summary  # the file alone gives the same figures


def test_position_bias_shows_in_the_per_label_figures(heldout, tmp_path):
    always_first = model({f"q{i}": ONE for i in range(6)})
    s = evaluate(always_first, rows_of(heldout), tmp_path / "e.jsonl").summary
    assert s["accuracy"] == 0.5 and s["valid_rate"] == 1.0
    assert s["by_label"]["A"]["accuracy"] == 1.0 and s["by_label"]["B"]["accuracy"] == 0.0
    assert s["predicted"] == {"A": 6, "B": 0, "invalid": 0}


def test_both_orders_of_a_pair_give_consistency_and_pair_accuracy(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    rrm = get_protocol("rrm")
    with open(folder / "heldout.jsonl", "w") as f:
        for i in range(3):  # pair i as q{2i} (right first, label A) and q{2i+1} (label B)
            for j, label in enumerate("AB"):
                a, b = ("right", "wrong") if label == "A" else ("wrong", "right")
                messages = rrm.render(Comparison(prompt=f"q{2 * i + j}", a=a, b=b))
                row = {"id": f"p{i}-{label}", "pair": f"p{i}", "messages": messages, "label": label}
                f.write(json.dumps(row) + "\n")
    # p0: right in both orders; p1: names the first slot twice; p2: wrong twice (consistent)
    outputs = {"q0": ONE, "q1": TWO, "q2": ONE, "q3": ONE, "q4": TWO, "q5": ONE}
    rows = read_labelled(folder / "heldout.jsonl")
    s = evaluate(model(outputs), rows, tmp_path / "e.jsonl").summary
    assert s["both_orders"] == {
        "pairs": 3,
        "agree": 2,
        "consistency": 0.6667,
        "right_in_both": 1,
        "pair_accuracy": 0.3333,
    }
    assert s["first_slot_share"] == 0.6667 and s["accuracy"] == 0.5  # 4 of 6 name slot 1


def test_resume_judges_nothing_twice(heldout, tmp_path):
    out = tmp_path / "eval.jsonl"
    rows = rows_of(heldout)
    first = model()
    assert evaluate(first, rows[:4], out).summary["rows"] == 4
    second = model()
    result = evaluate(second, rows, out)
    assert second.requests == 2 and result.judged == 2
    assert {query_of(c.chats[0]) for c in second.calls} == {"q4", "q5"}
    assert result.summary["correct"] == EXPECTED["correct"] and result.summary["rows"] == 6
    third = model()
    assert evaluate(third, rows, out).judged == 0 and third.requests == 0
    with pytest.raises(InputError, match="other settings"):
        evaluate(model(), rows, out, max_tokens=7)


def test_rows_too_long_are_skipped_and_counted(heldout, tmp_path):
    engine = model(fail={"q4": ContextLengthError("too long")})
    s = evaluate(engine, rows_of(heldout), tmp_path / "e.jsonl").summary
    assert s["rows"] == 5 and s["skipped_too_long"] == 1 and s["correct"] == 2
    assert s["by_label"]["B"]["rows"] == 2


def test_cli_evaluate(heldout, tmp_path, monkeypatch):
    seen = []

    def fake(spec):
        seen.append((spec.engine, spec.model))
        dtypes.append(spec.dtype)
        return model()

    dtypes = []
    monkeypatch.setattr(cli_common, "open_engine", fake)
    checkpoint = tmp_path / "sft-out"
    checkpoint.mkdir()
    result = runner.invoke(app, ["train", "evaluate", str(checkpoint), "--data", str(heldout)])
    assert result.exit_code == 0, result.output
    assert seen == [("transformers", str(checkpoint))]  # a folder: the transformers engine
    report = json.loads(result.stdout.strip().splitlines()[-1])  # the JSON line
    assert report["accuracy"] == 0.5 and report["valid_rate"] == 0.6667
    assert report["by_label"]["B"]["accuracy"] == 0.3333
    assert report["results"] == str(checkpoint / "eval-heldout.jsonl")
    assert "label B: accuracy" in result.stdout
    # a student is read in float32 unless told otherwise, and its results record that
    assert dtypes == ["float32"]
    rows = [json.loads(x) for x in (checkpoint / "eval-heldout.jsonl").read_text().splitlines()]
    assert rows[0]["settings"]["dtype"] == "float32"
    again = ["train", "evaluate", str(checkpoint), "--data", str(heldout), "--dtype", "bfloat16"]
    result = runner.invoke(app, again)
    assert result.exit_code == 2 and "dtype: 'float32' → 'bfloat16'" in result.output

    out = tmp_path / "gguf-eval.jsonl"
    args = ["train", "evaluate", "smollm2-135m", "--data", str(heldout), "--limit", "2"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert seen[-1] == ("llamacpp", "smollm2-135m")
    report = json.loads(result.stdout)
    assert report["rows"] == 2 and report["accuracy"] == 1.0 and report["protocol"] == "rrm"


def test_cli_evaluate_bad_data_is_one_line(tmp_path):
    result = runner.invoke(
        app, ["train", "evaluate", "x.gguf", "--data", str(tmp_path / "nothing")]
    )
    assert result.exit_code == 2 and "no such file" in result.output
    assert "Traceback" not in result.output


def test_probability_scoring_reads_the_label_and_combines_both_orders(tmp_path):
    """A student that prefers slot 1 (log-odds +1) but leans to the right response (±0.5): its
    one-order verdicts all name slot 1, the calibrated and combined ones are right."""
    folder = tmp_path / "pairs"
    folder.mkdir()
    rrm = get_protocol("rrm")
    with open(folder / "heldout.jsonl", "w") as f:
        for i in range(4):
            for label in "AB":
                a, b = ("right", "wrong") if label == "A" else ("wrong", "right")
                messages = rrm.render(Comparison(prompt=f"q{i}", a=a, b=b))
                row = {"id": f"p{i}-{label}", "pair": f"p{i}", "messages": messages, "label": label}
                f.write(json.dumps(row) + "\n")
    (folder / "stats.json").write_text(json.dumps({"protocol": "rrm"}))

    def scores(chat):
        assert chat[-1] == {"role": "assistant", "content": "\\boxed{Assistant "}
        right_first = chat[-2]["content"].index("right") < chat[-2]["content"].index("wrong")
        logodds = 1.0 + (0.5 if right_first else -0.5)
        p1 = 1 / (1 + math.exp(-logodds))
        return {"1": p1, "2": 1 - p1}

    engine = ScriptedEngine(lambda chat, params: ONE, scores=scores)
    rows = read_labelled(folder / "heldout.jsonl")
    s = evaluate(engine, rows, tmp_path / "p.jsonl", "rrm", score="prob").summary
    assert engine.requests == 0 and len(engine.scored) == 8  # one read per row, no generation
    assert s["accuracy"] == 0.5 and s["predicted"] == {"A": 8, "B": 0, "invalid": 0}
    probs = s["probabilities"]
    assert probs["slot_prior"] == 1.0 and probs["single_order_accuracy"] == 0.5
    assert probs["single_order_accuracy_calibrated"] == 1.0
    assert probs["pairs"] == 4 and probs["pair_accuracy"] == 1.0
    assert probs["brier"] == round((1 - 1 / (1 + math.exp(-0.5))) ** 2, 4)
    with pytest.raises(InputError, match="not 'pointwise'"):
        evaluate(engine, rows, tmp_path / "q.jsonl", "rrm", score="pointwise")


def test_prefill_starts_the_reply_with_the_verdict_opening(heldout, tmp_path):
    """A label-trained student: its reply is continued after `\\boxed{Assistant `, and the
    label it writes is read with that opening."""
    seen = []

    def label_only(chat, params):
        seen.append(chat[-1])
        return "2}" if query_of(chat[:-1]) in ("q3", "q4") else "1}"

    engine = ScriptedEngine(label_only)
    out = tmp_path / "e.jsonl"
    s = evaluate(engine, rows_of(heldout), out, "rrm", max_tokens=4, prefill=True).summary
    assert seen == [{"role": "assistant", "content": "\\boxed{Assistant "}] * 6
    assert len(engine.continuations) == 6
    assert s["valid"] == 6 and s["correct"] == 5  # q5 (label B) got "1}"
    # the same file without prefill is another setting: refused, not mixed
    with pytest.raises(InputError, match="other settings"):
        evaluate(model(), rows_of(heldout), out, "rrm", max_tokens=4)
    with pytest.raises(InputError, match="prefill is for score vote"):
        evaluate(engine, rows_of(heldout), tmp_path / "p.jsonl", score="prob", prefill=True)


def test_prefill_cuts_the_opening_where_the_label_token_starts(heldout, tmp_path):
    """For a tokenizer with " 1" as one token the opening is sent without its space, as prob
    reads it, and the verdict is read from opening + completion."""
    vocab = {"\\boxed{Assistant": [1, 2], " 1": [3], " 2": [4], " ": [5]}

    def tokenize(text):  # "…Assistant" then " 1" / " 2" as one token each
        ids = vocab["\\boxed{Assistant"] if text.startswith("\\boxed{Assistant") else []
        return ids + vocab.get(text[len("\\boxed{Assistant") :], [])

    seen = []

    def label_only(chat, params):
        seen.append(chat[-1]["content"])
        return " 1}"

    engine = ScriptedEngine(label_only, tokenize=tokenize)
    s = evaluate(engine, rows_of(heldout), tmp_path / "e.jsonl", "rrm", prefill=True).summary
    assert set(seen) == {"\\boxed{Assistant"}
    assert s["valid"] == 6 and s["predicted"]["A"] == 6


def test_prefill_needs_a_protocol_with_a_verdict_opening(tmp_path):
    from reasonrm.training.evaluate import eval_settings

    spec = {  # a user's template with a verdict pattern but no answer_prefix
        "user": "{question}\n\n1: {a}\n\n2: {b}",
        "verdict": {"pattern": r"\[\[([12])\]\]", "labels": {"1": "A", "2": "B"}},
    }
    template = tmp_path / "mine.yaml"
    template.write_text(json.dumps(spec))
    assert eval_settings(str(template), 8)["prefill"] is False
    with pytest.raises(InputError, match="--prefill.*protocol 'mine' declares none"):
        eval_settings(str(template), 8, prefill=True)
