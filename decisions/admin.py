"""Staff read and correct parsed letters here; every change is logged as a Correction.

A letter's page shows the letter text, marked where each field was read, beside its fields; its
items (and, one click away, their citations and pages) are editable; its corrections are listed.
Letters whose parse warned or inferred wait in the review queue until someone marks them
reviewed. Editors (a group made by migration 0004) correct and review but cannot delete.
Long work (re-parsing every letter) is queued as a Job, whose page shows its progress.
"""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import parsing, services
from .highlight import highlighted_text
from .models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    Correction,
    DecisionItem,
    Determination,
    Drug,
    Guideline,
    GuidelineCitation,
    Job,
    LetterToReview,
    Specialty,
    State,
    Treatment,
    year_of,
)


class CorrectionLoggingAdmin(admin.ModelAdmin):
    """Records each edited field (and each row added through an inline) as a correction."""

    # Child rows without corrections of their own: a change to them corrects this field of
    # the parent row.
    child_fields = {CitedPageRange: "pages", CitedChapter: "chapters"}

    def get_form(self, request, obj=None, **kwargs):
        """Label each field a person corrected, so the next person sees it is not the parser's."""
        form = super().get_form(request, obj, **kwargs)
        for name in getattr(obj, "corrected_fields", []) or []:
            if name in form.base_fields:
                field = form.base_fields[name]
                field.label = f"{field.label or name.replace('_', ' ').capitalize()} (corrected)"
        return form

    def save_model(self, request, obj, form, change):
        form.imr_before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.rows_saved(obj=form.instance)
        if change:
            services.correction_record(
                obj=form.instance,
                changes={
                    name: (form.imr_before[name], form.cleaned_data.get(name))
                    for name in form.changed_data
                },
                user=request.user,
            )

    def delete_model(self, request, obj):
        services.rows_delete(objs=[obj])

    def delete_queryset(self, request, queryset):
        services.rows_delete(objs=list(queryset))

    def save_formset(self, request, form, formset, change):
        child_field = self.child_fields.get(formset.model)
        if child_field:
            before = [str(row) for row in formset.get_queryset()]
            super().save_formset(request, form, formset, change)
            after = [str(row) for row in formset.model.objects.filter(citation=form.instance)]
            services.correction_record(
                obj=form.instance, changes={child_field: (before, after)}, user=request.user
            )
            return
        super().save_formset(request, form, formset, change)
        for row_form in formset.initial_forms:
            if row_form in formset.deleted_forms or not row_form.has_changed():
                continue
            services.correction_record(
                obj=row_form.instance,
                changes={
                    name: (row_form.initial.get(name), row_form.cleaned_data.get(name))
                    for name in row_form.changed_data
                },
                user=request.user,
            )
        for obj in formset.new_objects:
            services.row_mark_added(obj=obj, user=request.user)


# --- Vocabularies ---------------------------------------------------------------------------


class TermForm(forms.ModelForm):
    def clean_extra_aliases(self):
        aliases = self.cleaned_data["extra_aliases"]
        kind = services.TERM_KINDS[type(self.instance)]
        try:
            parsing.vocab.DEFAULT_VOCABULARY.with_extra_aliases(
                {kind: {self.instance.slug or "new": self.instance.alias_list_of(aliases)}}
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return aliases


class TermAdmin(admin.ModelAdmin):
    form = TermForm
    list_display = ["slug", "label", "extra_aliases"]
    search_fields = ["slug", "label", "extra_aliases"]
    ordering = ["slug"]
    actions = ["renormalise_letters"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.letters_changed(letters=[None])  # labels shown in every facet

    @admin.action(description="Re-normalise every stored letter with the aliases as they are now")
    def renormalise_letters(self, request, queryset):
        """Queue a re-parse of every stored letter, so a new alias reaches them (corrected fields
        are kept), and show its progress: ``manage.py run_jobs`` does it, off the request."""
        job, created = services.job_queue(kind=Job.Kind.REPARSE, user=request.user)
        if created:
            message = "Queued a re-parse of every stored letter with the aliases as they are now."
        elif job.started_at is None:
            message = (
                "A re-parse of every letter was already waiting to start; it will read the "
                "aliases as they are when it starts."
            )
        else:
            message = "A re-parse of every letter with these aliases is already under way."
        self.message_user(request, message, messages.SUCCESS)
        return redirect(reverse("admin:decisions_job_change", args=[job.pk]))


for term_model in (Treatment, BodyRegion, Guideline, Specialty, State, Drug):
    admin.site.register(term_model, TermAdmin)


# --- Letters --------------------------------------------------------------------------------


class DecisionItemInline(admin.StackedInline):
    model = DecisionItem
    extra = 0
    show_change_link = True
    fields = [
        "position",
        "request",
        "outcome",
        "treatments",
        "body_regions",
        "body_regions_inferred",
        "laterality",
        "quantity",
        "citations_summary",
    ]
    readonly_fields = ["citations_summary"]
    filter_horizontal = ["treatments", "body_regions"]

    @admin.display(description="Guidelines cited (edit on the item's page)")
    def citations_summary(self, item):
        if not item.pk:
            return "-"
        return (
            format_html_join(
                "",
                "<div>{}</div>",
                ((str(c),) for c in item.citations.prefetch_related("page_ranges")),
            )
            or "none"
        )


class CorrectionInline(admin.TabularInline):
    """This letter's corrections: who changed which field, when, from what to what."""

    model = Correction
    extra = 0
    can_delete = False
    fields = ["created_at", "user", "model", "object_id", "field", "old_value", "new_value"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = "corrections made by people"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Determination)
class DeterminationAdmin(CorrectionLoggingAdmin):
    change_form_template = "admin/decisions/determination/change_form.html"
    list_display = [
        "__str__",
        "case_number",
        "patient_age",
        "patient_sex",
        "date_of_injury",
        "review_state",
        "created_at",
    ]
    list_filter = [
        "needs_review",
        "patient_sex",
        "layout",
        "reviewer_specialties",
        "reviewer_states",
    ]
    search_fields = ["case_number", "source_name", "content_hash"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "key",
        "content_hash",
        "source_name",
        "original",
        "layout",
        "parser_version",
        "parse_warnings",
        "corrected_fields",
        "needs_review",
        "reviewed_at",
        "reviewed_by",
        "created_at",
        "updated_at",
    ]
    filter_vertical = ["reviewer_states", "reviewer_specialties"]
    inlines = [DecisionItemInline, CorrectionInline]
    actions = ["mark_reviewed"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "case_number",
                    "key",
                    "decision_date",
                    "date_assigned",
                    "ur_date",
                    "layout",
                    "source_name",
                    "original",
                ]
            },
        ),
        (
            "Reviewer",
            {"fields": ["reviewer_states", "reviewer_specialties", "reviewer_board_certified"]},
        ),
        ("Patient", {"fields": ["patient_age", "patient_sex", "date_of_injury", "diagnoses"]}),
        (
            "Parse and review",
            {
                "fields": [
                    "parse_warnings",
                    "corrected_fields",
                    "needs_review",
                    "reviewed_at",
                    "reviewed_by",
                    "parser_version",
                ]
            },
        ),
        ("Case summary", {"fields": ["case_summary"], "classes": ["collapse"]}),
        ("Record", {"fields": ["content_hash", "created_at", "updated_at"]}),
    ]

    @admin.display(description="review")
    def review_state(self, letter):
        if letter.reviewed_at:
            return "reviewed"
        return "to review" if letter.needs_review else "-"

    def has_review_permission(self, request):
        return request.user.has_perm("decisions.review_determination")

    @admin.action(description="Mark reviewed", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        letters = list(queryset.filter(reviewed_at__isnull=True))
        for letter in letters:
            services.letter_mark_reviewed(letter=letter, user=request.user)
        self.message_user(request, f"Marked {len(letters)} letter(s) reviewed.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        obj.injury_year = year_of(obj.date_of_injury)
        obj.decision_year = year_of(obj.decision_date)
        services.letter_keys_assign([obj])  # a corrected case number names the letter's URL
        super().save_model(request, obj, form, change)

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_review"
        return [path("<int:pk>/review/", review, name=name), *super().get_urls()]

    def review_view(self, request, pk):
        """POST from the change form's "Mark reviewed" button."""
        if request.method != "POST" or not self.has_review_permission(request):
            raise PermissionDenied
        letter = get_object_or_404(Determination, pk=pk)
        services.letter_mark_reviewed(letter=letter, user=request.user)
        self.message_user(request, f"{letter} is marked reviewed.", messages.SUCCESS)
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        letter = self.get_object(request, object_id)
        if letter is not None:
            items = list(letter.items.prefetch_related("citations"))
            text, _ = highlighted_text(letter, items)
            review_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_review", args=[letter.pk]
            )
            # The banner and its button only on a letter in the review queue (LetterToReview).
            waiting = Determination.objects.to_review().filter(pk=letter.pk).exists()
            extra_context = {
                **(extra_context or {}),
                "letter_text": text,
                "review_url": review_url
                if self.has_review_permission(request) and waiting
                else None,
            }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(LetterToReview)
class LetterToReviewAdmin(DeterminationAdmin):
    """The review queue: letters whose parse warned or inferred, newest first."""

    list_display = ["__str__", "what_to_check", "created_at"]
    list_filter = ["layout"]
    date_hierarchy = None

    def get_queryset(self, request):
        return super().get_queryset(request).filter(needs_review=True, reviewed_at__isnull=True)

    def has_add_permission(self, request):
        return False

    @admin.display(description="what to check")
    def what_to_check(self, letter):
        fields = [w.get("field", "") for w in letter.parse_warnings]
        return ", ".join(dict.fromkeys(fields)) or "inferred body regions"


class CitedPageRangeInline(admin.TabularInline):
    model = CitedPageRange
    extra = 0


class CitedChapterInline(admin.TabularInline):
    model = CitedChapter
    extra = 0


class GuidelineCitationInline(admin.TabularInline):
    model = GuidelineCitation
    extra = 0
    show_change_link = True
    fields = ["source", "guideline", "section", "text"]


@admin.register(DecisionItem)
class DecisionItemAdmin(CorrectionLoggingAdmin):
    list_display = ["request", "outcome", "laterality", "quantity", "determination"]
    list_filter = [
        "outcome",
        "laterality",
        "body_regions_inferred",
        "drug_class",
        "treatments",
        "body_regions",
    ]
    search_fields = ["request"]
    list_select_related = ["determination"]
    raw_id_fields = ["determination"]
    autocomplete_fields = ["drug"]
    filter_horizontal = ["treatments", "body_regions"]
    readonly_fields = ["corrected_fields", "spans"]
    inlines = [GuidelineCitationInline]


@admin.register(GuidelineCitation)
class GuidelineCitationAdmin(CorrectionLoggingAdmin):
    list_display = ["item", "source", "guideline", "section"]
    list_filter = ["source", "guideline"]
    search_fields = ["section", "text"]
    list_select_related = ["item"]
    raw_id_fields = ["item"]
    readonly_fields = ["corrected_fields", "spans"]
    inlines = [CitedPageRangeInline, CitedChapterInline]


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    """Every correction on the site, newest first: the audit trail."""

    list_display = ["created_at", "user", "letter", "model", "field", "old_value", "new_value"]
    list_filter = ["model", "field", "user"]
    date_hierarchy = "created_at"

    @admin.display(description="letter")
    def letter(self, correction):
        url = reverse("admin:decisions_determination_change", args=[correction.determination_id])
        return format_html('<a href="{}">{}</a>', url, correction.determination)

    list_select_related = ["user", "determination"]
    raw_id_fields = ["determination"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Jobs -----------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """Roughly how long, as a person says it: "about 40 s", "about 3 min", "about 2 h 5 min"."""
    if seconds < 60:
        return f"about {max(round(seconds), 1)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


def job_progress(job: Job) -> dict[str, str]:
    """What a person reads of a job's progress, as text: the list and the job's page both."""
    out = {"letters": f"{job.done:,} of {job.total:,}" if job.started_at else "not started"}
    if job.percent is not None:
        out["letters"] += f" ({job.percent:.0f}%)"
    out["rate"] = f"{job.rate:,.0f} letters a second" if job.rate else ""
    out["left"] = ""
    if job.seconds_left is not None:
        finish = timezone.localtime(job.heartbeat_at + dt.timedelta(seconds=job.seconds_left))
        out["left"] = f"{_duration(job.seconds_left)} (done at {finish:%H:%M:%S})"
    return out


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Work done off the request (re-parsing every letter): its state, progress and failures.

    Jobs are queued by actions elsewhere (a vocabulary list's *Re-normalise*) and run by
    ``manage.py run_jobs``; a job's page reloads itself while the job is queued or running.
    Nothing here edits a job but *Cancel*.
    """

    change_form_template = "admin/decisions/job/change_form.html"
    list_display = [
        "__str__",
        "state",
        "progress",
        "letters_a_second",
        "started_at",
        "time_left",
        "failed",
        "requested_by",
    ]
    list_filter = ["state", "kind"]
    list_select_related = ["requested_by"]
    actions = ["cancel_jobs"]
    fieldsets = [
        (None, {"fields": ["kind", "state", "requested_by", "error"]}),
        (
            "Progress",
            {"fields": ["total", "done", "failed", "cursor", "last_letter_id", "run_seconds"]},
        ),
        (
            "Record",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "heartbeat_at",
                    "finished_at",
                    "worker",
                    "vocabulary",
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a record of what ran, as corrections are

    def has_cancel_permission(self, request):
        return request.user.has_perm("decisions.cancel_job")

    @admin.display(description="progress")
    def progress(self, job):
        return format_html(
            '<progress value="{}" max="{}"></progress> {}',
            job.done,
            job.total or 1,
            job_progress(job)["letters"],
        )

    @admin.display(description="letters a second")
    def letters_a_second(self, job):
        return f"{job.rate:,.0f}" if job.rate else "-"

    @admin.display(description="time left")
    def time_left(self, job):
        return job_progress(job)["left"] or "-"

    @admin.action(description="Cancel the selected jobs", permissions=["cancel"])
    def cancel_jobs(self, request, queryset):
        cancelled = [job for job in queryset if services.job_cancel(job=job, user=request.user)]
        self.message_user(request, f"Cancelled {len(cancelled)} job(s).", messages.SUCCESS)

    def get_urls(self):
        cancel = self.admin_site.admin_view(self.cancel_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_cancel"
        return [path("<int:pk>/cancel/", cancel, name=name), *super().get_urls()]

    def cancel_view(self, request, pk):
        """POST from the job page's "Cancel" button."""
        if request.method != "POST" or not self.has_cancel_permission(request):
            raise PermissionDenied
        job = get_object_or_404(Job, pk=pk)
        if services.job_cancel(job=job, user=request.user):
            self.message_user(request, f"{job} is cancelled.", messages.SUCCESS)
        return redirect(reverse("admin:decisions_job_change", args=[job.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is not None:
            stale_before = timezone.now() - dt.timedelta(seconds=services.jobs.STALE_AFTER)
            extra_context = {
                **(extra_context or {}),
                "job": job,
                "progress": job_progress(job),
                "refresh_seconds": 2 if job.active else None,
                "silent": job.state == Job.State.RUNNING
                and (job.heartbeat_at or stale_before) <= stale_before,
                "cancel_url": reverse("admin:decisions_job_cancel", args=[job.pk])
                if job.active and self.has_cancel_permission(request)
                else None,
                "failures": [
                    (e, reverse("admin:decisions_determination_change", args=[e["letter"]]))
                    for e in job.errors
                ],
            }
        return super().change_view(request, object_id, form_url, extra_context)
