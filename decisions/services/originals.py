"""The original files letters were read from, kept in Django's file storage.

Named by content hash (``letters/8d/8d260c05...pdf``), so a file written twice is one file,
whatever storage backend ``STORAGES["default"]`` names (a local folder by default).
"""

from __future__ import annotations

import posixpath
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ..ingest import LetterInput
from ..models import Determination

_NAME_END = re.compile(r"[^/\\:]+$")  # after the last folder or archive separator


def original_name(source_name: str) -> str:
    """The file's own name, without any folder of the machine it was ingested on."""
    m = _NAME_END.search(source_name.strip())
    return m.group(0)[-255:] if m else "letter.txt"


def _is_pdf(name: str) -> bool:
    return name.lower().endswith(".pdf")


def original_better(given: LetterInput, other: LetterInput) -> bool:
    """Whether ``given`` makes a better original than ``other`` of the same letter: its PDF."""
    return given.data is not None and (
        other.data is None or (_is_pdf(given.source_name) and not _is_pdf(other.source_name))
    )


def original_wanted(letter: Determination, given: LetterInput) -> bool:
    """Whether ``given`` should become the letter's original: it has none, or this is its PDF."""
    if given.data is None:
        return False
    return not letter.original or (_is_pdf(given.source_name) and not _is_pdf(letter.original_name))


def original_store(letter: Determination, given: LetterInput) -> None:
    """Write ``given``'s bytes to storage as the letter's original (the row is saved by the
    caller). Raises ``OSError`` when the storage cannot take it."""
    name = original_name(given.source_name)
    extension = posixpath.splitext(name)[1].lower() or ".txt"
    digest = letter.content_hash
    path = f"letters/{digest[:2]}/{digest}{extension}"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(given.data))
    letter.original.name, letter.original_name = path, name


def original_discard(letter: Determination) -> None:
    """Remove the file of a letter that was not stored after all."""
    if letter.original:
        default_storage.delete(letter.original.name)
        letter.original.name = ""
