"""Parsing batches of letters in worker processes, so parsing overlaps the caller's other work.

An ingest parses (CPU in Python) and writes to the database (the same process waiting on the
server). ``BatchParser.submit`` hands a batch to a worker process and returns at once; the caller
writes the previous batch meanwhile and collects the result when it needs it. With
``workers=0`` everything runs in the calling process, lazily, in the same order.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..parsing import ParsedLetter, ParseError, parse_letter
from ..parsing.vocab import Vocabulary

Result = ParsedLetter | ParseError | None
# The reason a letter fails when the parser itself breaks on it (worth reporting as a bug).
PARSER_FAULT = "the parser broke on this letter (a bug: please report it)"
logger = logging.getLogger(__name__)

_vocabulary: Vocabulary | None = None


def _die_with_parent() -> None:
    """Ask Linux to stop this worker when its parent dies (a killed ingest leaves no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_worker(vocabulary: Vocabulary) -> None:
    global _vocabulary
    _vocabulary = vocabulary
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def parse_batch(texts: Sequence[str | None], vocabulary: Vocabulary | None = None) -> list[Result]:
    """Parse each text; a ParseError is returned in its place, None stays None.

    A parser fault on one letter (any other exception: a bug, not the letter's fault alone)
    fails that letter with a reason saying so, and the rest of the batch is parsed.
    """
    vocabulary = vocabulary or _vocabulary
    out: list[Result] = []
    for text in texts:
        if text is None:
            out.append(None)
            continue
        try:
            out.append(parse_letter(text, vocabulary))
        except ParseError as exc:
            out.append(exc)
        except Exception as exc:
            logger.exception("the parser failed on a letter")
            out.append(ParseError(f"{PARSER_FAULT} ({type(exc).__name__}: {exc})"))
    return out


def chunks(iterable: Iterable, size: int) -> Iterator[list]:
    """``iterable`` in lists of ``size`` (the last one shorter)."""
    chunk = []
    for element in iterable:
        chunk.append(element)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class BatchParser:
    """Parses batches in ``workers`` processes (none: in this process, when collected)."""

    def __init__(self, vocabulary: Vocabulary, workers: int = 1) -> None:
        self.vocabulary = vocabulary
        vocabulary.compile_all()  # once, before the workers are forked
        self._pool = None
        if workers > 0:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = context.Pool(workers, initializer=_start_worker, initargs=(vocabulary,))

    def submit(self, texts: Sequence[str | None]) -> Callable[[], list[Result]]:
        """Start parsing ``texts``; call the returned function for the results, in order."""
        if self._pool is None:
            return lambda: parse_batch(texts, self.vocabulary)
        return self._pool.apply_async(parse_batch, (list(texts),)).get

    def pipelined(
        self, items: Iterable, text: Callable[[Any], str | None], size: int
    ) -> Iterator[tuple[list, Callable[[], list[Result]]]]:
        """``items`` in batches of ``size``, each with a function giving its parses.

        The next batch is handed to the workers before this one is yielded, so its parsing
        overlaps what the caller does with this one; at most two batches are in memory.
        """
        pending = None
        for chunk in chunks(items, size):
            parsed = self.submit([text(item) for item in chunk])
            if pending is not None:
                yield pending
            pending = (chunk, parsed)
        if pending is not None:
            yield pending

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()

    def __enter__(self) -> BatchParser:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None and exc_info[0] is not None:
            self._pool.terminate()
        self.close()
