from django.urls import path

from . import views

app_name = "decisions"

urlpatterns = [
    path("", views.home, name="home"),
    path("guidelines/", views.guideline_list, name="guidelines"),
    path("guidelines/<slug:slug>/", views.guideline_detail, name="guideline"),
    path("letters/<str:key>/", views.letter_detail, name="letter"),
    path("letters/<str:key>/original", views.letter_original, name="letter_original"),
    path("report/", views.report, name="report"),
    path("api/", views.api_docs, name="api"),
    path("api/decisions/", views.api_decisions, name="api_decisions"),
    path("api/openapi.json", views.api_openapi, name="api_openapi"),
]
