"""What the site tells browsers to refuse (Content-Security-Policy), and that its pages need
nothing the policy refuses: no inline script or style anywhere."""

import datetime as dt
import io
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client

from decisions.models import Determination
from imrsite.proxy import client_ip

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """What a strict policy (no 'unsafe-inline') would refuse to run in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self._script_without_src = True
        if tag == "style":
            self.found.append("a <style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            elif name.startswith(("on", "hx-on", "data-hx-on")):
                self.found.append(f"{name}= on <{tag}>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"a javascript: URL in {name}= on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script_without_src:
            self.found.append("a <script> without src")
            self._script_without_src = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_finds_what_the_policy_would_refuse():
    page = """<html><head><style>p {}</style><script>alert(1)</script>
      <script src="/static/js/site.js"></script></head>
      <body><p style="color: red" onclick="x()" hx-on:click="y()">
      <a href="javascript:void(0)">a</a></p></body></html>"""
    assert inline_code(page) == [
        "a <style> element",
        "a <script> without src",
        "style= on <p>",
        "onclick= on <p>",
        "hx-on:click= on <p>",
        "a javascript: URL in href= on <a>",
    ]


def page_urls(sample_letters) -> list[str]:
    letter = Determination.objects.order_by("pk").first()
    return [
        "/",
        "/?outcome=overturned&body_region=lumbar_spine",
        "/?q=%22massage+therapy%22",
        letter.get_absolute_url(),
        "/report/",
        "/api/",
        "/admin/login/",
    ]


def test_every_page_has_the_policy_and_nothing_inline_it_would_refuse(client, sample_letters):
    for url in page_urls(sample_letters):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy, url
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert inline_code(response.content.decode()) == [], url


def test_the_not_found_page_has_the_policy_and_nothing_inline(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "Page not found" in response.content.decode()  # the site's page, not Django's
    assert inline_code(response.content.decode()) == []


def test_a_search_swapped_by_htmx_has_nothing_inline(client, sample_letters):
    response = client.get("/?outcome=upheld", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


def test_htmx_is_told_to_add_no_style_and_run_no_strings(client, sample_letters):
    html = client.get("/").content.decode()
    assert (
        """<meta name="htmx-config"
          content='{"includeIndicatorStyles": false, "allowEval": false}'>"""
        in html
    )


def test_the_staff_pages_have_nothing_inline_either(staff_client, sample_letters):
    letter = Determination.objects.order_by("pk").first()
    for url in (
        "/admin/",
        "/admin/decisions/determination/",
        f"/admin/decisions/determination/{letter.pk}/change/",
        "/admin/decisions/decisionitem/",
        f"/admin/decisions/decisionitem/{letter.items.first().pk}/change/",
        "/admin/axes/accessattempt/",  # where a lockout can be lifted by hand
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert inline_code(response.content.decode()) == [], url


# --- the admin login's lockout (django-axes) ------------------------------------------------

PASSWORD = "a-long-passphrase"


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)


def log_in(client, password, username="editor"):
    form = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", form)


def test_five_wrong_passwords_lock_the_username_out_even_with_the_right_one(client, editor):
    for _ in range(4):
        response = log_in(client, "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert "Please enter the correct username and password" in response.content.decode()
    response = log_in(client, "wrong")
    assert response.status_code == 429
    assert "too many login attempts" in response.content.decode()

    response = log_in(client, PASSWORD)
    assert response.status_code == 429  # refused, right password or not
    assert "_auth_user_id" not in client.session


def test_a_lockout_holds_one_username_from_one_address(client, editor, django_user_model):
    django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", PASSWORD)
    for _ in range(5):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429
    assert log_in(client, PASSWORD, username="reviewer").status_code == 302  # another user
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert log_in(elsewhere, PASSWORD).status_code == 302  # the same user, from elsewhere


def test_a_right_password_forgets_the_wrong_ones_before_it(client, editor):
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert log_in(client, "wrong").status_code == 200  # counting from nothing again


def test_axes_reset_unlocks_at_once(client, editor):
    for _ in range(5):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429
    call_command("axes_reset", stdout=io.StringIO())
    response = log_in(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_lockout_ends_after_its_cool_off(client, editor, settings):
    for _ in range(5):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429
    settings.AXES_COOLOFF_TIME = dt.timedelta(0)  # as if the hour had passed
    assert log_in(client, PASSWORD).status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_added(settings, rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4")
    settings.BEHIND_PROXY = False
    assert client_ip(request) == "10.0.0.2"  # a client's own X-Forwarded-For means nothing
    settings.BEHIND_PROXY = True
    assert client_ip(request) == "198.51.100.4"  # not 203.0.113.9, which the client wrote
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
