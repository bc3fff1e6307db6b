import pytest
from django.urls import reverse

from .factories import DecisionItemFactory

pytestmark = pytest.mark.django_db


def test_empty_site_says_how_to_load_letters(client):
    response = client.get(reverse("decisions:home"))
    assert response.status_code == 200
    assert b"No letters yet" in response.content
    assert b"ingest_letters" in response.content


def test_home_lists_decisions_with_their_outcome(client):
    DecisionItemFactory(request="MRI of the Lumbar Spine", outcome="overturned")
    response = client.get(reverse("decisions:home"))
    assert b"MRI of the Lumbar Spine" in response.content
    assert b"badge-overturned" in response.content
