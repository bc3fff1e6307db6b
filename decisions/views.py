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

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from . import api_schema, guidelines, selectors
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
    shown = selectors.search_shown(request.GET, "html", lambda found: _search(request, found))
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    if partial:
        response = HttpResponse(shown.content, status=shown.status)
    else:
        context = {"search_html": shown.content, "title": shown.title}
        response = render(request, "decisions/search.html", context, status=shown.status)
    # The same URL answers a fragment or a whole page by this header: caches must keep both.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _search(request: HttpRequest, found: selectors.Search) -> _Shown:
    """The search region of the page (``decisions/_search.html``) for ``found``."""
    toggle = Toggles(request.GET)
    for facet in found.facets:
        for value in facet.values:
            value.url = toggle(facet.name, value.value)
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
    }
    html = render_to_string("decisions/_search.html", context, request)
    return _Shown(400 if found.errors else 200, html, found.query.text if found.query else "")


VIEWS = ("cards", "table")  # the results as cards (the default) or as a table


def _params_except(params: QueryDict, *names: str) -> list[tuple[str, str]]:
    """The other parameters, as hidden inputs of a form that sets ``names`` (back to page 1)."""
    return [(k, v) for k, values in params.lists() if k not in (*names, "page") for v in values]


def _active_filters(found: selectors.Search) -> list[tuple[str, str, str]]:
    """(facet, value, link that removes it) for every filter in force."""
    params = found.params
    active = [(f.label, v.label, v.url) for f in found.facets for v in f.selected]
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
            c.cited_pages = [
                (r, guideline_page_url(c.guideline_id, r.first_page))
                for r in c.page_ranges.all()
                if not r.derived
            ]
    letter_anchors = {
        k.replace(".", "_"): v for k, v in anchors.items() if not k.startswith("items[")
    }
    return render(
        request,
        "decisions/letter.html",
        {"letter": letter, "items": items, "letter_text": text, "anchors": letter_anchors},
    )


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
    """``GET /api/decisions/``: the search page's results and facets as JSON."""
    base = request.build_absolute_uri(request.path)
    shown = selectors.search_shown(request.GET, base, lambda found: _api(request, base, found))
    return HttpResponse(shown.content, status=shown.status, content_type="application/json")


def _api(request: HttpRequest, base: str, found: selectors.Search) -> _Shown:
    """The JSON of ``found``, its links made from ``base`` (this endpoint's absolute URL)."""
    if found.errors:
        error = "Some parameters have values this search does not know."
        return _Shown(400, _json({"error": error, "fields": found.errors}))
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
        "examples": [run(title, query) for title, query in api_schema.EXAMPLES],
        "error_example": run("A value the search does not know", api_schema.ERROR_EXAMPLE),
        "page_size": selectors.PAGE_SIZE,
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
