"""Letters get a public key (their case number, else a short key from the content hash), their
own date and its year, and the original file they were read from.

Existing letters take their keys in SQL, in three statements whatever their number: the hash's
first 16 characters, then the case number for the first letter holding each, then the whole
hash for any letter whose short key another letter already has. A stored letter's date is read
on its next re-parse (``manage.py ingest_letters --reparse``).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('decisions', '0010_item_taxonomy'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='determination',
            name='decision_date',
            field=models.DateField(blank=True, help_text="The letter's date: the day the decision was made.", null=True),
        ),
        migrations.AddField(
            model_name='determination',
            name='decision_year',
            field=models.PositiveSmallIntegerField(blank=True, editable=False, help_text='Year of the decision, kept beside the date so the year facet reads an index.', null=True),
        ),
        migrations.AddField(
            model_name='determination',
            name='key',
            field=models.CharField(default='', editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunSQL(
            [
                'UPDATE decisions_determination SET "key" = substr(content_hash, 1, 16)',
                'UPDATE decisions_determination SET "key" = case_number WHERE id IN'
                " (SELECT MIN(id) FROM decisions_determination WHERE case_number <> ''"
                " GROUP BY case_number)",
                'UPDATE decisions_determination SET "key" = content_hash WHERE id IN'
                ' (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY "key" ORDER BY id)'
                " AS n FROM decisions_determination) AS ranked WHERE n > 1)",
            ],
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='determination',
            name='key',
            field=models.CharField(editable=False, help_text="The letter's public key, in its URL: the case number, or where the letter has none (or shares it) the first 16 characters of the content hash.", max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name='determination',
            name='original',
            field=models.FileField(blank=True, help_text='The file the letter was read from (the PDF where there was one), in storage.', max_length=255, upload_to=''),
        ),
        migrations.AddField(
            model_name='determination',
            name='original_name',
            field=models.CharField(blank=True, help_text="That file's own name, as it was sent.", max_length=255),
        ),
        migrations.AddIndex(
            model_name='determination',
            index=models.Index(fields=['decision_date'], name='determination_decided_idx'),
        ),
        migrations.AddIndex(
            model_name='determination',
            index=models.Index(fields=['decision_year'], name='determination_decided_year_idx'),
        ),
        migrations.AddConstraint(
            model_name='determination',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision_year__gte', 1900), ('decision_year__lte', 2100)), ('decision_year__isnull', True), _connector='OR'), name='determination_decision_year_plausible'),
        ),
    ]
