from django.contrib.admin.apps import AdminConfig


class IMRAdminConfig(AdminConfig):
    default_site = "imrsite.admin.IMRAdminSite"
