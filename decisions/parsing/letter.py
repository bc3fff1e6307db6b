"""Reading a whole letter: its sections and layout, its header, reviewer, patient and summary
fields, and each disputed item.

``sections`` finds the headings (and so the layout), ``items`` the disputed items and their
parts, ``fields`` and ``citations`` read single fields. The reader here ties them together and
keeps, for each field, the span of the letter it came from and a warning where it found none.
Every reader works on the whitespace-flattened text (``FlatText``) so line and page breaks never
split a phrase; spans are mapped back to the original text for provenance.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from .citations import parse_citations
from .fields import (
    Value,
    categories_of,
    read_age,
    read_body_regions,
    read_case_number,
    read_date_assigned,
    read_date_of_injury,
    read_decision_date,
    read_diagnoses,
    read_drug,
    read_laterality,
    read_quantity,
    read_reviewer,
    read_sex,
    read_treatments,
    read_ur_date,
)
from .items import (
    CLAIMS_ADMINISTRATOR,
    MAXIMUS,
    ItemBlock,
    adopted,
    adopts,
    conclusion,
    fallback_item_blocks,
    find_item_blocks,
    labelled_parts,
)
from .model import Item, ParsedLetter, ParseError, ParseWarning, Patient, Reviewer
from .sections import detect_layout, find_sections
from .text import FlatText, content_hash
from .vocab import DEFAULT_VOCABULARY, Vocabulary

# Bump when parsing changes what it stores, so stored letters can be told apart and re-parsed.
PARSER_VERSION = "2026.12.2"

_SPINE = frozenset({"cervical_spine", "thoracic_spine", "lumbar_spine"})
Bounds = tuple[int, int]  # flat offsets

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
# What closes a letter after its last rationale: never part of it.
_CLOSING = re.compile(
    r"\s(?:This\s+(?:determination|decision)\s+is\s+final|In\s+accordance\s+with\s+(?:the\s+)?"
    r"(?:California\s+)?Labor\s+Code|Sincerely,|cc:\s)",
    re.I,
)
_CLOSING_CUES = ("is final", "labor code", "sincerely", "cc:")
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

    # --- the letter, its header and summary

    def read(self) -> ParsedLetter:
        header = self.header()
        blocks = find_item_blocks(self.ft, self.sections)
        summary = self.summary_bounds(blocks)
        case_number, date_assigned, decided, ur = self.header_fields(header, summary, blocks)
        reviewer = self.reviewer(summary)
        patient = self.patient(header, summary)
        diagnoses, dx_span = self.diagnoses(summary)
        case_summary = self.case_summary(summary)
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
            decision_date=decided.value if decided else None,
            content_hash=content_hash(self.ft.original),
            warnings=self.warnings,
            spans=self.spans,
        )

    def header(self) -> Bounds:
        first = min((s.start for s in self.sections.values()), default=len(self.flat))
        return (0, first)

    def summary_bounds(self, blocks: list[ItemBlock]) -> Bounds:
        """The case summary's section (or the whole letter), up to any item taken up after it."""
        summary = self.bounds("summary") or (0, len(self.flat))
        # items taken up again after the case summary (early notices) end it
        later = [b.head for b in blocks if summary[0] < b.head < summary[1]]
        if later:
            summary = (summary[0], min(later))
        return summary

    def header_fields(
        self, header: Bounds, summary: Bounds, blocks: list[ItemBlock]
    ) -> tuple[Value | None, Value | None, Value | None, Value | None]:
        """The case number, date assigned, decision date and UR denial date (each or None)."""
        case_number = read_case_number(self.flat, *header)
        running = None
        if case_number is None:  # a running header's, on every page (the normaliser drops it)
            for line, start, _ in self.ft.furniture:
                if found := read_case_number(line, 0, len(line), labelled=False):
                    running = Value(found.value, start + found.start, start + found.end)
                    break
        date_assigned = read_date_assigned(self.flat, *header)
        decided = read_decision_date(self.flat, *header)
        decisions = self.sections.get("decisions")
        intro = (decisions.body_start, blocks[0].head) if decisions and blocks else (0, 0)
        ur = read_ur_date(self.flat, header, summary, intro)
        for name, v in (
            ("case_number", case_number),
            ("date_assigned", date_assigned),
            ("decision_date", decided),
            ("ur_date", ur),
        ):
            if v:
                self.span(name, v.start, v.end)
        if ur is None and case_number is not None:
            self.warn("ur_date", "the header has no UR denial date")
        if running is not None:
            case_number = running
            self.spans["case_number"] = (running.start, running.end)  # offsets of the original
        return case_number, date_assigned, decided, ur

    def diagnoses(self, summary: Bounds) -> tuple[list[str], Bounds | None]:
        diagnoses, dx_span = read_diagnoses(self.flat, *summary)
        if dx_span:
            diagnoses = [self.ft.written(d, *dx_span) for d in diagnoses]
            self.span("diagnoses", *dx_span)
        else:
            self.warn("diagnoses", "no diagnosis found in the case summary")
        return diagnoses, dx_span

    def case_summary(self, summary: Bounds) -> str | None:
        """The case summary's text, without the reviewer's boilerplate opening."""
        if "summary" not in self.sections:
            self.warn("case_summary", "the letter has no case summary heading")
            return None
        s, e = summary
        lead = _BOILERPLATE.match(self.flat, s, e)
        s = lead.end() if lead else s
        case_summary = self.ft.written(self.flat[s:e].strip(), s, e) or None
        if case_summary:
            self.span("case_summary", s, e)
        return case_summary

    # --- reviewer, patient

    def reviewer(self, summary: tuple[int, int]) -> Reviewer:
        region = self.bounds("reviewer")
        lower = self.ft.lower
        found = read_reviewer(self.flat, *(region or self.header()), self.vocab, lower)
        if region is None or not (found.states or found.specialties):
            # Credentials stand before the summary when the letter has no heading for them.
            found = read_reviewer(self.flat, 0, summary[0] or len(self.flat), self.vocab, lower)
        if not (found.states or found.specialties):  # or after the summary, before the items
            decisions = self.sections.get("decisions")
            end = decisions.start if decisions else len(self.flat)
            found = read_reviewer(self.flat, summary[0], end, self.vocab, lower)
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

    # --- items

    def items(self, blocks: list[ItemBlock], dx_span, summary) -> list[Item]:
        if not blocks and _IMR_SIGNAL.search(self.flat):
            blocks = fallback_item_blocks(self.ft)
            if blocks:
                self.warn(
                    "items",
                    "the decisions section could not be read item by item; the items were read "
                    "from decision lines and sentences found elsewhere in the letter",
                )
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
            if found:  # the first diagnosis's region: letters name the main diagnosis first
                slug, s, e = found[0]
                return [(slug, s + dx_span[0], e + dx_span[0])]
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

    def item(self, position: int, block: ItemBlock, inferred: Callable[[], list]) -> Item:
        """One disputed item; ``inferred()`` gives the summary's region, read only if needed."""
        head = min(block.head, block.request_span[0])  # (taken up again: head moved on)
        request = self.ft.written(block.request, head, block.request_span[1])
        item = Item(position=position, request=request, outcome=block.outcome)
        item.spans["request"] = self.ft.span(*block.request_span)
        parts = self.item_parts(block)
        self.item_citations(item, parts)
        self.item_rationale(item, parts.get("rationale"))
        self.item_outcome(item, block, parts.get("rationale"))
        self.item_treatments(item, block)
        self.item_body_regions(item, block, inferred)
        self.item_side_and_quantity(item, block)
        return item

    def item_parts(self, block: ItemBlock) -> dict[str, Bounds]:
        """Where an item's guidelines ("ca", "max") and rationale are."""
        if self.layout == "professional_review" and block.end <= block.start:
            # an issue without a body: its parts are the letter's own sections
            parts = {}
            if (g := self.bounds("guidelines")) is not None:
                parts["max"] = g
            if (r := self.bounds("rationale")) is not None:
                parts["rationale"] = r
            return parts
        parts = labelled_parts(self.ft.lower, block.start, block.end)
        if "rationale" not in parts and block.end > block.start:
            parts["rationale"] = (block.start, block.end)
        return parts

    def item_citations(self, item: Item, parts: dict[str, Bounds]) -> None:
        """The claims administrator's citations, then the reviewer's (with those it adopts)."""
        field = f"items[{item.position}].citations"
        for source, key in ((CLAIMS_ADMINISTRATOR, "ca"), (MAXIMUS, "max")):
            who = source.replace("_", " ")
            if key in parts:
                found = parse_citations(self.ft, *parts[key], source, self.vocab)
                if source == MAXIMUS and adopts(self.flat, *parts[key]):
                    found = adopted(item.citations, found)
                item.citations.extend(found)
                if not found:
                    self.warn(field, f"the {who} guideline could not be read")
            elif self.layout != "professional_review" or source == MAXIMUS:
                self.warn(field, f"no {who} guideline in the letter")

    def item_rationale(self, item: Item, bounds: Bounds | None) -> None:
        if bounds is not None:
            s, e = bounds
            lower = self.ft.lower  # (a literal first: the pattern alone tries every space)
            if any(lower.find(cue, s, e) >= 0 for cue in _CLOSING_CUES) and (
                closing := _CLOSING.search(self.flat, s, e)
            ):  # the letter's end, after the last rationale
                e = closing.start()
            text = self.flat[s:e].strip()
            if text:
                item.rationale = self.ft.written(text, s, e)
                lead = len(self.flat[s:e]) - len(self.flat[s:e].lstrip())
                item.spans["rationale"] = self.ft.span(s + lead, s + lead + len(text))
        if not item.rationale:
            self.warn(f"items[{item.position}].rationale", "no decision rationale found")

    def item_outcome(self, item: Item, block: ItemBlock, rationale: Bounds | None) -> None:
        """The outcome its heading gives, else the one its rationale concludes with."""
        if block.outcome_span:
            item.spans["outcome"] = self.ft.span(*block.outcome_span)
        if item.outcome is not None:
            return
        field = f"items[{item.position}].outcome"
        found = conclusion(self.flat, *rationale) if rationale else None
        if found is None:
            self.warn(field, "no outcome (upheld or overturned) found")
            return
        item.outcome, span = found
        item.spans["outcome"] = self.ft.span(*span)
        self.warn(field, "read from the rationale's conclusion, not from a heading")

    def in_request(self, block: ItemBlock, start: int, end: int) -> tuple[int, int]:
        """The letter's span of ``block.request[start:end]``."""
        rs = block.request_span[0]
        return self.ft.span(rs + start, rs + end)

    def item_treatments(self, item: Item, block: ItemBlock) -> None:
        found = read_treatments(block.request, self.vocab)
        item.treatments = [slug for slug, _, _ in found]
        item.categories = categories_of(item.treatments, self.vocab)
        if found:
            item.spans["treatments"] = [self.in_request(block, s, e) for _, s, e in found]
        else:  # kept under "other", and the letter queued for a person to name it
            item.treatments, item.categories = ["other"], ["other"]
            self.warn(
                f"items[{item.position}].treatments", f"no known treatment in {block.request!r}"
            )
        if "medication" in item.treatments:
            if drug := read_drug(block.request, self.vocab):
                item.drug, start, end = drug
                item.spans["drug"] = self.in_request(block, start, end)
            else:
                self.warn(f"items[{item.position}].drug", f"no known drug in {block.request!r}")

    def item_body_regions(self, item: Item, block: ItemBlock, inferred: Callable[[], list]) -> None:
        """The regions the request names, else the one the case summary makes plain."""
        if found := read_body_regions(block.request, self.vocab):
            item.body_regions = [slug for slug, _, _ in found]
            item.spans["body_regions"] = [self.in_request(block, s, e) for _, s, e in found]
        elif found := inferred():
            item.body_regions = [slug for slug, _, _ in found]
            item.body_regions_inferred = True
            item.spans["body_regions"] = [self.ft.span(s, e) for _, s, e in found]

    def item_side_and_quantity(self, item: Item, block: ItemBlock) -> None:
        if side := read_laterality(block.request):
            item.laterality = side.value
            item.spans["laterality"] = self.in_request(block, side.start, side.end)
        if qty := read_quantity(block.request):
            item.quantity = qty.value
            item.spans["quantity"] = self.in_request(block, qty.start, qty.end)


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
