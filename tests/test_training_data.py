"""Preference pairs to judge-training rows: readers, drops, balance, placement, leakage."""

import gzip
import json

import pytest

from reasonrm.errors import InputError
from reasonrm.pairs import PreferencePair
from reasonrm.protocols import get_protocol
from reasonrm.rewards import make_verdict_reward
from reasonrm.training.data import (
    estimate_tokens,
    open_pairs,
    prepare,
    prepare_file,
)
from reasonrm.types import Comparison

HH = "train-hh-rlhf-harmless-test/original/harmless-base_test.jsonl.gz"


def pair(i, prompt=None, chosen=None, rejected=None, **kw):
    prompt = prompt if prompt is not None else f"question {i}"
    msgs = ({"role": "user", "content": prompt},) if isinstance(prompt, str) else prompt
    return PreferencePair(
        msgs,
        chosen if chosen is not None else f"good answer {i}",
        rejected if rejected is not None else f"bad answer {i}",
        f"f.jsonl:{i}",
        **kw,
    )


def write_jsonl(path, rows, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)
    return path


@pytest.mark.parametrize("n", [1, 2, 7, 100, 101])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_half_the_rows_are_labelled_a_and_the_label_names_the_chosen_slot(n, seed):
    pairs = [pair(i) for i in range(n)]
    held = 0 if n < 5 else 0.2
    got = prepare(pairs, heldout=held, seed=seed)
    for rows in (got.train, got.heldout, got.train + got.heldout):
        a = sum(r.label == "A" for r in rows)
        assert abs(a - len(rows) / 2) <= 1 / 2 + 1e-9  # exactly half, or half ± 1/2 when odd
    chosen = {p.where: p.chosen for p in pairs}
    for r in got.train + got.heldout:
        assert (r.a if r.label == "A" else r.b) == chosen[r.source]
        assert (r.b if r.label == "A" else r.a) != chosen[r.source]
        assert r.messages == get_protocol("rrm").render(Comparison(tuple(r.prompt), r.a, r.b))
    assert got.stats.balance["train"] == {
        "A": sum(r.label == "A" for r in got.train),
        "B": sum(r.label == "B" for r in got.train),
    }


def test_a_judge_that_picks_the_chosen_response_earns_plus_one():
    got = prepare([pair(i) for i in range(20)], seed=3)
    reward = make_verdict_reward("rrm")
    perfect = [
        f"Assistant {1 if r.a.startswith('good') else 2} is right. \\boxed{{Assistant "
        f"{1 if r.a.startswith('good') else 2}}}"
        for r in got.train
    ]
    labels = [r.label for r in got.train]
    assert labels == ["A", "B"] * 20  # both orders of each pair, one after the other
    assert reward(completions=perfect, label=labels) == [1.0] * 40
    flipped = [t.replace("1}", "X}").replace("2}", "1}").replace("X}", "2}") for t in perfect]
    assert reward(completions=flipped, label=labels) == [-1.0] * 40


def template(text, first, second):
    return text.replace(first, "<<SLOT 1>>").replace(second, "<<SLOT 2>>")


@pytest.mark.parametrize("protocol", ["rrm", "rm-r1", "rm-r1-distilled", "direct"])
def test_no_label_leaks_into_the_prompt(protocol):
    history = (
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "QUESTION"},
    )
    pairs = []
    for i in range(40):
        prompt = f"QUESTION {i}" if i < 20 else history
        pairs.append(pair(i, prompt=prompt, chosen=f"CHOSEN-{i}", rejected=f"REJECTED-{i}"))
    rows = prepare(pairs, protocol, seed=0).train
    templates = {}
    for r in rows:
        text = json.dumps(r.messages).replace(f"QUESTION {r.source.split(':')[1]}", "QUESTION")
        i = int(r.source.split(":")[1])
        assert "CHOSEN" not in template(text, r.a, r.b) and "REJECTED" not in template(
            text, r.a, r.b
        )
        templates.setdefault(i < 20, {}).setdefault(r.label, set()).add(template(text, r.a, r.b))
        assert set(r.to_dict()) == {
            *("id", "messages", "label", "prompt", "a", "b", "source", "pair", "order")
        }
    for shape in templates.values():
        # both labels occur, and with the responses blanked by slot every row reads the same
        assert set(shape) == {"A", "B"} and len(shape["A"] | shape["B"]) == 1


def test_placement_changes_nothing_but_the_responses_slots():
    p = pair(0, chosen="  The answer is 4.\n", rejected="It is 5.")
    labels = {}
    for seed in range(20):
        (row,) = prepare([p], seed=seed, orders="one").train
        labels[row.label] = row
    assert labels["A"].id == labels["B"].id == labels["A"].pair  # one order: the pair's id
    a_row, b_row = prepare([p]).train  # both orders: chosen first, then second
    assert (a_row.label, a_row.order, b_row.label, b_row.order) == ("A", "AB", "B", "BA")
    assert (a_row.a, a_row.b) == ("The answer is 4.", "It is 5.")  # stripped: no whitespace cue
    assert (b_row.a, b_row.b) == ("It is 5.", "The answer is 4.")
    assert a_row.pair == b_row.pair and a_row.prompt == b_row.prompt
    assert (a_row.id, b_row.id) == (f"{a_row.pair}-AB", f"{a_row.pair}-BA")
    assert labels["A"].to_dict() | {"id": a_row.id} == a_row.to_dict()
    for m_a, m_b in zip(a_row.messages, b_row.messages, strict=True):
        assert m_a["role"] == m_b["role"]
        assert template(m_a["content"], a_row.a, a_row.b) == template(
            m_b["content"], b_row.a, b_row.b
        )


def test_dropped_rows_are_counted_by_reason():
    long_answer = "word " * 4000
    pairs = [
        pair(0),
        pair(1, chosen=""),
        pair(2, rejected="   "),
        pair(3, chosen="same", rejected="same"),
        pair(4, chosen="same ", rejected=" same"),
        pair(5, prompt="question 0"),  # duplicate of row 0 (content, not position)
        pair(0),
        pair(7, chosen=long_answer),
        PreferencePair((), "x", "y", "f.jsonl:8"),
        pair(9, drop="transcripts_differ_before_reply"),
        pair(10),
    ]
    pairs[5] = pair(0)
    got = prepare(pairs, max_tokens=1000)
    assert got.stats.dropped == {
        "duplicate": 2,
        "empty_prompt": 1,
        "empty_response": 2,
        "identical_responses": 2,
        "too_long": 1,
        "transcripts_differ_before_reply": 1,
    }
    assert (got.stats.read, got.stats.kept, got.stats.train) == (11, 2, 4)  # rows: 2 per pair
    assert prepare(pairs).stats.kept == 3  # no token limit: the long one stays


def test_token_limit_uses_the_rendered_prompt_and_accepts_a_tokenizer():
    p = pair(0)
    chat = get_protocol("rrm").render(Comparison(p.prompt, p.chosen, p.rejected))
    n = estimate_tokens(chat)
    assert n == sum(len(m["content"]) // 4 + (len(m["content"]) % 4 > 0) + 4 for m in chat)
    assert prepare([p], max_tokens=n).stats.kept == 1
    with pytest.raises(InputError, match="too_long"):
        prepare([p], max_tokens=n - 1)
    words = lambda messages: sum(len(m["content"].split()) for m in messages)  # noqa: E731
    assert prepare([p], max_tokens=words(chat), count_tokens=words).stats.kept == 1
    kept = prepare(
        [p, pair(1, chosen="a much longer good answer 1")],
        max_tokens=words(chat),
        count_tokens=words,
    )
    assert kept.stats.kept == 1 and kept.stats.dropped == {"too_long": 1}


def test_heldout_by_count_or_fraction_is_seeded():
    pairs = [pair(i) for i in range(50)]
    by_count = prepare(pairs, heldout=10, seed=4)
    assert (len(by_count.train), len(by_count.heldout)) == (80, 20)  # pairs in both orders
    assert {r.pair for r in by_count.train}.isdisjoint({r.pair for r in by_count.heldout})
    again = prepare(pairs, heldout=10, seed=4)
    assert [r.to_dict() for r in again.heldout] == [r.to_dict() for r in by_count.heldout]
    other = prepare(pairs, heldout=10, seed=5)
    assert {r.id for r in other.heldout} != {r.id for r in by_count.heldout}
    assert len(prepare(pairs, heldout=0.2).heldout) == 20
    assert len(prepare(pairs, heldout=0.2, orders="one").heldout) == 10
    with pytest.raises(InputError, match="unknown orders"):
        prepare(pairs, orders="random")
    assert {r.id for r in by_count.train}.isdisjoint({r.id for r in by_count.heldout})
    with pytest.raises(InputError, match="leaves no training rows"):
        prepare(pairs, heldout=50)
    with pytest.raises(InputError, match="whole count"):
        prepare(pairs, heldout=2.5)


def test_hh_rlhf_real_row_splits_into_history_and_final_replies(shared_data):
    fmt, pairs = open_pairs(shared_data / HH)
    first = next(pairs)
    assert fmt == "hh-rlhf"
    assert [m["role"] for m in first.prompt] == ["user", "assistant", "user", "assistant", "user"]
    assert first.prompt[0]["content"] == "what are some pranks with a pen i can do?"
    assert first.prompt[-1]["content"] == "okay some of these do not have anything to do with pens"
    assert first.chosen.startswith("No, sorry!  All of these involve a pen")
    assert first.rejected.startswith("There are lots of funny things you can do with pens")
    assert "Human:" not in first.chosen and "Assistant:" not in first.rejected
    assert first.drop is None


def test_hh_rlhf_real_file_prepares_balanced(shared_data, tmp_path):
    prepared, paths = prepare_file(shared_data / HH, tmp_path, heldout=200, seed=0, orders="one")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["format"] == "hh-rlhf" and stats["read"] == 2312
    assert stats["dropped"] == {"empty_response": 4, "transcripts_differ_before_reply": 5}
    assert stats["heldout"] == 200 and stats["balance"]["heldout"] == {"A": 100, "B": 100}
    a, b = stats["balance"]["train"].values()
    assert a + b == 2103 and abs(a - b) <= 1
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2103 and [p.name for p in paths][:2] == ["train.jsonl", "heldout.jsonl"]
    # a reply may itself begin "Human: …" (the model wrote it); only a new turn splits
    assert all("\n\nHuman:" not in r["a"] + r["b"] for r in rows)
    assert any(r["a"].startswith("Human:") for r in rows)


def test_hh_rlhf_synthetic_transcripts(tmp_path):
    rows = [
        {
            "chosen": "\n\nHuman: hi\n\nAssistant: hello",
            "rejected": "\n\nHuman: hi\n\nAssistant: go away",
        },
        {
            "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
            "rejected": "\n\nHuman: a\n\nAssistant: X\n\nHuman: c\n\nAssistant: e",
        },
        {"chosen": "\n\nHuman: hi\n\nAssistant:", "rejected": "\n\nHuman: hi\n\nAssistant: yo"},
    ]
    path = tmp_path / "hh.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    fmt, pairs = open_pairs(path)
    got = list(pairs)
    assert fmt == "hh-rlhf"
    assert (got[0].prompt, got[0].chosen, got[0].rejected) == (
        ({"role": "user", "content": "hi"},),
        "hello",
        "go away",
    )
    assert got[1].drop == "transcripts_differ_before_reply"
    assert prepare(got).stats.dropped == {
        "empty_response": 1,
        "transcripts_differ_before_reply": 1,
    }


def test_ultrafeedback_string_and_message_list_layouts(tmp_path):
    strings = write_jsonl(
        tmp_path / "uf.jsonl",
        [{"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Cat.", "metadata": {}}],
    )
    _, pairs = open_pairs(strings, "ultrafeedback")
    (p,) = list(pairs)
    assert (p.prompt, p.chosen, p.rejected) == (
        ({"role": "user", "content": "Name a colour."},),
        "Blue.",
        "Cat.",
    )
    hf = write_jsonl(
        tmp_path / "hf.jsonl",
        [
            {
                "prompt": "Name a colour.",
                "chosen": [
                    {"role": "user", "content": "Name a colour."},
                    {"role": "assistant", "content": "Blue."},
                ],
                "rejected": [
                    {"role": "user", "content": "Name a colour."},
                    {"role": "assistant", "content": "Cat."},
                ],
            },
            {  # trl-lib's layout has no prompt column
                "chosen": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                ],
                "rejected": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": ""},
                ],
            },
        ],
    )
    fmt, pairs = open_pairs(hf)
    got = list(pairs)
    assert fmt == "ultrafeedback"
    assert (got[0].prompt, got[0].chosen, got[0].rejected) == (p.prompt, "Blue.", "Cat.")
    assert got[1].prompt == ({"role": "user", "content": "Hi"},) and got[1].rejected == ""


def test_pairs_with_a_b_and_label(tmp_path):
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": 7, "prompt": "q", "a": "worse", "b": "better", "label": "B"},
            {"prompt": [{"role": "user", "content": "q2"}], "chosen": "c", "rejected": None},
        ],
    )
    fmt, pairs = open_pairs(path)
    got = list(pairs)
    assert fmt == "pairs"
    assert (got[0].id, got[0].chosen, got[0].rejected) == ("7", "better", "worse")
    assert got[1].rejected == ""  # null side: dropped and counted, not an error
    prepared = prepare(got)
    assert prepared.stats.dropped == {"empty_response": 1} and prepared.train[0].pair == "7"


@pytest.mark.parametrize(
    ("rows", "tail", "fmt", "message"),
    [
        ([{"prompt": "q", "chosen": "c"}], "", "auto", r"p.jsonl:1: missing field\(s\): rejected"),
        (
            [{"prompt": "q", "chosen": "c", "rejected": "r"}],
            '{"prompt": "q", "cho',
            "auto",
            "p.jsonl:2: not valid JSON",
        ),
        ([{"chosen": "c", "rejected": "r"}], "", "pairs", r"missing field\(s\): prompt"),
        (
            [{"prompt": "q", "chosen": "c", "rejected": "r"}],
            "",
            "hh-rlhf",
            "p.jsonl:1: field 'chosen' is not an hh-rlhf transcript",
        ),
        ([{"text": "x"}], "", "auto", "p.jsonl:1: cannot tell the format"),
        ([{"prompt": "q", "a": "x", "b": "y", "label": "C"}], "", "pairs", "field 'label'"),
        ([{"prompt": "q", "chosen": 3, "rejected": "r"}], "", "pairs", "field 'chosen' must be"),
        (
            [{"prompt": "q", "chosen": [{"role": "user", "content": "c"}], "rejected": "r"}],
            "",
            "ultrafeedback",
            "must end with an assistant message",
        ),
        ([{"prompt": "q", "chosen": "c", "rejected": "r"}], "", "jsonl", "unknown format"),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path, rows, tail, fmt, message):
    path = write_jsonl(tmp_path / "p.jsonl", rows, tail)
    with pytest.raises(InputError, match=message):
        _, pairs = open_pairs(path, fmt)
        list(pairs)


def test_nothing_left_is_an_error_with_the_counts():
    with pytest.raises(InputError, match=r"no pairs left to train on: 2 read.*identical"):
        prepare([pair(0, chosen="x", rejected="x"), pair(1, chosen="")])
