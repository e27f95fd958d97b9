"""benchmarks/train_judge.py: the rows the prompted teacher's sampled baseline judges, and the
target check against it."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_judge  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def rows(pairs: int) -> list[dict]:
    return [{"pair": f"p{i}", "order": o} for i in range(pairs) for o in ("ab", "ba")]


def test_teacher_vote_reads_one_order_of_the_first_pairs():
    picked = train_judge.one_order(rows(40), 30)
    assert [r["pair"] for r in picked] == [f"p{i}" for i in range(30)]  # one row each, in order
    orders = [r["order"] for r in picked]
    assert 5 < orders.count("ab") < 25  # drawn, not always the first order
    assert picked == train_judge.one_order(rows(40), 30)  # the same draw on a rerun


def test_fewer_pairs_than_asked_gives_them_all():
    assert len(train_judge.one_order(rows(3), 60)) == 3


def vote(accuracy, consistency=None, rows=400):
    return {"accuracy": accuracy, "rows": rows, "both_orders": {"consistency": consistency}}


def test_target_check_compares_each_trained_student_with_the_teachers_vote():
    figures = {
        "teacher-vote": {"final": {"hh": vote(0.50, rows=60), "uf": vote(0.55, rows=60)}},
        "direct-sft": {"final": {"hh-vote": vote(0.56, 0.72), "uf-vote": vote(0.61, 0.65)}},
    }
    hh, uf = train_judge.target_check(figures)
    assert (hh["set"], hh["gain"], hh["met"]) == ("hh", 0.06, True)
    assert (uf["gain"], uf["met"]) == (0.06, False)  # consistency 0.65 is under 0.70
    assert hh["student"] == "direct-sft" and hh["teacher rows"] == 60
    # each later stage gets its own rows, in training order; a stage without a set's vote
    # (a reasoning student not yet evaluated there) has none for it
    figures["direct-grpo"] = {"final": {"hh-vote": vote(0.54, 0.9), "uf-vote": vote(0.7, 0.9)}}
    figures["distill-sft"] = {"final": {"uf-vote": vote(0.8, 0.9, rows=120)}}
    checked = train_judge.target_check(figures)
    assert [(r["student"], r["set"], r["met"]) for r in checked] == [
        ("direct-sft", "hh", True),
        ("direct-sft", "uf", False),
        ("direct-grpo", "hh", False),
        ("direct-grpo", "uf", True),
        ("distill-sft", "uf", True),
    ]
    assert checked[-1]["student rows"] == 120
    assert train_judge.target_check({"direct-sft": figures["direct-sft"]}) == []
    # exactly 5 points is met (0.60 - 0.55 is 0.0499… in floating point)
    figures["direct-sft"]["final"]["hh-vote"] = vote(0.60, 0.9)
    figures["teacher-vote"]["final"]["hh"] = vote(0.55, rows=60)
    assert train_judge.target_check(figures)[0]["met"] is True


def test_each_grpo_stage_starts_from_its_own_sft_on_its_own_prompt(tmp_path):
    args = argparse.Namespace(
        grpo_config=CONFIGS / "cpu-smollm2-direct-grpo.yaml",
        distill_grpo_config=CONFIGS / "cpu-smollm2-grpo.yaml",
        grpo_steps=40,
        save_every=25,
        grpo_set=[],
        reasoning_tokens=1024,
    )
    _, direct = train_judge.stage_settings(args, tmp_path, "direct-grpo")
    _, reasoning = train_judge.stage_settings(args, tmp_path, "distill-grpo")
    assert (direct.model, direct.protocol) == (str(tmp_path / "direct-sft"), "direct")
    assert (reasoning.model, reasoning.protocol) == (str(tmp_path / "distill-sft"), "rrm")
    assert Path(reasoning.data) == tmp_path / "data" / "train-rrm"
    assert reasoning.max_completion_length == 1024
    assert direct.prefill and not reasoning.prefill  # the reasoning student writes its opening
    assert (direct.max_steps, direct.save_steps) == (40, 20)


def test_a_finished_stage_trains_on_when_asked_for_more_steps(tmp_path):
    done = tmp_path / "train_result.json"
    assert train_judge.finished_short(done, 40) is None  # not trained yet: trained anyway
    done.write_text('{"global_step": 6}')
    assert train_judge.finished_short(done, 40) == 6
    assert train_judge.finished_short(done, 6) is None
    assert train_judge.finished_short(done, None) is None  # an epoch count: as it was


def test_a_stage_that_trains_on_keeps_its_old_reads_as_its_checkpoints(tmp_path):
    """Evaluation resumes from its rows file, so the new final model must not find the old
    one's; they are the checkpoint's at the old step (the same weights), not deleted."""
    names = [
        "distill-grpo-hh-prob.jsonl",
        "distill-grpo-uf-vote-llamacpp.jsonl",
        "distill-grpo-2-hh-prob.jsonl",  # a checkpoint's: stays
        "direct-sft-hh-prob.jsonl",  # another stage's
        "direct-sft-verdict-hh-prob.jsonl",  # a stage whose name starts with direct-sft
    ]
    (tmp_path / "eval").mkdir()
    for name in names:
        (tmp_path / "eval" / name).write_text(name)
    train_judge.retag_final_reads(tmp_path, "distill-grpo", 6, ["hh", "uf"])
    train_judge.retag_final_reads(tmp_path, "direct-sft", 195, ["hh", "uf"])
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [
        "direct-sft-195-hh-prob.jsonl",
        "direct-sft-verdict-hh-prob.jsonl",
        "distill-grpo-2-hh-prob.jsonl",
        "distill-grpo-6-hh-prob.jsonl",
        "distill-grpo-6-uf-vote-llamacpp.jsonl",
    ]
    assert (tmp_path / "eval" / "distill-grpo-6-hh-prob.jsonl").read_text() == names[0]


def test_pair_accuracy_is_split_at_the_training_length_limit(tmp_path):
    """Held-out pairs whose rrm prompt training would have kept, and the longer ones, scored
    apart: the estimate is prepare's (4 characters a token)."""
    heldout = tmp_path / "heldout-rrm.jsonl"
    short = [{"role": "user", "content": "x" * 400}]
    long = [{"role": "user", "content": "x" * 8000}]
    train_judge.write_jsonl(
        heldout,
        [{"pair": "s1", "messages": short}, {"pair": "s2", "messages": short}]
        + [{"pair": "l1", "messages": long}],
    )
    within = train_judge.within_training_limit(heldout, 1024)
    assert within == {"s1": True, "s2": True, "l1": False}

    def row(pair, label, logodds):
        return {"pair": pair, "label": label, "first_logodds": logodds, "correct": None}

    judged = [row("s1", "A", 2.0), row("s1", "B", 1.0)]  # chosen first: +2, second: -1: right
    judged += [row("s2", "A", -1.0), row("s2", "B", 0.5)]  # wrong
    judged += [row("l1", "A", 0.2), row("l1", "B", -0.3)]  # right
    split = train_judge.by_length(judged, within)
    assert split["within_training_limit"] == {"pairs": 2, "pair_accuracy": 0.5}
    assert split["over_training_limit"] == {"pairs": 1, "pair_accuracy": 1.0}


CHAT = [{"role": "user", "content": "Which is better?"}]


def prepared_set(work: Path, name: str, pairs: int) -> None:
    rows = [
        {"id": f"{name}{i}-{o}", "pair": f"{name}{i}", "label": o, "messages": CHAT, "order": o}
        for i in range(pairs)
        for o in "AB"
    ]
    train_judge.write_jsonl(work / "data" / name / "rrm" / "train.jsonl", rows)


def test_distilled_chains_come_from_training_pairs_and_resume_until_complete(tmp_path, monkeypatch):
    """An interrupted distillation (in either pass) is run again; once it has finished, the
    teacher is not loaded again."""
    for name in ("hh", "uf"):
        prepared_set(tmp_path, name, 10)
    args = argparse.Namespace(
        sets=["hh", "uf"],
        train_pairs=6,
        distill_pairs=3,
        teacher="t",
        context=4096,
        distill_rows=tmp_path / "rows" / "distill",
    )
    calls = []

    class Engine:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_distill(engine, rows, out, protocol, config, settings):
        calls.append(([r.pair for r in rows], settings))
        Path(out).mkdir(parents=True, exist_ok=True)  # where distill writes its chains
        if len(calls) == 1:
            raise KeyboardInterrupt  # stopped in the middle

    monkeypatch.setattr(train_judge, "load_engine", lambda *a, **k: Engine())
    monkeypatch.setattr(train_judge, "distill", fake_distill)
    with contextlib.suppress(KeyboardInterrupt):
        train_judge.distilled(args, tmp_path)
    assert train_judge.distilled(args, tmp_path) == args.distill_rows
    train_judge.distilled(args, tmp_path)
    assert len(calls) == 2  # the interrupted run, then one that finished; none after
    pairs, settings = calls[1]
    training = {r["pair"] for n in args.sets for r in train_judge.training_rows(args, tmp_path, n)}
    assert len(pairs) == 12 and set(pairs) <= training  # 3 pairs a set, both orders
    assert settings["teacher"] == "t" and settings["distill_pairs"] == 3
    # the rows are named by their content, not by a path on the machine that prepared them
    source = tmp_path / "data" / "distill-input" / "train.jsonl"
    assert settings["data_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert "data" not in settings


def test_distill_sft_trains_the_student_on_the_chains(tmp_path, monkeypatch):
    monkeypatch.setattr(train_judge, "distilled", lambda args, work: work / "chains")
    args = argparse.Namespace(
        student="smollm2-135m",
        distill_sft_config=CONFIGS / "cpu-smollm2-sft.yaml",
        save_every=25,
        sft_set=[],
    )
    run, settings = train_judge.stage_settings(args, tmp_path, "distill-sft")
    assert run is train_judge.run_sft
    assert (settings.model, Path(settings.data)) == ("smollm2-135m", tmp_path / "chains")
    assert settings.target == "answer" and settings.save_total_limit is None


def test_a_reasoning_students_vote_reads_the_teachers_pairs_in_both_orders(tmp_path):
    prepared_set(tmp_path, "hh", 20)
    heldout = tmp_path / "data" / "hh" / "rrm" / "train.jsonl"
    rows = [argparse.Namespace(id=r["id"], pair=r["pair"]) for r in train_judge.jsonl(heldout)]
    picked = train_judge.teachers_pairs(rows, heldout, 5)
    teacher = {r["pair"] for r in train_judge.one_order(train_judge.jsonl(heldout), 5)}
    assert {r.pair for r in picked} == teacher and len(picked) == 10


def test_a_teacher_set_that_finished_is_kept_when_the_next_is_interrupted(tmp_path, monkeypatch):
    heldout = {}
    for name in ("hh", "uf"):
        prepared_set(tmp_path, name, 3)
        (tmp_path / "data" / name / "rrm" / "stats.json").write_text('{"max_tokens": 1024}')
        heldout[name] = {"rrm": tmp_path / "data" / name / "rrm" / "train.jsonl"}

    class Engine:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_judge_file(judge, source, out):
        if "uf" in str(source):
            raise KeyboardInterrupt  # the second set is stopped
        rows = train_judge.jsonl(Path(source))
        judged = [
            {"line": i + 1, "winner": "A", "samples": [{"p_first": 0.7}]} for i in range(len(rows))
        ]
        train_judge.write_jsonl(Path(out), judged)
        return argparse.Namespace(resumed=0)

    monkeypatch.setattr(train_judge, "load_engine", lambda *a, **k: Engine())
    monkeypatch.setattr(train_judge, "Judge", lambda *a, **k: None)
    monkeypatch.setattr(train_judge, "judge_file", fake_judge_file)
    args = argparse.Namespace(teacher="t", context=4096)
    kept = []
    with contextlib.suppress(KeyboardInterrupt):
        train_judge.teacher(args, tmp_path, heldout, "prob", on_set=lambda f: kept.append(dict(f)))
    assert [list(f) for f in kept] == [["hh"]]
    hh = kept[0]["hh"]
    # the same lean to slot 1 in both orders cancels: a tie, counted wrong
    assert hh["rows"] == 6 and hh["probabilities"]["pair_accuracy"] == 0.0
    assert hh["by_length"]["within_training_limit"]["pairs"] == 3


def test_each_work_folder_writes_its_own_result_file():
    assert train_judge.result_name(Path("runs/train_judge")) == "train_judge"
    assert train_judge.result_name(Path("runs/train_judge-smoke")) == "train_judge_smoke"
    assert train_judge.result_name(Path("runs/train_judge-uf")) == "train_judge_uf"
