"""Staff read and correct parsed letters here; every change is logged as a Correction."""

from django.contrib import admin

from . import services
from .models import (
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


class CorrectionLoggingAdmin(admin.ModelAdmin):
    """Records each edited field (and each row added through an inline) as a correction."""

    # Child rows without corrections of their own: a change to them corrects this field of
    # the parent row.
    child_fields = {CitedPageRange: "pages", CitedChapter: "chapters"}

    def save_model(self, request, obj, form, change):
        form.imr_before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            services.correction_record(
                obj=form.instance,
                changes={
                    name: (form.imr_before[name], form.cleaned_data.get(name))
                    for name in form.changed_data
                },
                user=request.user,
            )

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


class TermAdmin(admin.ModelAdmin):
    list_display = ["slug", "label"]
    search_fields = ["slug", "label", "extra_aliases"]
    ordering = ["slug"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []


for term_model in (Treatment, BodyRegion, Guideline, Specialty, State):
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
    ]
    filter_horizontal = ["treatments", "body_regions"]


@admin.register(Determination)
class DeterminationAdmin(CorrectionLoggingAdmin):
    list_display = [
        "__str__",
        "case_number",
        "patient_age",
        "patient_sex",
        "date_of_injury",
        "ur_date",
        "created_at",
    ]
    list_filter = ["patient_sex", "layout", "reviewer_specialties", "reviewer_states"]
    search_fields = ["case_number", "source_name", "content_hash"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "content_hash",
        "source_name",
        "layout",
        "parser_version",
        "parse_warnings",
        "corrected_fields",
        "created_at",
        "updated_at",
        "full_text",
    ]
    filter_horizontal = ["reviewer_states", "reviewer_specialties"]
    inlines = [DecisionItemInline]
    fieldsets = [
        (None, {"fields": ["case_number", "date_assigned", "ur_date", "layout", "source_name"]}),
        (
            "Reviewer",
            {"fields": ["reviewer_states", "reviewer_specialties", "reviewer_board_certified"]},
        ),
        ("Patient", {"fields": ["patient_age", "patient_sex", "date_of_injury", "diagnoses"]}),
        ("Parse", {"fields": ["parse_warnings", "corrected_fields", "parser_version"]}),
        ("Letter", {"fields": ["case_summary", "full_text"], "classes": ["collapse"]}),
        ("Record", {"fields": ["content_hash", "created_at", "updated_at"]}),
    ]


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
    list_filter = ["outcome", "laterality", "body_regions_inferred", "treatments", "body_regions"]
    search_fields = ["request"]
    list_select_related = ["determination"]
    raw_id_fields = ["determination"]
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
    list_display = ["created_at", "user", "model", "object_id", "field", "old_value", "new_value"]
    list_filter = ["model", "field"]
    list_select_related = ["user"]
    raw_id_fields = ["determination"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
