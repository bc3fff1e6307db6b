import pytest


@pytest.fixture
def staff_client(client, django_user_model):
    """A logged-in staff user with every permission (as a site editor-in-chief)."""
    user = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    client.user = user
    return client
