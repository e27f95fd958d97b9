"""Probability quality measures, against values worked out by hand."""

import pytest

from reasonrm.confidence import (
    accuracy_above,
    accuracy_at_coverage,
    auc,
    brier,
    confidence,
    reliability,
)

SCORED = [(0.9, "A"), (0.7, "B"), (0.4, "B"), (0.2, "A"), (0.55, "A")]


def test_brier_and_auc_by_hand():
    # (0.1², 0.7², 0.4², 0.8², 0.45²) / 5
    assert brier(SCORED) == pytest.approx((0.01 + 0.49 + 0.16 + 0.64 + 0.2025) / 5)
    # a-better: 0.9, 0.2, 0.55; b-better: 0.7, 0.4 -> wins: 0.9 beats both, 0.55 beats 0.4
    assert auc(SCORED) == pytest.approx(3 / 6)
    assert auc([(0.9, "A"), (0.8, "A")]) is None
    assert auc([(0.6, "A"), (0.6, "B")]) == 0.5


def test_accuracy_by_confidence():
    assert confidence(0.2) == pytest.approx(0.8) and confidence(0.5) == 0.5
    # surest first: 0.9 (right), 0.2 (wrong), 0.7 (wrong), 0.4 (right), 0.55 (right)
    assert accuracy_at_coverage(SCORED, 0.4) == (0.5, 2)
    assert accuracy_at_coverage(SCORED, 1.0) == (3 / 5, 5)
    accuracy, coverage = accuracy_above(SCORED, 0.75)
    assert (accuracy, coverage) == (0.5, 0.4)
    assert accuracy_above(SCORED, 0.99) == (None, 0.0)
    assert accuracy_at_coverage([(0.5, "A")], 1.0) == (0.0, 1)  # a tie is not right


def test_reliability_bins():
    bins = reliability(SCORED, bins=2)  # [0.5, 0.75) and [0.75, 1]
    assert [b.pairs for b in bins] == [3, 2]
    assert bins[0].accuracy == pytest.approx(2 / 3) and bins[1].accuracy == 0.5
    assert bins[1].mean_confidence == pytest.approx(0.85)
    assert reliability([(1.0, "A")], bins=5)[-1].pairs == 1
