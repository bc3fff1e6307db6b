"""Finding a letter's disputed items, and the parts of each item's text.

Each layout states its items its own way; ``find_item_blocks`` tries the ways in turn:

- headed items, "Physical Therapy 2x8 for the Lumbar Spine:  Upheld" ending its line, each
  body running to the next heading;
- sentences, "1. X is (not) medically necessary and appropriate." (older letters), taken up
  again by "Regarding the request for X:" with their guidelines and rationale;
- the numbered lines of an "ISSUE AT DISPUTE:" section (professional reviews), whose
  guidelines and rationale are sections of the letter.

An item body is then cut into its labelled parts (claims administrator's guidelines, the
reviewer's, the rationale) by ``labelled_parts``. Offsets are flat (``FlatText.flat``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise

from .model import Citation
from .sections import Section, is_heading
from .text import FlatText

CLAIMS_ADMINISTRATOR, MAXIMUS = "claims_administrator", "maximus"
UPHELD, OVERTURNED = "upheld", "overturned"

_OUTCOME_WORD = r"(?P<outcome>upheld|overturned)"
# "Physical Therapy 2x8 for the Lumbar Spine:  Upheld" ending its line. The scan looks for the
# colon and outcome (a literal start is fast); the request is the line up to that colon.
# The outcome may stand alone on the next line, where the heading was wrapped at the page width,
# and may say more in brackets: "Upheld (not medically necessary)"; a dash may stand for the
# colon ("Soma 350mg #90 - UPHELD").
_OUTCOME_AFTER = (
    rf"[ \t]*(?:\n[ \t]*)*{_OUTCOME_WORD}[ \t]*\.?[ \t]*(?:\([^()]{{1,60}}\)[ \t]*\.?[ \t]*)?$"
)
# (two patterns, each opening with its literal, so the scan skips ahead to it)
_ITEM_OUTCOMES = (
    re.compile(rf":{_OUTCOME_AFTER}", re.M),
    re.compile(rf"-(?<=\s-){_OUTCOME_AFTER}", re.M),
    re.compile(rf"\|{_OUTCOME_AFTER}", re.M),  # a row of a "Treatment | Determination" table
)  # run on the lower-case text
_WRAPPED_LINES = 8  # a request of 300 characters wrapped at 40
_ENUMERATION = re.compile(
    r"^\s*(?:(?:issue|item|request)\s*(?:no\.?|#)?\s*\d{1,2}(?:\s+of\s+\d{1,2})?\s*[.):-]?"
    r"|(?:\d{1,2}|[a-z])\s*[.)]"
    r"|[\u2022\u00b7\u25aa\u25cf\u2023])\s+",
    re.I,
)
# "Determination:  OVERTURNED" on a line of its own: the request is the line above.
_OUTCOME_LABEL = re.compile(
    r"^\s*(?:(?:final|imr)\s+)?(?:determination|decision|outcome|result|finding)s?\s*$", re.I
)
# A line that leads into a request wrapped below it, though it ends with a colon.
_REQUEST_LEAD = re.compile(
    r"(?:associated\s+surgical\s+services?|(?:retrospective|prospective)(?:\s+requests?)?"
    r"|qty|quantity|dos|date\s+of\s+service)\s*:\s*$",
    re.I,
)
_LINE_END_OK = re.compile(
    r"[.:;?!\"'\]]\s*$|^\s*Page\s+\d+\s+of\s+\d+\s*$|\b(?:upheld|overturned)\s*\.?\s*(?:\([^()]*\))?\s*$",
    re.I,
)  # (a line ending in an outcome is the item above's heading)
# "1. Urine drug screen is not medically necessary and appropriate."
# (early letters: "1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
# functional restoration program is notmedically necessary and appropriate." -- the PDF text
# glues "not" to "medically"; the request may hold "7.5mg" or "Inc." but ends no sentence)
_ITEM_SENTENCE = re.compile(
    # a number or a bullet
    r"(?:(?<=\s)|^)(?:\d{1,2}\s*[.)]\s+|[\u2022\u00b7\u25aa\u25cf\u2023*]\s*)"
    r"(?P<request>(?:[^.]|\.(?=\S)|(?<=Inc)\.){3,300}?)\s+"
    r"(?:is|are|was|were)\s+(?P<neg>not\s*)?medically\s+necessary(?:\s+(?:and|or)\s+appropriate)?"
    r"\s*\.",
    re.I,
)
# The fallback's: "the request for X is (not) medically necessary" anywhere, numbered or not.
_LOOSE_SENTENCE = re.compile(
    r"(?:(?<=\s)|^)(?:\d{1,2}\s*[.)]\s+)?(?:the\s+)?(?:retrospective\s+|prospective\s+)?requests?"
    r"\s+for\s+(?P<request>(?:[^.]|\.(?=\S)){3,300}?)\s+(?:is|are|was|were)\s+(?P<neg>not\s*)?"
    r"medically\s+necessary(?:\s+(?:and|or)\s+appropriate)?\s*\.",
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
_GUIDELINE_S = r"guidelines?(?:\s*\(\s*s\s*\))?"  # "guideline", "guidelines", "guideline(s)"
_GUIDELINES_RELIED = (
    r"(?:medical\s+treatment\s+)?guidelines?\s*(?:\(\s*s\s*\))?\s+relied\s+upon\s+by\s+the"
)
_LABEL_BEFORE_COLON = re.compile(
    r"(?<![a-z0-9_])(?:"
    rf"(?P<ca>claims\s+administrator(?:'s)?\s+{_GUIDELINE_S}|{_GUIDELINES_RELIED}\s+claims\s+"
    r"administrator[^:]{0,60}?)"
    rf"|(?P<max>maximus(?:'s)?\s+{_GUIDELINE_S}|{_GUIDELINES_RELIED}\s+(?:(?:expert|professional|medical|"
    r"independent)\s+)?reviewer[^:]{0,60}?)"
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
class ItemBlock:
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


def _heading_items(ft: FlatText, start: int, end: int) -> list[ItemBlock]:
    """Items headed "Request:  Upheld", each with a body running to the next heading."""
    text = ft.text
    o_start, o_end = ft.text_span(start, end) if end > start else (0, 0)
    found = []
    outcomes = [m for rx in _ITEM_OUTCOMES for m in rx.finditer(ft.text_lower, o_start, o_end)]
    for m in sorted(outcomes, key=lambda m: m.start()):
        line_start = max(o_start, text.rfind("\n", 0, m.start()) + 1)
        line = text[line_start : m.start()]
        req_start = line_start + len(line) - len(line.lstrip())
        req_end = line_start + len(line.rstrip())
        if _OUTCOME_LABEL.match(line) or not line.strip():  # the request stands above it
            req_end = len(text[o_start:line_start].rstrip()) + o_start
            req_start = max(o_start, text.rfind("\n", o_start, req_end) + 1)
            req_start += len(text[req_start:req_end]) - len(text[req_start:req_end].lstrip())
        if req_end <= req_start:
            continue
        req_start = _wrapped_start(text, o_start, req_start)
        raw = text[req_start:req_end]
        request, cut = _clean_request(raw)
        if not request:
            continue
        fs, fe = ft.to_flat(req_start), ft.to_flat(req_end - 1) + 1
        found.append(
            ItemBlock(
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


def _wrapped_start(text: str, lo: int, req_start: int) -> int:
    """Where a request starts that may wrap onto the lines above, while the line above ends
    mid-phrase. Offsets are in ``text``, not before ``lo``."""
    for _ in range(_WRAPPED_LINES):
        before = text.rfind("\n", lo, req_start)  # end of the line above
        above_end = len(text[lo:before].rstrip()) + lo if before > lo else 0
        above_start = max(lo, text.rfind("\n", lo, above_end) + 1)
        above = text[above_start:above_end]
        if before <= lo or not above.strip() or is_heading(above) or "|" in above:
            break  # (a table's row stands on its own line)
        open_bracket = above.count("(") > above.count(")")  # "(DOS:" goes on below
        if _LINE_END_OK.search(above) and not (_REQUEST_LEAD.search(above) or open_bracket):
            break
        req_start = above_start + len(above) - len(above.lstrip())
    return req_start


def _sentence_items(
    flat: str, start: int, end: int, sentence: re.Pattern[str] = _ITEM_SENTENCE
) -> list[ItemBlock]:
    """Items stated as "1. X is (not) medically necessary and appropriate." (older letters)."""
    found: list[ItemBlock] = []
    seen: dict[str, ItemBlock] = {}
    for m in sentence.finditer(flat, start, end):
        request, cut = _clean_request(m["request"])
        if not request:
            continue
        key = request.lower()
        outcome = UPHELD if m["neg"] else OVERTURNED
        if key in seen:  # listed once at the top and again with its rationale
            seen[key].head, seen[key].start = m.start(), m.end()
            continue
        block = ItemBlock(
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
    _take_up_again(flat, found, start)
    return found


def _take_up_again(flat: str, found: list[ItemBlock], start: int) -> None:
    """Items listed first and taken up again further on, each "Regarding the request for X:"
    with its guidelines and rationale: anywhere after, even past the case summary."""
    seen = {b.request.lower(): b for b in found}
    for m in _REGARDING.finditer(flat, start):
        request, _ = _clean_request(m["request"])
        block = seen.get(request.lower())
        if block is not None:
            block.head, block.start, block.end = m.start(), m.end(), len(flat)
    _cut_bodies(sorted(found, key=lambda b: b.head))


def _cut_bodies(ordered: list[ItemBlock]) -> None:
    """Each item's body ends where the next item's heading starts."""
    for a, b in pairwise(ordered):
        a.end = max(a.start, b.head)


def _issue_items(flat: str, issue: Section) -> list[ItemBlock]:
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
            out.append(ItemBlock(request, span, None, None, head=offset, start=0, end=0))
    return out


# "The Expert Reviewer found the guideline used by the Claims Administrator relevant and
# appropriate": the reviewer relies on the claims administrator's citations as well.
_ADOPTS = re.compile(
    r"\bfound\s+the\s+guidelines?\s+(?:used|cited|relied\s+upon)\s+by\s+the\s+Claims\s+"
    r"Administrator\s+(?:to\s+be\s+)?(?:relevant|appropriate|applicable)",
    re.I,
)


def adopts(flat: str, start: int, end: int) -> bool:
    """Whether the reviewer's guideline part says it adopts the claims administrator's."""
    return _ADOPTS.search(flat, start, end) is not None


def adopted(claims_administrator: list[Citation], own: list[Citation]) -> list[Citation]:
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


def labelled_parts(lower: str, start: int, end: int) -> dict[str, tuple[int, int]]:
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


def find_item_blocks(ft: FlatText, sections: dict[str, Section]) -> list[ItemBlock]:
    """The letter's disputed items, by the first way of stating them that finds any."""
    decisions = sections.get("decisions")
    if decisions is not None:
        region = (decisions.body_start, decisions.end)
    else:  # after the header, up to the end of the letter
        region = (min((s.start for s in sections.values()), default=0), len(ft.flat))
    blocks = _heading_items(ft, *region)
    if not blocks and decisions is None and sections:
        blocks = _heading_items(ft, 0, len(ft.flat))
    if blocks and all(b.end - b.start < 40 for b in blocks[:-1]):  # a list of outcomes first
        _take_up_again(ft.flat, blocks, region[0])
    if not blocks:
        blocks = _sentence_items(ft.flat, *region)
    if not blocks and "issue" in sections:
        blocks = _issue_items(ft.flat, sections["issue"])
    return blocks


def fallback_item_blocks(ft: FlatText) -> list[ItemBlock]:
    """Items of a letter whose decisions section could not be read item by item: any
    "...: Upheld" line, else any "the request for X is (not) medically necessary" sentence,
    anywhere in the letter."""
    return _heading_items(ft, 0, len(ft.flat)) or _sentence_items(
        ft.flat, 0, len(ft.flat), _LOOSE_SENTENCE
    )
