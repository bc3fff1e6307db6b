"""Turning a file's bytes into letter text: UTF-8 text, older Windows text, or a PDF's text layer.

Letters are published as PDFs; extracted text files also circulate. Both must give the same text
up to whitespace, so the content hash makes them one letter. A PDF without a text layer (a scan)
is refused with a reason: it needs OCR, which this project does not do.
"""

from __future__ import annotations

import io
import logging

from ..parsing import ParseError

PDF_MAGIC = b"%PDF-"


def text_from_bytes(data: bytes, name: str = "") -> tuple[str, list[str]]:
    """The letter text in ``data`` and notes for a person (e.g. which encoding was assumed).

    Raises ``ParseError`` for an empty file, binary data, or a PDF with no readable text.
    """
    if not data or not data.strip():
        raise ParseError("the file is empty")
    if data.lstrip()[:5] == PDF_MAGIC:
        return _pdf_text(data).replace("\x00", ""), []  # PostgreSQL text cannot hold NUL
    if b"\x00" in data[:4096]:
        raise ParseError("this is binary data, not a text letter or a PDF")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text, notes = _decoded(data)
    if "\x00" in text:  # a stray NUL past the start: PostgreSQL text cannot hold it
        return text.replace("\x00", ""), [*notes, "NUL characters removed"]
    return text, notes


def _decoded(data: bytes) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), ["not UTF-8: read as Windows text (cp1252)"]
    except UnicodeDecodeError:
        return data.decode("latin-1"), ["not UTF-8 or cp1252: read as latin-1"]


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    # pypdf logs the oddities of real-world PDFs it works around (as warnings, some as errors);
    # they are not ours to show: a PDF it cannot read raises, and that letter fails with why.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise ParseError(
                    "the PDF is encrypted and cannot be read without its password"
                ) from exc
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except Exception as exc:
        # A damaged PDF makes pypdf raise nearly anything (NotImplementedError for a garbled
        # filter name, AssertionError, zlib.error, IndexError...): each is this letter's fault.
        raise ParseError(f"the PDF cannot be read ({type(exc).__name__}: {exc})") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise ParseError(
            f"the PDF has no text layer ({len(pages)} page(s) of images, e.g. a scan): "
            "it needs OCR before it can be read"
        )
    return text
