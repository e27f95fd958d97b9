"""`reasonrm train distill` with a scripted teacher: rejection sampling, the hint pass,
resuming, a failing teacher, rows too long for the teacher, and the CLI."""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque

import pytest
from fakes import ScriptedEngine
from typer.testing import CliRunner

import reasonrm.cli.common as cli_common
from reasonrm.cli import app
from reasonrm.errors import ContextLengthError, EngineError, InputError
from reasonrm.protocols import get_protocol
from reasonrm.training.data import data_file, read_labelled, resolve_protocol
from reasonrm.training.distill import DistillConfig, TeacherError, distill
from reasonrm.training.sft import sft_rows as read_sft_chats
from reasonrm.types import Comparison

runner = CliRunner()
RRM = get_protocol("rrm")
ONE, TWO = "\\boxed{Assistant 1}", "\\boxed{Assistant 2}"
HINT_MARK = "(The better response is"


def write_data(folder, labels, protocol="rrm"):
    """A `data prepare`-style folder: rows q0, q1, … with the given labels."""
    folder.mkdir(parents=True, exist_ok=True)
    proto = get_protocol(protocol)
    with open(folder / "train.jsonl", "w") as f:
        for i, label in enumerate(labels):
            a, b = (f"right {i}", f"wrong {i}") if label == "A" else (f"wrong {i}", f"right {i}")
            messages = proto.render(Comparison(prompt=f"q{i}", a=a, b=b))
            row = {"id": f"r{i}", "messages": messages, "label": label, "prompt": [], "a": a}
            f.write(json.dumps(row | {"b": b, "source": f"x:{i}"}) + "\n")
    (folder / "stats.json").write_text(json.dumps({"protocol": protocol}))
    return folder


def query_of(chat):
    return re.search(r"## Query\n\n(q\d+)\n", chat[-1]["content"]).group(1)


class Teacher:
    """Scripted chains per query: pass 1 (no hint) and pass 2 (hinted) lists, handed out in
    order per query; records which queries it saw, with or without the hint."""

    def __init__(self, plain, hinted=None, fail=None):
        self.queues = {
            (q, h): deque(chains)
            for h, table in ((False, plain), (True, hinted or {}))
            for q, chains in table.items()
        }
        self.seen = defaultdict(int)
        self.fail = fail or {}
        self.engine = ScriptedEngine(self)

    def __call__(self, chat, params):
        q, hinted = query_of(chat), HINT_MARK in chat[-1]["content"]
        if q in self.fail:
            raise self.fail[q]
        self.seen[(q, hinted)] += 1
        return self.queues[(q, hinted)].popleft()


def run(engine, folder, out, **kw):
    path = data_file(folder, "train.jsonl")
    rows = read_labelled(path)
    limit = kw.pop("limit", None)
    return distill(engine, rows[:limit] if limit else rows, out, "rrm", DistillConfig(**kw))


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_rejection_sampling_keeps_only_label_matching_chains(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B", "A"])
    script = {
        "q0": [
            f"First looks wrong. {TWO}",  # wrong verdict
            f"Response 1 is right. {ONE}",  # kept
            (f"Cut off after {ONE} and more", "length"),  # cut off: rejected
            "I cannot decide.",  # no verdict
        ],
        "q1": [
            f"a {ONE}",
            f"b {ONE}",
            "none",
            f"both {ONE} {TWO} \\boxed{{Assistant 1 and Assistant 2}}",
        ],
        "q2": [f"Yes. {ONE}", f"Also. {ONE}", f"Yes. {ONE}", TWO],
    }
    teacher = Teacher(script)
    result = run(teacher.engine, data, tmp_path / "out", samples=4, keep=2)

    assert teacher.engine.requests == 3  # one request per row, n = 4
    assert all(c.params.n == 4 and c.params.temperature == 0.7 for c in teacher.engine.calls)
    train = lines(tmp_path / "out" / "train.jsonl")
    # q0: its one right chain; q1: none; q2: two distinct right chains (the duplicate dropped)
    assert [(r["source_id"], r["messages"][-1]["content"]) for r in train] == [
        ("r0", f"Response 1 is right. {ONE}"),
        ("r2", f"Yes. {ONE}"),
        ("r2", f"Also. {ONE}"),
    ]
    rows = {r.id: r for r in read_labelled(data / "train.jsonl")}
    for r in train:
        assert r["pass"] == 1 and r["label"] == rows[r["source_id"]].label
        assert r["messages"][:-1] == rows[r["source_id"]].messages  # the prompt, unchanged
        assert r["messages"][-1]["role"] == "assistant"
        assert RRM.parse(r["messages"][-1]["content"]).winner == r["label"]
    assert len({r["id"] for r in train}) == 3

    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats == result.stats
    p1 = stats["passes"]["1"]
    assert (p1["rows"], p1["chains"], p1["kept"], p1["rows_with_kept_chain"]) == (3, 12, 4, 2)
    assert p1["rejected"] == {"cut off": 1, "invalid": 3, "wrong verdict": 4}
    assert stats["rows_with_kept_chain"] == 2 and stats["sft_rows"] == 3
    assert stats["passes"]["2"]["rows"] == 0
    words = [len((c if isinstance(c, str) else c[0]).split()) for cs in script.values() for c in cs]
    assert stats["teacher_tokens"]["completion"] == sum(words)  # the fake counts words
    # The SFT stage reads the folder as it is.
    from reasonrm.training.config import SFTSettings

    # (these rows carry no pair: one order per pair, read one by one)
    settings = SFTSettings(
        model="tiny-random", data=str(tmp_path / "out"), output_dir="x", both_orders=False
    )
    assert len(read_sft_chats(settings)) == 3
    with pytest.raises(InputError, match="no 'pair' field"):
        read_sft_chats(SFTSettings(model="tiny-random", data=str(tmp_path / "out"), output_dir="x"))


def test_pairs_keep_chains_only_in_both_orders(tmp_path):
    from reasonrm.training.distill import complete_pairs

    rows = [
        {"id": "p1-AB-1-0", "label": "A", "pair": "p1"},
        {"id": "p1-AB-1-1", "label": "A", "pair": "p1"},
        {"id": "p1-BA-1-0", "label": "B", "pair": "p1"},
        {"id": "p2-AB-1-0", "label": "A", "pair": "p2"},  # p2's other order kept no chain
        {"id": "r9-1-0", "label": "B"},  # no pair: passes through
    ]
    assert [r["id"] for r in complete_pairs(rows)] == ["p1-AB-1-0", "p1-BA-1-0", "r9-1-0"]


def test_keep_one_picks_the_first_kept_chain(tmp_path):
    data = write_data(tmp_path / "data", ["B"])
    teacher = Teacher({"q0": [ONE, f"second {TWO}", f"third {TWO}"]})
    run(teacher.engine, data, tmp_path / "out", samples=3)
    (row,) = lines(tmp_path / "out" / "train.jsonl")
    assert row["messages"][-1]["content"] == f"second {TWO}" and row["id"] == "r0-1-1"


def test_hint_pass_keeps_checked_chains_without_the_hint(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B"])
    teacher = Teacher(
        {"q0": [ONE, ONE], "q1": [ONE, "no idea"]},
        hinted={"q1": [f"As the hint says, {TWO}", f"Response 2 answers it. {TWO}"]},
    )
    result = run(teacher.engine, data, tmp_path / "out", samples=2, hint=True)

    # pass 2 ran only for the row with no kept chain, with the hint naming its slot
    assert dict(teacher.seen) == {("q0", False): 2, ("q1", False): 2, ("q1", True): 2}
    (hinted,) = [c for c in teacher.engine.calls if HINT_MARK in c.chats[0][-1]["content"]]
    assert "(The better response is Assistant 2.)" in hinted.chats[0][-1]["content"]
    assert hinted.chats[0][0] == read_labelled(data / "train.jsonl")[1].messages[0]

    train = {r["source_id"]: r for r in lines(tmp_path / "out" / "train.jsonl")}
    assert train["r0"]["pass"] == 1
    r1 = train["r1"]
    assert r1["pass"] == 2 and r1["messages"][-1]["content"] == f"Response 2 answers it. {TWO}"
    original = read_labelled(data / "train.jsonl")[1].messages
    assert r1["messages"][:-1] == original  # the SFT prompt is the original, hint-free
    assert HINT_MARK not in json.dumps(r1) and "Explain why" not in json.dumps(r1)

    p2 = result.stats["passes"]["2"]
    assert (p2["rows"], p2["chains"], p2["kept"], p2["rows_with_kept_chain"]) == (1, 2, 1, 1)
    assert p2["rejected"] == {"mentions the hint": 1}
    assert result.stats["rows_with_kept_chain"] == 2


def test_balance_keeps_as_many_a_as_b_rows(tmp_path):
    data = write_data(tmp_path / "data", ["A", "A", "B", "A", "B", "A"])
    script = {f"q{i}": [ONE if label == "A" else TWO] for i, label in enumerate("AABABA")}
    result = run(Teacher(script).engine, data, tmp_path / "out", samples=1, balance=True)
    train = lines(tmp_path / "out" / "train.jsonl")
    # every chain was kept, but only the first two of each label are written
    assert [r["source_id"] for r in train] == ["r0", "r1", "r2", "r4"]
    assert result.stats["sft_labels"] == {"A": 2, "B": 2} and result.stats["sft_rows"] == 4
    assert result.stats["passes"]["1"]["kept"] == 6


def test_teacher_note_reaches_the_teacher_only(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B"])
    note = "Be brief."
    teacher = Teacher({"q0": [ONE], "q1": ["no idea"]}, hinted={"q1": [f"Short. {TWO}"]})
    run(teacher.engine, data, tmp_path / "out", samples=1, hint=True, teacher_note=note)

    # both passes carry the note at the end of the user turn (the hint after it)
    asked = [c.chats[0][-1]["content"] for c in teacher.engine.calls]
    assert len(asked) == 3 and all(note in a for a in asked)
    assert asked[-1].index(note) < asked[-1].index(HINT_MARK)
    rows = {r.id: r for r in read_labelled(data / "train.jsonl")}
    train = lines(tmp_path / "out" / "train.jsonl")
    assert [r["pass"] for r in train] == [1, 2]
    for r in train:
        assert r["messages"][:-1] == rows[r["source_id"]].messages and note not in json.dumps(r)
    # the note decides what the chains look like: resuming without it is refused
    assert json.loads((tmp_path / "out" / "run.json").read_text())["teacher_note"] == note
    with pytest.raises(InputError, match="teacher_note"):
        run(Teacher({}).engine, data, tmp_path / "out", samples=1)


def test_rm_r1_hint_names_the_chatbot(tmp_path):
    from reasonrm.training.distill import hint_text, with_hint

    proto = get_protocol("rm-r1")
    assert "Chatbot B" in hint_text(proto, "B") and "Chatbot A" in hint_text(proto, "A")
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "u "}]
    hinted = with_hint(chat, "H")
    assert hinted[-1]["content"] == "u\n\nH" and chat[-1]["content"] == "u "


def test_resume_judges_nothing_twice(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B", "A", "B"])
    out = tmp_path / "out"
    script = {f"q{i}": [ONE if i % 2 == 0 else TWO] for i in range(4)}

    first = Teacher(script)
    run(first.engine, data, out, samples=1, limit=2)
    assert first.engine.requests == 2
    # kill -9 in the middle of writing row 2's record: a half line
    chains = out / "chains.jsonl"
    text = chains.read_text().splitlines(keepends=True)
    chains.write_text(text[0] + text[1][: len(text[1]) // 2])

    second = Teacher(script)
    result = run(second.engine, data, out, samples=1)
    assert sorted(q for q, _ in second.seen) == ["q1", "q2", "q3"]  # q0 was done
    assert result.judged == 3
    assert [r["id"] for r in lines(chains)] == ["r0", "r1", "r2", "r3"]
    train = lines(out / "train.jsonl")
    assert [r["source_id"] for r in train] == ["r0", "r1", "r2", "r3"]

    third = Teacher(script)
    again = run(third.engine, data, out, samples=1)
    assert third.engine.requests == 0 and again.judged == 0
    assert lines(out / "train.jsonl") == train

    # a later --hint runs pass 2 only (here: nothing lacks a chain, so nothing is asked)
    fourth = Teacher(script)
    run(fourth.engine, data, out, samples=1, hint=True)
    assert fourth.engine.requests == 0


def test_hint_added_on_a_rerun_asks_only_the_rows_without_a_chain(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B"])
    out = tmp_path / "out"
    run(Teacher({"q0": [ONE], "q1": [ONE]}).engine, data, out, samples=1)
    later = Teacher({}, hinted={"q1": [f"Because. {TWO}"]})
    result = run(later.engine, data, out, samples=1, hint=True)
    assert dict(later.seen) == {("q1", True): 1}
    assert result.stats["sft_rows"] == 2


def test_other_settings_are_refused_on_resume(tmp_path):
    data = write_data(tmp_path / "data", ["A"])
    run(Teacher({"q0": [ONE]}).engine, data, tmp_path / "out", samples=1)
    with pytest.raises(InputError, match="samples: 1 → 2"):
        run(Teacher({}).engine, data, tmp_path / "out", samples=2)
    # keep only changes what is written: allowed
    run(Teacher({}).engine, data, tmp_path / "out", samples=1, keep=3)


def test_failing_teacher_keeps_what_is_written_and_names_the_error(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B", "A", "B"])
    out = tmp_path / "out"
    script = {f"q{i}": [ONE if i % 2 == 0 else TWO] for i in range(4)}
    broken = Teacher(script, fail={"q2": EngineError("llama.cpp: slot crashed")})
    with pytest.raises(TeacherError) as caught:
        run(broken.engine, data, out, samples=1)
    message = str(caught.value)
    assert "row r2" in message and "slot crashed" in message and "rerun" in message
    done = [r["id"] for r in lines(out / "chains.jsonl")]
    assert done[:2] == ["r0", "r1"] and "r2" not in done
    # train.jsonl and stats.json reflect what was finished
    assert {r["source_id"] for r in lines(out / "train.jsonl")} == set(done)
    assert json.loads((out / "stats.json").read_text())["rows"] == len(done)

    fixed = Teacher(script)
    run(fixed.engine, data, out, samples=1)
    assert {q for q, _ in fixed.seen} == {f"q{i}" for i in range(4) if f"r{i}" not in done}
    assert [r["source_id"] for r in lines(out / "train.jsonl")] == ["r0", "r1", "r2", "r3"]


def test_rows_too_long_are_skipped_counted_and_retried(tmp_path):
    data = write_data(tmp_path / "data", ["A", "B"])
    out = tmp_path / "out"
    too_long = Teacher({"q0": [ONE]}, fail={"q1": ContextLengthError("prompt has 9000 tokens")})
    result = run(too_long.engine, data, out, samples=1, hint=True)
    assert result.stats["rows_too_long"] == 1 and result.stats["rows"] == 1
    assert result.stats["passes"]["1"]["too_long"] == 1
    assert result.stats["passes"]["2"]["rows"] == 0  # a too-long row gets no hint pass
    assert [r["source_id"] for r in lines(out / "train.jsonl")] == ["r0"]

    bigger = Teacher({"q1": [TWO]})  # e.g. rerun with a larger --context
    result = run(bigger.engine, data, out, samples=1)
    assert dict(bigger.seen) == {("q1", False): 1}
    assert result.stats["rows_too_long"] == 0 and result.stats["sft_rows"] == 2


def test_reading_checks_rows_and_protocol(tmp_path):
    data = write_data(tmp_path / "data", ["A"], protocol="rm-r1")
    path = data_file(data, "train.jsonl")
    assert resolve_protocol(path, None).name == "rm-r1"
    with pytest.raises(InputError, match="rendered with the 'rm-r1' protocol"):
        resolve_protocol(path, "rrm")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}], "label": "C"}))
    with pytest.raises(InputError, match="bad.jsonl:1: label must be 'A' or 'B'"):
        read_labelled(bad)
    with pytest.raises(InputError, match="no such file"):
        data_file(tmp_path / "missing", "train.jsonl")


def _patch_engine(monkeypatch, engine, seen=None):
    def fake(spec):
        if seen is not None:
            seen.append((spec.engine, spec.model))
        return engine

    monkeypatch.setattr(cli_common, "open_engine", fake)


def test_cli_distill(tmp_path, monkeypatch):
    data = write_data(tmp_path / "data", ["A", "B"])
    seen = []
    _patch_engine(monkeypatch, Teacher({"q0": [ONE, TWO], "q1": [ONE, ONE]}).engine, seen)
    out = tmp_path / "out"
    args = ["train", "distill", "--data", str(data), "--teacher", "qwen2.5-1.5b"]
    result = runner.invoke(app, [*args, "--out", str(out), "--samples", "2", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["rows"] == 2 and stats["sft_rows"] == 1 and stats["protocol"] == "rrm"
    assert seen == [("llamacpp", "qwen2.5-1.5b")]
    assert json.loads((out / "run.json").read_text())["teacher"] == "qwen2.5-1.5b"

    table = runner.invoke(app, [*args, "--out", str(out), "--samples", "2"])
    assert table.exit_code == 0, table.output
    assert "1 of 2 rows have a kept chain" in " ".join(table.stdout.split())


def test_cli_distill_failing_teacher_is_one_line(tmp_path, monkeypatch):
    data = write_data(tmp_path / "data", ["A", "B"])
    broken = Teacher({"q0": [ONE]}, fail={"q1": EngineError("server said 500")})
    _patch_engine(monkeypatch, broken.engine)
    args = ["train", "distill", "--data", str(data), "--teacher", "t", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--samples", "1"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "error: the teacher failed on row r1" in flat and "server said 500" in flat
    assert "Traceback" not in result.output
    assert len(lines(tmp_path / "o" / "chains.jsonl")) == 1


def test_top_level_distill_alias():
    """`reasonrm distill` is `reasonrm train distill`, registered on the real app."""
    for command in (["distill"], ["train", "distill"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "--teacher" in result.output
