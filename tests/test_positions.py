"""One position tally for batch runs, reports and the server's metrics."""

from reasonrm.positions import Positions
from reasonrm.types import JudgedSample, Judgment, Verdict


def _judgment(*verdicts: tuple[str, str | None], agree: bool | None) -> dict:
    samples = [
        JudgedSample("", Verdict(w, None if w else "no verdict"), o, 1, 10, "stop", 0.1)
        for o, w in verdicts
    ]
    votes = {"A": 0, "B": 0, "invalid": 0}
    return Judgment("A", votes, samples, orders_agree=agree).to_dict()


def test_a_judgment_counts_each_valid_verdict_by_the_slot_it_went_to():
    p = Positions()
    p.add(_judgment(("AB", "A"), ("BA", "A"), agree=True))  # first slot, then second slot
    p.add(_judgment(("AB", "A"), ("BA", "B"), agree=False))  # first slot twice: a flip
    p.add(_judgment(("AB", None), agree=None))  # no verdict, one order: nothing counted
    assert p == Positions(verdicts=4, first_slot=3, both_orders=2, flips=1)
    assert p.first_slot_rate == 0.75 and p.agreement == 0.5
    assert p.note() == (
        "the response shown first won 75% of 4 verdicts; the two orders disagreed on 50% of 2 pairs"
    )


def test_nothing_counted_says_nothing():
    assert Positions().note() == "" and Positions().first_slot_rate is None
    assert Positions().agreement is None
