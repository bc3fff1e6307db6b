"""Template filters for values a person corrected in the admin (a row's ``corrected_fields``)."""

from django import template

from ..models import Correctable

register = template.Library()


@register.filter
def corrected(row: Correctable, fields: str) -> bool:
    """Whether a person corrected any of ``fields`` (comma-separated names) of ``row``.

    ``"*"`` among them asks whether a person added the row itself.
    """
    names = set(getattr(row, "corrected_fields", None) or [])
    return any(name.strip() in names for name in fields.split(","))
