"""Generate realistic IMR letters from the sample letters: the demo, benchmarks and tests.

Plain Python, no Django: ``manage.py load_demo``, the benchmarks under ``bench/`` and the tests
import it from here.

Each variant keeps a sample's layout and wording but gets its own patient age, dates, disputed
requests (medications, imaging, injections, surgery, equipment, consultations on every body
region and side) and outcomes, so every variant is a distinct letter.

With ``header=True`` (the default) a letter opens with the header block of a real Final
Determination letter, in one of the layouts real letters have: a case number of its own
(``CM15-0247716``, the year it was assigned) and dates that follow one another (injury, UR
denial, application received, assigned, decision; decisions from 2013 to 2025), the summary's
dates agreeing with them. With ``header=False`` it is the letter as generated before headers
were added (a "Case reference" line makes it distinct), text for text, which the benchmarks'
figures were measured on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "letters"

REQUESTS = [
    "Oxycodone 10mg #120",
    "Lidoderm 5% patch #30",
    "Norco 10/325mg #90",
    "Omeprazole 20mg #60",
    "Tramadol ER 150mg #30",
    "Gabapentin 600mg #90",
    "Cyclobenzaprine 7.5mg #60",
    "Right shoulder MRI",
    "MRI of the Cervical Spine",
    "Left knee arthroscopy",
    "Left L5-S1 transforaminal epidural injection",
    "Bilateral L4-5 facet injections",
    "EMG/NCV of the bilateral upper extremities",
    "Physical therapy 2x6 for the right wrist",
    "Acupuncture 6 sessions for the lumbar spine",
    "Chiropractic treatment 2 x 4 for the neck",
    "TENS unit for home use",
    "Orthopedic surgeon consultation for the left hip",
    "Functional restoration program 160 hours",
    "Urine drug screen",
    "X-ray of the right ankle",
    "Trigger point injections x4 to the cervical paraspinals",
]

_HEADING = re.compile(
    r"^(?P<request>[^\n:]{3,160}):[ \t]+(?P<outcome>Upheld|Overturned)[ \t]*$", re.M
)
_AGE = re.compile(r"\b(\d{2})([- ]year[- ]old)")
_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_SUMMARY = re.compile(r"(case file, including all medical records:\s*\n)")


def samples() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]


def variant(text: str, rng: random.Random, serial: int) -> str:
    """One distinct letter in the layout of ``text``."""
    text = _AGE.sub(lambda m: f"{rng.randint(19, 79)}{m.group(2)}", text)
    text = _DATE.sub(
        lambda m: f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2005, 2016)}", text
    )
    text = _HEADING.sub(
        lambda m: f"{rng.choice(REQUESTS)}:  {rng.choice(['Upheld', 'Overturned'])}", text
    )
    return _SUMMARY.sub(
        lambda m: f"{m.group(1)}\nCase reference {serial:08d}.  \n\n", text, count=1
    )


# --------------------------------------------------------------------- letters with a header

FIRST_ASSIGNED = date(2013, 1, 2)
LAST_DECISION = date(2025, 12, 31)
# The summary's date of the injury ("an industrial injury on 3/21/2011", "a date of injury of
# 03/27/2010"), which the header's Date of Injury must agree with
_INJURY_BEFORE = re.compile(r"\binjur(?:y|ed)\b[^.]{0,40}?\b(?:on|of)\s+$", re.I)
_YEAR = re.compile(r"(\bin )((?:19|20)\d{2})\b")  # "a stroke which occurred in 2014"
_UR_MENTION = re.compile(r"\bUtilization Review\b|\bUR\b")


@dataclass(frozen=True)
class Dates:
    """A case's dates, in the order they happen."""

    injury: date
    ur_denial: date
    received: date
    assigned: date
    decision: date


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _written(d: date, padded: bool = True) -> str:
    return f"{d:%m/%d/%Y}" if padded else f"{d.month}/{d.day}/{d.year}"


def _sentence_around(text: str, at: int) -> str:
    end = text.find(".", at)
    return text[text.rfind(".", 0, at) + 1 : end if end >= 0 else len(text)]


def _dates_in(text: str) -> Iterator[tuple[re.Match[str], date]]:
    for m in _DATE.finditer(text):
        try:
            yield m, date(int(m[3]), int(m[1]), int(m[2]))
        except ValueError:
            continue


def _case_dates(text: str, rng: random.Random) -> tuple[Dates, timedelta, date | None]:
    """The case's dates; the shift that moves every date the summary gives to agree with them
    (the injury is the case's, the date tied to the UR is the UR denial, or the latest date is
    just before it, and "four years status post" stays true); the summary's own injury date."""
    assigned = _day(rng, FIRST_ASSIGNED, LAST_DECISION - timedelta(days=45))
    decision = assigned + timedelta(days=rng.randint(14, 45))
    received = assigned - timedelta(days=rng.randint(3, 21))
    ur_denial = received - timedelta(days=rng.randint(7, 30))

    injury_was, others = None, []
    for m, written in _dates_in(text):
        if _INJURY_BEFORE.search(text, max(0, m.start() - 60), m.start()):
            injury_was = injury_was or written
        else:
            others.append((m.start(), written))
    tied = [w for start, w in others if _UR_MENTION.search(_sentence_around(text, start))]
    if tied:
        shift = ur_denial - tied[0]
    elif others or injury_was:
        latest = max([w for _, w in others] or [injury_was])
        shift = ur_denial - timedelta(days=rng.randint(1, 30)) - latest
    else:
        shift = timedelta(0)
    if injury_was:
        injury = injury_was + shift
    else:  # a summary that gives no date of injury: some months or years before the UR
        injury = ur_denial - timedelta(days=rng.randint(180, 365 * 8))
    return Dates(injury, ur_denial, received, assigned, decision), shift, injury_was


def _case_number(dates: Dates, rng: random.Random, used: set[str]) -> str:
    """``CM15-0247716``: the year assigned, then a number that grows through the year (about
    680 a day, as in real letters), unique among ``used``."""
    number = (dates.assigned.timetuple().tm_yday - 1) * 680 + rng.randint(0, 679)
    while (case := f"CM{dates.assigned.year % 100:02d}-{number:07d}") in used:
        number += 1
    used.add(case)
    return case


def _columns(pairs, *, label: int, value: int, gap: int, indent: str, blank: bool) -> str:
    lines = []
    for (left, left_value), *right in pairs:
        line = f"{indent}{f'{left}:':<{label}}  {left_value}"
        if right:
            (right_label, right_value), *_ = right
            line = f"{line:<{len(indent) + label + 2 + value}}{' ' * gap}"
            line += f"{f'{right_label}:':<{label}}  {right_value}"
        lines.append(line.rstrip())
    return ("\n\n" if blank else "\n").join(lines) + "\n\n \n\n"


def header_block(case: str, dates: Dates, rng: random.Random) -> str:
    """The letter's header, in one of the layouts real Final Determination letters have."""
    d = {name: _written(getattr(dates, name)) for name in Dates.__dataclass_fields__}
    pairs = [
        (("Case Number", case), ("Date Assigned", d["assigned"])),
        (("Date of Injury", d["injury"]), ("Decision Date", d["decision"])),
        (("UR Denial Date", d["ur_denial"]), ("Priority", "Standard")),
        (("Application Received", d["received"]),),
    ]
    layout = rng.randrange(5)
    if layout == 0:  # two columns, two spaces after each label
        return _columns(pairs, label=0, value=12, gap=rng.choice([6, 8]), indent="", blank=False)
    if layout == 1:  # the same with a blank line after each line, as a PDF's text often has
        return _columns(pairs, label=0, value=12, gap=8, indent="", blank=True)
    if layout == 2:  # labels and values in aligned columns
        return _columns(pairs, label=24, value=30, gap=2, indent="", blank=False)
    if layout == 3:  # the same, indented
        return _columns(pairs, label=25, value=25, gap=2, indent="    ", blank=False)
    # one or two fields a line, an empty "Date(s) of Service", as older letters' PDFs give it
    return (
        f" Case Number: {case}  Date Assigned: {d['assigned']} \n\n"
        "Date(s) of Service:  \n\n"
        f"Date of Injury:  {d['injury']} \n\n"
        f"Decision Date: {d['decision']} \n\n"
        f"UR Denial Date:  {d['ur_denial']} Priority:  Standard \n\n"
        f"Application Received:  {d['received']} \n\n \n\n"
    )


def variant_with_header(text: str, rng: random.Random, used: set[str]) -> str:
    """One distinct letter in the layout of ``text``, with a real letter's header whose case
    number is not in ``used`` (and is added to it)."""
    dates, shift, injury_was = _case_dates(text, rng)
    latest = dates.received - timedelta(days=1)

    def moved(m: re.Match[str]) -> str:
        try:
            written = date(int(m[3]), int(m[1]), int(m[2]))
        except ValueError:  # not a date: left as it is
            return m[0]
        return _written(min(written + shift, latest), padded=len(m[1]) == len(m[2]) == 2)

    def year_moved(m: re.Match[str]) -> str:
        year = int(m[2])
        if injury_was and year == injury_was.year:
            return f"{m[1]}{dates.injury.year}"
        return f"{m[1]}{(date(year, 7, 1) + shift).year}"

    text = _DATE.sub(moved, text)
    text = _YEAR.sub(year_moved, text)
    years = (dates.decision - dates.injury).days // 365
    text = _AGE.sub(lambda m: f"{rng.randint(max(19, 18 + years), 79)}{m.group(2)}", text)
    text = _HEADING.sub(
        lambda m: f"{rng.choice(REQUESTS)}:  {rng.choice(['Upheld', 'Overturned'])}", text
    )
    return header_block(_case_number(dates, rng, used), dates, rng) + text


def letters(count: int, seed: int = 2026, *, header: bool = True) -> Iterator[tuple[str, str]]:
    """``count`` (name, text) pairs, reproducible for a seed; the first ``n`` of them are the
    same whatever ``count``. ``header=False`` gives the letters without a header, as the
    benchmarks use them."""
    rng = random.Random(seed)
    base = samples()
    used: set[str] = set()
    for serial in range(count):
        sample = base[serial % len(base)]
        text = variant_with_header(sample, rng, used) if header else variant(sample, rng, serial)
        yield f"generated_{serial:07d}.txt", text


def write(directory: Path, count: int, seed: int = 2026, *, header: bool = True) -> list[Path]:
    """Write ``count`` variants as text files under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in letters(count, seed, header=header):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
