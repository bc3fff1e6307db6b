"""The facet engine: every facet counted, and the page of results found, from bitmaps in memory.

Search engines count facets from per-value bitsets rather than a GROUP BY per facet; so does
this. Each web worker holds, for every facet value (an outcome, a treatment, a guideline cited by
one side, a cited page, ...), the set of decision items having it as a roaring bitmap
(pyroaring: compressed, intersected and counted in C). A facet count is the size of an
intersection; the filtered set is an intersection of unions; a page of results is a slice of a
precomputed sort order restricted to that set (numpy), then one query for its 50 rows.

The database stays the source of truth. An index is built from it with a handful of bulk reads
(each packed into one bytea on PostgreSQL), and kept in step cheaply: each request reads two
maxima (the newest item, the newest ``IndexChange``) and loads only what is new or changed
since. New letters need nothing but their items; services log an ``IndexChange`` for every
letter they re-parse or correct, and a change without a letter asks for a full rebuild.

Item primary keys are the bitmaps' elements (32-bit: four billion items is ample).
"""

from __future__ import annotations

import array
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from pyroaring import BitMap

from .filters import AGE_BAND_BOUNDS
from .models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    CitingSide,
    DecisionItem,
    Determination,
    Drug,
    DrugClass,
    Guideline,
    GuidelineCitation,
    IndexChange,
    Outcome,
    PatientSex,
    Specialty,
    State,
    Treatment,
)

# Facets whose values are terms of a lookup table: name -> (model, link table, whose link).
TERM_FACETS = {
    "treatment": (Treatment, DecisionItem.treatments.through, "item"),
    "body_region": (BodyRegion, DecisionItem.body_regions.through, "item"),
    "specialty": (Specialty, Determination.reviewer_specialties.through, "letter"),
    "state": (State, Determination.reviewer_states.through, "letter"),
}
SOURCES = list(CitingSide.values)
NO_DATE = -1_000_000  # days since 1970 for an unknown date of injury: sorts after every real one
logger = logging.getLogger(__name__)
# How far below the last item and change ids seen a refresh reads again (see refresh).
ITEM_WINDOW, CHANGE_WINDOW = 5_000, 1_000
# A full rebuild instead of an update when this many letters changed at once.
REBUILD_AFTER = 20_000


# --- reading the database -------------------------------------------------------------------


def read_ints(columns: list[str], rest: str, params: Sequence) -> np.ndarray:
    """``SELECT columns rest``: rows of non-null integers, as an (n, len(columns)) int64 array.

    On PostgreSQL the server packs every row into one bytea (``int8send``, big-endian), read
    straight into numpy: one value over the wire instead of a message, and a Python object, per
    row or value (the COPY protocol still sends a message a row). Elsewhere through the cursor.
    """
    casts = [f"CAST({c} AS BIGINT)" for c in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            packed = " || ".join(f"int8send({c})" for c in casts)
            cursor.execute(f"SELECT string_agg({packed}, ''::bytea) {rest}", params)
            data = cursor.fetchone()[0] or b""
            rows = np.frombuffer(data, dtype=">i8").astype(np.int64)
            return rows.reshape(-1, len(columns))
        cursor.execute(f"SELECT {', '.join(casts)} {rest}", params)
        rows = cursor.fetchall()
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(columns))


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _codes_join(column: str, slugs: list[str]) -> tuple[str, str, list]:
    """SQL giving ``column`` (a slug) its position in ``slugs``: (join, code expr, params).

    PostgreSQL hash-joins an unnested array; SQLite would re-read a ``json_each`` table for every
    row, so there a CASE does it in C.
    """
    if connection.vendor == "postgresql":
        join = f"JOIN unnest(%s::text[]) WITH ORDINALITY AS v(slug, code) ON v.slug = {column}"
        return join, "(v.code - 1)", [slugs]
    return "", _case(column, slugs), []


def _case(column: str, values: list[str]) -> str:
    if not values:
        return "-1"  # an empty vocabulary: nothing has a code
    whens = " ".join(
        "WHEN '{}' THEN {}".format(v.replace("'", "''"), i) for i, v in enumerate(values)
    )
    return f"(CASE {column} {whens} ELSE -1 END)"


def _year_codes(years: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each item's code among the years present (-1 for none), and those years as values."""
    keys = sorted({int(y) for y in years if y >= 0})
    codes = np.searchsorted(np.array(keys, dtype=np.int64), years) if keys else years
    return np.where(years >= 0, codes, -1), [str(y) for y in keys]


def _days(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"COALESCE({column} - DATE '1970-01-01', {NO_DATE})"
    return f"COALESCE(CAST(julianday({column}) - 2440587.5 AS INTEGER), {NO_DATE})"


EVERY_ITEM = "1 = 1"  # the condition of a full build's reads


@dataclass
class _Scope:
    """Which items a read covers: all, or those above an id and those of some letters."""

    after_item: int | None = None
    letters: list[int] = field(default_factory=list)

    def where(self) -> tuple[str, list]:
        if self.after_item is None:
            return EVERY_ITEM, []
        clauses, params = ["i.id > %s"], [self.after_item]
        if self.letters:
            if connection.vendor == "postgresql":
                clauses.append("i.determination_id = ANY(%s)")
                params.append(self.letters)
            else:
                clauses.append("i.determination_id IN (SELECT value FROM json_each(%s))")
                params.append(json.dumps(self.letters))
        return "(" + " OR ".join(clauses) + ")", params


# --- the index ------------------------------------------------------------------------------


def bitmap(ids: np.ndarray) -> BitMap:
    """A bitmap of item ids (the array.array route is pyroaring's fast one)."""
    return BitMap(array.array("I", np.ascontiguousarray(ids, dtype=np.uint32).tobytes()))


def _ids(bitmap: BitMap) -> np.ndarray:
    return np.frombuffer(bitmap.to_array(), dtype=np.uint32)


def _bitmaps(ids: np.ndarray, codes: np.ndarray, keys: Sequence) -> dict:
    """One bitmap of ``ids`` per code, keyed by ``keys[code]`` (codes < 0 are skipped)."""
    out = {}
    if not len(ids):
        return out
    order = np.lexsort((ids, codes))
    ids, codes = ids[order].astype(np.uint32), codes[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for chunk_ids, chunk_codes in zip(np.split(ids, bounds), np.split(codes, bounds), strict=True):
        code = int(chunk_codes[0])
        if code >= 0:
            out[keys[code]] = bitmap(chunk_ids)
    return out


def _keyed(ids: np.ndarray, pairs: np.ndarray, values: np.ndarray, keys: Sequence) -> dict:
    """One bitmap of ``ids`` per (``*keys[pair]``, value): a citation's side and guideline with
    one of its pages, chapters or sections."""
    if not len(ids):
        return {}
    span = int(values.max()) + 1
    combined, codes = np.unique(pairs * span + values, return_inverse=True)
    combined_keys = [(*keys[int(c // span)], int(c % span)) for c in combined]
    return _bitmaps(ids, codes.reshape(-1), combined_keys)


def wording_of(section: str) -> str:
    """A section as written, up to case and spacing: how the guideline browser groups them."""
    return " ".join(section.split()).casefold()


def _merge(into: dict, new: dict) -> None:
    for key, items in new.items():
        if key in into:
            into[key] |= items
        else:
            into[key] = items


@dataclass
class FacetIndex:
    """Bitmaps of decision items per facet value, and what sorting and labelling them needs."""

    version: tuple[int, int] = (0, 0)  # (newest IndexChange id, newest item id)
    items: BitMap = field(default_factory=BitMap)
    # facet name -> value -> items; the citation facets are kept apart below.
    values: dict[str, dict[str, BitMap]] = field(default_factory=dict)
    cited: dict[tuple[str, str], BitMap] = field(default_factory=dict)  # (side, guideline)
    cited_pages: dict[tuple[str, str, int], BitMap] = field(default_factory=dict)
    chapters: dict[tuple[str, str, int], BitMap] = field(default_factory=dict)  # ACOEM's
    # Sections as citations write them: (side, guideline, wording's code); wording -> code, and
    # each code's wording and the spelling shown (the first in sort order of those seen).
    sections: dict[tuple[str, str, int], BitMap] = field(default_factory=dict)
    section_codes: dict[str, int] = field(default_factory=dict)
    section_wordings: list[str] = field(default_factory=list)
    section_labels: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    category_of: dict[str, str] = field(default_factory=dict)  # treatment -> its category
    # Per item id: its letter, position, dates of injury and of the decision (days) and patient
    # age (-1 unknown).
    letter: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    position: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    injury: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    decided: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    age: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    _ranks: dict[str, np.ndarray] = field(default_factory=dict)
    _orders: dict[str, np.ndarray] = field(default_factory=dict)

    # --- building and keeping in step

    @classmethod
    def build(cls) -> FacetIndex:
        started = time.perf_counter()
        index = cls()
        index.version = current_version()
        index._load(_Scope())
        logger.info(
            "facet index built: %d items in %.2f s, %.0f MiB",
            len(index.items),
            time.perf_counter() - started,
            index.memory_bytes() / 2**20,
        )
        return index

    def refresh(self) -> FacetIndex:
        """This index brought up to date (itself, updated in place), or a rebuilt one."""
        version = current_version()
        if version == self.version:
            return self
        change, newest_item = version
        if newest_item < self.version[1] or change < self.version[0]:
            return FacetIndex.build()  # rows vanished (a restore, a rollback in tests)
        # Ids are handed out before their transactions commit, and two writers may commit out of
        # order: a window below the last ids seen is read again (loading is idempotent).
        changes = list(
            IndexChange.objects.filter(
                pk__gt=max(0, self.version[0] - CHANGE_WINDOW), pk__lte=change
            ).values_list("pk", "determination_id")
        )
        if any(letter is None and pk > self.version[0] for pk, letter in changes):
            return FacetIndex.build()
        letters = sorted({letter for _, letter in changes if letter is not None})
        if len(letters) > REBUILD_AFTER:
            return FacetIndex.build()
        if letters:
            self._forget_letters(letters)
        self._load(_Scope(after_item=max(0, self.version[1] - ITEM_WINDOW), letters=letters))
        self.version = version
        return self

    def _forget_letters(self, letters: list[int]) -> None:
        gone = self.items_of_letters(letters)
        if not gone:
            return
        self.items -= gone
        for bitmaps in [
            *self.values.values(),
            self.cited,
            self.cited_pages,
            self.chapters,
            self.sections,
        ]:
            for items in bitmaps.values():
                items -= gone
        self.letter[_ids(gone)] = 0

    def _load(self, scope: _Scope) -> None:
        where, params = scope.where()
        self._load_labels()
        self._load_items(where, params)
        for name, (model, through, owner) in TERM_FACETS.items():
            self._load_terms(name, model, through, owner, where, params)
        self._load_drugs(where, params)
        self._categorise()
        self._load_citations(where, params)
        self._ranks.clear()
        self._orders.clear()

    def _load_labels(self) -> None:
        for name, model in [
            *((n, m) for n, (m, _, _) in TERM_FACETS.items()),
            ("guideline", Guideline),
            ("drug", Drug),
        ]:
            self.labels[name] = dict(model.objects.order_by("slug").values_list("slug", "label"))
        self.category_of = dict(Treatment.objects.values_list("slug", "category"))

    def _load_items(self, where: str, params: list) -> None:
        rows = read_ints(
            [
                "i.id",
                "i.determination_id",
                "i.position",
                _case("i.outcome", Outcome.values),
                _case("d.patient_sex", PatientSex.values),
                "COALESCE(d.patient_age, -1)",
                "COALESCE(d.injury_year, -1)",
                _days("d.date_of_injury"),
                _case("i.drug_class", DrugClass.values),
                "COALESCE(d.decision_year, -1)",
                _days("d.decision_date"),
            ],
            f"FROM {_table(DecisionItem)} i JOIN {_table(Determination)} d"
            f" ON d.id = i.determination_id WHERE {where}",
            params,
        )
        ids = rows[:, 0]
        if len(ids):
            self._grow(int(ids.max()))
            self.letter[ids], self.position[ids] = rows[:, 1], rows[:, 2]
            self.injury[ids], self.age[ids] = rows[:, 7], rows[:, 5]
            self.decided[ids] = rows[:, 10]
        self.items |= bitmap(ids)
        ages = rows[:, 5]
        band = np.full(len(ids), -1)
        bands = list(AGE_BAND_BOUNDS)
        for code, (_, low, high) in enumerate(AGE_BAND_BOUNDS.values()):
            inside = ages >= (low if low is not None else 0)
            if high is not None:
                inside &= ages < high
            band[inside & (ages >= 0)] = code
        for name, codes, keys in [
            ("outcome", rows[:, 3], Outcome.values),
            ("sex", rows[:, 4], PatientSex.values),
            ("age", band, bands),
            ("injury_year", *_year_codes(rows[:, 6])),
            ("drug_class", rows[:, 8], DrugClass.values),
            ("decision_year", *_year_codes(rows[:, 9])),
        ]:
            _merge(self.values.setdefault(name, {}), _bitmaps(ids, codes, keys))

    def _load_terms(self, name, model, through, owner, where, params) -> None:
        term_column = next(
            f.column for f in through._meta.concrete_fields if f.related_model is model
        )
        slugs = list(self.labels[name])
        join, code, code_params = _codes_join(f"l.{term_column}", slugs)
        if owner == "item":
            on = "i.id = l.decisionitem_id"
        else:
            on = "i.determination_id = l.determination_id"
        rows = read_ints(
            ["i.id", code],
            f"FROM {_table(through)} l JOIN {_table(DecisionItem)} i ON {on} {join} WHERE {where}",
            [*code_params, *params],
        )
        _merge(self.values.setdefault(name, {}), _bitmaps(rows[:, 0], rows[:, 1], slugs))

    def _load_drugs(self, where: str, params: list) -> None:
        """The drug of each medication item (a foreign key on the item, few rows have one)."""
        slugs = list(self.labels["drug"])
        join, code, code_params = _codes_join("i.drug_id", slugs)
        rows = read_ints(
            ["i.id", code],
            f"FROM {_table(DecisionItem)} i {join} WHERE i.drug_id IS NOT NULL AND {where}",
            [*code_params, *params],
        )
        _merge(self.values.setdefault("drug", {}), _bitmaps(rows[:, 0], rows[:, 1], slugs))

    def _categorise(self) -> None:
        """Each treatment category's items: the union of its treatments' (made anew each load,
        so a treatment's category may change)."""
        by_category: dict[str, list[BitMap]] = {}
        for slug, items in self.values.get("treatment", {}).items():
            by_category.setdefault(self.category_of.get(slug, "other"), []).append(items)
        self.values["category"] = {
            c: BitMap.union(*bitmaps) for c, bitmaps in by_category.items() if bitmaps
        }

    def _load_citations(self, where: str, params: list) -> None:
        guidelines = list(self.labels["guideline"])
        join, code, code_params = _codes_join("c.guideline_id", guidelines)
        side = _case("c.source", SOURCES)
        key = f"({side} * {len(guidelines)} + {code})"
        keys = [(s, g) for s in SOURCES for g in guidelines]
        rows = read_ints(
            ["c.item_id", key],
            f"FROM {_table(GuidelineCitation)} c"
            f" JOIN {_table(DecisionItem)} i ON i.id = c.item_id {join} WHERE {where}",
            [*code_params, *params],
        )
        _merge(self.cited, _bitmaps(rows[:, 0], rows[:, 1], keys))
        # For the guideline browser: the chapters a citation names (ACOEM's "Chapter 12"), and
        # its section as written. A full build reads every citation: no item to join (seconds).
        citations = f"{_table(GuidelineCitation)} c"
        if where != EVERY_ITEM:
            citations += f" JOIN {_table(DecisionItem)} i ON i.id = c.item_id"
        rows = read_ints(
            ["c.item_id", key, "h.chapter"],
            f"FROM {citations} JOIN {_table(CitedChapter)} h ON h.citation_id = c.id {join}"
            f" WHERE {where}",
            [*code_params, *params],
        )
        _merge(self.chapters, _keyed(rows[:, 0], rows[:, 1], rows[:, 2], keys))
        self._load_sections(citations, key, keys, join, code_params, where, params)
        # Pages a citation names ("98-99"), not those derived from the MTUS table.
        rows = read_ints(
            ["c.item_id", key, "r.first_page", "r.last_page"],
            f"FROM {_table(CitedPageRange)} r"
            f" JOIN {_table(GuidelineCitation)} c ON c.id = r.citation_id"
            f" JOIN {_table(DecisionItem)} i ON i.id = c.item_id {join}"
            f" WHERE r.derived = %s AND {where}",
            [*code_params, False, *params],
        )
        if not len(rows):
            return
        lengths = rows[:, 3] - rows[:, 2] + 1
        ids = np.repeat(rows[:, 0], lengths)
        pairs = np.repeat(rows[:, 1], lengths)
        starts = np.repeat(rows[:, 2] - np.cumsum(lengths) + lengths, lengths)
        pages = starts + np.arange(len(ids))
        _merge(self.cited_pages, _keyed(ids, pairs, pages, keys))

    def _load_sections(self, citations, key, keys, join, code_params, where, params) -> None:
        """Each citation's section as written (not one looked up from its pages), by wording.

        On PostgreSQL the sections in scope are read once each, given codes here, and the
        citations read as (item, side and guideline, code) through an unnested array, packed
        like the other reads; elsewhere the rows come with their text.
        """
        written = f"c.section <> '' AND c.section_derived = %s AND {where}"
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT DISTINCT c.section FROM {citations} WHERE {written}", [False, *params]
                )
                sections = [section for (section,) in cursor.fetchall()]
            rows = read_ints(
                ["c.item_id", key, "w.code"],
                f"FROM {citations} {join}"
                " JOIN unnest(%s::text[], %s::int[]) AS w(section, code) ON w.section = c.section"
                f" WHERE {written}",
                [*code_params, sections, [self._wording(s) for s in sections], False, *params],
            )
        else:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT c.item_id, {key}, c.section FROM {citations} {join} WHERE {written}",
                    [*code_params, False, *params],
                )
                found = [(item, pair, self._wording(s)) for item, pair, s in cursor.fetchall()]
            rows = np.array(found, dtype=np.int64).reshape(-1, 3)
        _merge(self.sections, _keyed(rows[:, 0], rows[:, 1], rows[:, 2], keys))

    def _wording(self, section: str) -> int:
        """The code of ``section``'s wording (a new one for a wording not seen before)."""
        wording = wording_of(section)
        code = self.section_codes.get(wording)
        if code is None:
            code = self.section_codes[wording] = len(self.section_wordings)
            self.section_wordings.append(wording)
            self.section_labels.append(section)
        elif section < self.section_labels[code]:
            self.section_labels[code] = section
        return code

    def _grow(self, newest: int) -> None:
        size = len(self.letter)
        if newest < size:
            return
        new_size = max(newest + 1, int(size * 1.25) + 1024)
        for name in ("letter", "position", "injury", "decided", "age"):
            old = getattr(self, name)
            grown = np.zeros(new_size, dtype=old.dtype)
            grown[:size] = old
            setattr(self, name, grown)

    # --- answering

    def matching(self, selected: dict[str, Iterable[str]]) -> BitMap:
        """Items having one of the ``selected`` values of every facet named (values OR'ed)."""
        result = None
        for name, values in selected.items():
            bitmaps = [self.values[name][v] for v in values if v in self.values.get(name, {})]
            chosen = BitMap.union(*bitmaps) if bitmaps else BitMap()
            result = chosen if result is None else result & chosen
        return self.items if result is None else result

    def citing(self, guidelines: Sequence[str], sides: Sequence[str], page: int | None) -> BitMap:
        """Items with a citation of one of ``guidelines`` by one of ``sides`` (at ``page``).

        An empty list means any; guideline, side and page apply to one and the same citation.
        """
        guidelines = guidelines or self.labels["guideline"]
        sides = sides or SOURCES
        if page is None:
            bitmaps = [self.cited.get((s, g)) for s in sides for g in guidelines]
        else:
            bitmaps = [self.cited_pages.get((s, g, page)) for s in sides for g in guidelines]
        present = [b for b in bitmaps if b]
        return BitMap.union(*present) if present else BitMap()

    def items_of_letters(self, letters: Iterable[int]) -> BitMap:
        wanted = np.fromiter(letters, dtype=np.int64)
        ids = np.flatnonzero(np.isin(self.letter, wanted))
        return bitmap(ids) & self.items

    def page(
        self, found: BitMap, sort: str, start: int, stop: int, first: BitMap | None = None
    ) -> list[int]:
        """Item ids ``start:stop`` of ``found`` in ``sort`` order.

        ``first``: items to put before the rest (a text search's best matches), each part in
        ``sort`` order.
        """
        rank = self._rank(sort)
        if first is None and len(found) == len(self.items):
            return self._orders[sort][start:stop].tolist()
        ids, keys = self._keyed(found, rank, first)
        stop = min(stop, len(ids))
        if start >= stop:
            return []
        if stop < len(ids) // 2:
            part = np.argpartition(keys, stop - 1)[:stop]
            chosen = part[np.argsort(keys[part], kind="stable")]
        else:
            chosen = np.argsort(keys, kind="stable")
        return ids[chosen[start:stop]].astype(np.int64).tolist()

    def ordered(self, found: BitMap, sort: str, first: BitMap | None = None) -> np.ndarray:
        """Every item id of ``found`` in ``sort`` order (``first`` as for ``page``), read-only.

        An export's ids: 8 bytes an item, so a caller can keep them and let the index go.
        """
        rank = self._rank(sort)
        if first is None and len(found) == len(self.items):
            order = self._orders[sort].view()  # the index's own, replaced but never written
        else:
            ids, keys = self._keyed(found, rank, first)
            order = ids[np.argsort(keys, kind="stable")].astype(np.int64)
        order.flags.writeable = False
        return order

    @staticmethod
    def _keyed(found: BitMap, rank: np.ndarray, first: BitMap | None):
        """The ids of ``found`` and each one's sort key (``first``'s ahead of the rest)."""
        ids = _ids(found)
        keys = rank[ids].astype(np.int64)
        if first is not None:
            keys += np.where(np.isin(ids, _ids(first)), 0, len(rank))
        return ids, keys

    def _rank(self, sort: str) -> np.ndarray:
        """Each item id's place in ``sort`` order (computed when first asked for)."""
        if sort not in self._ranks:
            ids = _ids(self.items).astype(np.int64)
            letter, position = self.letter[ids], self.position[ids]
            decided = self.decided[ids].astype(np.int64)
            keys = {  # the last key sorts first; an unknown date (NO_DATE) sorts last
                "newest": (position, -letter, -decided),
                "oldest": (position, letter, np.where(decided == NO_DATE, -NO_DATE, decided)),
                "injury": (position, -letter, -self.injury[ids].astype(np.int64)),
                "age": (position, -letter, np.where(self.age[ids] < 0, 1000, self.age[ids])),
            }[sort]
            order = ids[np.lexsort(keys)]
            rank = np.full(len(self.letter), len(self.letter), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self._ranks[sort], self._orders[sort] = rank, order
        return self._ranks[sort]

    def memory_bytes(self) -> int:
        """About what this index holds in memory."""
        bitmaps = [self.items, *self.cited.values(), *self.cited_pages.values()]
        bitmaps += [*self.chapters.values(), *self.sections.values()]
        bitmaps += [b for values in self.values.values() for b in values.values()]
        total = 0
        for b in bitmaps:
            stats = b.get_statistics()
            total += sum(stats[f"n_bytes_{kind}_containers"] for kind in ("array", "bitset", "run"))
        arrays = [
            self.letter,
            self.position,
            self.injury,
            self.decided,
            self.age,
            *self._ranks.values(),
            *self._orders.values(),
        ]
        return total + sum(a.nbytes for a in arrays)


def current_version() -> tuple[int, int]:
    """(newest IndexChange id, newest item id): two index lookups, read on every request."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {_table(IndexChange)}),"
            f" (SELECT MAX(id) FROM {_table(DecisionItem)})"
        )
        change, item = cursor.fetchone()
    return (change or 0, item or 0)


_lock = threading.RLock()
_index: FacetIndex | None = None


@contextlib.contextmanager
def current_index() -> Iterator[FacetIndex]:
    """This process's index, up to date with the database, held for the caller's queries.

    Built on first use; refreshed in place, so threads of one process take turns (a query
    takes milliseconds).
    """
    global _index
    with _lock:
        _index = FacetIndex.build() if _index is None else _index.refresh()
        yield _index


def reset() -> None:
    """Forget this process's index (the next request builds it anew)."""
    global _index
    with _lock:
        _index = None
