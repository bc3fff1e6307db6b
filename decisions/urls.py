from django.urls import path, register_converter

from . import views


class LetterKey:
    """A letter's key or an older name of it: no control character (PostgreSQL cannot even
    compare a text holding NUL), no slash, at most 120 characters; any other path is a 404."""

    regex = r"[^/\x00-\x1f\x7f]{1,120}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LetterKey, "letterkey")
app_name = "decisions"

urlpatterns = [
    path("", views.home, name="home"),
    path("guidelines/", views.guideline_list, name="guidelines"),
    path("guidelines/<slug:slug>/", views.guideline_detail, name="guideline"),
    path("letters/<letterkey:key>/", views.letter_detail, name="letter"),
    path("letters/<letterkey:key>/original", views.letter_original, name="letter_original"),
    path("report/", views.report, name="report"),
    path("feed/", views.feed, name="feed"),
    path("api/", views.api_docs, name="api"),
    path("api/decisions/", views.api_decisions, name="api_decisions"),
    path("api/openapi.json", views.api_openapi, name="api_openapi"),
]
