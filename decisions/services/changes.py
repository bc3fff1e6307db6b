"""Telling the facet index which stored letters changed (new letters need no telling)."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import IndexChange


def letters_changed(*, letters: Iterable[int | None]) -> None:
    """Log that these letters' rows changed; ``None`` asks every index for a full rebuild.

    Call it in the transaction that changes them, so the index sees both or neither.
    """
    IndexChange.objects.bulk_create(
        [IndexChange(determination_id=pk) for pk in sorted(set(letters), key=lambda p: p or 0)]
    )
