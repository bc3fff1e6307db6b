"""Reading a whole letter: its layout, its sections, and the fields and items each holds.

Letters come in a few layouts, recognised by their headings (in capitals or not, alone on their
line or opening it):

- ``determination`` (2014 on): "HOW THE IMR FINAL DETERMINATION WAS MADE", "CLINICAL CASE
  SUMMARY", "IMR ISSUES, DECISIONS AND RATIONALES", each item headed "Request:  Upheld". Published
  copies may open with a header ("Case Number:", "Date Assigned:", "UR Denial Date:").
- ``documents_reviewed`` (2013-2014): the same with "DOCUMENTS REVIEWED" and "IMR DECISION(S) AND
  RATIONALE(S)"; items may be headed as above or stated as "1. X is not medically necessary".
- ``early_notice`` (2013): "Notice of Independent Medical Review Determination", each decision a
  numbered sentence ("1) MAXIMUS Federal Services, Inc. has determined the request for X is not
  medically necessary"), listed twice, then "Regarding the request for X:" with its guidelines.
- ``professional_review``: "MEDICAL PROFESSIONAL REVIEW", "ISSUE AT DISPUTE:", "CASE SUMMARY:",
  "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON ...", "RATIONALE ...", "MEDICAL REVIEWER
  QUALIFICATIONS:".

Every reader works on the whitespace-flattened text (``FlatText``) so line and page breaks never
split a phrase; spans are mapped back to the original text for provenance.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from .citations import parse_citations
from .fields import (
    read_age,
    read_body_regions,
    read_case_number,
    read_date_assigned,
    read_date_of_injury,
    read_diagnoses,
    read_laterality,
    read_quantity,
    read_reviewer,
    read_sex,
    read_treatments,
    read_ur_date,
)
from .model import Citation, Item, ParsedLetter, ParseError, ParseWarning, Patient, Reviewer
from .text import FlatText, content_hash, lower_same_length
from .vocab import DEFAULT_VOCABULARY, Vocabulary

# Bump when parsing changes what it stores, so stored letters can be told apart and re-parsed.
PARSER_VERSION = "2026.11.2"

_SPINE = frozenset({"cervical_spine", "thoracic_spine", "lumbar_spine"})
CLAIMS_ADMINISTRATOR, MAXIMUS = "claims_administrator", "maximus"
UPHELD, OVERTURNED = "upheld", "overturned"

# ------------------------------------------------------------------------------ headings


def _words(phrase: str) -> str:
    """A heading phrase as a regex: words separated by any whitespace, '(S)' optional."""
    parts = []
    for word in phrase.lower().split():
        word = re.escape(word).replace(r"\(s\)", r"(?:\s*\(\s*s\s*\))?")
        parts.append(word)
    return r"\s+".join(parts)


# (section kind, heading phrases). Longer phrases first where one contains another.
_HEADINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "reviewer",
        (
            "HOW THE IMR FINAL DETERMINATION WAS MADE",
            "MEDICAL REVIEWER QUALIFICATIONS",
            "MEDICAL QUALIFICATIONS OF THE EXPERT REVIEWER",
            "EXPERT REVIEWER QUALIFICATIONS",
        ),
    ),
    ("documents", ("DOCUMENTS REVIEWED FOR DETERMINATION", "DOCUMENTS REVIEWED")),
    ("summary", ("CLINICAL CASE SUMMARY", "CASE SUMMARY")),
    (
        "decisions",
        (
            "IMR ISSUES, DECISIONS AND RATIONALES",
            "IMR DECISION(S) AND RATIONALE(S)",
            "INDEPENDENT MEDICAL REVIEW DECISION(S) AND RATIONALE(S)",
        ),
    ),
    ("issue", ("ISSUE(S) AT DISPUTE",)),
    (
        "guidelines",
        (
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER AND WHY",
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER",
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON",
        ),
    ),
    (
        "rationale",
        (
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS NOT MEDICALLY NECESSARY",
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS MEDICALLY NECESSARY",
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE",
        ),
    ),
    ("title", ("MEDICAL PROFESSIONAL REVIEW",)),
)
_HEADING_RE = re.compile(
    r"[ \t]*(?:"
    + "|".join(
        f"(?P<{kind}{i}>{_words(p)})" for kind, phrases in _HEADINGS for i, p in enumerate(phrases)
    )
    + r")[ \t]*(?P<colon>:)?(?P<rest>[^\n]*)"
)  # matched at a line start of the lower-case text
# Finding the lines that open with a heading: anchored on the newline (a literal) and without
# groups, this is several times faster than scanning with the pattern above (the engine's cost
# per position grows with the number of groups); that one then reads the few lines found.
_HEADING_LINE = re.compile(
    r"\n[ \t]*(?=["
    + "".join(sorted({p[0].lower() for _, phrases in _HEADINGS for p in phrases}))
    + "])(?:"
    + "|".join(f"(?:{_words(p)})" for _, phrases in _HEADINGS for p in phrases)
    + ")"
)


@dataclass
class Section:
    kind: str
    heading: str
    start: int  # flat offset where the heading starts
    body_start: int  # flat offset where its text starts
    end: int  # flat offset where the next heading starts (or the text ends)


def find_sections(ft: FlatText) -> dict[str, Section]:
    """The first heading of each kind, with the flat bounds of its body."""
    hits: list[tuple[int, int, str, str]] = []
    lower = ft.text_lower
    for line_start in [0, *(m.start() + 1 for m in _HEADING_LINE.finditer(lower))]:
        m = _HEADING_RE.match(lower, line_start)
        if m is None:
            continue
        kind = next(
            re.sub(r"\d+$", "", k)
            for k, v in m.groupdict().items()
            if v is not None and k not in ("colon", "rest")
        )
        heading = ft.text[m.start() : m.end()].strip()
        head_text = heading if not m["rest"] else heading[: len(heading) - len(m["rest"])]
        alone = not m["rest"].strip()
        # Prose can say "clinical case summary" at a line start: a heading is in capitals, or
        # ends its line, or carries a colon.
        letters = re.sub(r"[^A-Za-z]", "", head_text)
        if not (letters.isupper() or alone or m["colon"]):
            continue
        body = m.end() - len(m["rest"]) if m["rest"] else m.end()
        hits.append((ft.to_flat(m.start()), ft.to_flat(body), kind, head_text))
    hits.sort()
    sections: dict[str, Section] = {}
    for i, (start, body_start, kind, heading) in enumerate(hits):
        end = hits[i + 1][0] if i + 1 < len(hits) else len(ft.flat)
        if kind not in sections:
            sections[kind] = Section(kind, heading, start, max(body_start, start), max(end, start))
    return sections


def detect_layout(sections: dict[str, Section]) -> str:
    if "issue" in sections or "title" in sections:
        return "professional_review"
    if "documents" in sections:
        return "documents_reviewed"
    if "decisions" in sections and sections["decisions"].heading.lower().startswith("independent"):
        return "early_notice"  # 2013: "Notice of Independent Medical Review Determination"
    if "decisions" in sections:
        return "determination"
    return "unknown"


# --------------------------------------------------------------------------------- items

_OUTCOME_WORD = r"(?P<outcome>upheld|overturned)"
# "Physical Therapy 2x8 for the Lumbar Spine:  Upheld" ending its line. The scan looks for the
# colon and outcome (a literal start is fast); the request is the line up to that colon.
_ITEM_OUTCOME = re.compile(
    rf":[ \t]*{_OUTCOME_WORD}[ \t]*\.?[ \t]*$", re.M
)  # run on the lower-case text
_ENUMERATION = re.compile(r"^\s*(?:\d{1,2}|[a-z])\s*[.)]\s+", re.I)
_LINE_END_OK = re.compile(r"[.:;?!)\"'\]]\s*$|^\s*Page\s+\d+\s+of\s+\d+\s*$", re.I)
# "1. Urine drug screen is not medically necessary and appropriate."
# (early letters: "1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
# functional restoration program is notmedically necessary and appropriate." -- the PDF text
# glues "not" to "medically"; the request may hold "7.5mg" or "Inc." but ends no sentence)
_ITEM_SENTENCE = re.compile(
    r"(?:(?<=\s)|^)(?:\d{1,2}\s*[.)]\s+)(?P<request>(?:[^.]|\.(?=\S)|(?<=Inc)\.){3,300}?)\s+"
    r"(?:is|are|was|were)\s+(?P<neg>not\s*)?medically\s+necessary(?:\s+(?:and|or)\s+appropriate)?"
    r"\s*\.",
    re.I,
)
# Early letters then take each item up again: "1) Regarding the request for a 28 day ...:"
_REGARDING = re.compile(
    r"(?:(?<=\s)|^)(?:\d{1,2}\s*[.)]\s+)?Regarding\s+the\s+requests?\s+for\s+(?:(?:a|an|the)\s+)?"
    r"(?P<request>[^:]{3,300}?)\s*:",
    re.I,
)
_REQUEST_PREAMBLE = re.compile(
    r"^(?:MAXIMUS\s+Federal\s+Services,?\s+Inc\.?\s+has\s+determined\s+(?:that\s+)?)?"
    r"(?:the\s+)?(?:requests?\s+for\s+)?(?:(?:a|an|the)\s+(?=\S))?",
    re.I,
)
# The labels of an item's parts, each ending at a colon. An item body is scanned for colons (a
# literal, so fast) and the words before each are tested against this, anchored at the colon.
_GUIDELINES_RELIED = (
    r"(?:medical\s+treatment\s+)?guidelines?\s*(?:\(\s*s\s*\))?\s+relied\s+upon\s+by\s+the"
)
_LABEL_BEFORE_COLON = re.compile(
    r"(?<![a-z0-9_])(?:"
    rf"(?P<ca>claims\s+administrator(?:'s)?\s+guidelines?|{_GUIDELINES_RELIED}\s+claims\s+"
    r"administrator[^:]{0,60}?)"
    rf"|(?P<max>maximus\s+guidelines?|{_GUIDELINES_RELIED}\s+(?:expert|professional|medical|"
    r"independent)\s+reviewer[^:]{0,60}?)"
    r"|(?P<rationale>decision\s+rationale|rationale\s+for\s+(?:the\s+)?decision|rationale)"
    r")\s*$"
)  # run on the lower-case text
_LABEL_REACH = 160  # the longest label, with room for "... in Utilization Review"
# Conclusions a rationale ends on, read when a heading gives no outcome.
_CONCLUSION = re.compile(
    r"\b(?P<up>not\s+medically\s+necessary|not\s+(?:been\s+)?established|non-?\s*certified"
    r"|not\s+certified|not\s+(?:recommended|supported|indicated|warranted)|uph[eo]ld)"
    r"|\b(?P<over>medically\s+necessary|(?:has\s+been|is)\s+established|(?<!non-)certified"
    r"|overturn(?:ed)?)\b",
    re.I,
)


@dataclass
class _ItemBlock:
    request: str
    request_span: tuple[int, int]  # flat
    outcome: str | None
    outcome_span: tuple[int, int] | None  # flat
    head: int  # flat start of the item's heading (where the previous item's body ends)
    start: int  # flat start of the item's body
    end: int  # flat end of the item's body


def _clean_request(raw: str) -> tuple[str, int]:
    """Request text without a list number or preamble, and how many characters were cut."""
    s = _ENUMERATION.sub("", raw)
    s = _REQUEST_PREAMBLE.sub("", s) if re.match(r"\s*(?:MAXIMUS|the\s+request)", s, re.I) else s
    cut = len(raw) - len(s)
    return re.sub(r"\s+", " ", s).strip(), cut


def _heading_items(ft: FlatText, start: int, end: int) -> list[_ItemBlock]:
    """Items headed "Request:  Upheld", each with a body running to the next heading."""
    text = ft.text
    o_start, o_end = ft.span(start, end) if end > start else (0, 0)
    found = []
    for m in _ITEM_OUTCOME.finditer(ft.text_lower, o_start, o_end):
        line_start = max(o_start, text.rfind("\n", 0, m.start()) + 1)
        line = text[line_start : m.start()]
        req_start = line_start + len(line) - len(line.lstrip())
        req_end = line_start + len(line.rstrip())
        if req_end <= req_start:
            continue
        # A long request wraps onto the line above when that line ends mid-phrase.
        for _ in range(2):
            before = text.rfind("\n", o_start, req_start)  # end of the line above
            above_end = len(text[o_start:before].rstrip()) + o_start if before > o_start else 0
            above_start = max(o_start, text.rfind("\n", o_start, above_end) + 1)
            above = text[above_start:above_end]
            if (
                before <= o_start
                or not above.strip()
                or _LINE_END_OK.search(above)
                or _HEADING_RE.match(lower_same_length(above))
            ):
                break
            req_start = above_start + len(above) - len(above.lstrip())
        raw = text[req_start:req_end]
        request, cut = _clean_request(raw)
        if not request:
            continue
        fs, fe = ft.to_flat(req_start), ft.to_flat(req_end - 1) + 1
        found.append(
            _ItemBlock(
                request=request,
                request_span=(min(fs + cut, fe), fe),
                outcome=m["outcome"].lower(),
                outcome_span=(ft.to_flat(m.start("outcome")), ft.to_flat(m.end("outcome") - 1) + 1),
                head=fs,
                start=ft.to_flat(m.end()),
                end=end,
            )
        )
    _cut_bodies(found)
    return found


def _sentence_items(flat: str, start: int, end: int) -> list[_ItemBlock]:
    """Items stated as "1. X is (not) medically necessary and appropriate." (older letters)."""
    found: list[_ItemBlock] = []
    seen: dict[str, _ItemBlock] = {}
    for m in _ITEM_SENTENCE.finditer(flat, start, end):
        request, cut = _clean_request(m["request"])
        if not request:
            continue
        key = request.lower()
        outcome = UPHELD if m["neg"] else OVERTURNED
        if key in seen:  # listed once at the top and again with its rationale
            seen[key].head, seen[key].start = m.start(), m.end()
            continue
        block = _ItemBlock(
            request=request,
            request_span=(m.start("request") + cut, m.end("request")),
            outcome=outcome,
            outcome_span=(m.end("request"), m.end()),
            head=m.start(),
            start=m.end(),
            end=end,
        )
        seen[key] = block
        found.append(block)
    # Where each item's guidelines and rationale are: anywhere after, even past the case summary.
    for m in _REGARDING.finditer(flat, start):
        request, _ = _clean_request(m["request"])
        block = seen.get(request.lower())
        if block is not None:
            block.head, block.start, block.end = m.start(), m.end(), len(flat)
    _cut_bodies(sorted(found, key=lambda b: b.head))
    return found


def _cut_bodies(ordered: list[_ItemBlock]) -> None:
    """Each item's body ends where the next item's heading starts."""
    for a, b in pairwise(ordered):
        a.end = max(a.start, b.head)


def _issue_items(flat: str, issue: Section) -> list[_ItemBlock]:
    """Requests of an "ISSUE AT DISPUTE:" section, one per numbered line (or the whole)."""
    body = flat[issue.body_start : issue.end]
    numbers = [(m.start(), m.end()) for m in re.finditer(r"(?:^|\s)\d{1,2}\s*[.)]\s+", body)]
    if len(numbers) >= 2 or (numbers and numbers[0][0] == 0):
        ends = [start for start, _ in numbers[1:]] + [len(body)]
        pieces = [(body_start, end) for (_, body_start), end in zip(numbers, ends, strict=True)]
    else:
        pieces = [(0, len(body))]
    out = []
    for s, e in pieces:
        raw = body[s:e]
        m = re.match(
            r"\s*(?:(?:Is|Was|Whether)\s+)?(?:the\s+)?(?:(?:retrospective\s+|prospective\s+)?"
            r"requests?\s+for\s+)?(?P<r>.*?)\s*(?:(?:is|was|are|were)\s+)?(?:medically\s+necessary"
            r"(?:\s+and\s+appropriate)?)?\s*[?.]?\s*$",
            raw,
            re.I | re.S,
        )
        request = (m["r"] if m else raw).strip(" .:;")
        if request:
            offset = issue.body_start + s + (m.start("r") if m else 0)
            span = (offset, offset + len(request))
            out.append(_ItemBlock(request, span, None, None, head=offset, start=0, end=0))
    return out


# "The Expert Reviewer found the guideline used by the Claims Administrator relevant and
# appropriate": the reviewer relies on the claims administrator's citations as well.
_ADOPTS = re.compile(
    r"\bfound\s+the\s+guidelines?\s+(?:used|cited|relied\s+upon)\s+by\s+the\s+Claims\s+"
    r"Administrator\s+(?:to\s+be\s+)?(?:relevant|appropriate|applicable)",
    re.I,
)


def _adopted(claims_administrator: list[Citation], own: list[Citation]) -> list[Citation]:
    """The reviewer's citations plus those of the claims administrator it adopted (merged)."""
    merged = {c.guideline: c for c in own}
    for c in claims_administrator:
        if c.source != CLAIMS_ADMINISTRATOR:
            continue
        mine = merged.get(c.guideline)
        if mine is None:
            merged[c.guideline] = replace(
                c, source=MAXIMUS, chapters=list(c.chapters), pages=list(c.pages)
            )
            continue
        mine.chapters.extend(ch for ch in c.chapters if ch not in mine.chapters)
        mine.pages.extend(p for p in c.pages if p not in mine.pages)
    return list(merged.values())


def conclusion(flat: str, start: int, end: int) -> tuple[str, tuple[int, int]] | None:
    """The outcome a rationale concludes with: its last conclusive phrase."""
    last = None
    for m in _CONCLUSION.finditer(flat, start, end):
        last = m
    if last is None:
        return None
    return (UPHELD if last["up"] else OVERTURNED), last.span()


def _labelled(lower: str, start: int, end: int) -> dict[str, tuple[int, int]]:
    """Bounds of the claims-administrator, MAXIMUS and rationale parts of an item body."""
    marks: dict[str, tuple[int, int]] = {}
    colon = lower.find(":", start, end)
    while colon != -1 and len(marks) < 3:
        m = _LABEL_BEFORE_COLON.search(lower, max(start, colon - _LABEL_REACH), colon)
        if m and m.lastgroup not in marks:
            marks[m.lastgroup] = (m.start(), colon + 1)
        colon = lower.find(":", colon + 1, end)
    ordered = sorted((label_start, body, name) for name, (label_start, body) in marks.items())
    parts = {}
    for i, (_, body, name) in enumerate(ordered):
        parts[name] = (body, ordered[i + 1][0] if i + 1 < len(ordered) else end)
    return parts


# ------------------------------------------------------------------------------ the letter

_BOILERPLATE = re.compile(
    r"\s*The\s+expert\s+reviewer\s+developed\s+the\s+following\s+clinical\s+case\s+summary"
    r"[^:]*:\s*|\s*Disclaimer:[^.]*\.\s*",
    re.I,
)
_IMR_SIGNAL = re.compile(
    r"\b(?:Independent\s+Medical\s+Review|IMR|MAXIMUS|expert\s+reviewer|medically\s+necessary"
    r"|Utilization\s+Review)\b",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise ParseError(f"expected the letter's text, got {type(text).__name__}")
    if not text.strip():
        raise ParseError("the file is empty: there is no letter text to read")
    if len(_CONTROL.findall(text)) > max(3, len(text) // 100):
        raise ParseError("this is binary data, not letter text")
    return text


class _Reader:
    """One letter being read: the flat text, its sections and the warnings so far."""

    def __init__(self, text: str, vocab: Vocabulary) -> None:
        self.ft = FlatText(text)
        self.flat = self.ft.flat
        self.vocab = vocab
        self.sections = find_sections(self.ft)
        self.layout = detect_layout(self.sections)
        self.warnings: list[ParseWarning] = []
        self.spans: dict[str, object] = {}

    def warn(self, field: str, message: str) -> None:
        self.warnings.append(ParseWarning(field, message))

    def bounds(self, kind: str) -> tuple[int, int] | None:
        """Flat bounds of the body of the section of ``kind``, if the letter has one."""
        s = self.sections.get(kind)
        return (s.body_start, s.end) if s else None

    def span(self, field: str, start: int, end: int) -> None:
        self.spans[field] = self.ft.span(start, end)

    # --- header, reviewer, patient

    def header(self) -> tuple[int, int]:
        first = min((s.start for s in self.sections.values()), default=len(self.flat))
        return (0, first)

    def read(self) -> ParsedLetter:
        header = self.header()
        blocks = self.item_blocks()
        summary = self.bounds("summary") or (0, len(self.flat))
        # items taken up again after the case summary (early notices) end it
        later = [b.head for b in blocks if summary[0] < b.head < summary[1]]
        if later:
            summary = (summary[0], min(later))
        case_number = read_case_number(self.flat, *header)
        date_assigned = read_date_assigned(self.flat, *header)
        decisions = self.sections.get("decisions")
        intro = (decisions.body_start, blocks[0].head) if decisions and blocks else (0, 0)
        ur = read_ur_date(self.flat, header, summary, intro)
        for name, v in (
            ("case_number", case_number),
            ("date_assigned", date_assigned),
            ("ur_date", ur),
        ):
            if v:
                self.span(name, v.start, v.end)
        if ur is None and case_number is not None:
            self.warn("ur_date", "the header has no UR denial date")

        reviewer = self.reviewer(summary)
        patient = self.patient(header, summary)
        diagnoses, dx_span = read_diagnoses(self.flat, *summary)
        if dx_span:
            self.span("diagnoses", *dx_span)
        else:
            self.warn("diagnoses", "no diagnosis found in the case summary")
        case_summary = None
        if "summary" in self.sections:
            s, e = summary
            lead = _BOILERPLATE.match(self.flat, s, e)
            s = lead.end() if lead else s
            case_summary = self.flat[s:e].strip() or None
            if case_summary:
                self.span("case_summary", s, e)
        else:
            self.warn("case_summary", "the letter has no case summary heading")

        items = self.items(blocks, dx_span, summary)
        return ParsedLetter(
            layout=self.layout,
            reviewer=reviewer,
            patient=patient,
            diagnoses=diagnoses,
            ur_date=ur.value if ur else None,
            items=items,
            case_summary=case_summary,
            case_number=case_number.value if case_number else None,
            date_assigned=date_assigned.value if date_assigned else None,
            content_hash=content_hash(self.ft.text),
            warnings=self.warnings,
            spans=self.spans,
        )

    def reviewer(self, summary: tuple[int, int]) -> Reviewer:
        region = self.bounds("reviewer")
        lower = self.ft.lower
        found = read_reviewer(self.flat, *(region or self.header()), self.vocab, lower)
        if region is None or not (found.states or found.specialties):
            # Credentials stand before the summary when the letter has no heading for them.
            found = read_reviewer(self.flat, 0, summary[0] or len(self.flat), self.vocab, lower)
        if found.states:
            self.spans["reviewer.licensure_states"] = [
                self.ft.span(s, e) for _, s, e in found.states
            ]
        else:
            self.warn("reviewer.licensure_states", "no state of licensure found")
        if found.specialties:
            self.spans["reviewer.specialties"] = [
                self.ft.span(s, e) for _, s, e in found.specialties
            ]
        else:
            self.warn("reviewer.specialties", "no reviewer specialty found")
        return Reviewer(
            licensure_states=[slug for slug, _, _ in found.states],
            specialties=[slug for slug, _, _ in found.specialties],
            board_certified=found.board_certified,
        )

    def patient(self, header: tuple[int, int], summary: tuple[int, int]) -> Patient:
        age = read_age(self.flat, *summary)
        sex = read_sex(self.flat, *summary, age)
        doi = read_date_of_injury(self.flat, header, summary)
        for name, v in (
            ("patient.age", age),
            ("patient.sex", sex),
            ("patient.date_of_injury", doi),
        ):
            if v:
                self.span(name, v.start, v.end)
            else:
                self.warn(name, f"no {name.split('.')[1].replace('_', ' ')} found in the summary")
        return Patient(
            age=age.value if age else None,
            sex=sex.value if sex else None,
            date_of_injury=doi.value if doi else None,
        )

    # --- items

    def item_blocks(self) -> list[_ItemBlock]:
        decisions = self.bounds("decisions")
        region = decisions or (self.header()[1] if self.sections else 0, len(self.flat))
        blocks = _heading_items(self.ft, *region)
        if not blocks and decisions is None and self.sections:
            blocks = _heading_items(self.ft, 0, len(self.flat))
        if not blocks:
            blocks = _sentence_items(self.flat, *region)
        if not blocks and "issue" in self.sections:
            blocks = _issue_items(self.flat, self.sections["issue"])
        return blocks

    def items(self, blocks: list[_ItemBlock], dx_span, summary) -> list[Item]:
        if not blocks:
            if not _IMR_SIGNAL.search(self.flat):
                raise ParseError(
                    "this does not look like an IMR Final Determination letter: it has none of "
                    "the letter's headings and no disputed item with a decision"
                )
            raise ParseError(
                "no disputed item with a decision was found (the letter's decisions section is "
                "missing or unreadable)"
            )
        inferred = functools.cache(lambda: self.inferred_regions(dx_span, summary))
        return [self.item(i, block, inferred) for i, block in enumerate(blocks, start=1)]

    def inferred_regions(self, dx_span, summary) -> list[tuple[str, int, int]]:
        """The body region the case summary makes plain: the diagnoses', else the most named."""
        if dx_span:
            found = read_body_regions(self.flat[dx_span[0] : dx_span[1]], self.vocab)
            if any(slug in _SPINE for slug, _, _ in found):
                # "lumbar radiculopathy into the left lower extremity" is a spine's
                found = [f for f in found if f[0] not in ("upper_extremity", "lower_extremity")]
            if found:
                return [(slug, s + dx_span[0], e + dx_span[0]) for slug, s, e in found]
        counts: dict[str, list[tuple[int, int]]] = {}
        for f in self.vocab.matcher("body_region").finditer(self.flat, *summary):
            counts.setdefault(f.slug, []).append((f.start, f.end))
        counts.pop("spine", None)
        if not counts:
            return []
        best = max(counts.values(), key=len)
        if sum(1 for v in counts.values() if len(v) == len(best)) > 1:
            return []  # no region stands out: do not guess
        slug = next(k for k, v in counts.items() if v is best)
        return [(slug, *best[0])]

    def item(self, position: int, block: _ItemBlock, inferred: Callable[[], list]) -> Item:
        """One disputed item; ``inferred()`` gives the summary's region, read only if needed."""
        flat, ft = self.flat, self.ft
        rs, _ = block.request_span
        item = Item(position=position, request=block.request, outcome=block.outcome)
        item.spans["request"] = ft.span(*block.request_span)
        if self.layout == "professional_review" and block.end <= block.start:
            parts = {}
            if (g := self.bounds("guidelines")) is not None:
                parts["max"] = g
            if (r := self.bounds("rationale")) is not None:
                parts["rationale"] = r
        else:
            parts = _labelled(ft.lower, block.start, block.end)
            if "rationale" not in parts and block.end > block.start:
                parts["rationale"] = (block.start, block.end)

        for source, key in ((CLAIMS_ADMINISTRATOR, "ca"), (MAXIMUS, "max")):
            if key in parts:
                found = parse_citations(ft, *parts[key], source, self.vocab)
                if source == MAXIMUS and _ADOPTS.search(flat, *parts[key]):
                    found = _adopted(item.citations, found)
                item.citations.extend(found)
                if not found:
                    self.warn(
                        f"items[{position}].citations",
                        f"the {source.replace('_', ' ')} guideline could not be read",
                    )
            elif self.layout != "professional_review" or source == MAXIMUS:
                self.warn(
                    f"items[{position}].citations",
                    f"no {source.replace('_', ' ')} guideline in the letter",
                )
        if "rationale" in parts:
            s, e = parts["rationale"]
            text = flat[s:e].strip()
            if text:
                item.rationale = text
                lead = len(flat[s:e]) - len(flat[s:e].lstrip())
                item.spans["rationale"] = ft.span(s + lead, s + lead + len(text))
        if not item.rationale:
            self.warn(f"items[{position}].rationale", "no decision rationale found")

        if block.outcome_span:
            item.spans["outcome"] = ft.span(*block.outcome_span)
        if item.outcome is None:
            r = parts.get("rationale")
            found = conclusion(flat, *r) if r else None
            if found:
                item.outcome = found[0]
                item.spans["outcome"] = ft.span(*found[1])
                self.warn(
                    f"items[{position}].outcome",
                    "read from the rationale's conclusion, not from a heading",
                )
            else:
                self.warn(f"items[{position}].outcome", "no outcome (upheld or overturned) found")

        request = block.request
        treatments = read_treatments(request, self.vocab)
        item.treatments = [slug for slug, _, _ in treatments]
        if treatments:
            item.spans["treatments"] = [ft.span(rs + s, rs + e) for _, s, e in treatments]
        else:
            self.warn(f"items[{position}].treatments", f"no known treatment in {request!r}")
        regions = read_body_regions(request, self.vocab)
        if regions:
            item.body_regions = [slug for slug, _, _ in regions]
            item.spans["body_regions"] = [ft.span(rs + s, rs + e) for _, s, e in regions]
        elif found := inferred():
            item.body_regions = [slug for slug, _, _ in found]
            item.body_regions_inferred = True
            item.spans["body_regions"] = [ft.span(s, e) for _, s, e in found]
        side = read_laterality(request)
        if side:
            item.laterality = side.value
            item.spans["laterality"] = ft.span(rs + side.start, rs + side.end)
        qty = read_quantity(request)
        if qty:
            item.quantity = qty.value
            item.spans["quantity"] = ft.span(rs + qty.start, rs + qty.end)
        return item


def parse_unguarded(text: str, vocab: Vocabulary = DEFAULT_VOCABULARY) -> ParsedLetter:
    """``parse_letter`` without its safety net: tests call this to see real failures."""
    return _Reader(_check_text(text), vocab).read()


def parse_letter(text: str, vocab: Vocabulary = DEFAULT_VOCABULARY) -> ParsedLetter:
    """Parse one letter's text. Raises ``ParseError`` (and nothing else) when it cannot.

    A field that cannot be read is left empty with a warning in ``ParsedLetter.warnings``.
    """
    try:
        return parse_unguarded(text, vocab)
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must not stop an ingest: report it as this letter's
        raise ParseError(
            f"the parser failed on this letter ({type(exc).__name__}: {exc}); please report it"
        ) from exc
