"""The rows one parsed letter becomes, before they have primary keys.

Each row comes from its model's ``from_parsed``; this bundles them with their link-table values
(treatments, regions, states, specialties) and their citations' pages and chapters, so ingest
and re-parse write the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import parsing
from ..models import DecisionItem, Determination, GuidelineCitation


@dataclass
class CitationRows:
    citation: GuidelineCitation
    pages: list[tuple[int, int, bool]]  # (first, last, derived)
    chapters: list[int]

    @classmethod
    def from_parsed(cls, citation: parsing.Citation, *, text: str) -> CitationRows:
        c = citation
        return cls(
            citation=GuidelineCitation.from_parsed(c, text=text),
            pages=sorted(
                {(a, b, False) for a, b in c.pages if 1 <= a <= b}
                | {(a, b, True) for a, b in c.derived_pages if 1 <= a <= b}
            ),
            chapters=sorted({ch for ch in c.chapters if ch >= 1}),
        )


@dataclass
class ItemRows:
    item: DecisionItem
    treatments: list[str]
    body_regions: list[str]
    citations: list[CitationRows]

    @classmethod
    def from_parsed(cls, item: parsing.Item, *, text: str) -> ItemRows:
        citations: dict[tuple[str, str], CitationRows] = {}
        for c in item.citations:
            key = (c.source, c.guideline)
            if key not in citations:  # the parser merges these; never store two rows for one key
                citations[key] = CitationRows.from_parsed(c, text=text)
        row = DecisionItem.from_parsed(item)
        row.citations_text = " ".join(
            c.citation.text for c in citations.values() if c.citation.text
        )
        return cls(
            item=row,
            treatments=sorted(set(item.treatments)),
            body_regions=sorted(set(item.body_regions)),
            citations=list(citations.values()),
        )


@dataclass
class LetterRows:
    letter: Determination
    states: list[str]
    specialties: list[str]
    items: list[ItemRows]

    @classmethod
    def from_parsed(
        cls, parsed: parsing.ParsedLetter, *, text: str, source_name: str
    ) -> LetterRows:
        """Raises ``parsing.ParseError`` for what the database would refuse (no outcome)."""
        letter = Determination.from_parsed(parsed, text=text, source_name=source_name)
        return cls(
            letter=letter,
            states=sorted(set(parsed.reviewer.licensure_states)),
            specialties=sorted(set(parsed.reviewer.specialties)),
            items=[ItemRows.from_parsed(item, text=letter.full_text) for item in parsed.items],
        )

    @classmethod
    def from_result(
        cls, result: parsing.ParsedLetter | parsing.ParseError, *, text: str, source_name: str
    ) -> LetterRows:
        """The rows of a parse as a worker hands it back: raises the ``ParseError`` it may be."""
        if isinstance(result, parsing.ParseError):
            raise result
        return cls.from_parsed(result, text=text, source_name=source_name)

    def terms(self) -> dict[str, set[str]]:
        """The vocabulary slugs these rows refer to, by kind."""
        return {
            "state": set(self.states),
            "specialty": set(self.specialties),
            "treatment": {t for i in self.items for t in i.treatments},
            "drug": {i.item.drug_id for i in self.items if i.item.drug_id},
            "body_region": {r for i in self.items for r in i.body_regions},
            "guideline": {c.citation.guideline_id for i in self.items for c in i.citations},
        }

    def reset_keys(self) -> None:
        """Forget keys given by a rolled-back insert, so the rows can be inserted again."""
        self.letter.pk = None
        for entry in self.items:
            entry.item.pk = None
            for c in entry.citations:
                c.citation.pk = None
