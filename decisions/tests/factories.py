"""factory_boy factories for rows the tests need."""

import hashlib

import factory

from decisions import models


class TreatmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Treatment
        django_get_or_create = ["slug"]

    slug = "physical_therapy"
    label = factory.LazyAttribute(lambda o: o.slug.replace("_", " ").capitalize())


class BodyRegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.BodyRegion
        django_get_or_create = ["slug"]

    slug = "lumbar_spine"
    label = factory.LazyAttribute(lambda o: o.slug.replace("_", " ").capitalize())


class GuidelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Guideline
        django_get_or_create = ["slug"]

    slug = "mtus_chronic_pain"
    label = "MTUS Chronic Pain Medical Treatment Guidelines"


class DeterminationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Determination

    full_text = factory.Sequence(lambda n: f"IMR letter number {n}")
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.full_text.encode()).hexdigest())
    key = factory.LazyAttribute(lambda o: models.letter_keys(o.case_number, o.content_hash)[0])
    case_number = ""
    source_name = factory.Sequence(lambda n: f"letter_{n}.txt")
    patient_age = 50
    patient_sex = models.Determination.Sex.FEMALE


class DecisionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DecisionItem

    determination = factory.SubFactory(DeterminationFactory)
    position = factory.Sequence(lambda n: n + 1)
    request = "Physical Therapy 2x8 for the Lumbar Spine"
    outcome = models.DecisionItem.Outcome.UPHELD


class GuidelineCitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.GuidelineCitation

    item = factory.SubFactory(DecisionItemFactory)
    source = models.GuidelineCitation.Source.MAXIMUS
    guideline = factory.SubFactory(GuidelineFactory)
    section = "Physical Medicine"
