"""The test of generalisation: the same letter, as another extraction delivers it, parses the same.

Every letter the project has (the shared five, every fixture set and generated letters) goes
through each way extracted text differs (``bench/variants.py``: line endings, wrapping width,
page breaks with running headers and footers, heading case, blank lines, stray spaces and tabs,
words hyphenated across a line end, typographic characters) and through random combinations;
every field but the spans must come out identical. A request may change case (its heading was
upper-cased) and any value its whitespace; nothing else may change.

CI runs a bounded number of examples (the "ci" Hypothesis profile); a larger run:
``HYPOTHESIS_PROFILE=thorough bin/test decisions/tests/test_invariance.py``.
"""

from __future__ import annotations

import os
import random
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import variants
from decisions import lettergen
from decisions.ingest.decode import text_from_bytes
from decisions.parsing import ParseError, parse_letter
from decisions.parsing.normalise import Normalised

ROOT = Path(__file__).resolve().parents[2]
settings.register_profile(
    "ci", max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


@cache
def corpus() -> list[tuple[str, str]]:
    paths = sorted((ROOT / "fixtures").glob("*/*.txt"))
    paths += sorted((ROOT.parent / "shared" / "letters").glob("*.txt"))
    letters = [(p.name, p.read_text(encoding="utf-8")) for p in paths]
    generated = list(lettergen.letters(12, seed=41, header=False))
    generated += list(lettergen.letters(10, seed=41))  # with a header, in each of its layouts
    return letters + generated


def _canonical(value, key=None):
    """The parse as the invariance compares it: no spans, whitespace runs as one space, the
    request in lower case."""
    if isinstance(value, dict):
        return {
            k: _canonical(v, k)
            for k, v in value.items()
            if k not in ("spans", "span", "content_hash", "warnings")
        }
    if isinstance(value, list):
        return [_canonical(v, key) for v in value]
    if isinstance(value, str):
        value = " ".join(value.split())
        return value.lower() if key == "request" else value
    return value


def reading(text: str):
    try:
        return _canonical(parse_letter(text).to_dict())
    except ParseError as exc:
        return f"refused: {exc.reason}"


@cache
def reading_of(index: int):
    return reading(corpus()[index][1])


def assert_reads_the_same(index: int, transformed: str, how: str) -> None:
    name, _ = corpus()[index]
    assert reading(transformed) == reading_of(index), f"{name} read differently after {how}"


LETTER = st.integers(0, 10**6).map(lambda n: n % len(corpus()))
SEED = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("name", sorted(variants.TRANSFORMS))
@settings(settings.get_profile(PROFILE))
@given(index=LETTER, seed=SEED)
def test_one_transformation(name, index, seed):
    transformed = variants.TRANSFORMS[name](corpus()[index][1], random.Random(seed))
    assert_reads_the_same(index, transformed, name)


@settings(
    settings.get_profile(PROFILE), max_examples=5 * settings.get_profile(PROFILE).max_examples
)
@given(index=LETTER, seed=SEED)
def test_random_combinations(index, seed):
    transformed = variants.combined(corpus()[index][1], random.Random(seed))
    assert_reads_the_same(index, transformed, f"the combination of seed {seed}")


def test_every_letter_at_every_wrapping_width():
    for index, (_, text) in enumerate(corpus()):
        for width in range(40, 141, 20):
            rewrapped = variants.rewrap(text, random.Random(0), width=width)
            assert_reads_the_same(index, rewrapped, f"rewrapping at {width}")


def test_every_letter_from_its_pdf():
    """A letter made into a PDF (as the shared PDFs were, with reportlab) and read back."""
    for index, (name, text) in enumerate(corpus()):
        text_back, _ = text_from_bytes(variants.as_pdf(text), name)
        assert_reads_the_same(index, text_back, "a PDF round trip")


# ------------------------------------------------------------- the normalising stage itself


def test_normalised_text_maps_every_offset_back_to_the_original():
    original = (
        "Case Number: CM13-0000001\r\n\r\nThe e\ufb03cacy of the medi-\r\n\r\ncally "
        "necessary\u00a0the\u200brapy.\r\n\r\nPage 1 of 2\r\n\x0cCM13-0000001\r\nIt was "
        "\u201cnot\u201d established \u2013 see above."
    )
    norm = Normalised(original)
    assert norm.text == (
        "Case Number: CM13-0000001\n\nThe efficacy of the medically necessary therapy.\n\n"
        '\n\n\nIt was "not" established - see above.'
    )
    assert norm.written.endswith("It was \u201cnot\u201d established \u2013 see above.")
    for word in ("medically", "therapy", "established", "It was"):
        start = norm.text.index(word)
        s, e = norm.span(start, start + len(word))
        assert "".join(original[s:e].replace("-\r\n\r\n", "").split("\u200b")) == word
    start = norm.text.index("efficacy")
    assert original[slice(*norm.span(start, start + len("efficacy")))] == "e\ufb03cacy"


def test_bold_markers_go_and_a_redacted_name_stays():
    original = "**CLINICAL CASE SUMMARY**\nMs. ___ is a 38-year-old"
    norm = Normalised(original)
    assert norm.text == "CLINICAL CASE SUMMARY\nMs. ___ is a 38-year-old"
    start = norm.text.index("___")
    assert original[slice(*norm.span(start, start + 3))] == "___"


def test_a_case_number_given_once_is_kept_and_a_running_header_dropped():
    header = "IMR Case Number CM14-0087412"
    text = f"{header}\n\nbody line\n\nPage 1 of 2\n{header}\nmore"
    norm = Normalised(text)
    assert norm.text.count("CM14-0087412") == 1
    assert "Page 1 of 2" not in norm.text
    assert "body line" in norm.text and norm.text.endswith("more")


def test_spans_stay_exact_through_line_endings_furniture_and_typography():
    _, text = corpus()[0]
    rng = random.Random(3)
    transformed = variants.crlf(variants.typography(variants.page_breaks(text, rng), rng), rng)
    parsed = parse_letter(transformed)
    for item in parsed.items:
        s, e = item.spans["request"]
        written = Normalised(transformed[s:e]).written
        assert " ".join(written.split()) == " ".join(item.request.split())
        s, e = item.spans["outcome"]
        assert transformed[s:e].lower() == item.outcome
