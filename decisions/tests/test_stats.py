"""The numbers of the outcome panel, checked against hand-computed values."""

import pytest

from decisions import facet_index, stats

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("overturned", "decisions", "low", "high"),
    [
        (1, 5, 0.0362, 0.6245),  # Wilson's own small-sample case, computed by hand
        (0, 10, 0.0, 0.2775),  # none overturned: the interval still says up to 28%
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (17985, 141621, 0.1253, 0.1287),  # 12.7% of a year's letters: a narrow interval
    ],
)
def test_the_wilson_interval(overturned, decisions, low, high):
    got = stats.wilson(overturned, decisions)
    assert got == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_under_ten_decisions_no_percentage_only_words():
    few, many = stats.Rate(9, 3), stats.Rate(10, 3)
    assert (few.words, few.percent, few.interval_words) == ("3 of 9 overturned", "", "")
    assert (many.percent, many.interval_words) == ("30.0%", "95% interval 10.8-60.3%")


def test_the_rates_of_the_sample_letters_by_treatment(sample_letters):
    with facet_index.current_index() as index:
        everything = stats.rate_of(index, index.items)
        by_treatment = {g.value: g.rate for g in stats.breakdown(index, index.items, "treatment")}
    assert (everything.decisions, everything.overturned) == (8, 3)
    # the sample letters by hand: five physical therapy requests, one overturned (003 lumbar)
    assert by_treatment["physical_therapy"] == stats.Rate(decisions=5, overturned=1)
    assert sum(r.decisions for r in by_treatment.values()) >= 8  # an item may have two
