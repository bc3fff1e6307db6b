"""Matching vocabulary terms in text: the engine behind ``vocab``'s data.

A ``Term(slug, label, aliases)`` is one entry of a vocabulary. An alias is a plain phrase
(case-insensitive, word-bounded, whitespace-tolerant, optional plural "s"/"es") or, when it starts
with ``re:``, a regular expression (no named groups). Matching always goes through a
``Vocabulary`` instance, which compiles one combined regex per kind, longest alias first, the
first time it is used. Staff-added aliases come in through ``Vocabulary.with_extra_aliases``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

PageRange = tuple[int, int]


@dataclass(frozen=True)
class Term:
    slug: str
    label: str
    aliases: tuple[str, ...] = ()
    pages: tuple[PageRange, ...] = field(default=())  # MTUS sections only
    category: str | None = None  # a treatment's category, a drug's class


class Found(NamedTuple):
    slug: str
    start: int
    end: int


def _alias_pattern(alias: str) -> str:
    if alias.startswith("re:"):
        return alias[3:]
    words = [re.escape(w) for w in alias.split()]
    body = r"\s+".join(words).replace(r"\-", r"\s*-\s*")
    return body + (r"(?:e?s)?" if alias[-1].isalpha() else "")


_CASE_FLAG = re.compile(r"^\(\?-?i:")


_MTUS_PREFIX = "(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?"


def _split_alias(alias: str) -> list[str]:
    """An alias as parts that each start with a known character, where that is plain to see.

    A plain top-level alternation ("7214[1-9]|7215[6-8]") splits on "|"; the optional "MTUS" /
    "CA MTUS" prefix of guideline names becomes one alias with each and one without.
    """
    if alias.startswith("re:") and "|" in alias and "(" not in alias:
        return [f"re:{part}" for part in alias[3:].split("|")]
    if alias.startswith("re:" + _MTUS_PREFIX):
        rest = alias[3 + len(_MTUS_PREFIX) :]
        return [
            f"re:{rest}",
            *(f"re:{p}\\s+MTUS:?\\s*{rest}" for p in ("CA", "California")),
            f"re:MTUS:?\\s*{rest}",
        ]
    return [alias]


def _has_top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` is an alternation at its top level (outside groups and classes)."""
    depth, escaped, in_class = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth <= 0:
            return True
    return False


def _initial(alias: str) -> str | None:
    """The character every match of ``alias`` starts with (lower case), or None if unknown."""
    if not alias.startswith("re:"):
        first = alias[:1].lower()
        return first if first.isalnum() else None
    pattern = _CASE_FLAG.sub("", alias[3:])  # "(?-i:CT)" starts with C all the same
    if _has_top_level_bar(pattern) or pattern[1:2] in ("?", "*", "{"):
        return None
    first = pattern[:1].lower()
    return first if first.isalnum() else None


class Matcher:
    """One compiled alternation over every alias of one kind, longest alias first.

    Python's regex engine tries each alternative in turn at every word start, and its cost per
    attempt grows with the number of capturing groups. So the scan uses one pattern without
    groups, its aliases grouped by the character they start with behind a one-character
    lookahead (each position tries only the aliases that can start there, plus the regex aliases
    whose first character is not known). Which alias matched is then read, only where something
    matched, by a small pattern with one named group per alias of that initial, tried in the
    same order, so the same alias wins.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        pairs = [(t.slug, part) for t in terms for a in t.aliases for part in _split_alias(a)]
        buckets: dict[str, list[tuple[str, str]]] = {}
        anywhere: list[tuple[str, str]] = []
        for slug, alias in pairs:
            initial = _initial(alias)
            (anywhere if initial is None else buckets.setdefault(initial, [])).append((slug, alias))

        def longest_first(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
            return sorted(entries, key=lambda p: len(p[1]), reverse=True)

        def plain(entries: list[tuple[str, str]]) -> str:
            return "|".join(f"(?:{_alias_pattern(a)})" for _, a in longest_first(entries))

        def named(entries: list[tuple[str, str]]) -> tuple[re.Pattern[str], list[str]]:
            ordered = longest_first(entries)
            groups = "|".join(f"(?P<a{i}>{_alias_pattern(a)})" for i, (_, a) in enumerate(ordered))
            return re.compile(rf"(?:{groups})(?!\w)", re.I), [slug for slug, _ in ordered]

        branches = [
            f"(?={re.escape(initial)})(?:{plain(entries + anywhere)})"
            for initial, entries in sorted(buckets.items())
        ]
        self._which = {initial: named(entries + anywhere) for initial, entries in buckets.items()}
        self._anywhere = named(anywhere) if anywhere else None
        if anywhere:
            initials = "".join(re.escape(i) for i in sorted(buckets))
            guard = f"(?![{initials}])" if initials else ""
            branches.append(f"{guard}(?:{plain(anywhere)})")
        self.regex = (
            re.compile(rf"(?<!\w)(?:{'|'.join(branches)})(?!\w)", re.I) if branches else None
        )

    def finditer(self, text: str, start: int = 0, end: int | None = None) -> list[Found]:
        if self.regex is None:
            return []
        end = len(text) if end is None else end
        found = []
        for m in self.regex.finditer(text, start, end):
            # casefold, as the regex's case-insensitivity does ("\u017f" is an "s")
            which, slugs = self._which.get(text[m.start()].casefold()[:1]) or self._anywhere
            named = which.match(text, m.start(), end)
            if named is not None:
                found.append(Found(slugs[int(named.lastgroup[1:])], m.start(), m.end()))
        return found

    def slugs(self, text: str, start: int = 0, end: int | None = None) -> list[str]:
        """Distinct slugs in order of first appearance."""
        return list(dict.fromkeys(f.slug for f in self.finditer(text, start, end)))


KINDS = (
    "treatment",
    "body_region",
    "specialty",
    "guideline",
    "state",
    "mtus_section",
    "drug",
    "category",
    "drug_class",
)


class Vocabulary:
    """The vocabularies, with matchers compiled once per instance (on first use)."""

    def __init__(self, tables: Mapping[str, tuple[Term, ...]]) -> None:
        self.tables = {k: tuple(v) for k, v in tables.items()}
        self._matchers: dict[str, Matcher] = {}

    def terms(self, kind: str) -> tuple[Term, ...]:
        return self.tables[kind]

    def matcher(self, kind: str) -> Matcher:
        m = self._matchers.get(kind)
        if m is None:
            m = self._matchers[kind] = Matcher(self.tables[kind])
        return m

    def compile_all(self) -> None:
        """Compile every matcher now (e.g. before forking worker processes that will use them)."""
        for kind in self.tables:
            self.matcher(kind)

    def term(self, kind: str, slug: str) -> Term | None:
        return next((t for t in self.tables[kind] if t.slug == slug), None)

    def with_extra_aliases(self, extra: Mapping[str, Mapping[str, Iterable[str]]]) -> Vocabulary:
        """A new vocabulary with more aliases, e.g. ``{"body_region": {"lumbar_spine": ["L/S"]}}``.

        An unknown slug becomes a new term labelled by its slug. Bad regexes raise ValueError.
        """
        tables = {k: list(v) for k, v in self.tables.items()}
        for kind, by_slug in extra.items():
            if kind not in tables:
                raise ValueError(f"unknown vocabulary {kind!r}; expected one of {KINDS}")
            for slug, aliases in by_slug.items():
                aliases = tuple(aliases)
                for a in aliases:
                    try:
                        re.compile(_alias_pattern(a))
                    except re.error as exc:
                        raise ValueError(f"bad alias {a!r} for {kind}/{slug}: {exc}") from exc
                for i, t in enumerate(tables[kind]):
                    if t.slug == slug:
                        tables[kind][i] = replace(t, aliases=t.aliases + aliases)
                        break
                else:
                    tables[kind].append(Term(slug, slug.replace("_", " "), aliases))
        return Vocabulary({k: tuple(v) for k, v in tables.items()})
