from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "IMR decisions: staff"
admin.site.site_title = "IMR decisions staff"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("decisions.urls")),
]
