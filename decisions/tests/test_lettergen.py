"""The letter generator: letters with a real letter's header that the parser reads, and the
benchmarks' letters unchanged."""

import hashlib
import re
from datetime import date

from decisions import lettergen
from decisions.parsing import parse_letter

HEADER = re.compile(
    r"Case Number:\s+(?P<case>\S+).*?Date Assigned:\s+(?P<assigned>\S+).*?"
    r"Date of Injury:\s+(?P<injury>\S+).*?Decision Date:\s+(?P<decision>\S+).*?"
    r"UR Denial Date:\s+(?P<ur_denial>\S+).*?Application Received:\s+(?P<received>\S+)",
    re.S,
)


def _date(written: str) -> date:
    month, day, year = map(int, written.split("/"))
    return date(year, month, day)


def test_each_letter_has_a_header_the_parser_reads_with_dates_in_order():
    cases = set()
    for name, text in lettergen.letters(60, seed=5):
        header = HEADER.match(text.lstrip())
        assert header, f"{name} has no header"
        d = {k: _date(v) for k, v in header.groupdict().items() if k != "case"}
        assert d["injury"] < d["ur_denial"] < d["received"] < d["assigned"] < d["decision"]
        assert 2013 <= d["decision"].year <= 2025
        assert re.fullmatch(rf"CM{d['assigned']:%y}-\d{{7}}", header["case"])
        cases.add(header["case"])
        body = text[header.end() :]
        assert all(
            d["injury"] <= _date(m[0]) < d["received"] for m in lettergen._DATE.finditer(body)
        ), f"{name}: a date in the summary is outside the case's"

        parsed = parse_letter(text)
        assert parsed.case_number == header["case"]
        assert parsed.date_assigned == d["assigned"].isoformat()
        assert parsed.ur_date == d["ur_denial"].isoformat()
        assert parsed.patient.date_of_injury == d["injury"].isoformat()  # the summary's too
        assert parsed.warnings == []
    assert len(cases) == 60


def test_more_letters_begin_with_the_same_letters():
    """So loading more demo letters later adds only the new ones."""
    assert list(lettergen.letters(30, seed=5)) == list(lettergen.letters(40, seed=5))[:30]


def test_letters_without_a_header_are_the_benchmarks_letters_unchanged():
    """The benchmarks' figures were measured on these exact texts."""
    texts = hashlib.sha256()
    for _, text in lettergen.letters(100, header=False):
        assert not text.lstrip().startswith("Case Number")
        texts.update(text.encode())
    assert texts.hexdigest() == "866b5dbbc760f77a4e621af0ac9abf6b242532a474c248371875b6752d145194"
