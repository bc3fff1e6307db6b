"""Dataclasses a parsed letter is made of; ``to_dict()`` gives the parse_letter JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]
PageRange = tuple[int, int]


class ParseError(ValueError):
    """The input is not a readable IMR letter; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParseWarning:
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def spans_json(spans: dict[str, Any]) -> dict[str, Any]:
    """Spans as JSON: [start, end] or a list of them, per field."""
    return {
        k: (list(v) if isinstance(v, tuple) else [list(s) for s in v]) for k, v in spans.items()
    }


@dataclass
class Citation:
    source: str  # "claims_administrator" | "maximus"
    guideline: str
    section: str | None = None
    chapters: list[int] = field(default_factory=list)
    pages: list[tuple[int, int]] = field(default_factory=list)
    derived_pages: list[tuple[int, int]] = field(default_factory=list)
    derived_section: str | None = None
    span: Span | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "guideline": self.guideline,
            "section": self.section,
            "chapters": list(self.chapters),
            "pages": [list(p) for p in self.pages],
            "derived_pages": [list(p) for p in self.derived_pages],
            "derived_section": self.derived_section,
            "section_derived": self.derived_section is not None,
            "spans": {"citation": list(self.span)} if self.span else {},
        }


@dataclass
class Drug:
    """The medication an item asks for: its generic name (None where only the form is known,
    "a compounded cream") and its class."""

    generic: str | None
    drug_class: str

    def to_dict(self) -> dict[str, Any]:
        return {"generic": self.generic, "class": self.drug_class}


@dataclass
class Item:
    position: int
    request: str
    outcome: str | None
    treatments: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    drug: Drug | None = None
    body_regions: list[str] = field(default_factory=list)
    body_regions_inferred: bool = False
    laterality: str | None = None
    quantity: int | None = None
    citations: list[Citation] = field(default_factory=list)
    rationale: str | None = None
    spans: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "request": self.request,
            "outcome": self.outcome,
            "treatments": list(self.treatments),
            "categories": list(self.categories),
            "drug": self.drug.to_dict() if self.drug else None,
            "body_regions": list(self.body_regions),
            "body_regions_inferred": self.body_regions_inferred,
            "laterality": self.laterality,
            "quantity": self.quantity,
            "citations": [c.to_dict() for c in self.citations],
            "rationale": self.rationale,
            "spans": spans_json(self.spans),
        }


@dataclass
class Reviewer:
    licensure_states: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    board_certified: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "licensure_states": list(self.licensure_states),
            "specialties": list(self.specialties),
            "board_certified": self.board_certified,
        }


@dataclass
class Patient:
    age: int | None = None
    sex: str | None = None
    date_of_injury: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"age": self.age, "sex": self.sex, "date_of_injury": self.date_of_injury}


@dataclass
class ParsedLetter:
    layout: str
    reviewer: Reviewer
    patient: Patient
    diagnoses: list[str]
    ur_date: str | None
    items: list[Item]
    case_summary: str | None = None
    case_number: str | None = None
    date_assigned: str | None = None
    decision_date: str | None = None
    content_hash: str = ""
    warnings: list[ParseWarning] = field(default_factory=list)
    spans: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "case_number": self.case_number,
            "date_assigned": self.date_assigned,
            "decision_date": self.decision_date,
            "content_hash": self.content_hash,
            "reviewer": self.reviewer.to_dict(),
            "patient": self.patient.to_dict(),
            "diagnoses": list(self.diagnoses),
            "ur_date": self.ur_date,
            "case_summary": self.case_summary,
            "items": [i.to_dict() for i in self.items],
            "warnings": [w.to_dict() for w in self.warnings],
            "spans": spans_json(self.spans),
        }
