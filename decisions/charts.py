"""Chart geometry for the outcome panel, the trends and the report: plain numbers the templates
draw as SVG on the server (no script, no library). Every chart sits beside, or inside, a table
of the same numbers, and marks intervals by shape (a whisker) and values by text, never by
colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stats import Group

BAR_WIDTH = 120  # user units of a row's bar (0-100% of overturned)


@dataclass(frozen=True)
class Bar:
    """A row's bar: its length and its interval's ends, in user units of ``BAR_WIDTH``."""

    length: float
    low: float
    high: float
    shown: bool  # False under stats.MIN_DECISIONS decisions: no bar, no interval


def bar(group: Group) -> Bar:
    rate = group.rate
    if not rate.enough or rate.rate is None:
        return Bar(0, 0, 0, False)
    low, high = rate.interval
    return Bar(
        round(rate.rate * BAR_WIDTH, 2),
        round(low * BAR_WIDTH, 2),
        round(high * BAR_WIDTH, 2),
        True,
    )


@dataclass(frozen=True)
class Column:
    """A year of the trend chart: its place, its rate's bar and interval, in user units."""

    label: str
    x: float
    top: float  # of the bar (y grows downwards)
    height: float
    low: float  # y of the interval's ends
    high: float
    shown: bool
    count: int

    @property
    def middle(self) -> float:
        return self.x + COLUMN_WIDTH / 2


@dataclass(frozen=True)
class Trend:
    width: float
    height: float
    base: float  # y of 0%
    columns: list[Column]
    ticks: list[tuple[float, str]]  # (y, "25%")


COLUMN_STEP, COLUMN_WIDTH, PLOT_HEIGHT, TOP, LEFT = 36, 22, 120, 10, 34


def trend(groups: list[Group]) -> Trend:
    """Overturn rate by year as columns with their intervals (years with too few decisions get
    no column, only their count below the axis)."""
    base = TOP + PLOT_HEIGHT

    def y(fraction: float) -> float:
        return round(base - fraction * PLOT_HEIGHT, 2)

    columns = []
    for n, group in enumerate(groups):
        rate = group.rate
        shown = rate.enough and rate.rate is not None
        low, high = rate.interval if shown else (0.0, 0.0)
        top = y(rate.rate) if shown else base
        columns.append(
            Column(
                group.label,
                LEFT + n * COLUMN_STEP,
                top,
                round(base - top, 2),
                y(low),
                y(high),
                shown,
                rate.decisions,
            )
        )
    ticks = [(y(f), f"{int(f * 100)}%") for f in (0, 0.25, 0.5, 0.75, 1)]
    return Trend(LEFT + len(groups) * COLUMN_STEP + 4, base + 34, base, columns, ticks)
