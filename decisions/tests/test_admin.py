"""Staff can see and correct every model in the admin; nobody else gets in."""

import pytest
from django.urls import reverse

from decisions.models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    Correction,
    DecisionItem,
    Determination,
    Guideline,
    GuidelineCitation,
    Specialty,
    State,
    Treatment,
)

from .factories import DecisionItemFactory, DeterminationFactory, GuidelineCitationFactory

pytestmark = pytest.mark.django_db

EDITABLE = [
    Determination,
    DecisionItem,
    GuidelineCitation,
    Treatment,
    BodyRegion,
    Guideline,
    Specialty,
    State,
]


@pytest.fixture
def letter_with_citation():
    citation = GuidelineCitationFactory()
    CitedPageRange.objects.create(citation=citation, first_page=98, last_page=99)
    CitedChapter.objects.create(citation=citation, chapter=12)
    return citation


def admin_url(model, action, *args):
    return reverse(f"admin:decisions_{model._meta.model_name}_{action}", args=args)


@pytest.mark.parametrize("model", [*EDITABLE, Correction])
def test_staff_see_every_list(staff_client, letter_with_citation, model):
    response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", [Determination, DecisionItem, GuidelineCitation])
def test_staff_open_every_change_form(staff_client, letter_with_citation, model):
    obj = model.objects.get()
    response = staff_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


def test_anonymous_user_is_sent_to_login(client, letter_with_citation):
    response = client.get(admin_url(Determination, "changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_non_staff_user_is_refused(client, django_user_model, letter_with_citation):
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    response = client.get(admin_url(Determination, "changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def item_form_data(item, **changes):
    data = {
        "determination": item.determination_id,
        "position": item.position,
        "request": item.request,
        "outcome": item.outcome,
        "laterality": item.laterality,
        "quantity": item.quantity or "",
        "rationale": item.rationale,
        "treatments": [t.pk for t in item.treatments.all()],
        "body_regions": [r.pk for r in item.body_regions.all()],
        "citations-TOTAL_FORMS": 0,
        "citations-INITIAL_FORMS": 0,
        "citations-MIN_NUM_FORMS": 0,
        "citations-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_correcting_an_item_is_logged_and_marked(staff_client):
    item = DecisionItemFactory(outcome="upheld", quantity=16)
    response = staff_client.post(
        admin_url(DecisionItem, "change", item.pk), item_form_data(item, outcome="overturned")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert item.outcome == "overturned"
    assert item.corrected_fields == ["outcome"]
    correction = Correction.objects.get()
    assert (correction.field, correction.old_value, correction.new_value) == (
        "outcome",
        "upheld",
        "overturned",
    )
    assert correction.user == staff_client.user
    assert correction.determination == item.determination


def test_saving_without_changes_logs_nothing(staff_client):
    item = DecisionItemFactory()
    response = staff_client.post(admin_url(DecisionItem, "change", item.pk), item_form_data(item))
    assert response.status_code == 302
    assert not Correction.objects.exists()
    item.refresh_from_db()
    assert item.corrected_fields == []


def test_correcting_a_letter_field_is_logged(staff_client):
    letter = DeterminationFactory(patient_age=45)
    url = admin_url(Determination, "change", letter.pk)
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data.update(
        {
            "patient_age": 46,
            "diagnoses": "[]",
            "reviewer_states": [],
            "reviewer_specialties": [],
            "items-TOTAL_FORMS": 0,
            "items-INITIAL_FORMS": 0,
            "items-MIN_NUM_FORMS": 0,
            "items-MAX_NUM_FORMS": 1000,
        }
    )
    data = {k: v for k, v in data.items() if v != []}
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    letter.refresh_from_db()
    assert letter.patient_age == 46
    assert letter.corrected_fields == ["patient_age"]
    assert Correction.objects.get().old_value == 45


def test_correction_log_is_read_only(staff_client):
    response = staff_client.get(reverse("admin:decisions_correction_add"))
    assert response.status_code == 403
