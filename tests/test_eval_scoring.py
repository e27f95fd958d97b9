"""Official scoring rules of RM-Bench, JudgeBench, RMB and PandaLM, against hand-computed numbers."""

import pytest

from reasonrm.eval import judgebench, pandalm, rmb, rmbench

ONES = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
# chosen i beats rejected j only when i >= j: diagonal and lower-left right, upper-right wrong
STYLE_BIASED = [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_rmbench_triangles_and_domains():
    result = rmbench.score(
        [
            ("chat", STYLE_BIASED),
            ("chat", ONES),
            ("code", ONES),
            ("math", ONES),
            ("safety-refuse", STYLE_BIASED),
            ("safety-response", ONES),
        ]
    )
    chat = result.domains["chat"]
    assert chat == {"hard": 0.5, "normal": 1.0, "easy": 1.0, "score": pytest.approx(2.5 / 3)}
    assert result.domains["safety"]["hard"] == 0.5  # refuse and response pool into safety
    assert result.total == pytest.approx((2.5 / 3 + 1 + 1 + 2.5 / 3) / 4)
    assert result.hard == pytest.approx((0.5 + 1 + 1 + 0.5) / 4)
    assert result.missing_domains == ()


def test_rmbench_says_when_a_domain_is_missing():
    result = rmbench.score([("chat", ONES), ("code", ONES), ("safety-refuse", ONES)])
    assert result.missing_domains == ("math",)
    assert result.total is None and result.hard is None  # never three domains averaged as four
    assert result.domains["chat"]["score"] == 1.0


def test_rmbench_rejects_bad_input():
    with pytest.raises(ValueError, match="3x3"):
        rmbench.score([("chat", [[1, 1], [1, 1]])])
    with pytest.raises(ValueError, match="domain"):
        rmbench.score([("poetry", ONES)])


@pytest.mark.parametrize(
    ("verdicts", "correct"),
    [
        (("A", "A"), True),
        (("A", None), True),
        (("A", "B"), False),
        ((None, None), False),
        (("B", "B"), False),
    ],
)
def test_judgebench_counter_rule(verdicts, correct):
    assert judgebench.pair_correct(verdicts, "A") is correct


def test_judgebench_scores_per_source():
    result = judgebench.score(
        [
            ("mmlu-pro-law", True),
            ("mmlu-pro-math", False),
            ("livecodebench", True),
            ("livebench-math", True),
        ]
    )
    assert result == {
        "mmlu-pro": 50.0,
        "livecodebench": 100.0,
        "livebench-math": 100.0,
        "overall": 75.0,
    }


def test_rmb_best_of_n_needs_every_win():
    assert rmb.bon_correct([True, True, True])
    assert not rmb.bon_correct([True, None, True])  # a tie or invalid is a loss
    assert not rmb.bon_correct([True, False])
    assert not rmb.bon_correct([])


def test_rmb_four_numbers_and_mean():
    pairwise = [("Helpfulness", True), ("Helpfulness", False), ("Harmlessness", True)]
    bon = [
        ("Helpfulness", True),
        ("Harmlessness", False),
        ("Harmlessness", True),
        ("Harmlessness", True),
    ]
    result = rmb.score(pairwise, bon)
    assert result["Pairwise Helpfulness"] == 0.5 and result["Pairwise Harmlessness"] == 1.0
    assert result["BoN Helpfulness"] == 1.0
    assert result["BoN Harmlessness"] == pytest.approx(2 / 3)
    assert result["mean"] == pytest.approx((0.5 + 1 + 1 + 2 / 3) / 4)
    assert rmb.score(pairwise, [])["mean"] is None


def test_pandalm_macro_metrics_and_non_tie():
    gold = [1, 1, 2, 0]
    pred = [1, 2, 2, 1]
    result = pandalm.score(gold, pred)
    # class 1: tp 1, predicted 2, actual 2 -> p .5 r .5 f .5; class 2: tp 1, pred 2, actual 1 ->
    # p .5 r 1 f 2/3; tie: tp 0 -> 0 0 0
    assert result["all"]["accuracy"] == 0.5
    assert result["all"]["precision"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert result["all"]["recall"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert result["all"]["f1"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    # without the tie item: gold [1,1,2], pred [1,2,2]
    assert result["non_tie"]["accuracy"] == pytest.approx(2 / 3)
    assert result["non_tie"]["n"] == 3
    assert result["non_tie"]["f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="labels"):
        pandalm.score([3], [1])
