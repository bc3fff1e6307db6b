"""Corrections a person makes in the admin, and marking a letter's parse reviewed.

Every changed field is logged as a ``Correction`` and named in the row's ``corrected_fields``,
which re-parsing (``decisions.services.reparse``) never overwrites.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ..models import Correctable, Correction, DecisionItem, Determination, GuidelineCitation
from .changes import letters_changed

# Sentinel in ``corrected_fields`` for a row a person created: re-parsing never removes it.
ADDED_BY_PERSON = "*"


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value, for the correction log."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def letter_of(obj: Correctable) -> Determination:
    if isinstance(obj, Determination):
        return obj
    if isinstance(obj, DecisionItem):
        return obj.determination
    if isinstance(obj, GuidelineCitation):
        return obj.item.determination
    raise TypeError(f"cannot correct a {type(obj).__name__}")


@transaction.atomic
def correction_record(
    *, obj: Correctable, changes: dict[str, tuple[Any, Any]], user=None
) -> list[Correction]:
    """Log each changed field of ``obj`` and mark it corrected so re-parsing leaves it alone.

    ``changes`` maps a field name to its (old, new) value. Fields whose value did not really
    change are skipped.
    """
    logged = []
    corrected = list(obj.corrected_fields)
    letter = letter_of(obj)
    for name, (old, new) in changes.items():
        old, new = _plain(old), _plain(new)
        if old == new:
            continue
        logged.append(
            Correction(
                determination=letter,
                model=obj._meta.model_name,
                object_id=obj.pk,
                field=name,
                old_value=old,
                new_value=new,
                user=user,
            )
        )
        if name not in corrected:
            corrected.append(name)
    if logged:
        Correction.objects.bulk_create(logged)
        letters_changed(letters=[letter.pk])
        type(obj).objects.filter(pk=obj.pk).update(corrected_fields=corrected)
        obj.corrected_fields = corrected
    return logged


@transaction.atomic
def row_mark_added(*, obj: Correctable, user=None) -> None:
    """Mark a row a person created in the admin, so re-parsing never deletes it."""
    type(obj).objects.filter(pk=obj.pk).update(corrected_fields=[ADDED_BY_PERSON])
    obj.corrected_fields = [ADDED_BY_PERSON]
    letter = letter_of(obj)
    letters_changed(letters=[letter.pk])
    Correction.objects.create(
        determination=letter,
        model=obj._meta.model_name,
        object_id=obj.pk,
        field=ADDED_BY_PERSON,
        old_value=None,
        new_value=str(obj),
        user=user,
    )


@transaction.atomic
def letter_mark_reviewed(*, letter: Determination, user) -> None:
    """A person looked at the letter's parse: it leaves the review queue (and stays out)."""
    letter.reviewed_at = timezone.now()
    letter.reviewed_by = user
    letter.save(update_fields=["reviewed_at", "reviewed_by", "updated_at"])


@transaction.atomic
def rows_saved(*, obj: Correctable) -> None:
    """A person saved ``obj`` and the rows under it (some perhaps deleted): search follows."""
    item = obj if isinstance(obj, DecisionItem) else getattr(obj, "item", None)
    if item is not None:  # its citations may have changed: the text searched with the item too
        texts = item.citations.exclude(text="").order_by("pk").values_list("text", flat=True)
        DecisionItem.objects.filter(pk=item.pk).update(citations_text=" ".join(texts))
    letters_changed(letters=[letter_of(obj).pk])


@transaction.atomic
def rows_delete(*, objs: list[Correctable]) -> None:
    """Delete rows a person chose in the admin; search forgets them."""
    letters = [letter_of(obj).pk for obj in objs]
    for obj in objs:
        obj.delete()
    letters_changed(letters=letters)
