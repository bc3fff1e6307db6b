"""Read-only pages. Views never write: changes go through ``decisions.services``."""

from django.shortcuts import get_object_or_404, render

from .models import DecisionItem, Determination


def home(request):
    items = DecisionItem.objects.select_related("determination").order_by(
        "-determination__created_at", "determination_id", "position"
    )
    return render(
        request,
        "decisions/home.html",
        {
            "letter_count": Determination.objects.count(),
            "item_count": DecisionItem.objects.count(),
            "recent_items": items[:20],
        },
    )


def letter_detail(request, pk: int):
    letter = get_object_or_404(Determination, pk=pk)
    items = letter.items.prefetch_related(
        "treatments", "body_regions", "citations__guideline", "citations__page_ranges"
    )
    return render(request, "decisions/letter.html", {"letter": letter, "items": items})
