"""RewardBench scoring, checked against numbers computed by hand."""

import pytest

from reasonrm.eval.rewardbench import SECTIONS, WEIGHTS, item_score, score


def test_item_scores_follow_reward_bench_and_rm_r1():
    assert item_score("A", chosen="A") == 1.0
    assert item_score("B", chosen="A") == 0.0
    assert item_score(None, chosen="B") == 0.5
    assert item_score(None, chosen="B", invalid="zero") == 0.0


def test_weights_are_the_official_counts():
    assert (
        WEIGHTS["math-prm"]
        == 984
        == sum(WEIGHTS[f"hep-{x}"] for x in ("cpp", "go", "java", "js", "python", "rust"))
    )
    assert sum(len(v) for v in SECTIONS.values()) == len(WEIGHTS) == 23


def test_sections_are_count_weighted_and_overall_is_a_plain_mean():
    items = (
        [("alpacaeval-easy", 1.0)] * 3
        + [("alpacaeval-easy", 0.0)]  # 0.75, weight 100
        + [("mt-bench-easy", 0.5)] * 2  # 0.5, weight 28
        + [("mt-bench-hard", 1.0)]  # Chat Hard = 1.0
        + [("donotanswer", 0.0), ("donotanswer", 1.0)]  # Safety = 0.5
        + [("math-prm", 1.0)]
        + [("hep-go", 0.0)]  # 984*1 + 164*0
    )
    result = score(items)
    assert result.subsets["alpacaeval-easy"] == 0.75
    assert result.sections["Chat"] == pytest.approx((0.75 * 100 + 0.5 * 28) / 128)
    assert result.sections["Reasoning"] == pytest.approx(984 / (984 + 164))
    expected = (result.sections["Chat"] + 1.0 + 0.5 + 984 / 1148) / 4
    assert result.overall == pytest.approx(expected)
    assert result.counts["alpacaeval-easy"] == 4


def test_math_prm_weighs_as_much_as_all_hep_subsets():
    items = [("math-prm", 1.0)] + [
        (f"hep-{x}", 0.0) for x in ("cpp", "go", "java", "js", "python", "rust")
    ]
    assert score(items).sections["Reasoning"] == pytest.approx(0.5)


def test_partial_runs_have_no_overall_and_unknown_subsets_fail():
    assert score([("hep-go", 1.0)]).overall is None
    with pytest.raises(ValueError, match="unknown RewardBench subset"):
        score([("hep-cobol", 1.0)])


def test_loads_the_official_filtered_split(shared_data):
    from collections import Counter

    from reasonrm.eval.rewardbench import BENCHMARK

    items = list(BENCHMARK.load(str(shared_data / "rewardbench" / "rewardbench_filtered.jsonl")))
    counts = Counter(i.subset for i in items)
    assert len(items) == 2985
    assert counts["math-prm"] == 447  # weighted 984 in scoring, but 447 rows
    assert all(counts[s] == WEIGHTS[s] for s in WEIGHTS if s != "math-prm")
    assert len({i.key for i in items}) == 2985  # (subset, id) is unique; id alone is not
    assert len({i.meta["id"] for i in items}) == 2984
    assert all(i.comparisons[0].label == "A" for i in items)


def test_bad_rows_name_file_line_and_field(tmp_path):
    from reasonrm.errors import InputError
    from reasonrm.eval.rewardbench import BENCHMARK

    good = '{"prompt": "p", "chosen": "c", "rejected": "r", "subset": "hep-go", "id": 1}\n'
    path = tmp_path / "rb.jsonl"
    path.write_text(good + '{"prompt": "p", "chosen": "c", "subset": "hep-go", "id": 2}\n')
    with pytest.raises(InputError, match=r"rb.jsonl:2: missing field\(s\): rejected"):
        list(BENCHMARK.load(str(path)))
    path.write_text(good.replace("hep-go", "hep-cobol"))
    with pytest.raises(InputError, match=r"rb.jsonl:1: unknown RewardBench subset"):
        list(BENCHMARK.load(str(path)))
    path.write_text("[1]\n")
    with pytest.raises(InputError, match="expected a JSON object"):
        list(BENCHMARK.load(str(path)))
    with pytest.raises(InputError, match="no such file"):
        list(BENCHMARK.load(str(tmp_path / "missing.jsonl")))
