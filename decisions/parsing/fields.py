"""Field readers: each takes flat text (and bounds) and returns a value with its flat span."""

from __future__ import annotations

import re
from typing import NamedTuple

from .model import Drug
from .text import DATE_RE, NUMBER_RE, lower_same_length, parse_date, to_int
from .vocab import MEDICATION_HINT, SYSTEMIC_TRANSDERMAL, TOPICAL_BRANDS, Vocabulary


class Value(NamedTuple):
    value: object
    start: int
    end: int


# ------------------------------------------------------------------------------- patient

_AGE = re.compile(r"(?<!\d)(\d{1,3})\s*-?\s*(?:years?|yrs?|y/?o)\b(?:\s*-?\s*old)?", re.I)
_AGE_ALT = re.compile(r"\b(?:aged?|age\s+of)\s+(\d{1,3})\b", re.I)
_SEX_WORD = re.compile(r"\b(?P<f>female|woman|lady|girl)\b|\b(?P<m>male|man|gentleman|boy)\b", re.I)
# Pronouns, not the boilerplate's "he/she" or "his/her"
_FEMALE_PRONOUN = re.compile(r"(?<![\w/])(?:she|her|hers|herself)(?![\w/])", re.I)
_MALE_PRONOUN = re.compile(r"(?<![\w/])(?:he|him|his|himself)(?![\w/])", re.I)


def read_age(flat: str, start: int, end: int) -> Value | None:
    for rx in (_AGE, _AGE_ALT):
        m = rx.search(flat, start, end)
        if m and 0 < int(m[1]) < 120:
            return Value(int(m[1]), m.start(1), m.end(1))
    return None


def read_sex(flat: str, start: int, end: int, age: Value | None) -> Value | None:
    """The sex word next to the age ("49-year-old female"), else clear pronoun use."""
    windows = [(age.end, min(end, age.end + 60))] if age else []
    windows.append((start, min(end, start + 400)))
    for a, b in windows:
        m = _SEX_WORD.search(flat, a, b)
        if m:
            return Value("female" if m["f"] else "male", m.start(), m.end())
    # pronouns for the patient outnumber those for a doctor mentioned in passing
    she = list(_FEMALE_PRONOUN.finditer(flat, start, end))
    he = list(_MALE_PRONOUN.finditer(flat, start, end))
    if len(she) >= 2 and len(she) >= 3 * len(he):
        return Value("female", she[0].start(), she[0].end())
    if len(he) >= 2 and len(he) >= 3 * len(she):
        return Value("male", he[0].start(), he[0].end())
    return None


_DOI_LABEL = re.compile(rf"\bDate\s+of\s+Injury\s*:\s*(?P<d>{DATE_RE})", re.I)
_DOI_PROSE = re.compile(
    rf"\b(?:date\s+of\s+(?:the\s+)?injury|DOI)\s*(?:of|was|is|on|:)?\s*(?P<d>{DATE_RE})"
    rf"|\binjur(?:y|ies|ed)\b[^.]{{0,80}}?\b(?:on|of|dated|in)\s+(?P<d2>{DATE_RE})"
    # a cumulative trauma dates from the end of its period: "from 6/1/2009 through 6/1/2014"
    rf"|\b(?:cumulative|continuous|repetitive)\s+trauma\b[^.]{{0,120}}?{DATE_RE}\s*"
    rf"(?:through|thru|to|until|-)\s*(?P<d4>{DATE_RE})"
    # how it happened, in the sentence that says when: "was struck by a falling box on 8/21/2014"
    rf"|\b(?:struck|fell|slipped|tripped|twisted|lifting|lifted|hurt|accident|incident|assault"
    rf"\w*|collision|crash)\b[^.]{{0,100}}?\bon\s+(?P<d3>{DATE_RE})",
    re.I,
)


def _date_value(m: re.Match[str], group: str) -> Value | None:
    iso = parse_date(m[group])
    return Value(iso, m.start(group), m.end(group)) if iso else None


def read_date_of_injury(
    flat: str, header: tuple[int, int], summary: tuple[int, int]
) -> Value | None:
    m = _DOI_LABEL.search(flat, *header)
    if m and (v := _date_value(m, "d")):
        return v
    for m in _DOI_PROSE.finditer(flat, *summary):
        v = _date_value(m, next(g for g in ("d", "d2", "d3", "d4") if m[g]))
        if v:
            return v
    return None


# ------------------------------------------------------------------------- header / UR

# An IMR case number: "CM13-0000001", or the first months' "IMR 13-000004" (any spacing).
_CASE = r"(?P<v>(?:CM|IMR[ \t]*-?[ \t]*)\d{2}[ \t]*-[ \t]*\d{3,8})"
_CASE_NUMBER = re.compile(
    rf"\b(?:Case|IMR)\s+(?:Number|No\.?|#)\s*:?\s*(?:IMR\s+Case\s+)?{_CASE}(?!\d)", re.I
)
_CASE_NUMBER_ALONE = re.compile(
    rf"(?:\bCase\s+(?:Number|No\.?|#)\s*:?\s*)?(?<![\w-]){_CASE}(?!\d)", re.I
)
_CASE_SPACES = re.compile(r"[ \t]+")
_DATE_ASSIGNED = re.compile(rf"\bDate\s+Assigned\s*:\s*(?P<d>{DATE_RE})", re.I)
# The letter's own date: "Decision Date:", "Determination Dated:", "Date of Decision:", ...
_DECISION_DATE = re.compile(
    r"\b(?:(?:Final\s+)?(?:Decision|Determination|Letter)\s+Date(?:d)?"
    r"|Date\s+of\s+(?:the\s+)?(?:Final\s+)?(?:Decision|Determination|Letter)"
    r"|(?:Determination|Decision|Letter)\s+Dated"
    # a dateline, "Date: April 22, 2016", not another date's label ("UR Denial Date:")
    r"|(?<![A-Za-z] )(?<![\w-])Dated?(?=\s*:))"
    rf"\s*:?\s*(?P<d>{DATE_RE})",
    re.I,
)
_UR_LABEL = re.compile(
    r"\b(?:UR\s+(?:Denial|Decision|Determination)\s+Date|Date\s+of\s+(?:the\s+)?(?:UR|Utilization"
    rf"\s+Review)(?:\s+(?:Decision|Denial|Determination))?)\s*:\s*(?P<d>{DATE_RE})",
    re.I,
)
_UR = r"(?:utilization\s+review|(?-i:UR))"
_UR_PROSE = re.compile(
    rf"\b{_UR}(?:\s+(?:determination|decision|denial|review|report|letter|physician|dated)"
    r"(?:\s*/\s*\w+)?)*"
    rf"\s+(?:on|dated|of|from)\s+(?P<d>{DATE_RE})"
    rf"|\b(?:on|dated)\s+(?P<d2>{DATE_RE}),?\s+(?:the\s+|a\s+)?{_UR}\b"
    rf"|(?P<d3>{DATE_RE})\s+{_UR}\s+(?:determination|decision|denial|review|report|letter)",
    re.I,
)


def read_case_number(flat: str, start: int, end: int, *, labelled: bool = True) -> Value | None:
    """The "Case Number: CM13-0000001" of a header; ``labelled=False`` also takes the number
    alone (a page's running header)."""
    m = (_CASE_NUMBER if labelled else _CASE_NUMBER_ALONE).search(flat, start, end)
    if not m:
        return None
    number = _CASE_SPACES.sub("", m["v"]).upper()  # "IMR 13-000004" -> "IMR13-000004"
    return Value(number.replace("IMR-", "IMR"), m.start("v"), m.end("v"))


def read_date_assigned(flat: str, start: int, end: int) -> Value | None:
    m = _DATE_ASSIGNED.search(flat, start, end)
    return _date_value(m, "d") if m else None


def read_decision_date(flat: str, start: int, end: int) -> Value | None:
    """The date the letter gives its decision ("Decision Date: 03/17/2016")."""
    m = _DECISION_DATE.search(flat, start, end)
    return _date_value(m, "d") if m else None


_UR_MENTION = re.compile(rf"\b{_UR}\b", re.I)


def read_ur_date(flat: str, header: tuple[int, int], *prose: tuple[int, int]) -> Value | None:
    """The header's UR date wins; else a date the prose regions (in order) tie to the UR."""
    m = _UR_LABEL.search(flat, *header)
    if m and (v := _date_value(m, "d")):
        return v
    # Every phrasing names the review, so look only around its mentions (a date pattern tried
    # at every character of the summary is the slowest part of a letter otherwise).
    for start, end in prose:
        for mention in _UR_MENTION.finditer(flat, start, end):
            window = (max(start, mention.start() - 40), min(end, mention.end() + 160))
            for m in _UR_PROSE.finditer(flat, *window):
                if m.end() <= mention.start() or m.start() >= mention.end() + 120:
                    continue
                group = next(g for g in ("d", "d2", "d3") if m[g])
                v = _date_value(m, group)
                if v:
                    return v
    return None


# ----------------------------------------------------------------------------- reviewer

# The credential labels end at a colon: the region is scanned for colons (a literal, so fast) and
# the words before each tested against this. Patterns here run on the lower-case text.
_CREDENTIAL_LABEL = re.compile(
    r"(?<![a-z0-9_])(?:(?P<states>states?\s*(?:\(s\))?\s+of\s+licensure)"
    r"|(?P<specialties>(?:certifications?\s*(?:\(s\))?\s*/\s*)?specialt(?:y|ies)"
    r"|board\s+certifications?)\s*(?:\([a-z]+\))?)\s*$"
)
# (a two-letter code ends a list of states, not starts a label: "CA, OR Certification(s):")
_NEXT_LABEL = re.compile(r"\s(?![A-Z]{2}\s)[A-Z][A-Za-z()/]*(?:\s+[A-Za-z()/]+){0,4}\s*:|\.\s|$")
_CREDENTIAL = re.compile(
    r"(?:board[-\s]+certified|licensed|licensure|sub-?specialty|specialty\s+in|"
    r"certified\s+in|specializ\w+\s+in|practices?\s+(?:in|as))(?![a-z0-9_])"
)
_BOARD = re.compile(r"board[-\s]+certified(?![a-z0-9_])")
_NOT_BOARD = re.compile(r"not\s+board[-\s]+certified(?![a-z0-9_])")


class ReviewerValue(NamedTuple):
    states: list[tuple[str, int, int]]
    specialties: list[tuple[str, int, int]]
    board_certified: bool | None


def _field_value(flat: str, label_end: int, end: int) -> int:
    m = _NEXT_LABEL.search(flat, label_end, end)
    return m.start() if m else end


def _word_start(lower: str, at: int) -> bool:
    return at == 0 or not lower[at - 1].isalnum()


def read_reviewer(
    flat: str, start: int, end: int, vocab: Vocabulary, lower: str | None = None
) -> ReviewerValue:
    """States of licensure and specialties from labelled fields and from credential sentences.

    ``lower`` is ``flat`` in lower case, offset for offset (``FlatText.lower``).
    """
    lower = lower if lower is not None else lower_same_length(flat)
    states: dict[str, tuple[str, int, int]] = {}
    specs: dict[str, tuple[str, int, int]] = {}
    st_m, sp_m = vocab.matcher("state"), vocab.matcher("specialty")
    colon = lower.find(":", start, end)
    while colon != -1:
        label = _CREDENTIAL_LABEL.search(lower, max(start, colon - 60), colon)
        if label:
            matcher, found = (st_m, states) if label.lastgroup == "states" else (sp_m, specs)
            for f in matcher.finditer(flat, colon + 1, _field_value(flat, colon + 1, end)):
                found.setdefault(f.slug, f)
        colon = lower.find(":", colon + 1, end)
    done = -1
    for m in _CREDENTIAL.finditer(lower, start, end):  # sentences that speak of credentials
        if m.start() < done or not _word_start(lower, m.start()):
            continue
        s0 = max(start, lower.rfind(".", start, m.start()) + 1)
        s1 = lower.find(".", m.end(), end)
        s1 = end if s1 == -1 else s1
        done = s1
        for f in sp_m.finditer(flat, s0, s1):
            specs.setdefault(f.slug, f)
        lic = lower.find("licens", s0, s1)
        if lic != -1:
            for f in st_m.finditer(flat, lic, s1):
                text = flat[f.start : f.end]
                if not (len(text) == 2 and text.isupper()):  # codes only in a licensure field
                    states.setdefault(f.slug, f)
    board = None
    if _NOT_BOARD.search(lower, start, end):
        board = False
    elif _BOARD.search(lower, start, end):
        board = True
    return ReviewerValue(list(states.values()), list(specs.values()), board)


# ---------------------------------------------------------------------------- diagnoses

_DX_TRIGGER = re.compile(
    r"\b(?:(?:current|listed|working|final|discharge|admitting|primary|secondary)\s+)?"
    r"diagnos(?:es|is|ed)\b(?P<clutter>\s+(?:per|by|from|dated|on|of\s+record)\b[^.:]{0,60}?)?"
    r"\s*(?:(?:(?:have|has|had)\s+(?:been\s+)?)?(?:is|are|were|was|include[sd]?|including|consist\s+of|listed\s+as|as\s+follows)\b|:"
    r"|(?:with|as\s+having|as|of)\b)\s*:?\s*",
    re.I,
)
_SENTENCE_END = re.compile(r"\.(?=\s+[A-Z\"'(]|\s*$)|\.\s*$")
_NUMBERED = re.compile(r"(?:^|\s)(\d{1,2})[.)]\s+")
_CLUTTER = re.compile(rf"\s*\b(?:per|by)\s+(?:Dr\.?\s*)?\s*(?:dated|on)\s+{DATE_RE}\s*", re.I)
_ADJ_SUFFIX = re.compile(
    r"(?:al|ic|ar|ary|ous|ive|ed|genic|atic|oid|ile|ine|ant|ent|left|right|mild|severe|acute|"
    r"chronic|bilateral|upper|lower)$",
    re.I,
)
_ADJ_WORDS = frozenset(
    [
        "left",
        "right",
        "bilateral",
        "mild",
        "moderate",
        "severe",
        "acute",
        "chronic",
        "upper",
        "lower",
        "mid",
        "recurrent",
        "possible",
        "probable",
        "status",
        "post",
    ]
)


def _is_modifier(word: str) -> bool:
    w = word.lower().strip(",;:()")
    return w in _ADJ_WORDS or bool(_ADJ_SUFFIX.search(w))


_LEVEL = re.compile(r"(?:at\s+)?[CTLS]\d{1,2}(?:\s*-\s*[CTLS]?\d{1,2})?", re.I)
_JOINED_BY = re.compile(r"\b(?:with|status\s+post|s/p|treated|secondary\s+to|due\s+to)\b", re.I)


def _split_and(part: str) -> list[str]:
    """Split on "and", except inside one diagnosis.

    Kept together: shared adjectives ("myofascial and discogenic low back pain"), spinal levels
    ("L4-5 and L5-S1 disc protrusions", "at C5-6 and C6-7") and what follows "with", "status post"
    and the like ("anxiety with mixed anxiety and depressed mood").
    """
    pieces = re.split(r"\s+and\s+", part)
    out = [pieces[0]]
    for p in pieces[1:]:
        left = out[-1].split()
        if (
            (left and all(_is_modifier(w) for w in left))
            or _LEVEL.fullmatch(out[-1].strip())
            or _LEVEL.fullmatch(p.strip())
            or _JOINED_BY.search(out[-1])
        ):
            out[-1] = f"{out[-1]} and {p}"
        else:
            out.append(p)
    return out


def split_diagnoses(text: str) -> list[str]:
    """Split a diagnosis list on semicolons, commas and 'and' (not between shared adjectives)."""
    text = _CLUTTER.sub(" ", text)
    items = _NUMBERED.split(text)
    # "1. A, B. 2. C" -> the numbers alone separate diagnoses
    numbered = len(items) >= 5 or (len(items) == 3 and not items[0].strip())
    parts = [items[i] for i in range(2, len(items), 2)] if numbered else [text]
    out: list[str] = []
    for part in parts:
        # a list with semicolons keeps its commas inside a diagnosis ("herniation, right
        # greater than left; spondylosis")
        separator = r"\s*;\s*" if ";" in part else r"\s*;\s*|,\s+"
        for chunk in [part] if numbered else re.split(separator, part):
            chunk = re.sub(r"^(?:and|or|as well as|also)\s+", "", chunk.strip(" .,:"), flags=re.I)
            if out and _QUALIFIER.fullmatch(chunk):  # "syndrome, right worse than left"
                out[-1] = f"{out[-1]}, {chunk}"
                continue
            for d in _split_and(chunk) if chunk else []:
                d = d.strip(" .,:;")
                if d and len(d) < 200:
                    out.append(d)
    return list(dict.fromkeys(out))


# What qualifies the diagnosis before it, after a comma: a side, a degree, a course.
_QUALIFIER = re.compile(
    r"(?:left|right|bilateral(?:ly)?|(?:left|right)\s+(?:greater|worse|more)\s+than\s+"
    r"(?:left|right)|(?:mild|moderate|severe)(?:\s+(?:to|and)\s+(?:moderate|severe))?|unspecified"
    r"|(?:chronic|acute|resolved|improved|recurrent)|(?:left|right)\s+(?:side|sided|dominant))",
    re.I,
)


def read_diagnoses(flat: str, start: int, end: int) -> tuple[list[str], tuple[int, int] | None]:
    for m in _DX_TRIGGER.finditer(flat, start, end):
        body_start = m.end()
        numbered = re.match(r"\s*1[.)]\s", flat[body_start : body_start + 6])
        if numbered:
            # a numbered list runs while the numbers go on; stop at the first sentence after it
            stop, n = body_start, 1
            while nm := re.compile(rf"(?<![\w.]){n}[.)]\s").search(flat, stop, end):
                stop, n = nm.end(), n + 1
            se = _SENTENCE_END.search(flat, stop, end)
            body_end = se.start() if se else end
        else:
            se = _SENTENCE_END.search(flat, body_start, end)
            body_end = se.start() if se else min(end, body_start + 300)
        if body_end - body_start < 3:
            continue
        found = split_diagnoses(flat[body_start:body_end])
        if found:
            return found, (body_start, body_end)
    return [], None


# ----------------------------------------------------------------------------- requests

_FREQ = re.compile(
    rf"(?<![\w/.])(?P<a>{NUMBER_RE})\s*(?:x|\u00d7|times?)\s*(?:(?:a|per|each|/)\s*)?"
    rf"(?:weeks?|wks?|weekly)\s*(?:x|\u00d7|for|times|over)?\s*(?P<b>{NUMBER_RE})\s*(?:weeks?|wks?)\b",
    re.I,
)
_AXB = re.compile(
    r"(?<![\w/.#-])(?P<a>\d{1,2})\s*[xX\u00d7]\s*(?P<b>\d{1,2})(?![\d/%.])(?!\s*(?:mg|mcg|%|refill))"
)
_COUNT = re.compile(
    rf"(?<![\w/.#-])(?P<n>{NUMBER_RE})\s+(?:[\w/-]+\s+){{0,4}}?(?:sessions?|visits?|treatments?|"
    r"injections?|units?|tablets?|tabs?|pills?|capsules?|caps|patch(?:es)?|appointments?|"
    r"classes|hours|days|months?|procedures?)\b",
    re.I,
)
# "4 hours per day, 5 days per week for 6 weeks": the rates times the span.
_RATE = re.compile(
    rf"(?<![\w/.])(?P<n>{NUMBER_RE})\s*(?:x\s*)?(?:times?|hours?|hrs?|days?|visits?|sessions?)?"
    r"\s*(?:a|per|each|/)\s*(?:day|week|wk|month)\b",
    re.I,
)
_SPAN = re.compile(
    rf"[\s,]*(?:for|x|over)\s*(?P<n>{NUMBER_RE})\s*(?:days?|weeks?|wks?|months?)\b", re.I
)
_REFILLS = re.compile(rf"\b(?:(?:with|x|plus|\+)\s*)?(?P<n>{NUMBER_RE})\s+refills?\b", re.I)
_UR_NOTE = re.compile(
    r"\([^()]*\b(?:UR|utilization\s+review|modified|certified|non-?certified)\b[^()]*\)", re.I
)
# A prescription's directions: its "#" is the quantity, not "1 tab".
_DOSING = re.compile(
    r"\b(?:q\s*\d+\s*h|q\.?[dh]|prn|po|bid|tid|qid|qhs|daily|nightly|tabs?)\b", re.I
)
_WORD_AND_DIGITS = re.compile(rf"\b{NUMBER_RE}\s*\((\d{{1,4}})\)", re.I)
_SUPPLY = re.compile(r"\b(?P<n>\d{1,3})\s*-?\s*days?\s+supply\b", re.I)
_SERIES = re.compile(rf"\bseries\s+of\s+(?P<n>{NUMBER_RE})\b", re.I)
_PACKAGE = re.compile(r"(?<![\w.])(?P<n>\d{1,4})\s*(?:gm|grams?|g|ml|oz)\b", re.I)
_LEADING = re.compile(rf"^\s*(?:\(\s*)?(?P<n>{NUMBER_RE})\b(?!\s*(?:mg|mcg|%|/|-|\.\d|:))", re.I)
_HASH = re.compile(r"#\s*(?P<n>\d{1,4})\b")
_XN = re.compile(r"(?<![\w])[xX\u00d7]\s*(?P<n>\d{1,3})(?!\s*(?:mg|mcg|%|\d|/))\b")
_QTY = re.compile(r"\b(?:qty|quantity|number)\s*[:#]?\s*(?P<n>\d{1,4})\b", re.I)


def read_quantity(s: str) -> Value | None:
    """Total units requested: "2x8" -> 16, "3 times a week for 4 weeks" -> 12, "#60" -> 60.

    Refills multiply a count ("#90 with 2 refills" -> 270); a cream's package size counts when
    nothing else does ("120gm" -> 120).
    """
    # what UR did is not what was asked: "(modified to 4 sessions by UR)" (masked, offsets kept)
    s = _UR_NOTE.sub(lambda m: " " * len(m.group()), s)
    # "twelve (12) sessions" is "12 sessions" (offsets kept)
    s = _WORD_AND_DIGITS.sub(lambda m: " " * (m.start(1) - m.start()) + m[1] + " ", s)
    if m := _SUPPLY.search(s):  # "a 30-day supply"
        return Value(int(m["n"]), m.start("n"), m.end("n"))
    if (m := _LEADING.search(s)) and (n := to_int(m["n"])):
        return Value(n, m.start("n"), m.end("n"))
    if chain := _rate_chain(s):
        return chain
    if _DOSING.search(s) and (hashed := _hashed(s)):  # "1 tab PO q6h PRN, #120": the #
        return hashed
    for rx in (_COUNT, _QTY, _SERIES):
        m = rx.search(s)
        if m:
            n = to_int(m["n"])
            if n:
                return Value(n, m.start("n"), m.end("n"))
    for rx in (_FREQ, _AXB):
        m = rx.search(s)
        if m:
            a, b = to_int(m["a"]), to_int(m["b"])
            if a and b:
                return Value(a * b, m.start(), m.end())
    if hashed := _hashed(s):
        return hashed
    if m := _PACKAGE.search(s):
        return Value(int(m["n"]), m.start("n"), m.end("n")) if int(m["n"]) else None
    return None


def _hashed(s: str) -> Value | None:
    """ "#60" (or "x 60"), times the fills: "#60 x 2 refills" -> 180."""
    for rx in (_HASH, _XN):
        m = rx.search(s)
        if m and (n := int(m["n"])):
            refills = _REFILLS.search(s, m.end())
            if refills and (r := to_int(refills["n"])):
                return Value(n * (r + 1), m.start("n"), refills.end())
            return Value(n, m.start("n"), m.end("n"))
    return None


def _rate_chain(s: str) -> Value | None:
    """Rates ("3 times a week", "4 hours per day, 5 days per week") followed by a span."""
    rates = []
    pos = 0
    while m := _RATE.search(s, pos):
        if rates and s[pos : m.start()].strip(" ,;") not in ("", "and"):
            rates = []  # only rates that follow one another make one chain
        rates.append(m)
        pos = m.end()
        span = _SPAN.match(s, pos)
        if span:
            total = to_int(span["n"])
            for r in rates:
                total = total * to_int(r["n"]) if total and to_int(r["n"]) else None
            if total:
                return Value(total, rates[0].start(), span.end())
    return None


_BILATERAL = re.compile(r"\b(?:bilateral(?:ly)?|both|B/L|BL|bilat)\b", re.I)
_LEFT = re.compile(
    r"\b(?:left|lt\.?)(?!\w)|\((?-i:L)\)|(?<![\w/-])(?-i:L)(?=\s+(?:knee|shoulder|hip|wrist|hand|elbow|ankle|foot)\b)",
    re.I,
)
_RIGHT = re.compile(
    r"\b(?:right|rt\.?)(?!\w)|\((?-i:R)\)|(?<![\w/-])(?-i:R)(?=\s+(?:knee|shoulder|hip|wrist|hand|elbow|ankle|foot)\b)",
    re.I,
)


def read_laterality(s: str) -> Value | None:
    m = _BILATERAL.search(s)
    if m:
        return Value("bilateral", m.start(), m.end())
    left, right = _LEFT.search(s), _RIGHT.search(s)
    if left and right:
        return Value("bilateral", min(left.start(), right.start()), max(left.end(), right.end()))
    m = left or right
    if m:
        return Value("left" if m is left else "right", m.start(), m.end())
    return None


_INJECTIONS = frozenset(
    {
        "trigger_point_injection",
        "epidural_steroid_injection",
        "facet_injection",
        "joint_injection",
        "radiofrequency_ablation",
    }
)


_SYSTEMIC_ROUTE = re.compile(
    r"\b(?:IM|IV|SQ|intramuscular\w*|intravenous\w*|subcutaneous\w*)\b", re.I
)
_SPINAL_INJECTIONS = frozenset(
    {"epidural_steroid_injection", "facet_injection", "radiofrequency_ablation"}
)
_GENERIC_STEROID = re.compile(r"(?:cortico)?steroid|cortisone", re.I)
_AFTER = re.compile(
    r"\b(?:after|following|post-?|status\s+post)\s*(?:the\s+|his\s+|her\s+)?$", re.I
)
# A surgery an item is only *related to*: "Associated surgical service: sling", "replacement TENS
# pads", "physical therapy following the right knee arthroscopy", "cold therapy unit for the
# planned repair". Read so only when the request names something else it asks for.
_RELATED_SURGERY = frozenset({"surgical", "replacement"})
_CONTEXT_OF_SURGERY = re.compile(
    r"\b(?:after|following|post-?\s*(?:op(?:erative(?:ly)?)?)?|status\s+post|s/p|prior\s+to|before"
    r"|pre-?\s*(?:op(?:erative(?:ly)?)?)?|for\s+(?:the|his|her|a|an|planned|scheduled|upcoming)"
    r"|(?:to\s+)?(?:evaluate|assess|check|monitor))"
    r"\s+(?:[\w/-]+\s+){0,4}$",
    re.I,
)


_PROCEDURES = frozenset({"surgery", "spinal_cord_stimulator"})
_GUIDANCE = frozenset({"ultrasound", "xray", "ct", "mri"})
_GUIDED = re.compile(r"[\s-]*(?:guid(?:ance|ed)|localization)\b", re.I)


def _related_surgery(s: str, f) -> bool:
    """Whether the surgery found at ``f`` is what the item is for, not what it asks."""
    if s[f.start : f.end].lower() in _RELATED_SURGERY:
        return True
    return _CONTEXT_OF_SURGERY.search(s, max(0, f.start - 60), f.start) is not None


def read_treatments(s: str, vocab: Vocabulary) -> list[tuple[str, int, int]]:
    found = vocab.matcher("treatment").finditer(s)
    slugs = {f.slug for f in found}
    drop = set()
    if slugs & (_INJECTIONS | {"prp_injection"}):
        drop.add("injection_other")
    if "medication" in slugs and _SYSTEMIC_ROUTE.search(s):
        drop.add("injection_other")  # "Toradol 60mg IM injection": the drug is what is asked
    if "sleep_study" in slugs:
        drop.add("lab_test")  # "in-laboratory sleep study"
    if "radiofrequency_ablation" in slugs:
        drop |= {"surgery", "facet_injection"}  # "RFA of the medial branches" is one procedure
    spinal = bool(slugs & _SPINAL_INJECTIONS)
    for procedure in _PROCEDURES & slugs:
        if slugs - {procedure}:
            drop |= {f for f in found if f.slug == procedure and _related_surgery(s, f)}
    if slugs - _GUIDANCE:  # "injection under ultrasound guidance": the imaging is the injection's
        drop |= {f for f in found if f.slug in _GUIDANCE and _GUIDED.match(s, f.end)}
    out = [
        (f.slug, f.start, f.end)
        for f in found
        if f.slug not in drop
        and f not in drop
        # "transforaminal epidural | steroid injection": the steroid is the epidural's
        and not (spinal and f.slug == "joint_injection" and _GENERIC_STEROID.match(s, f.start))
        # "home health care after surgery" asks for home health, not surgery
        and not (f.slug == "surgery" and _AFTER.search(s, max(0, f.start - 16), f.start))
    ]
    if not out:
        m = MEDICATION_HINT.search(s)
        if m:
            out.append(("medication", m.start(), m.end()))
    seen: dict[str, tuple[str, int, int]] = {}
    for t in out:
        seen.setdefault(t[0], t)
    return list(seen.values())


_TOPICAL = re.compile(
    r"\b(?:creams?|gels?|ointments?|lotions?|patch(?:es)?|topicals?|topically|transdermal"
    r"|liniments?|balms?|roll-?on|foam)\b|\d\s*(?:gm|grams?)\b",  # creams are weighed: 240gm
    re.I,
)
_COMPOUNDED = re.compile(r"\bcompound(?:ed|s)?\b", re.I)


def read_drug(s: str, vocab: Vocabulary) -> tuple[Drug, int, int] | None:
    """The drug a medication request names, its class read in context: a drug asked for as a
    cream, gel or patch is a topical analgesic (a fentanyl patch stays an opioid), several
    drugs in one cream are one compound ("flurbiprofen/cyclobenzaprine/lidocaine"), and a
    cream or compound naming no known drug still has its class."""
    found = vocab.matcher("drug").finditer(s)
    topical = _TOPICAL.search(s)
    compounded = _COMPOUNDED.search(s)
    if not found:
        cue = topical or compounded
        if cue is None:
            return None
        return Drug(None, "topical_analgesic" if topical else "compound"), cue.start(), cue.end()
    first = found[0]
    generics = list(dict.fromkeys(f.slug for f in found))
    brand_topical = s[first.start : first.end].lower() in TOPICAL_BRANDS
    if (topical or brand_topical) and first.slug not in SYSTEMIC_TRANSDERMAL:
        return Drug("/".join(generics), "topical_analgesic"), first.start, found[-1].end
    if compounded and len(generics) > 1:
        return Drug("/".join(generics), "compound"), first.start, found[-1].end
    term = vocab.term("drug", first.slug)
    return Drug(first.slug, term.category or "other_drug"), first.start, first.end


def categories_of(treatments: list[str], vocab: Vocabulary) -> list[str]:
    """The official category of each treatment, each once (a treatment staff added: other)."""
    out = []
    for slug in treatments:
        term = vocab.term("treatment", slug)
        out.append(term.category if term and term.category else "other")
    return list(dict.fromkeys(out))


_BOTH_LIMBS = re.compile(r"\bupper\s+(?:and|&|/)\s+lower\s+(?:extremit|limb)", re.I)
_NAMED_SPINAL = re.compile(r"\s+(?:cord|manipulation|mobilization)\b", re.I)


def read_body_regions(s: str, vocab: Vocabulary) -> list[tuple[str, int, int]]:
    seen: dict[str, tuple[str, int, int]] = {}
    for f in vocab.matcher("body_region").finditer(s):
        if f.slug == "spine" and _NAMED_SPINAL.match(s, f.end):
            continue  # "spinal cord stimulator", "spinal manipulation" name no region
        seen.setdefault(f.slug, (f.slug, f.start, f.end))
    if (m := _BOTH_LIMBS.search(s)) and "lower_extremity" in seen:  # "upper and lower ..."
        seen.setdefault("upper_extremity", ("upper_extremity", m.start(), m.end()))
    if len(seen) > 1:
        seen.pop("spine", None)  # "lumbar spine" already says which spine
    return list(seen.values())
