"""Where letters come from: files, directories, glob patterns, zip archives and standard input.

Plain Python (no Django): ``iter_sources`` expands what a person typed into named letter
sources, each read lazily, so a batch of a million files streams instead of loading at once.
Reading bytes into text is ``decisions.ingest.decode.text_from_bytes``.
"""

from __future__ import annotations

import glob
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

LETTER_SUFFIXES = {".txt", ".pdf"}
ARCHIVE_SUFFIXES = {".zip"}


@dataclass
class Source:
    """One letter to read: its display name and how to get its bytes."""

    name: str
    read: Callable[[], bytes]


@dataclass
class BadSource:
    """A path that yields no letter (missing, unreadable archive), with the reason."""

    name: str
    reason: str


def iter_sources(
    paths: Iterable[str], stdin: BinaryIO | None = None
) -> Iterator[Source | BadSource]:
    """Expand paths as a person means them, in a stable order.

    ``-`` is standard input; a directory is searched recursively for .txt, .pdf and .zip files;
    a name that is no file is tried as a glob pattern (``**`` recurses); a .zip yields its
    letters. A path that matches nothing is a ``BadSource``, and the rest still comes.
    """
    for raw in paths:
        if raw == "-":
            if stdin is None:
                yield BadSource("<stdin>", "standard input is not available")
            else:
                yield Source("<stdin>", stdin.read)
            continue
        path = Path(raw)
        if path.is_dir():
            yield from _directory(path)
        elif path.is_file():
            yield from _file(path, explicit=True)
        else:
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                yield BadSource(
                    raw, "no such file or directory, and no file matches it as a pattern"
                )
            for match in matches:
                match_path = Path(match)
                if match_path.is_dir():
                    yield from _directory(match_path)
                else:
                    yield from _file(match_path, explicit=False)


def _directory(path: Path) -> Iterator[Source | BadSource]:
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            yield from _file(Path(root) / name, explicit=False)


def _file(path: Path, *, explicit: bool) -> Iterator[Source | BadSource]:
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        yield from _archive(path)
    elif suffix in LETTER_SUFFIXES or explicit:
        yield Source(str(path), path.read_bytes)


def _archive(path: Path) -> Iterator[Source | BadSource]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield BadSource(str(path), f"not a readable zip archive ({exc})")
        return
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            member = Path(info.filename)
            if info.is_dir() or "__MACOSX" in member.parts or member.name.startswith("."):
                continue
            name = f"{path}:{info.filename}"
            if member.suffix.lower() in LETTER_SUFFIXES:
                try:
                    data = archive.read(info)
                except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
                    yield BadSource(name, f"cannot be read from the archive ({exc})")
                    continue
                yield Source(name, lambda data=data: data)
            elif member.suffix.lower() in ARCHIVE_SUFFIXES:
                yield BadSource(name, "zip archives inside archives are not read")
