"""Staff can see and correct every model in the admin; nobody else gets in."""

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from decisions import services
from decisions.models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    Correction,
    DecisionItem,
    Determination,
    Guideline,
    GuidelineCitation,
    Job,
    LetterToReview,
    Specialty,
    State,
    Treatment,
)

from .factories import DecisionItemFactory, DeterminationFactory, GuidelineCitationFactory

pytestmark = pytest.mark.django_db
LETTERS = Path(__file__).resolve().parents[2] / "fixtures" / "letters"

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


@pytest.mark.parametrize("model", [*EDITABLE, Correction, Job])
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
            "corrections-TOTAL_FORMS": 0,
            "corrections-INITIAL_FORMS": 0,
            "corrections-MIN_NUM_FORMS": 0,
            "corrections-MAX_NUM_FORMS": 1000,
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


# --- the correction workflow, end to end ------------------------------------------------------


def _bound_values(form) -> dict:
    values = {}
    for bound in form:
        value = bound.value()
        if value is None or value is False:
            continue  # an empty field or an unticked box sends nothing
        if value is True:
            value = "on"
        values[bound.html_name] = list(value) if isinstance(value, list | tuple) else value
    return values


def change_form_data(client, url, **changes) -> dict:
    """What the admin's change form would send as rendered, with ``changes`` made by a person."""
    response = client.get(url)
    assert response.status_code == 200
    data = _bound_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_bound_values(formset.management_form))
        for form in formset.forms:
            data.update(_bound_values(form))
    data.update(changes)
    return data


def public_count(client, query):
    return json.loads(client.get(reverse("decisions:api_decisions") + "?" + query).content)["count"]


def test_a_correction_in_the_admin_survives_reparse_and_reingest(staff_client, sample_letters):
    item = DecisionItem.objects.get(request="MRI of the Lumbar Spine")
    assert public_count(staff_client, "outcome=overturned") == 3
    url = admin_url(DecisionItem, "change", item.pk)
    response = staff_client.post(url, change_form_data(staff_client, url, outcome="upheld"))
    assert response.status_code == 302

    assert public_count(staff_client, "outcome=overturned") == 2  # the site shows it at once
    for args in (["--reparse"], [str(LETTERS)]):
        call_command("ingest_letters", *args, verbosity=0)
        item.refresh_from_db()
        assert item.outcome == "upheld"
    correction = Correction.objects.get(object_id=item.pk)
    assert (correction.old_value, correction.new_value, correction.user) == (
        "overturned",
        "upheld",
        staff_client.user,
    )
    form = staff_client.get(url).content.decode()
    assert "Outcome (corrected)" in form


def test_letter_page_shows_its_text_marked_and_its_corrections(staff_client, sample_letters):
    letter = Determination.objects.get(pk=sample_letters[2].determination_id)
    url = admin_url(Determination, "change", letter.pk)
    staff_client.post(url, change_form_data(staff_client, url, patient_age=46))
    content = staff_client.get(url).content.decode()
    assert "Letter text" in content
    assert 'data-field="patient.age"' in content  # the letter beside the fields, marked
    assert "corrections made by people" in content.lower()
    assert ">45<" in content and ">46<" in content  # old and new value in the log
    recent = staff_client.get(reverse("admin:decisions_correction_changelist")).content.decode()
    assert "patient_age" in recent and str(letter) in recent


def test_a_corrected_date_of_injury_moves_the_letter_in_the_year_facet(
    staff_client, sample_letters
):
    letter = Determination.objects.get(pk=sample_letters[3].determination_id)  # injured 2008
    url = admin_url(Determination, "change", letter.pk)
    staff_client.post(url, change_form_data(staff_client, url, date_of_injury="2009-07-16"))
    assert public_count(staff_client, "injury_year=2008") == 0
    assert public_count(staff_client, "injury_year=2009") == 2


def test_a_corrected_case_number_and_decision_date_move_the_letter_and_survive_reparse(
    staff_client, sample_letters
):
    letter = Determination.objects.get(pk=sample_letters[3].determination_id)  # no header
    url = admin_url(Determination, "change", letter.pk)
    changes = {"case_number": "CM15-0012345", "decision_date": "2015-04-09"}
    staff_client.post(url, change_form_data(staff_client, url, **changes))
    assert staff_client.get("/letters/CM15-0012345/").status_code == 200
    moved = staff_client.get(f"/letters/{letter.key}/")  # its old address, from its content
    assert moved["Location"] == "/letters/CM15-0012345/"
    assert public_count(staff_client, "decision_year=2015") == letter.items.count()
    call_command("ingest_letters", "--reparse", verbosity=0)
    letter.refresh_from_db()
    assert (letter.key, str(letter.decision_date), letter.decision_year) == (
        "CM15-0012345",
        "2015-04-09",
        2015,
    )


def test_review_queue_lists_letters_to_check_and_drops_them_once_reviewed(
    staff_client, sample_letters
):
    queue_url = admin_url(LetterToReview, "changelist")
    to_review = list(Determination.objects.to_review())
    inferred = Determination.objects.get(
        pk=sample_letters[4].determination_id
    )  # 004: regions inferred
    assert inferred in to_review
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert f"Letters to review ({len(to_review)})" in index
    row = admin_url(LetterToReview, "change", inferred.pk)
    assert row in staff_client.get(queue_url).content.decode()

    url = admin_url(Determination, "change", inferred.pk)
    response = staff_client.post(
        reverse("admin:decisions_determination_review", args=[inferred.pk]),
        change_form_data(staff_client, url),
    )
    assert response.status_code == 302
    inferred.refresh_from_db()
    assert (inferred.reviewed_by, inferred.reviewed_at is not None) == (staff_client.user, True)
    assert row not in staff_client.get(queue_url).content.decode()
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert f"Letters to review ({len(to_review) - 1})" in index


def test_only_a_letter_waiting_for_review_offers_mark_reviewed(staff_client, sample_letters):
    to_review = set(Determination.objects.to_review().values_list("pk", flat=True))
    assert 0 < len(to_review) < len(sample_letters)  # some letters warned or inferred, some not
    for outcome in sample_letters:
        pk = outcome.determination_id
        page = staff_client.get(admin_url(Determination, "change", pk)).content.decode()
        for banner in ("warned or inferred something", "Mark reviewed</button>"):
            assert (banner in page) == (pk in to_review), (outcome.determination_id, banner)


@pytest.fixture
def editor_client(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    client.user = user
    return client


def test_an_editor_corrects_and_reviews_but_cannot_delete(editor_client, sample_letters):
    letter = Determination.objects.get(pk=sample_letters[4].determination_id)
    item = letter.items.first()
    url = admin_url(DecisionItem, "change", item.pk)
    response = editor_client.post(url, change_form_data(editor_client, url, outcome="overturned"))
    assert response.status_code == 302
    assert Correction.objects.filter(user=editor_client.user).exists()

    review = reverse("admin:decisions_determination_review", args=[letter.pk])
    letter_url = admin_url(Determination, "change", letter.pk)
    assert (
        editor_client.post(review, change_form_data(editor_client, letter_url)).status_code == 302
    )

    for model, pk in [(Determination, letter.pk), (DecisionItem, item.pk)]:
        assert editor_client.get(admin_url(model, "delete", pk)).status_code == 403
        assert (
            editor_client.post(admin_url(model, "delete", pk), {"post": "yes"}).status_code == 403
        )
    changelist = editor_client.get(admin_url(Determination, "changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert Determination.objects.filter(pk=letter.pk).exists()


def test_reviewing_needs_the_permission(client, django_user_model, sample_letters):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_determination"))
    client.force_login(user)
    letter_pk = sample_letters[4].determination_id
    review = reverse("admin:decisions_determination_review", args=[letter_pk])
    assert client.post(review).status_code == 403
    assert Determination.objects.get(pk=letter_pk).reviewed_at is None


def test_a_new_alias_renormalises_stored_letters_and_the_facets_follow(
    staff_client, sample_letters
):
    text = (
        (LETTERS / "003_0a410e5aa90ad013.txt")
        .read_text()
        .replace("MRI of the Lumbar Spine:  Overturned", "MRI of the clavicle:  Overturned")
    )
    list(services.letters_ingest(letters=[services.LetterInput("clavicle.txt", text)]))
    item = DecisionItem.objects.get(request="MRI of the clavicle")
    assert item.body_regions_inferred  # no region named: the summary's (lumbar) was used
    assert public_count(staff_client, "body_region=shoulder") == 0

    shoulder = BodyRegion.objects.get(slug="shoulder")
    url = admin_url(BodyRegion, "change", shoulder.pk)
    response = staff_client.post(
        url, {"label": shoulder.label, "extra_aliases": "clavicle\nAC joint"}
    )
    assert response.status_code == 302
    response = staff_client.post(
        admin_url(BodyRegion, "changelist"),
        {"action": "renormalise_letters", "_selected_action": [shoulder.pk]},
    )
    job = Job.objects.get()  # queued, and the request returns: a worker does the re-parse
    assert response.status_code == 302
    assert response.url == admin_url(Job, "change", job.pk)
    page = staff_client.get(response.url).content.decode()
    assert "Queued a re-parse of every stored letter" in page
    assert "Waiting for a worker" in page
    item.refresh_from_db()
    assert item.body_regions_inferred  # not re-parsed yet

    call_command("run_jobs", "--once", "--workers", "0", stdout=io.StringIO())
    page = staff_client.get(response.url).content.decode()
    assert '<span id="job-letters">6 of 6 (100%)</span>' in page
    item.refresh_from_db()
    assert [r.slug for r in item.body_regions.all()] == ["shoulder"]
    assert not item.body_regions_inferred
    assert public_count(staff_client, "body_region=shoulder") == 1


def renormalise(client):
    return client.post(
        admin_url(BodyRegion, "changelist"),
        {"action": "renormalise_letters", "_selected_action": ["shoulder"]},
    )


def test_renormalising_again_shows_the_job_already_queued(staff_client, sample_letters):
    first = renormalise(staff_client)
    again = renormalise(staff_client)
    assert again.url == first.url
    assert Job.objects.count() == 1
    page = staff_client.get(again.url).content.decode()
    assert "already waiting to start" in page


def test_a_running_job_shows_its_progress_and_its_page_reloads(staff_client):
    now = timezone.now()
    job = Job.objects.create(
        kind=Job.Kind.REPARSE,
        state=Job.State.RUNNING,
        total=2000,
        done=500,
        run_seconds=10,
        started_at=now - dt.timedelta(seconds=12),
        heartbeat_at=now,
        worker="web1:4242",
    )
    page = staff_client.get(admin_url(Job, "change", job.pk)).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert re.search(r'<progress id="job-progress"\s+value="500"\s+max="2000">', page)
    assert '<span id="job-letters">500 of 2,000 (25%)</span>' in page
    assert "50 letters a second" in page
    assert "Time left: about 30 s (done at" in page
    assert "Running in web1:4242" in page
    listed = staff_client.get(admin_url(Job, "changelist")).content.decode()
    assert "500 of 2,000 (25%)" in listed and "about 30 s" in listed

    Job.objects.filter(pk=job.pk).update(heartbeat_at=now - dt.timedelta(hours=1))
    page = staff_client.get(admin_url(Job, "change", job.pk)).content.decode()
    assert "No word from its worker (web1:4242)" in page

    Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, done=2000, finished_at=now)
    page = staff_client.get(admin_url(Job, "change", job.pk)).content.decode()
    assert "http-equiv" not in page  # over: nothing more to show
    assert "Cancel this job" not in page


def test_a_failed_letter_is_listed_on_its_job_with_a_link(staff_client, sample_letters):
    letter = Determination.objects.first()
    Determination.objects.filter(pk=letter.pk).update(full_text="Nothing an IMR letter says.")
    renormalise(staff_client)
    call_command("run_jobs", "--once", "--workers", "0", stdout=io.StringIO())
    job = Job.objects.get()
    page = staff_client.get(admin_url(Job, "change", job.pk)).content.decode()
    assert "1 letter could not be re-parsed (stored fields kept)" in page
    assert f'href="{admin_url(Determination, "change", letter.pk)}"' in page
    assert "no disputed item with a decision was found" in page


def test_an_editor_queues_follows_and_cancels_a_reparse(editor_client, sample_letters):
    response = renormalise(editor_client)
    job = Job.objects.get()
    assert job.requested_by == editor_client.user
    page = editor_client.get(response.url).content.decode()
    assert "Cancel this job" in page
    cancel = reverse("admin:decisions_job_cancel", args=[job.pk])
    assert editor_client.get(cancel).status_code == 403  # a POST only
    assert editor_client.post(cancel).status_code == 302
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.CANCELLED, "Cancelled by editor.")
    assert editor_client.post(admin_url(Job, "delete", job.pk)).status_code == 403


def test_a_bad_alias_is_refused_with_its_reason(staff_client, sample_letters):
    shoulder = BodyRegion.objects.get(slug="shoulder")
    response = staff_client.post(
        admin_url(BodyRegion, "change", shoulder.pk),
        {"label": shoulder.label, "extra_aliases": "re:(unclosed"},
    )
    assert response.status_code == 200
    assert "bad alias" in response.context["adminform"].form.errors["extra_aliases"][0]


def test_the_correction_log_takes_the_same_queries_for_one_row_or_many(staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_list():
        with CaptureQueriesContext(connection) as ctx:
            response = staff_client.get(reverse("admin:decisions_correction_changelist"))
            assert response.status_code == 200
        return len(ctx.captured_queries)

    def correct_a_letter():
        item = DecisionItemFactory(position=1)
        services.correction_record(
            obj=item, changes={"outcome": ("upheld", "overturned")}, user=staff_client.user
        )

    correct_a_letter()
    one = queries_for_list()
    for _ in range(12):
        correct_a_letter()
    assert queries_for_list() == one  # each row's letter comes with the list, not per row
