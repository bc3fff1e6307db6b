"""The Editors group: staff who correct parsed letters and review them, but never delete.

Permissions are created after migrations run, so they are created here first for this app.
"""

from django.db import migrations

EDITORS = "Editors"
# (model, actions): view and change what the parser wrote, add what it missed; no delete.
GRANTS = {
    "determination": ("view", "change"),
    "lettertoreview": ("view", "change"),
    "decisionitem": ("view", "change"),
    "guidelinecitation": ("view", "change", "add"),
    "citedpagerange": ("view", "change", "add"),
    "citedchapter": ("view", "change", "add"),
    "correction": ("view",),
    "treatment": ("view", "change"),
    "bodyregion": ("view", "change"),
    "guideline": ("view", "change"),
    "specialty": ("view", "change"),
    "state": ("view", "change"),
}


def create_editors(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # The real app config passes create_permissions' check; models come from the migration state.
    create_permissions(global_apps.get_app_config("decisions"), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS)
    codenames = [f"{action}_{model}" for model, actions in GRANTS.items() for action in actions]
    codenames.append("review_determination")
    permissions = Permission.objects.filter(
        content_type__app_label="decisions", codename__in=codenames
    )
    group.permissions.set(permissions)


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0003_review_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
