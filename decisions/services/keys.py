"""Public keys: the part of a letter's URL a person cites (``/letters/CM13-0000001/``)."""

from __future__ import annotations

from ..models import Determination, letter_keys

_NEW = -1  # holds a key for a letter of this batch not yet stored


def letter_keys_assign(letters: list[Determination]) -> None:
    """Give each letter the first of its keys (``letter_keys``) that no other letter holds.

    One query for the batch; a stored letter already holding its first choice keeps it. Letters
    of one batch are told apart from each other as from those stored.
    """
    wanted = {id(x): letter_keys(x.case_number, x.content_hash) for x in letters}
    moving = [x for x in letters if x.pk is None or x.key != wanted[id(x)][0]]
    if not moving:
        return
    candidates = {key for letter in moving for key in wanted[id(letter)]}
    held = dict(Determination.objects.filter(key__in=candidates).values_list("key", "pk"))
    staying = {id(letter) for letter in letters} - {id(letter) for letter in moving}
    held.update({letter.key: letter.pk for letter in letters if id(letter) in staying})
    for letter in moving:
        for key in wanted[id(letter)]:
            holder = held.get(key)
            if holder is None or (letter.pk is not None and holder == letter.pk):
                letter.key = key
                held[key] = letter.pk or _NEW
                break
