"""The decisions data model: letters, their disputed items, and the guidelines each side cited.

Sized for over a million letters and about twice as many items: every column a facet filters on
has a named index, choices are enforced by the database, and natural keys are unique
constraints so an ingest run twice cannot duplicate anything.

Rows are written by ``decisions.services``; nothing here has side effects in ``save()``. The
``from_parsed`` classmethods turn the parser's dataclasses into unsaved rows.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from . import parsing


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def year_of(date: dt.date | None) -> int | None:
    """A year facet's value for a date (kept beside the date so the facet reads an index)."""
    return date.year if date and 1900 <= date.year <= 2100 else None


def letter_keys(case_number: str, content_hash: str) -> list[str]:
    """A letter's public keys, the one its URL uses first: its case number, else a short key
    from its content hash (the whole hash should two letters share either)."""
    return [k for k in (case_number, content_hash[:16], content_hash) if k]


# --- Vocabularies ---------------------------------------------------------------------------
#
# Each vocabulary is a small lookup table keyed by its slug, so a facet value has a slug, a
# label and a stable URL, a foreign key needs no join to filter by slug, and staff can add
# aliases in the admin. The built-in terms and aliases live in ``decisions.parsing.vocab``;
# ``services.vocabulary.vocabulary_sync`` copies them here.


class Term(models.Model):
    slug = models.SlugField(
        primary_key=True, max_length=64, help_text="Stable identifier used in URLs and filters."
    )
    label = models.CharField(max_length=128, help_text="Human-readable name shown in facets.")
    extra_aliases = models.TextField(
        blank=True,
        help_text=(
            "Further ways letters write this term, one per line, added by staff on top of the "
            "built-in aliases. Re-normalise stored letters after changing them."
        ),
    )

    class Meta:
        abstract = True
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    def alias_list(self) -> list[str]:
        return self.alias_list_of(self.extra_aliases)

    @staticmethod
    def alias_list_of(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]


# The official taxonomy's closed sets, from the parser's vocabulary files.
Category = models.TextChoices(
    "Category", {t.slug.upper(): (t.slug, t.label) for t in parsing.vocab.CATEGORIES}
)
DrugClass = models.TextChoices(
    "DrugClass", {t.slug.upper(): (t.slug, t.label) for t in parsing.vocab.DRUG_CLASSES}
)


class Treatment(Term):
    category = models.CharField(
        max_length=32,
        choices=Category.choices,
        default=Category.OTHER,
        help_text="The Division of Workers' Compensation's category of this treatment.",
    )

    class Meta(Term.Meta):
        verbose_name = "treatment"
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="treatment_category_valid"
            )
        ]


class Drug(Term):
    """A drug product by its generic name ("hydrocodone/acetaminophen" for Norco)."""

    slug = models.CharField(
        primary_key=True, max_length=128, help_text="The generic name, in lower case."
    )
    drug_class = models.CharField(
        max_length=32,
        choices=DrugClass.choices,
        default=DrugClass.OTHER_DRUG,
        help_text="Its class when taken as made (a topical form is a topical analgesic).",
    )

    class Meta(Term.Meta):
        verbose_name = "drug"
        constraints = [
            models.CheckConstraint(
                condition=Q(drug_class__in=DrugClass.values), name="drug_class_valid"
            )
        ]


class BodyRegion(Term):
    class Meta(Term.Meta):
        verbose_name = "body region"


class Guideline(Term):
    class Meta(Term.Meta):
        verbose_name = "guideline"


class Specialty(Term):
    class Meta(Term.Meta):
        verbose_name = "specialty"
        verbose_name_plural = "specialties"


class State(Term):
    class Meta(Term.Meta):
        verbose_name = "licensure state"


# --- Letters --------------------------------------------------------------------------------


class Correctable(models.Model):
    """A row whose parsed fields a person may correct; re-parsing never overwrites those."""

    corrected_fields = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Names of fields a person corrected in the admin. Re-parsing and re-ingest leave "
            "these fields as the person set them."
        ),
    )

    class Meta:
        abstract = True


# Choices live at module level so each model's Meta can derive its check constraints from them
# (a nested Meta cannot see its model's class attributes); each model names them as its own too.


class PatientSex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class LetterLayout(models.TextChoices):
    """The letter layouts the parser recognises by their headings."""

    DETERMINATION = "determination", "Final Determination"
    DOCUMENTS_REVIEWED = "documents_reviewed", "Final Determination with documents reviewed"
    EARLY_NOTICE = "early_notice", "2013 Notice of IMR Determination"
    PROFESSIONAL_REVIEW = "professional_review", "Professional review"
    UNKNOWN = "unknown", "Not recognised"


class Outcome(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    OVERTURNED = "overturned", "Overturned"


class Laterality(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


class CitingSide(models.TextChoices):
    CLAIMS_ADMINISTRATOR = "claims_administrator", "Claims administrator"
    MAXIMUS = "maximus", "MAXIMUS reviewer"


class DeterminationQuerySet(models.QuerySet):
    def to_review(self):
        """Letters whose parse warned or inferred something, not yet reviewed: newest first."""
        return self.filter(needs_review=True, reviewed_at__isnull=True).order_by(
            "-created_at", "-pk"
        )


class Determination(Correctable):
    """One IMR Final Determination letter."""

    Sex = PatientSex
    Layout = LetterLayout

    content_hash = models.CharField(
        max_length=64,
        help_text=(
            "SHA-256 of the letter text with whitespace collapsed: the natural key, so the same "
            "letter from a PDF and from a text file is stored once."
        ),
    )
    source_name = models.CharField(
        max_length=255, help_text="File name the letter was first ingested from."
    )
    layout = models.CharField(
        max_length=32,
        choices=Layout.choices,
        blank=True,
        help_text="Which letter layout the parser recognised.",
    )
    key = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text=(
            "The letter's public key, in its URL: the case number, or where the letter has none "
            "(or shares it) the first 16 characters of the content hash."
        ),
    )
    case_number = models.CharField(
        max_length=32, blank=True, help_text="IMR case number from the header, e.g. CM15-0012345."
    )
    decision_date = models.DateField(
        null=True, blank=True, help_text="The letter's date: the day the decision was made."
    )
    decision_year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Year of the decision, kept beside the date so the year facet reads an index.",
    )
    date_assigned = models.DateField(
        null=True, blank=True, help_text="Date the case was assigned, from the letter header."
    )
    ur_date = models.DateField(
        null=True,
        blank=True,
        help_text="Date of the Utilization Review decision (the header's UR denial date).",
    )
    full_text = models.TextField(help_text="The whole letter as extracted, parser spans index it.")
    original = models.FileField(
        max_length=255,
        blank=True,
        help_text="The file the letter was read from (the PDF where there was one), in storage.",
    )
    original_name = models.CharField(
        max_length=255, blank=True, help_text="That file's own name, as it was sent."
    )
    reviewer_states = models.ManyToManyField(
        State,
        blank=True,
        related_name="determinations",
        help_text="States where the expert reviewer is licensed.",
    )
    reviewer_specialties = models.ManyToManyField(
        Specialty,
        blank=True,
        related_name="determinations",
        help_text="The expert reviewer's certifications and specialties.",
    )
    reviewer_board_certified = models.BooleanField(
        null=True, blank=True, help_text="Whether the letter says the reviewer is board certified."
    )
    patient_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Injured worker's age in years, as the summary gives it."
    )
    patient_sex = models.CharField(
        max_length=6,
        choices=Sex.choices,
        blank=True,
        help_text="Injured worker's sex, or empty when the letter does not say.",
    )
    date_of_injury = models.DateField(null=True, blank=True, help_text="Date of the injury.")
    injury_year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Year of the injury, kept beside the date so the year facet reads an index.",
    )
    diagnoses = models.JSONField(
        default=list, blank=True, help_text="Diagnoses as written in the case summary."
    )
    case_summary = models.TextField(blank=True, help_text="The clinical case summary.")
    parse_warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="What the parser could not read or had to infer: [{field, message}].",
    )
    spans = models.JSONField(
        default=dict,
        blank=True,
        help_text="Provenance: for each parsed letter field, its [start, end] in the full text.",
    )
    parser_version = models.CharField(
        max_length=32, blank=True, help_text="Version of the parser that produced the fields."
    )
    needs_review = models.BooleanField(
        default=False,
        editable=False,
        help_text="The parse warned about a field or inferred one: a person should look.",
    )
    reviewed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a person marked the letter reviewed."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="reviewed_letters",
        help_text="Who marked the letter reviewed.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When first ingested.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When last written.")

    objects = DeterminationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("review_determination", "Can mark a letter's parse reviewed")]
        constraints = [
            models.UniqueConstraint(
                fields=["content_hash"], name="determination_content_hash_uniq"
            ),
            models.CheckConstraint(
                condition=Q(patient_sex__in=[*PatientSex.values, ""]),
                name="determination_patient_sex_valid",
            ),
            models.CheckConstraint(
                condition=Q(layout__in=[*LetterLayout.values, ""]),
                name="determination_layout_valid",
            ),
            models.CheckConstraint(
                condition=Q(patient_age__lte=120) | Q(patient_age__isnull=True),
                name="determination_patient_age_plausible",
            ),
            models.CheckConstraint(
                condition=Q(injury_year__gte=1900, injury_year__lte=2100)
                | Q(injury_year__isnull=True),
                name="determination_injury_year_plausible",
            ),
            models.CheckConstraint(
                condition=Q(decision_year__gte=1900, decision_year__lte=2100)
                | Q(decision_year__isnull=True),
                name="determination_decision_year_plausible",
            ),
        ]
        indexes = [
            models.Index(fields=["case_number"], name="determination_case_number_idx"),
            models.Index(fields=["patient_sex"], name="determination_sex_idx"),
            models.Index(fields=["patient_age"], name="determination_age_idx"),
            models.Index(fields=["injury_year"], name="determination_injury_year_idx"),
            models.Index(fields=["decision_date"], name="determination_decided_idx"),
            models.Index(fields=["decision_year"], name="determination_decided_year_idx"),
            models.Index(fields=["date_of_injury"], name="determination_injury_date_idx"),
            models.Index(fields=["ur_date"], name="determination_ur_date_idx"),
            models.Index(fields=["date_assigned"], name="determination_assigned_idx"),
            models.Index(fields=["created_at"], name="determination_created_idx"),
            models.Index(
                fields=["-created_at"],
                name="determination_to_review_idx",
                condition=Q(needs_review=True, reviewed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.case_number}" if self.case_number else f"IMR letter {self.key}"

    def get_absolute_url(self) -> str:
        return reverse("decisions:letter", kwargs={"key": self.key})

    @classmethod
    def from_parsed(
        cls, parsed: parsing.ParsedLetter, *, text: str, source_name: str
    ) -> Determination:
        """The unsaved letter row of a parse of ``text`` (its spans index that text)."""
        injury = _date(parsed.patient.date_of_injury)
        decided = _date(parsed.decision_date)
        age = parsed.patient.age
        digest = parsed.content_hash or parsing.content_hash(text)
        case_number = parsed.case_number or ""
        return cls(
            content_hash=digest,
            key=letter_keys(case_number, digest)[0],
            source_name=source_name[-255:],
            full_text=text,
            layout=parsed.layout or "",
            case_number=case_number,
            decision_date=decided,
            decision_year=year_of(decided),
            date_assigned=_date(parsed.date_assigned),
            ur_date=_date(parsed.ur_date),
            reviewer_board_certified=parsed.reviewer.board_certified,
            patient_age=age if age is not None and 0 <= age <= 120 else None,
            patient_sex=parsed.patient.sex or "",
            date_of_injury=injury,
            injury_year=year_of(injury),
            diagnoses=list(parsed.diagnoses),
            case_summary=parsed.case_summary or "",
            parse_warnings=[w.to_dict() for w in parsed.warnings],
            spans=parsing.spans_json(parsed.spans),
            parser_version=parsing.PARSER_VERSION,
            needs_review=bool(parsed.warnings)
            or any(i.body_regions_inferred for i in parsed.items),
        )


class LetterToReview(Determination):
    """The review queue: letters whose parse warned or inferred, until a person reviews them."""

    class Meta:
        proxy = True
        verbose_name = "letter to review"
        verbose_name_plural = "letters to review"


class DecisionItemQuerySet(models.QuerySet):
    def upheld(self):
        return self.filter(outcome=DecisionItem.Outcome.UPHELD)

    def overturned(self):
        return self.filter(outcome=DecisionItem.Outcome.OVERTURNED)


class DecisionItem(Correctable):
    """One disputed item of a letter and the reviewer's decision on it."""

    Outcome = Outcome
    Laterality = Laterality

    determination = models.ForeignKey(
        Determination,
        on_delete=models.CASCADE,
        related_name="items",
        help_text="The letter this item belongs to.",
    )
    position = models.PositiveSmallIntegerField(
        help_text="1 for the letter's first disputed item, 2 for the second, ..."
    )
    request = models.TextField(help_text="The disputed request as the letter writes it.")
    outcome = models.CharField(
        max_length=10,
        choices=Outcome.choices,
        help_text="Upheld: the denial stands. Overturned: found medically necessary.",
    )
    treatments = models.ManyToManyField(
        Treatment, blank=True, related_name="items", help_text="Kinds of treatment requested."
    )
    body_regions = models.ManyToManyField(
        BodyRegion, blank=True, related_name="items", help_text="Body regions the request is for."
    )
    body_regions_inferred = models.BooleanField(
        default=False,
        help_text="True when the request names no region and it was read from the case summary.",
    )
    laterality = models.CharField(
        max_length=9,
        choices=Laterality.choices,
        blank=True,
        help_text="Side of the body, when the request names one.",
    )
    quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Total units requested (2x4 sessions is 8), if stated."
    )
    drug = models.ForeignKey(
        Drug,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="items",
        help_text="For a medication: the drug, by its generic name.",
    )
    drug_class = models.CharField(
        max_length=32,
        choices=DrugClass.choices,
        blank=True,
        help_text="For a medication: its class as asked for (a lidocaine patch: topical).",
    )
    rationale = models.TextField(blank=True, help_text="The reviewer's decision rationale.")
    citations_text = models.TextField(
        blank=True,
        editable=False,
        help_text="The item's guideline citations as written, searched with its text.",
    )
    spans = models.JSONField(
        default=dict,
        blank=True,
        help_text="Provenance: for each parsed item field, its [start, end] in the letter text.",
    )

    objects = DecisionItemQuerySet.as_manager()

    class Meta:
        ordering = ["determination", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["determination", "position"], name="item_position_uniq"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="item_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(laterality__in=[*Laterality.values, ""]),
                name="item_laterality_valid",
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="item_position_positive"),
            models.CheckConstraint(
                condition=Q(drug_class__in=[*DrugClass.values, ""]),
                name="item_drug_class_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome"], name="item_outcome_idx"),
            models.Index(fields=["drug_class"], name="item_drug_class_idx"),
            models.Index(fields=["laterality"], name="item_laterality_idx"),
            models.Index(fields=["quantity"], name="item_quantity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.request} ({self.get_outcome_display()})"

    def get_absolute_url(self) -> str:
        return f"{self.determination.get_absolute_url()}#item-{self.position}"

    @property
    def category_labels(self) -> list[str]:
        """The official categories of its treatments, each once (from prefetched treatments)."""
        return list(dict.fromkeys(t.get_category_display() for t in self.treatments.all()))

    @classmethod
    def from_parsed(cls, item: parsing.Item) -> DecisionItem:
        """The unsaved item row of a parsed item.

        Raises ``parsing.ParseError`` for what the database would refuse (no outcome).
        """
        if item.outcome not in cls.Outcome.values:
            raise parsing.ParseError(
                f"item {item.position} ({item.request!r}) has no readable outcome"
            )
        return cls(
            position=item.position,
            request=item.request,
            outcome=item.outcome,
            body_regions_inferred=item.body_regions_inferred,
            laterality=item.laterality or "",
            quantity=item.quantity if item.quantity and item.quantity > 0 else None,
            drug_id=item.drug.generic if item.drug and item.drug.generic else None,
            drug_class=item.drug.drug_class if item.drug else "",
            rationale=item.rationale or "",
            spans=parsing.spans_json(item.spans),
        )


class GuidelineCitation(Correctable):
    """A guideline one side relied on for one item. One row per (item, source, guideline)."""

    Source = CitingSide

    item = models.ForeignKey(
        DecisionItem,
        on_delete=models.CASCADE,
        related_name="citations",
        help_text="The disputed item this citation supports.",
    )
    source = models.CharField(
        max_length=20, choices=Source.choices, help_text="Which side relied on the guideline."
    )
    guideline = models.ForeignKey(
        Guideline,
        on_delete=models.PROTECT,
        related_name="citations",
        help_text="The guideline cited ('none' when no medical evidence was cited).",
    )
    section = models.CharField(
        max_length=500, blank=True, help_text="Section or topic of the guideline, as written."
    )
    section_derived = models.BooleanField(
        default=False, help_text="True when the section was looked up from the cited pages."
    )
    text = models.TextField(blank=True, help_text="The citation as written in the letter.")
    spans = models.JSONField(
        default=dict, blank=True, help_text="Provenance: [start, end] of the citation text."
    )

    class Meta:
        ordering = ["item", "source", "guideline"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "source", "guideline"], name="citation_item_source_guideline_uniq"
            ),
            models.CheckConstraint(
                condition=Q(source__in=CitingSide.values), name="citation_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["source", "guideline"], name="citation_source_guideline_idx"),
            models.Index(fields=["guideline"], name="citation_guideline_idx"),
        ]

    def __str__(self) -> str:
        pages = ", ".join(str(p) for p in self.page_ranges.all())
        return f"{self.get_source_display()}: {self.guideline_id}" + (
            f" p. {pages}" if pages else ""
        )

    @classmethod
    def from_parsed(cls, citation: parsing.Citation, *, text: str) -> GuidelineCitation:
        """The unsaved row of a parsed citation in the letter ``text``."""
        c = citation
        return cls(
            source=c.source,
            guideline_id=c.guideline,
            section=(c.section or c.derived_section or "")[:500],
            section_derived=not c.section and bool(c.derived_section),
            text=text[c.span[0] : c.span[1]] if c.span else "",
            spans={"citation": list(c.span)} if c.span else {},
        )


class CitedPageRange(models.Model):
    """An inclusive page range of a citation, as a start/end pair so a page can be looked up.

    "98-99" is stored as first_page=98, last_page=99; a search for page 99 matches
    ``first_page <= 99 <= last_page``.
    """

    citation = models.ForeignKey(
        GuidelineCitation,
        on_delete=models.CASCADE,
        related_name="page_ranges",
        help_text="The citation these pages belong to.",
    )
    first_page = models.PositiveIntegerField(help_text="First page of the range (inclusive).")
    last_page = models.PositiveIntegerField(help_text="Last page of the range (inclusive).")
    derived = models.BooleanField(
        default=False,
        help_text=(
            "True when the letter named only a section and these pages come from the MTUS page "
            "table rather than from the letter."
        ),
    )

    class Meta:
        ordering = ["citation", "first_page"]
        constraints = [
            models.UniqueConstraint(
                fields=["citation", "first_page", "last_page", "derived"],
                name="page_range_uniq",
            ),
            models.CheckConstraint(
                condition=Q(first_page__gte=1) & Q(last_page__gte=models.F("first_page")),
                name="page_range_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["first_page", "last_page"], name="page_range_pages_idx"),
        ]

    def __str__(self) -> str:
        if self.first_page == self.last_page:
            return str(self.first_page)
        return f"{self.first_page}-{self.last_page}"


class CitedChapter(models.Model):
    """An ACOEM chapter a citation names (e.g. chapter 12, Low Back Complaints)."""

    citation = models.ForeignKey(
        GuidelineCitation,
        on_delete=models.CASCADE,
        related_name="chapters",
        help_text="The citation that names this chapter.",
    )
    chapter = models.PositiveSmallIntegerField(help_text="ACOEM chapter number.")

    class Meta:
        ordering = ["citation", "chapter"]
        constraints = [
            models.UniqueConstraint(fields=["citation", "chapter"], name="cited_chapter_uniq"),
            models.CheckConstraint(condition=Q(chapter__gte=1), name="cited_chapter_positive"),
        ]
        indexes = [models.Index(fields=["chapter"], name="cited_chapter_idx")]

    def __str__(self) -> str:
        return f"Chapter {self.chapter}"


# --- Corrections ----------------------------------------------------------------------------


class Correction(models.Model):
    """One field a person changed in the admin: who, when, the old and the new value."""

    determination = models.ForeignKey(
        Determination,
        on_delete=models.CASCADE,
        related_name="corrections",
        help_text="The letter the corrected row belongs to.",
    )
    model = models.CharField(
        max_length=64, help_text="Which kind of row: determination, decisionitem, citation."
    )
    object_id = models.BigIntegerField(help_text="Primary key of the corrected row.")
    field = models.CharField(max_length=64, help_text="Name of the corrected field.")
    old_value = models.JSONField(null=True, blank=True, help_text="Value before the correction.")
    new_value = models.JSONField(null=True, blank=True, help_text="Value after the correction.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imr_corrections",
        help_text="Who made the correction.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was made.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["-created_at"], name="correction_recent_idx"),
            models.Index(fields=["model", "object_id"], name="correction_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id}.{self.field}"


class IndexChange(models.Model):
    """A letter whose facet values changed after it was stored: the facet index reloads it.

    New letters need no row (the index loads items above the last it holds); a re-parse, a
    correction, an added or deleted row does. A row without a letter asks every web worker to
    rebuild its index (a vocabulary label changed, or a letter was deleted).
    """

    determination_id = models.BigIntegerField(
        null=True, blank=True, help_text="The letter whose rows changed; empty: everything."
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the change was made.")

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"change {self.pk}: letter {self.determination_id or 'all'}"


# --- Jobs -----------------------------------------------------------------------------------


class JobKind(models.TextChoices):
    REPARSE = "reparse", "Re-parse every stored letter"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    """Long work done off the request by ``manage.py run_jobs``: re-parsing every stored letter.

    Its worker goes through the letters in id order, a batch per transaction, and records its
    progress (``done``, ``cursor``, ``heartbeat_at``) in each batch's transaction: a job whose
    worker was killed resumes after the last batch committed, and a running job whose worker
    stopped reporting is taken over. Written only by ``services.jobs``.
    """

    Kind = JobKind
    State = JobState
    ACTIVE = (JobState.QUEUED, JobState.RUNNING)

    kind = models.CharField(max_length=32, choices=JobKind.choices, help_text="What it does.")
    state = models.CharField(
        max_length=16,
        choices=JobState.choices,
        default=JobState.QUEUED,
        help_text="Queued until a worker takes it; running; then done, failed or cancelled.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imr_jobs",
        help_text="Who queued it.",
    )
    total = models.PositiveIntegerField(
        default=0, help_text="Letters it goes through (counted when it starts)."
    )
    done = models.PositiveIntegerField(
        default=0, help_text="Letters gone through so far, those that failed included."
    )
    failed = models.PositiveIntegerField(
        default=0, help_text="Letters that could not be re-parsed (their stored fields are kept)."
    )
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text="The first letters that failed: their id, name and the reason.",
    )
    cursor = models.BigIntegerField(
        default=0,
        help_text="Id of the last letter committed: a resumed job goes on after it.",
    )
    last_letter_id = models.BigIntegerField(
        default=0,
        help_text=(
            "The newest letter when it started; letters stored since were parsed with the same "
            "aliases when they were ingested."
        ),
    )
    vocabulary = models.CharField(
        max_length=64,
        blank=True,
        help_text="Fingerprint of the parser version and the staff aliases it started with.",
    )
    worker = models.CharField(
        max_length=255, blank=True, help_text="The worker running it: host and process id."
    )
    run_seconds = models.FloatField(
        default=0, help_text="Time spent working on it, over all its runs."
    )
    error = models.TextField(blank=True, help_text="Why it stopped before the end.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was queued.")
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker first took it."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When its worker last reported progress."
    )
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When it ended: done, failed or cancelled."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("cancel_job", "Can cancel a queued or running job")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=JobKind.values), name="job_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="job_state_valid"),
            # Two requests at once cannot queue the same work twice (services.job_queue).
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(state=JobState.QUEUED, started_at__isnull=True),
                name="job_one_waiting_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="job_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (job {self.pk})"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def percent(self) -> float | None:
        return 100 * self.done / self.total if self.total else None

    @property
    def rate(self) -> float | None:
        """Letters a second, over the time spent working on it."""
        return self.done / self.run_seconds if self.run_seconds > 0 and self.done else None

    @property
    def seconds_left(self) -> float | None:
        """At the rate so far, how long the rest should take (while it runs)."""
        if self.state != JobState.RUNNING or not self.rate:
            return None
        return max(self.total - self.done, 0) / self.rate
