"""Read-only pages and the JSON API: HTTP only. A view asks ``decisions.selectors`` for what to
show and renders it; views never write (changes go through ``decisions.services``).

Every search is a plain GET whose query string holds all of it (filters, text, sort, page), so
each view of the results has a permalink. With htmx, links and forms inside the search swap only
the results region; without JavaScript they are ordinary links and forms.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html_join
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from . import api_schema, charts, exports, guidelines, selectors, stats
from .filters import WITHIN_CHOICES
from .highlight import highlighted_text


class Toggles:
    """Links that toggle one value of a query string: ``toggle(name, value)`` is the query
    string with ``name=value`` added, or removed if present (back to page 1).

    Made once for a page's many facet values: each parameter is encoded once, not once a link,
    into the string ``QueryDict.copy``, ``setlist`` and ``urlencode`` would give.
    """

    def __init__(self, params: QueryDict) -> None:
        self.values = {k: v for k, v in params.lists() if k != "page"}
        self.encoded = {k: [_pair(k, v) for v in vs] for k, vs in self.values.items()}

    def __call__(self, name: str, value: str) -> str:
        values = self.values.get(name, [])
        new = [v for v in values if v != value] if value in values else [*values, value]
        parts = {**self.encoded, name: [_pair(name, v) for v in new]}
        return "?" + "&".join(pair for pairs in parts.values() for pair in pairs)


def _pair(name: str, value: str) -> str:
    return urlencode({name.encode(): str(value).encode()})


def with_param(params: QueryDict, **changes) -> str:
    new = params.copy()
    for key, value in changes.items():
        if value in (None, ""):
            new.pop(key, None)
        else:
            new[key] = str(value)
    return "?" + new.urlencode()


# --- pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """A search as a response shows it: its status and content (and a page's title words)."""

    status: int
    content: str | bytes
    title: str = ""


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # The search region is the same for everyone (it is cached so): the page around it is not.
    breakdowns, errors = selectors.panel_breakdowns(request.GET)
    shown = selectors.search_shown(
        request.GET, "html", lambda found: _search(request, found, errors), breakdowns=breakdowns
    )
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    feed_url = reverse("decisions:feed") + _query(request.GET) if shown.status == 200 else None
    if partial:
        # htmx swaps the search region only: the head's feed link follows out of band.
        head = render_to_string("includes/feed_link.html", {"feed_url": feed_url, "oob": True})
        response = HttpResponse(shown.content + head, status=shown.status)
    else:
        context = {"search_html": shown.content, "title": shown.title, "feed_url": feed_url}
        response = render(request, "decisions/search.html", context, status=shown.status)
    # The same URL answers a fragment or a whole page by this header: caches must keep both.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _search(request: HttpRequest, found: selectors.Search, errors: dict) -> _Shown:
    """The search region of the page (``decisions/_search.html``) for ``found`` (``errors``:
    those of the parameters saying how to show it)."""
    found.errors.update(errors)
    _link_facets(request.GET, found)
    params = request.GET
    view = params.get("view") or "cards"
    if view not in VIEWS:
        found.errors["view"] = [f"Unknown view “{view}”: use one of {', '.join(VIEWS)}."]
    context = {
        "search": found,
        "search_view": view,
        "outcome_chosen": any(f.name == "outcome" and f.selected for f in found.facets),
        "letter_count": None if found.filtered or found.count else selectors.letter_count(),
        "sorts": found.sorts,
        "active": _active_filters(found),
        "keep_for_q": _params_except(params, "q", "within"),
        "within_choices": WITHIN_CHOICES,
        "keep_for_page": _params_except(params, "cited_page"),
        "keep_for_sort": _params_except(params, "sort"),
        "keep_for_panel": _params_except(params, "by", "order"),
        "feed_url": reverse("decisions:feed") + _query(params),
        **_panel(params, found),
    }
    html = render_to_string("decisions/_search.html", context, request)
    return _Shown(400 if found.errors else 200, html, found.query.text if found.query else "")


def _query(params: QueryDict) -> str:
    """ "?" and the search's filters in the canonical order its feed has them ("" for none)."""
    return _query_string(selectors.search_query(params))


def _query_string(query: str) -> str:
    return f"?{query}" if query else ""


VIEWS = ("cards", "table")  # the results as cards (the default) or as a table


def _panel(params: QueryDict, found: selectors.Search) -> dict:
    """The outcome panel's context: the rate, its breakdown and trend as rows to draw."""
    panel, trend = found.breakdowns.get("panel"), found.breakdowns.get("trend")
    if found.errors or panel is None or trend is None:
        return {}
    return {
        "rate": found.rate,
        "panel": panel,
        "panel_rows": [
            (g, charts.bar(g), group_url(params, panel.by, g.value)) for g in panel.groups
        ],
        "breakdown_choices": list(stats.BREAKDOWNS.items()),
        "trend": trend,
        "trend_chart": charts.trend(trend.groups),
        "trend_rows": [(g, group_url(params, trend.by, g.value)) for g in trend.groups],
        "report_url": reverse("decisions:report")
        + with_param(_params_only(params, *selectors.PRESENTATION)),
    }


@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """``/report/``: the annual report's tables for any search (a year is ``decision_year``)."""
    shown = selectors.search_shown(
        request.GET,
        "report",
        lambda found: _report(request, found),
        breakdowns=selectors.REPORT_BREAKDOWNS,
    )
    return HttpResponse(shown.content, status=shown.status)


def _report(request: HttpRequest, found: selectors.Search) -> _Shown:
    # The report's numbers are rates, of both outcomes: an outcome asked for is left out of its
    # counts (as the rates always leave it out) and of its links, so each links to its number.
    params = _params_only(request.GET, *selectors.PRESENTATION, "outcome")
    _link_facets(params, found)
    home = reverse("decisions:home")
    tables = []
    for name, breakdown in found.breakdowns.items():
        total = sum(g.rate.decisions for g in breakdown.groups) if name == "drug_class" else None
        base = (total or (found.rate.decisions if found.rate else 0)) or 1
        rows = [
            (g, home + group_url(params, breakdown.by, g.value), f"{g.rate.decisions / base:.1%}")
            for g in breakdown.groups
        ]
        tables.append((name, breakdown, rows))
    context = {
        "search": found,
        "outcome_left_out": "outcome" in request.GET,
        "tables": tables,
        "active": _active_filters(found, "outcome") if not found.errors else [],
        "search_url": home + with_param(params),
        "year_links": [
            (v, reverse("decisions:report") + with_param(params, decision_year=v.value))
            for f in found.facets
            if f.name == "decision_year"
            for v in f.values
        ],
    }
    html = render_to_string("decisions/report.html", context, request)
    return _Shown(400 if found.errors else 200, html)


def _params_only(params: QueryDict, *dropped: str) -> QueryDict:
    """``params`` without those saying how to show a page (the report shows its own way)."""
    kept = params.copy()
    for name in dropped:
        kept.pop(name, None)
    return kept


def group_url(params: QueryDict, by: str, value: str) -> str:
    """The search narrowed to one value of a breakdown (the rows behind its number)."""
    if by == "guideline":
        return with_param(params, guideline=value, source="maximus", cited_page=None, page=None)
    if by == "cited_page":
        guideline, page = value.split(":")
        return with_param(params, guideline=guideline, cited_page=page, source="maximus", page=None)
    return with_param(params, page=None, **{by: value})


def _link_facets(params: QueryDict, found: selectors.Search) -> None:
    """Give each facet value the link that toggles it in the search."""
    toggle = Toggles(params)
    for facet in found.facets:
        for value in facet.values:
            value.url = toggle(facet.name, value.value)


def _params_except(params: QueryDict, *names: str) -> list[tuple[str, str]]:
    """The other parameters, as hidden inputs of a form that sets ``names`` (back to page 1)."""
    return [(k, v) for k, values in _params_only(params, *names, "page").lists() for v in values]


def _active_filters(found: selectors.Search, *left_out: str) -> list[tuple[str, str, str]]:
    """(facet, value, link that removes it) for every filter in force (but ``left_out``)."""
    params = found.params
    active = [
        (f.label, v.label, v.url)
        for f in found.facets
        if f.name not in left_out
        for v in f.selected
    ]
    if params.get("cited_page"):
        active.append(
            ("Cited page", params["cited_page"], with_param(params, cited_page=None, page=None))
        )
    if params.get("q"):
        active.append(
            ("Text", f"“{params['q']}”", with_param(params, q=None, page=None, sort=None))
        )
    return active


def _moved(request: HttpRequest, key: str, name: str) -> HttpResponse:
    """The redirect for a letter named by another name than its key (an old numeric URL, a short
    hash, a case number in lower case); 404 when ``key`` names no letter."""
    found = selectors.letter_key_found(key)
    if found is None or found == key:
        raise Http404("No letter has that case number or key.")
    url = reverse(name, kwargs={"key": found})
    return redirect(url + (f"?{request.GET.urlencode()}" if request.GET else ""), permanent=True)


@require_GET
def letter_detail(request: HttpRequest, key: str) -> HttpResponse:
    found = selectors.letter_with_items(key)
    if found is None:
        return _moved(request, key, "decisions:letter")
    letter, items = found
    text, anchors = highlighted_text(letter, items)
    for item in items:
        prefix = f"items[{item.position}]."
        item.anchors = {
            k[len(prefix) :].replace(".", "_"): v
            for k, v in anchors.items()
            if k.startswith(prefix)
        }
        for c in item.citations.all():
            c.anchor = item.anchors.get(f"citations_{c.source}_{c.guideline_id}")
            c.search_url = guideline_page_url(c.guideline_id)
            # Each end of a range links to its own page ("98-99": 98 and 99), so a link finds
            # the decisions citing the page it names (the search takes one page).
            c.cited_pages = [
                [
                    (page, guideline_page_url(c.guideline_id, page))
                    for page in dict.fromkeys((r.first_page, r.last_page))
                ]
                for r in c.page_ranges.all()
                if not r.derived
            ]
    similar = selectors.similar_decisions(letter, items)
    for item in items:
        item.similar = similar.get(item.pk)
    letter_anchors = {
        k.replace(".", "_"): v for k, v in anchors.items() if not k.startswith("items[")
    }
    rows = [letter, *items, *(c for item in items for c in item.citations.all())]
    context = {
        "letter": letter,
        "items": items,
        "letter_text": text,
        "anchors": letter_anchors,
        "any_corrected": any(row.corrected_fields for row in rows),  # says what (corrected) is
    }
    return render(request, "decisions/letter.html", context)


@require_GET
def letter_original(request: HttpRequest, key: str) -> HttpResponse:
    """The file the letter was read from, under its own name."""
    letter = selectors.letter_original(key)
    if letter is None:
        return _moved(request, key, "decisions:letter_original")
    if not letter.original:
        raise Http404("This letter's original file was not kept.")
    try:
        handle = letter.original.open("rb")
    except OSError as exc:
        raise Http404("This letter's original file cannot be read.") from exc
    return FileResponse(handle, as_attachment=True, filename=letter.original_name)


@require_GET
def guideline_list(request: HttpRequest) -> HttpResponse:
    """``GET /guidelines/``: every guideline, the decisions citing it by each side."""
    found = guidelines.guideline_list(request.GET)
    context = {"browse": found}
    return render(request, "decisions/guidelines.html", context, status=_status(found))


@require_GET
def guideline_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET /guidelines/<slug>/``: a guideline's pages, topics, chapters and sections."""
    found = guidelines.guideline_detail(slug, request.GET)
    if found is None:
        raise Http404("No guideline has that name.")
    context = {"browse": found}
    return render(request, "decisions/guideline.html", context, status=_status(found))


def _status(found: guidelines.Browse) -> int:
    return 400 if found.errors else 200


# --- JSON API -------------------------------------------------------------------------------


@require_GET
def api_decisions(request: HttpRequest) -> HttpResponse:
    """``GET /api/decisions/``: the search page's results and facets as JSON; with
    ``format=csv`` or ``format=jsonl``, every decision found, streamed as a file."""
    if (request.GET.get("format") or "json") != "json":
        return _export(request)
    base = request.build_absolute_uri(request.path)
    shown = selectors.search_shown(request.GET, base, lambda found: _api(request, base, found))
    return HttpResponse(shown.content, status=shown.status, content_type="application/json")


def _api(request: HttpRequest, base: str, found: selectors.Search) -> _Shown:
    """The JSON of ``found``, its links made from ``base`` (this endpoint's absolute URL)."""
    if found.errors:
        return _Shown(400, _error_json(found.errors))
    page, params = found.page, found.params
    data = {
        "count": found.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "next": base + with_param(params, page=page.next_page_number())
        if page.has_next()
        else None,
        "previous": base + with_param(params, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "results": [_item_json(request, item) for item in page],
        "facets": {
            facet.name: [
                {"value": v.value, "label": v.label, "count": v.count, "selected": v.selected}
                for v in facet.values
            ]
            for facet in found.facets
        },
    }
    return _Shown(200, _json(data))


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    """``GET /feed/``: an Atom feed of any search (the search page's parameters; sort, page and
    the like are ignored), the decisions newest to the site first: follow a search in a feed
    reader. A 400 as JSON when a parameter is wrong."""
    site = request.build_absolute_uri("/").removesuffix("/")
    shown = selectors.feed_shown(request.GET, site, lambda found: _feed(site, found))
    content_type = "application/json" if shown.status != 200 else Atom1Feed.content_type
    return HttpResponse(shown.content, status=shown.status, content_type=content_type)


def _feed(site: str, found: selectors.Feed) -> _Shown:
    """The Atom document of ``found``, its links made absolute with ``site``."""
    if found.errors:
        return _Shown(400, _error_json(found.errors))
    query = _query_string(found.query)
    search_url = site + reverse("decisions:home") + query
    atom = Atom1Feed(
        title=found.title,
        link=search_url,
        description="",
        subtitle="The decisions of this search newest to the site first, "
        f"{selectors.FEED_SIZE} at most.",
        feed_url=site + reverse("decisions:feed") + query,
        feed_guid=search_url,
        language="en",
    )
    for row in found.rows:
        url = site + row.get_absolute_url()
        added = found.added.get(row.determination_id)
        atom.add_item(
            title=f"{row.outcome_label}: {row.request}",
            link=url,
            unique_id=url,
            description=_feed_summary(row),
            pubdate=added,
            updateddate=added,
        )
    return _Shown(200, atom.writeString("utf-8").encode())


def _feed_summary(row: selectors.ResultRow) -> str:
    """An entry's summary, as HTML: the case and date, treatment and region, the rationale's
    opening."""
    letter = row.letter
    date = letter.decision_date
    decided = f"decided {date:%B} {date.day}, {date.year}" if date else "undated"
    lines = [
        f"{letter}, {decided}",
        "Treatment: " + (row.treatment_labels or "not named"),
        "Body region: " + (row.body_region_labels or "not named"),
        row.rationale_lead,
    ]
    return format_html_join("", "<p>{}</p>", ((line,) for line in lines if line))


def _error_json(errors: dict[str, list[str]]) -> bytes:
    error = "Some parameters have values this search does not know."
    return _json({"error": error, "fields": errors})


def _export(request: HttpRequest) -> HttpResponse:
    """Every decision the search finds, as a CSV or JSON Lines file, streamed a chunk of rows at
    a time (never cached: it is read afresh); a 400 as JSON when a parameter is wrong."""
    params, asked = request.GET, request.GET["format"]
    shown = exports.FORMATS.get(asked)
    if shown is None:
        errors = selectors.search_errors(params)
        names = ", ".join(["json", *exports.FORMATS])
        errors["format"] = [f"Unknown format “{asked}”: use one of {names}."]
        return HttpResponse(_error_json(errors), status=400, content_type="application/json")
    found = selectors.decision_export(params)
    if found.errors:
        return HttpResponse(_error_json(found.errors), status=400, content_type="application/json")
    site = request.build_absolute_uri("/").removesuffix("/")
    response = StreamingHttpResponse(
        shown.pieces(found.chunks(), lambda row: site + row.get_absolute_url()),
        content_type=shown.content_type,
    )
    name = exports.filename(params, shown.extension, timezone.localdate())
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@require_GET
def api_openapi(request: HttpRequest) -> HttpResponse:
    """``GET /api/openapi.json``: the API's OpenAPI 3.1 description."""
    docs_url = request.build_absolute_uri(reverse("decisions:api"))
    return JsonResponse(api_schema.openapi(docs_url=docs_url))


@dataclass(frozen=True)
class _Example:
    """An example of the API page: its URL and what the API answers it now."""

    title: str
    url: str
    status: int
    count: int | None
    first: dict | None  # its first result
    excerpt: str  # part of the answer, as JSON


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """``GET /api/``: the API explained, its examples run against the data as it is now."""
    path = reverse("decisions:api_decisions")
    base = request.build_absolute_uri(path)

    def run(title: str, query: str) -> _Example:
        params = QueryDict(query)
        # As api_decisions answers it (and from the same cache).
        shown = selectors.search_shown(params, base, lambda found: _api(request, base, found))
        data = json.loads(shown.content)
        first = data["results"][0] if data.get("results") else None
        return _Example(
            title,
            f"{path}?{query}",
            shown.status,
            data.get("count"),
            first,
            api_schema.excerpt(data),
        )

    context = {
        "parameters": api_schema.parameters(),
        "answer_tables": api_schema.field_tables(api_schema.SEARCH_PAGE),
        "error_tables": api_schema.field_tables(api_schema.ERROR),
        "export_tables": api_schema.field_tables(api_schema.EXPORT_ROW),
        "examples": [run(title, query) for title, query in api_schema.EXAMPLES],
        "error_example": run("A value the search does not know", api_schema.ERROR_EXAMPLE),
        "page_size": selectors.PAGE_SIZE,
        "feed_size": selectors.FEED_SIZE,
    }
    return render(request, "decisions/api.html", context)


def _json(data: dict) -> bytes:
    return JsonResponse(data).content  # its encoding (DjangoJSONEncoder), without the response


def _item_json(request: HttpRequest, item: selectors.ResultRow) -> dict:
    letter = item.letter
    return {
        "id": item.pk,
        "request": item.request,
        "outcome": item.outcome,
        "treatments": [slug for slug, _ in item.treatments],
        "categories": list(dict.fromkeys(item.treatment_categories)),
        "drug": {"generic": item.drug_id, "class": item.drug_class} if item.drug_class else None,
        "body_regions": [slug for slug, _ in item.body_regions],
        "body_regions_inferred": item.body_regions_inferred,
        "laterality": item.laterality or None,
        "quantity": item.quantity,
        "citations": [
            {
                "source": c.source,
                "guideline": c.guideline_id,
                "section": c.section or None,
                "pages": c.named_pages(),
            }
            for c in item.citations
        ],
        "letter": {
            "id": letter.pk,
            "key": letter.key,
            "url": request.build_absolute_uri(item.get_absolute_url()),
            "case_number": letter.case_number or None,
            "decision_date": _iso(letter.decision_date),
            "date_assigned": _iso(letter.date_assigned),
            "ur_date": _iso(letter.ur_date),
            "reviewer_specialties": [slug for slug, _ in letter.specialties],
            "patient_age": letter.patient_age,
            "patient_sex": letter.patient_sex or None,
            "date_of_injury": _iso(letter.date_of_injury),
        },
        "snippet": str(item.snippet) if item.snippet else None,
    }


def _iso(date: dt.date | None) -> str | None:
    return date.isoformat() if date else None


def guideline_page_url(guideline: str, page: int | None = None) -> str:
    """The search for decisions citing a guideline (at a page): links from a letter's citations."""
    params = {"guideline": guideline, **({"cited_page": page} if page else {})}
    return reverse("decisions:home") + "?" + urlencode(params)
