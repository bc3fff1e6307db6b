"""Getting letters in: plain Python, no Django.

``paths`` expands what a person typed (files, directories, globs, zips, ``-``) into letter
sources; ``decode`` turns a source's bytes into letter text (UTF-8, cp1252, a PDF's text layer);
``pool`` parses batches in worker processes while the caller writes. ``read_letters`` ties the
first two together for ``decisions.services.ingest``, which stores what it yields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..parsing import ParseError
from .decode import text_from_bytes
from .paths import BadSource, iter_sources

NEW, UNCHANGED, REPARSED, FAILED = "new", "unchanged", "reparsed", "failed"


@dataclass
class LetterInput:
    """A letter's text and where it came from, ready to parse; ``data``: the file's bytes."""

    source_name: str
    text: str
    notes: list[str] = field(default_factory=list)
    data: bytes | None = None


@dataclass
class IngestOutcome:
    """What happened to one input: new, unchanged, reparsed or failed (with a reason)."""

    source_name: str
    status: str
    reason: str = ""
    determination_id: int | None = None
    notes: list[str] = field(default_factory=list)


def read_letters(
    paths: Iterable[str], stdin: BinaryIO | None = None
) -> Iterator[LetterInput | IngestOutcome]:
    """Read each source into text; unreadable ones become failed outcomes with their reason."""
    for source in iter_sources(paths, stdin):
        if isinstance(source, BadSource):
            yield IngestOutcome(source.name, FAILED, source.reason)
            continue
        try:
            data = source.read()
            text, notes = text_from_bytes(data, source.name)
        except OSError as exc:
            yield IngestOutcome(source.name, FAILED, f"cannot be read ({exc})")
        except ParseError as exc:
            yield IngestOutcome(source.name, FAILED, exc.reason)
        else:
            yield LetterInput(source.name, text, notes, data)


__all__ = [
    "FAILED",
    "NEW",
    "REPARSED",
    "UNCHANGED",
    "BadSource",
    "IngestOutcome",
    "LetterInput",
    "iter_sources",
    "read_letters",
    "text_from_bytes",
]
