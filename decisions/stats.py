"""What the decisions add up to: overturn rates with their intervals, by facet value.

Every number is a count of the facet engine's bitmaps (``facet_index``): the decisions a search
finds, those of them overturned, and the same within each value of a facet, so a rate costs an
intersection per value whatever the number of letters. Rates come with a 95% Wilson score
interval, which stays inside 0-100% and is honest for small counts and for rates near 0 or 1
(the usual normal interval is neither); under ``MIN_DECISIONS`` decisions no percentage is given
at all, only the counts in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyroaring import BitMap

from .facet_index import FacetIndex
from .models import CitingSide, Outcome

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
MIN_DECISIONS = 10  # fewer than this: counts in words, no percentage


def wilson(overturned: int, decisions: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``overturned / decisions`` (0-1 each end)."""
    if decisions <= 0:
        return (0.0, 1.0)
    p = overturned / decisions
    denominator = 1 + z * z / decisions
    centre = (p + z * z / (2 * decisions)) / denominator
    half = z * math.sqrt(p * (1 - p) / decisions + z * z / (4 * decisions * decisions))
    half /= denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    """How many decisions, how many of them overturned."""

    decisions: int
    overturned: int

    @property
    def upheld(self) -> int:
        return self.decisions - self.overturned

    @property
    def enough(self) -> bool:
        """Whether there are decisions enough to give a percentage."""
        return self.decisions >= MIN_DECISIONS

    @property
    def rate(self) -> float | None:
        return self.overturned / self.decisions if self.decisions else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.overturned, self.decisions)

    @property
    def words(self) -> str:
        """ "3 of 8 overturned" """
        return f"{self.overturned:,} of {self.decisions:,} overturned"

    @property
    def percent(self) -> str:
        """ "12.7%" (one decimal), or "" when there are too few decisions to say."""
        return f"{self.rate * 100:.1f}%" if self.enough and self.rate is not None else ""

    @property
    def interval_range(self) -> str:
        """ "10.2-15.6%", or "" with too few decisions."""
        if not self.enough:
            return ""
        low, high = self.interval
        return f"{low * 100:.1f}-{high * 100:.1f}%"

    @property
    def interval_words(self) -> str:
        """ "95% interval 10.2-15.6%", or "" with too few decisions."""
        return f"95% interval {self.interval_range}" if self.enough else ""


@dataclass(frozen=True)
class Group:
    """One value of a breakdown: its facet value (for links), label and rate."""

    value: str
    label: str
    rate: Rate


def overturned_of(index: FacetIndex) -> BitMap:
    return index.values.get("outcome", {}).get(Outcome.OVERTURNED, BitMap())


def rate_of(index: FacetIndex, found: BitMap) -> Rate:
    """The rate of the decisions ``found``."""
    return Rate(len(found), found.intersection_cardinality(overturned_of(index)))


# name -> label: what a rate can be broken down by (facets the engine holds a bitmap per value
# for, the guideline MAXIMUS relied on, and the guideline page it cited).
BREAKDOWNS = {
    "category": "Treatment category",
    "treatment": "Treatment",
    "drug_class": "Drug class",
    "body_region": "Body region",
    "guideline": "Guideline MAXIMUS relied on",
    "cited_page": "Guideline page MAXIMUS cited",
    "specialty": "Reviewer specialty",
    "decision_year": "Year of decision",
    "injury_year": "Year of injury",
}
YEARS = ("decision_year", "injury_year")


def _groups(index: FacetIndex, by: str, labels: dict[str, str]) -> list[tuple[str, str, BitMap]]:
    """(facet value, label, items) of every value of ``by``."""
    maximus = CitingSide.MAXIMUS
    if by == "guideline":
        guideline_labels = index.labels.get("guideline", {})
        return [
            (g, guideline_labels.get(g, g), items)
            for (side, g), items in index.cited.items()
            if side == maximus
        ]
    if by == "cited_page":  # value "guideline:page"
        guideline_labels = index.labels.get("guideline", {})
        return [
            (f"{g}:{page}", f"{guideline_labels.get(g, g)} p. {page}", items)
            for (side, g, page), items in index.cited_pages.items()
            if side == maximus
        ]
    names = labels or index.labels.get(by, {})
    return [(v, names.get(v, v), items) for v, items in index.values.get(by, {}).items()]


def breakdown(
    index: FacetIndex,
    found: BitMap,
    by: str,
    *,
    labels: dict[str, str] | None = None,
    order: str = "count",
    limit: int | None = None,
) -> list[Group]:
    """The rate within each value of ``by`` among ``found`` (values with no decision left out).

    ``order``: "count" (most decisions first), "rate" (highest overturn rate first, values with
    too few decisions after), or "value" (years, oldest first).
    """
    overturned = found & overturned_of(index)
    groups = []
    for value, label, items in _groups(index, by, labels or {}):
        n = found.intersection_cardinality(items)
        if n:
            groups.append(Group(value, label, Rate(n, overturned.intersection_cardinality(items))))
    if order == "rate":
        groups.sort(key=lambda g: (not g.rate.enough, -(g.rate.rate or 0), -g.rate.decisions))
    elif order == "value":
        groups.sort(key=lambda g: g.value)
    else:
        groups.sort(key=lambda g: (-g.rate.decisions, g.label.lower()))
    return groups[:limit] if limit else groups
