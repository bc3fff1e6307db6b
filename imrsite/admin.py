"""The staff admin site: Django's, with the review queue's size on its index."""

from django.contrib import admin


class IMRAdminSite(admin.AdminSite):
    site_header = "IMR decisions: staff"
    site_title = "IMR decisions staff"
    index_title = "Correct and review parsed letters"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:
            for model in app["models"]:
                if model["object_name"] == "LetterToReview":
                    from decisions.models import Determination

                    model["name"] = f"{model['name']} ({Determination.objects.to_review().count()})"
        return apps
