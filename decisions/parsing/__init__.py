"""Reading IMR Final Determination letters: plain Python, no Django.

``parse_letter(text)`` returns a ``ParsedLetter`` (dataclasses; ``to_dict()`` is the JSON of
``shared/gold/SCHEMA.md``) or raises ``ParseError`` with a reason a person understands.
Getting letters in (paths, bytes to text, worker processes) is ``decisions.ingest``.
"""

from . import vocab
from .letter import PARSER_VERSION, parse_letter, parse_unguarded
from .model import (
    Citation,
    Drug,
    Item,
    ParsedLetter,
    ParseError,
    ParseWarning,
    Patient,
    Reviewer,
    spans_json,
)
from .text import content_hash, normalise_text

__all__ = [
    "PARSER_VERSION",
    "Citation",
    "Drug",
    "Item",
    "ParseError",
    "ParseWarning",
    "ParsedLetter",
    "Patient",
    "Reviewer",
    "content_hash",
    "normalise_text",
    "parse_letter",
    "parse_unguarded",
    "spans_json",
    "vocab",
]
