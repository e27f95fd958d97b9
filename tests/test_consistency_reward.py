"""J1's both-order consistency reward, the agreement rate GRPO logs, verl's batch form, and
the pair checks training runs before it starts."""

import pytest

from reasonrm.errors import InputError
from reasonrm.rewards import (
    BothOrderAgreement,
    ConsistentVerdictReward,
    RewardRule,
    VerdictReward,
    compute_score_batch,
)
from reasonrm.training.both_orders import pair_units, unit_order

ONE, TWO = "Fine. \\boxed{Assistant 1}", "Fine. \\boxed{Assistant 2}"
RULE = RewardRule.make("rrm")
# two pairs, each in both orders (label A: chosen shown first), two completions per row
PAIRS = ["p", "p", "p", "p", "q", "q", "q", "q"]
LABELS = ["A", "A", "B", "B", "A", "A", "B", "B"]


def test_a_slot_namer_earns_minus_one_everywhere_where_the_plain_rule_pays_half():
    always_first = [ONE] * 8
    plain = VerdictReward(RULE)(completions=always_first, label=LABELS)
    assert plain == [1, 1, -1, -1, 1, 1, -1, -1]  # a slot is right in one order
    consistent = ConsistentVerdictReward(RULE)(completions=always_first, label=LABELS, pair=PAIRS)
    assert consistent == [-1.0] * 8
    agree = BothOrderAgreement(RULE)(completions=always_first, label=LABELS, pair=PAIRS)
    assert agree == [0.0] * 8  # its two orders pick different responses


def test_right_in_both_orders_earns_plus_one_and_a_wrong_order_costs_the_right_one():
    right = [ONE, ONE, TWO, TWO] * 2
    reward = ConsistentVerdictReward(RULE)
    assert reward(completions=right, label=LABELS, pair=PAIRS) == [1.0] * 8
    # pair q: order B right once in two (no majority), so order A's right verdicts earn -1;
    # B's right verdict earns +1 (order A is right by majority), its wrong one -1
    mixed = [ONE, ONE, TWO, TWO, ONE, ONE, TWO, ONE]
    assert reward(completions=mixed, label=LABELS, pair=PAIRS) == [1, 1, 1, 1, -1, -1, 1, -1]
    assert [d.correct for d in reward.last][4:] == [True, True, True, False]
    agree = BothOrderAgreement(RULE)(completions=mixed, label=LABELS, pair=PAIRS)
    assert agree == [1, 1, 1, 1, 0, 0, 0, 0]  # q's B order is tied: no pick
    wrong_both = [TWO, TWO, ONE, ONE] * 2  # consistently wrong: agreement, no reward
    assert reward(completions=wrong_both, label=LABELS, pair=PAIRS) == [-1.0] * 8
    assert BothOrderAgreement(RULE)(completions=wrong_both, label=LABELS, pair=PAIRS) == [1.0] * 8


def test_format_weight_still_applies():
    rule = RewardRule.make("rrm", format_weight=0.1)
    bare = ["\\boxed{Assistant 1}", "\\boxed{Assistant 2}"]  # no reasoning: not well formed
    got = ConsistentVerdictReward(rule)(completions=bare, label=["A", "B"], pair=["p", "p"])
    assert got == pytest.approx([0.9, 0.9])


def test_a_batch_without_the_other_order_is_a_clear_error():
    reward = ConsistentVerdictReward(RULE)
    with pytest.raises(InputError, match="pair 'q' has completions with label A but none in"):
        reward(completions=[ONE, TWO, ONE], label=["A", "B", "A"], pair=["p", "p", "q"])
    with pytest.raises(InputError, match="columns 'label' and 'pair'"):
        reward(completions=[ONE], label=["A"])


def test_verl_batch_applies_the_rule_when_rows_name_their_pairs():
    always_first = [ONE] * 4
    extras = [{"pair": "p"}, {"pair": "p"}, {"pair": "q"}, {"pair": "q"}]
    labels = ["A", "B", "A", "B"]
    assert compute_score_batch(["d"] * 4, always_first, labels, extras) == [-1.0] * 4
    # without pair ids, each row is scored alone (the plain rule)
    assert compute_score_batch(["d"] * 4, always_first, labels, [None] * 4) == [1, -1, 1, -1]
    with pytest.raises(InputError, match="one protocol"):
        compute_score_batch(
            ["d"] * 2, [ONE] * 2, ["A", "B"], [{"protocol": "rrm"}, {"protocol": "direct"}]
        )


def rows(*specs):
    return [
        (f"f:{i}", {"pair": p, "label": lab, "prompt": [{"role": "user", "content": q}]})
        for i, (p, lab, q) in enumerate(specs)
    ]


def test_pair_units_group_both_orders_and_the_batch_order_keeps_them_adjacent():
    data = rows(
        ("p", "A", "x"),
        ("q", "B", "y"),
        ("p", "B", "x"),
        ("q", "A", "y"),
        ("r", "A", "z"),
        ("r", "B", "z"),
    )
    units = pair_units(data)
    assert units == [(0, 2), (3, 1), (4, 5)]
    order = unit_order(units, seed=0)
    assert sorted(order) == list(range(6))
    for i in range(0, 6, 2):
        assert data[order[i]][1]["pair"] == data[order[i + 1]][1]["pair"]
    assert unit_order(units, seed=0) == order
    assert {tuple(unit_order(units, seed=s)) for s in range(10)} != {tuple(order)}


def test_pair_problems_are_named_before_training():
    with pytest.raises(InputError, match="1 of 2 pairs lack one order .*pair 'q'"):
        pair_units(rows(("p", "A", "x"), ("p", "B", "x"), ("q", "A", "y")))
    with pytest.raises(InputError, match="pair 'p' is also at f:0 with a different prompt"):
        pair_units(rows(("p", "A", "x"), ("p", "B", "other question")))
    with pytest.raises(InputError, match="f:0: no 'pair' field"):
        pair_units([("f:0", {"label": "A"})])
    # more chains of one order than the other: as many of each as the rarer has
    assert pair_units(rows(("p", "A", "x"), ("p", "A", "x"), ("p", "B", "x"))) == [(0, 2)]
