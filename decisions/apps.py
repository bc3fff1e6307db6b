from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _repair_search_index(sender, using, **kwargs):
    from . import search

    search.index_repair(using=using)


class DecisionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "decisions"
    verbose_name = "Decisions"

    def ready(self):
        # Database upkeep after migrations, as Django does for permissions: see search.py.
        post_migrate.connect(_repair_search_index, sender=self)
