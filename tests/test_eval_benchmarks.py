"""RM-Bench, RMB and PandaLM: loading the official layouts, rows from judgments, and scores
recomputed from those rows, with hand-computed numbers."""

import gzip
import json
import re

import pytest
from fakes import ScriptedEngine, content_judge

from reasonrm import Judge
from reasonrm.errors import InputError
from reasonrm.eval import get_benchmark
from reasonrm.eval.results import score_rows
from reasonrm.eval.runner import run, select

rmbench, rmb, pandalm = (get_benchmark(name) for name in ("rm-bench", "rmb", "pandalm"))


def judge_with(fn, orders="fixed"):
    return Judge(ScriptedEngine(fn), "rrm", orders=orders, force_verdict=False)


def run_rows(benchmark, items, judge, tmp_path):
    path = run(items, judge, tmp_path / "run", benchmark.make_row)
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- RM-Bench


def rmbench_row(row_id=1, domain="chat", **extra):
    return {
        "id": row_id,
        "prompt": "Explain tides.",
        "chosen": ["good c0", "good c1", "good c2"],
        "rejected": ["bad r0", "bad r1", "bad r2"],
        "domain": domain,
        **extra,
    }


def test_rmbench_loads_the_partial_copy_and_names_the_missing_domain(shared_data):
    items = list(rmbench.load(str(shared_data / "rm-bench" / "rm_bench_partial_total.jsonl")))
    assert len(items) == 798
    assert all(len(i.comparisons) == 9 for i in items)
    assert {i.subset for i in items} == {"chat", "code", "safety-refuse", "safety-response"}
    # the per-domain official files give the same items, the domain taken from the file name
    per_file = list(rmbench.load(str(shared_data / "rm-bench" / "original")))
    assert sorted(i.key for i in per_file) == sorted(i.key for i in items)


def test_rmbench_comparison_order_is_row_major(tmp_path):
    path = tmp_path / "chat_filtered.json"
    path.write_text(json.dumps([rmbench_row(domain=None)]))
    (item,) = rmbench.load(str(path))
    assert item.subset == "chat"
    pairs = [(c.a, c.b) for c in item.comparisons]
    assert pairs[1] == ("good c0", "bad r1") and pairs[3] == ("good c1", "bad r0")


def test_rmbench_matrix_from_judgments_and_hard_normal_easy(tmp_path):
    """A judge that prefers the longer-styled response: it wins whenever chosen i >= rejected j
    in style, so the lower-left and diagonal are 1 and the upper-right (hard) 0."""

    def style_judge(chat, params):
        user = chat[-1]["content"]
        first = user.split("### Assistant 2")[0].split("### Assistant 1")[1]
        second = user.split("### Assistant 2")[1].split("## Analysis")[0]
        level = lambda text: int(text.strip()[-1])  # noqa: E731
        return "\\boxed{Assistant 1}" if level(first) >= level(second) else "\\boxed{Assistant 2}"

    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(rmbench_row()) + "\n")
    (row,) = run_rows(rmbench, rmbench.load(str(path)), judge_with(style_judge), tmp_path)
    assert row["matrix"] == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert row["correct"] == pytest.approx(6 / 9)
    assert len(row["judgments"]) == 9
    chat = rmbench.score_rows([row], "zero")["domains"]["chat"]
    assert (chat["hard"], chat["normal"], chat["easy"]) == (0, 1, 1)
    assert chat["score"] == pytest.approx(2 / 3)


def test_rmbench_invalid_cells_follow_the_rule():
    row = {"subset": "code", "id": "1", "correct": 0.5, "matrix": [[0.5] * 3] * 3}
    assert rmbench.score_rows([row], "zero")["domains"]["code"]["score"] == 0
    assert rmbench.score_rows([row], "half")["domains"]["code"]["score"] == 0.5


def test_rmbench_total_needs_all_four_domains():
    full = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    rows = [
        {"subset": s, "id": "1", "correct": 1, "matrix": full}
        for s in ("chat", "code", "safety-refuse")
    ]
    result = score_rows(rmbench, rows, None)
    assert result["overall"] is None and result["missing_domains"] == ["math"]
    assert "math" in result["note"]
    assert result["invalid_counts_as"] == 0.0  # RM-Bench's strict rule by default
    both = rows + [{"subset": "math", "id": "1", "correct": 0, "matrix": [[0] * 3] * 3}]
    assert score_rows(rmbench, both, None)["overall"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chosen": ["a", "b"]}, "field 'chosen' must be a list of 3"),
        ({"domain": "poetry"}, "field 'domain' must be one of"),
        ({"domain": None}, "missing field(s): domain"),
        ({"prompt": None}, "missing field(s): prompt"),
    ],
)
def test_rmbench_bad_rows_are_named(tmp_path, change, message):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(rmbench_row() | change) + "\n")
    with pytest.raises(InputError, match=re.escape(f"x.jsonl:1: {message}")):
        list(rmbench.load(str(path)))


# ---------------------------------------------------------------- RMB


def rmb_pair(uid, goal="Helpfulness", chosen="good", reject="bad"):
    return {
        "pair_uid": uid,
        "conversation_input": [{"role": "user", "content": "Help me.", "language": "English"}],
        "chosen": {"llm_name": "x", "answer": chosen},
        "reject": {"llm_name": "y", "answer": reject},
        "category_path": f"Pairwise_set/{goal}/Open QA/Factual",
    }


def rmb_bon(uid, goal="Harmlessness", losers=("bad 1", "bad 2")):
    return {
        "bon_uid": uid,
        "conversation_input": [
            {"role": "user", "content": "Hi", "language": "English"},
            {"role": "assistant", "content": "Hello!", "language": "English"},
            {"role": "user", "content": "Help me.", "language": "English"},
        ],
        "bon_best": {"llm_name": "x", "answer": "good"},
        "loser_list": [{"llm_name": "y", "answer": a} for a in losers],
        "category_path": f"BoN_set/{goal}/S1",
    }


def write_rmb(root, pairs, bons):
    """The official nested layout, gzipped as in ../shared/data."""
    for sub, rows in (("Pairwise_set/Helpfulness/Open QA", pairs), ("BoN_set/Harmlessness", bons)):
        folder = root / "RMB_dataset" / sub
        folder.mkdir(parents=True)
        with gzip.open(folder / "file.json.gz", "wt") as f:
            json.dump(rows, f)
    return root


def test_rmb_loads_the_full_official_folder(shared_data):
    items = rmb.load(str(shared_data / "rmb" / "original" / "RMB_dataset"))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.subset] = counts.get(item.subset, 0) + 1
    # the BoN counts are RM-R1's; the pairwise set here misses three files (see SOURCE.md)
    assert counts == {
        "BoN Harmlessness": 1677,
        "BoN Helpfulness": 2109,
        "Pairwise Harmlessness": 6087,
        "Pairwise Helpfulness": 8456,
    }


def test_rmb_best_of_n_item_is_one_comparison_per_loser(tmp_path):
    root = write_rmb(tmp_path / "rmb", [rmb_pair("1")], [rmb_bon("7", losers=("bad 1", "x 2"))])
    items = list(rmb.load(str(root)))
    assert [i.key for i in items] == ["BoN/7", "Pairwise/1"]  # files in sorted path order
    bon = items[0]
    assert len(bon.comparisons) == 2 and bon.subset == "BoN Harmlessness"
    assert [m["role"] for m in bon.comparisons[0].messages] == ["user", "assistant", "user"]
    assert "language" not in bon.comparisons[0].messages[0]


def test_rmb_rows_and_scores(tmp_path):
    pairs = [rmb_pair("1"), rmb_pair("2", chosen="weak", reject="good answer")]
    bons = [rmb_bon("7"), rmb_bon("8", losers=("bad", "also good"))]
    root = write_rmb(tmp_path / "rmb", pairs, bons)
    rows = run_rows(rmb, rmb.load(str(root)), judge_with(content_judge), tmp_path)
    by_key = {r["key"]: r for r in rows}
    assert by_key["Pairwise/1"]["correct"] == 1 and by_key["Pairwise/2"]["correct"] == 0
    # BoN 8: the content judge sees 'good' in both slots against "also good": it picks slot 1,
    # which is the best answer; against "bad" it picks the best too
    assert by_key["BoN/7"]["correct"] == 1 and by_key["BoN/8"]["correct"] == 1
    assert by_key["BoN/7"]["category"] == "BoN_set/Harmlessness/S1"
    result = score_rows(rmb, rows, None)
    assert result["sections"] == {"Pairwise Helpfulness": 0.5, "BoN Harmlessness": 1.0}
    assert result["overall"] is None and "Pairwise Harmlessness" in result["note"]


def test_rmb_best_of_n_loses_on_one_invalid_verdict(tmp_path):
    root = write_rmb(tmp_path / "rmb", [rmb_pair("1")], [rmb_bon("7")])

    def silent_on_second_loser(chat, params):
        return "no verdict" if "bad 2" in chat[-1]["content"] else content_judge(chat, params)

    rows = run_rows(rmb, rmb.load(str(root)), judge_with(silent_on_second_loser), tmp_path)
    assert {r["key"]: r["correct"] for r in rows} == {"BoN/7": 0, "Pairwise/1": 1}


def test_rmb_invalid_pairwise_rule():
    rows = [
        {"subset": "Pairwise Helpfulness", "id": "1", "correct": 0.5},
        {"subset": "Pairwise Helpfulness", "id": "2", "correct": 1},
    ]
    assert score_rows(rmb, rows, None)["sections"]["Pairwise Helpfulness"] == 0.5
    assert score_rows(rmb, rows, "half")["sections"]["Pairwise Helpfulness"] == 0.75


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (rmb_pair("1") | {"category_path": "Other_set/Helpfulness/x"}, "category_path"),
        (rmb_bon("1") | {"loser_list": []}, "field 'loser_list' must be a non-empty list"),
        (rmb_pair("1") | {"chosen": "text"}, "field 'chosen' must be an object"),
        (rmb_pair("1") | {"conversation_input": [{"role": "bot", "content": "x"}]}, "role"),
    ],
)
def test_rmb_bad_rows_are_named(tmp_path, row, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps([row]))
    with pytest.raises(InputError, match=r"x.json\[0\]: .*" + message):
        list(rmb.load(str(path)))


# ---------------------------------------------------------------- PandaLM


def panda_row(idx, labels=(1, 1, 2), r1="good one", r2="bad two"):
    a1, a2, a3 = labels
    return {
        "idx": idx,
        "motivation_app": "Gmail",
        "instruction": "Rewrite this.",
        "input": "some text",
        "response1": r1,
        "response2": r2,
        "annotator1": a1,
        "annotator2": a2,
        "annotator3": a3,
    }


def test_pandalm_loads_both_official_layouts(shared_data):
    folder = shared_data / "pandalm"
    derived = list(pandalm.load(str(folder / "pandalm_testset_v1_with_majority.jsonl")))
    official = list(pandalm.load(str(folder / "original" / "testset-v1.json")))
    assert len(derived) == len(official) == 999
    gold = [i.meta["gold"] for i in official]
    assert (gold.count(0), gold.count(1), gold.count(2)) == (105, 422, 472)  # the README's table
    assert [i.meta["gold"] for i in derived] == gold
    # empty responses (54) and JSON booleans (6) are judged as text, not dropped
    assert sum(c.a == "" or c.b == "" for i in official for c in i.comparisons) == 54
    assert official[157].comparisons[0].a == "True"


def test_pandalm_prediction_rows_and_metrics(tmp_path):
    rows_in = [
        panda_row(0, (1, 1, 2)),  # gold 1, judge picks 1
        panda_row(1, (2, 2, 2), r1="bad", r2="good"),  # gold 2, judge picks 2
        panda_row(2, (0, 0, 1)),  # gold tie, judge picks 1
        panda_row(3, (2, 0, 2)),  # gold 2, judge picks 1
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(rows_in))
    items = list(pandalm.load(str(path)))
    assert items[0].comparisons[0].prompt == "Rewrite this.\n\nsome text"
    assert items[2].comparisons[0].label is None
    rows = run_rows(pandalm, items, judge_with(content_judge), tmp_path)
    assert [(r["gold"], r["prediction"], r["correct"]) for r in rows] == [
        (1, 1, 1),
        (2, 2, 1),
        (0, 1, 0),
        (2, 1, 0),
    ]
    result = score_rows(pandalm, rows, None)
    # all: accuracy 2/4; per class P/R: 1: 1/3, 1/1; 2: 1/1, 1/2; tie: 0, 0
    assert result["all"]["accuracy"] == 0.5
    assert result["all"]["precision"] == pytest.approx((1 / 3 + 1) / 3)
    assert result["all"]["recall"] == pytest.approx((1 + 0.5) / 3)
    # non-tie: 3 items, accuracy 2/3; class 1: P 1/2, R 1; class 2: P 1, R 1/2
    assert result["non_tie"]["accuracy"] == pytest.approx(2 / 3)
    assert result["non_tie"]["f1"] == pytest.approx(2 / 3)
    assert result["overall"] == result["all"]["f1"]
    assert "invalid_counts_as" not in result


def test_pandalm_orders_that_disagree_predict_a_tie(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([panda_row(0)]))
    always_first = lambda chat, params: "\\boxed{Assistant 1}"  # noqa: E731
    (row,) = run_rows(pandalm, pandalm.load(str(path)), judge_with(always_first, "both"), tmp_path)
    assert row["prediction"] == 0 and row["correct"] == 0


def test_pandalm_needs_a_majority(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([panda_row(5, (0, 1, 2))]))
    with pytest.raises(InputError, match=r"p.json\[0\]: the three annotators disagree"):
        list(pandalm.load(str(path)))


def test_invalid_rule_does_not_apply_to_pandalm():
    rows = [{"subset": "Gmail", "id": "1", "correct": 1, "gold": 1, "prediction": 1}]
    with pytest.raises(InputError, match="does not apply"):
        score_rows(pandalm, rows, "zero")


# ---------------------------------------------------------------- selecting items


def test_select_checks_unique_keys_and_limits(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(rmbench_row(i)) + "\n" for i in (1, 2, 3)))
    assert select(rmbench.load(str(path)), limit=2) == {"chat/1", "chat/2"}
    assert len(select(rmbench.load(str(path)), sample=2, seed=0)) == 2
    with pytest.raises(InputError, match="not both"):
        select(rmbench.load(str(path)), limit=1, sample=1)
    path.write_text("".join(json.dumps(rmbench_row(i)) + "\n" for i in (1, 2, 1)))
    with pytest.raises(
        InputError, match=r"x.jsonl:3: item 'chat/1' already appears at .*x.jsonl:1"
    ):
        select(rmbench.load(str(path)))


def test_cut_gzip_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(json.dumps([rmb_pair("1")]).encode())[:-20])
    with pytest.raises(InputError, match="x.json.gz: not readable"):
        list(rmb.load(str(path)))


def test_pandalm_scores_the_released_pandalm_7b_outputs(shared_data):
    """PandaLM-7B's own released verdicts against the majority label: accuracy 0.668 and macro
    F1 0.574, as recomputed independently in the data's SOURCE.md."""
    folder = shared_data / "pandalm" / "original"
    gold = {i.meta["id"]: i.meta["gold"] for i in pandalm.load(str(folder / "testset-v1.json"))}
    released = json.loads((folder / "pandalm-7b-testset-v1.json").read_text())
    rows = [
        {
            "subset": "all",
            "id": str(r["idx"]),
            "correct": int(int(r["pandalm_result"]) == gold[str(r["idx"])]),
            "gold": gold[str(r["idx"])],
            "prediction": int(r["pandalm_result"]),
        }
        for r in released
    ]
    result = score_rows(pandalm, rows, None)
    assert round(result["all"]["accuracy"], 3) == 0.668
    assert round(result["all"]["f1"], 3) == 0.574


def test_folders_skip_hidden_entries_and_bad_gzip_is_named(tmp_path):
    root = write_rmb(tmp_path / "rmb", [rmb_pair("1")], [rmb_bon("7")])
    hidden = root / ".cache"
    hidden.mkdir()
    (hidden / "results.jsonl").write_text('{"not": "rmb"}\n')
    assert len(list(rmb.load(str(root)))) == 2
    bad = tmp_path / "bad.json.gz"
    data = bytearray(gzip.compress(json.dumps([rmb_pair("1")] * 50).encode()))
    data[30:40] = b"\xff" * 10  # corrupt the deflate stream, keep the header
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="bad.json.gz: not readable"):
        list(rmb.load(str(bad)))
