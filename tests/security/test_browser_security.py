"""What a browser relies on: CSRF on every POST, GETs that change nothing, user data rendered inert on every
page that shows it (and in the CSV export), a strict Content-Security-Policy, and production settings that
pass `check --deploy` and send secure cookies and HSTS over HTTPS."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from billing import services as billing
from credits import services as credits
from tests.conftest import htmx, logged_in
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.security.conftest import assert_unchanged, db_snapshot, page_text
from tests.security.server import ROOT, collectstatic, production_env
from tests.security.test_authorization import RULES, url_for, valid_post

# Script, event handlers, and htmx attributes that would make the page fetch or run something if they got through.
PAYLOADS = [
    "<script>alert(1)</script>",
    '" onerror="alert(1)',
    "<img src=x onerror=alert(1)>",
    '" hx-get="/evil" hx-trigger="load',
    "' hx-on:click='alert(1)",
]
EVIL = "Eve " + " ".join(PAYLOADS)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.script_text.append(data)


def assert_inert(html: str, where: str) -> None:
    """No inline script, no event handler, no htmx attribute or image that came from data."""
    parsed = Tags()
    parsed.feed(html)
    problems = []
    for tag, attrs in parsed.tags:
        if tag == "script" and not attrs.get("src"):
            problems.append(f"inline <script> {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}={value!r}>")
            if name.startswith("hx-") and any(word in (value or "") for word in ("evil", "alert")):
                problems.append(f"<{tag} {name}={value!r}>")
        if tag == "img" and attrs.get("src") == "x":
            problems.append(f"<img {attrs}>")
    problems += [f"script text {text[:80]!r}" for text in parsed.script_text]
    assert not problems, f"{where}: {problems}"


# CSRF ------------------------------------------------------------------------------------------------------------------------


POST_URLS = sorted(name for name, rule in RULES.items() if "POST" in rule.methods)


@pytest.mark.parametrize("name", POST_URLS)
def test_every_post_is_refused_without_a_csrf_token(world, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.superuser)  # allowed everything: only the missing token stops it
    before = db_snapshot()
    response = client.post(url_for(name, world), valid_post(name, world))
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode() and "Nothing was saved." in response.content.decode()
    assert_unchanged(before)


@pytest.mark.parametrize("name", POST_URLS)
def test_every_post_is_refused_with_a_wrong_csrf_token(world, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.superuser)
    client.get(reverse("credits:list"))  # a real csrftoken cookie
    before = db_snapshot()
    response = client.post(url_for(name, world), valid_post(name, world), HTTP_X_CSRFTOKEN="x" * 32, headers=htmx())
    assert response.status_code == 403
    assert_unchanged(before)


def test_the_same_post_with_the_token_goes_through(world):
    """The refusals above are the token's doing: with it (form field, or htmx's header) the writes happen."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff)
    client.get(reverse("credits:add"))
    token = client.cookies["csrftoken"].value
    data = valid_post("credits:add", world)
    assert client.post(reverse("credits:add"), {**data, "csrfmiddlewaretoken": token}).status_code == 303
    response = client.post(
        reverse("credits:assign", args=[world.credit.pk]),
        {f"invoice-{world.open2.pk}": "1.00"},
        HTTP_X_CSRFTOKEN=token,
        headers=htmx(),
    )
    assert response.status_code == 200 and response["HX-Redirect"]


def test_logging_in_and_out_need_the_token_too(world):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login"), {"username": world.staff.username, "password": "x"}).status_code == 403
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("credits:list")).status_code == 200  # still logged in


# GET never writes --------------------------------------------------------------------------------------------------------------


GET_URLS = sorted(name for name, rule in RULES.items() if "GET" in rule.methods)


@pytest.mark.parametrize("name", GET_URLS)
def test_a_get_changes_nothing(world, name):
    client = logged_in(world.manager)
    url = url_for(name, world)
    before = db_snapshot()
    for headers in ({}, htmx()):
        response = client.get(
            url, {"q": "Amy", "customer_q": "Amy", "invoice_q": "INV", "customer": world.amy.pk}, headers=headers
        )
        assert response.status_code in (200, 302), (name, response.status_code)
    assert_unchanged(before)


# User data rendered inert -----------------------------------------------------------------------------------------------------


@pytest.fixture
def evil(world):
    """A customer, credit, invoice, batch and user whose every text field is an attack."""
    world.manager.first_name = ("Mallory " + " ".join(PAYLOADS))[:150]  # shown in every page's header
    world.manager.save()
    eve = CustomerFactory(name=EVIL, email="eve@example.com", notes=EVIL, tags=PAYLOADS)
    invoice = invoice_for(eve, "90.00")
    lined = billing.create_invoice(eve, [(EVIL[:200], 1, "20.00")], by=world.manager)
    credit = credit_for(eve, "50.00", note=EVIL, by=world.manager)
    credits.assign_credit(credit, {invoice: "10.00"}, by=world.manager)
    batch = credits.add_bulk_credits([eve], "5.00", note=EVIL, by=world.manager)
    billing.record_payment(invoice, "1.00", by=world.manager)
    return {"customer": eve, "invoice": invoice, "lined": lined, "credit": credit, "batch": batch}


def evil_pages(e) -> list[str]:
    c, i, cr, b = e["customer"].pk, e["invoice"].pk, e["credit"].pk, e["batch"].pk
    return [
        reverse("customers:list") + "?" + urlencode({"q": "Eve"}),
        reverse("customers:detail", args=[c]),
        reverse("customers:billing", args=[c]),
        reverse("customers:history", args=[c]),
        reverse("customers:edit", args=[c]),
        reverse("credits:list") + "?q=Eve",
        reverse("credits:detail", args=[cr]),
        reverse("credits:edit", args=[cr]),
        reverse("credits:assignments", args=[cr]),
        reverse("credits:assign", args=[cr]),
        reverse("credits:history", args=[cr]),
        reverse("credits:delete", args=[cr]),
        reverse("credits:batch_detail", args=[b]),
        reverse("credits:add") + f"?customer={c}",
        reverse("credits:bulk") + f"?customer={c}",
        reverse("billing:invoice_list") + "?q=Eve",
        reverse("billing:invoice_detail", args=[i]),
        reverse("billing:invoice_detail", args=[e["lined"].pk]),
        reverse("billing:invoice_history", args=[i]),
        reverse("billing:invoice_void", args=[e["lined"].pk]),
        reverse("billing:payment_list"),
        reverse("billing:payment_add") + f"?invoice={e['lined'].pk}",
        reverse("billing:invoice_add") + f"?customer={c}",
    ]


def evil_pickers(e) -> list[str]:
    """Fragments and pages that need not show the customer, checked for inertness only."""
    return [
        reverse("credits:batch_undo", args=[e["batch"].pk]),
        reverse("customers:matching") + "?q=Eve",
        reverse("credits:customer_search") + "?customer_q=Eve",
        reverse("billing:customer_search") + "?customer_q=Eve",
        reverse("billing:invoice_search") + "?invoice_q=Eve",
    ]


def test_attacks_in_names_and_notes_render_inert_on_every_page_that_shows_them(world, evil):
    client = logged_in(world.manager)
    shows = set(evil_pages(evil))
    for url in evil_pages(evil) + evil_pickers(evil):
        for headers in ({}, htmx()):
            response = client.get(url, headers=headers)
            if response.status_code == 302 and not headers and url not in shows:
                continue  # a picker fragment asked for without htmx sends the browser to its page
            assert response.status_code == 200, url
            html = response.content.decode()
            assert_inert(html, url)
            if (
                not headers and url in shows
            ):  # the whole page names the customer (an htmx fragment may be just a table or a tab)
                assert "Eve <script>alert(1)</script>" in page_text(response), f"{url} does not show the customer"
            assert "<script>alert(1)</script>" not in html and "<img src=x" not in html, url


def test_the_pages_checked_above_really_show_the_attack_as_text(world, evil):
    """Each payload is on the customer's pages, escaped: visible to the reader, inert to the browser."""
    client = logged_in(world.manager)
    for url in (
        reverse("customers:detail", args=[evil["customer"].pk]),
        reverse("credits:detail", args=[evil["credit"].pk]),
    ):
        response = client.get(url)
        html = response.content.decode()
        assert EVIL in page_text(response)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&quot; onerror=&quot;alert(1)" in html


def test_the_csv_export_defuses_formulas(world):
    client = logged_in(world.staff)
    formulas = ['=HYPERLINK("http://evil.example","Click")', "+SUM(1,2)", "-2+3", "@cmd", "\t=1+1"]
    for name in formulas:
        credit_for(CustomerFactory(name=name, email="f@example.com"), "1.00")
    response = client.get(reverse("credits:export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    names = [row[header.index("Customer")] for row in body]
    for name in formulas:
        assert "'" + name in names, (name, names)
    for row in body:
        assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in row), row
        assert not any(cell.startswith("-") and not cell[1:].replace(".", "").isdigit() for cell in row), row


# Headers and production settings -------------------------------------------------------------------------------------------


def test_every_page_has_a_strict_content_security_policy(world):
    client = logged_in(world.manager)
    for name in GET_URLS:
        response = client.get(url_for(name, world))
        if response.status_code != 200:
            continue
        policy = dict(
            (part.split()[0], part.split()[1:])
            for part in response["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert policy["script-src"] == ["'self'"], (name, policy)
        assert "'unsafe-inline'" not in policy.get("style-src", []) and "'unsafe-eval'" not in str(policy), name
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], name
        assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff", name
        if not response.streaming and response["Content-Type"].startswith("text/html"):
            assert_inert(response.content.decode(), name)  # and the page itself has no inline script (PDFs aside)


def test_the_deploy_checklist_passes_with_production_settings(django_db_setup):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(DJANGO_HTTPS=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "W0" not in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(django_db_setup):
    env = production_env(DJANGO_HTTPS="")
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


HTTPS_PROBE = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client

out = {}
with transaction.atomic():
    User.objects.create_user("https.probe", password="a long probe passphrase")
    client = Client()
    plain = client.get("/accounts/login/")
    out["plain"] = [plain.status_code, plain.get("Location", "")]
    page = client.get("/accounts/login/", secure=True)
    out["hsts"] = page.get("Strict-Transport-Security", "")
    out["csrf_cookie"] = {k: v for k, v in page.cookies["csrftoken"].items() if v} if "csrftoken" in page.cookies else {}
    login = client.post("/accounts/login/", {"username": "https.probe", "password": "a long probe passphrase"}, secure=True)
    out["login"] = login.status_code
    out["session_cookie"] = {k: v for k, v in login.cookies["sessionid"].items() if v} if "sessionid" in login.cookies else {}
    transaction.set_rollback(True)
print(json.dumps(out))
"""


def test_over_https_cookies_are_secure_and_hsts_is_sent(db):
    """Production settings (DEBUG off, so HTTPS on), the real middleware, a real login: in a subprocess, rolled back.

    `db`, not just django_db_setup: run alone, pytest-django creates the test database only for a test that asks
    for one, and the probe would log in to the development database instead. The login page needs the static
    manifest that production settings read, which no earlier test may have built yet.
    """
    collectstatic()
    env = production_env(DJANGO_HTTPS="", DJANGO_ALLOWED_HOSTS="testserver")
    result = subprocess.run(
        [sys.executable, "-c", HTTPS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["plain"] == [301, "https://testserver/accounts/login/"]
    assert out["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert out["csrf_cookie"].get("secure") is True, out
    assert out["login"] == 302
    assert out["session_cookie"].get("secure") is True and out["session_cookie"].get("httponly") is True, out


@pytest.mark.parametrize(
    "html",
    [
        "<p>hi</p><script>alert(1)</script>",
        '<input value="" onerror="alert(1)">',
        "<img src=x onerror=alert(1)>",
        '<span hx-get="/evil" hx-trigger="load"></span>',
        "<button hx-on:click='alert(1)'>x</button>",
    ],
)
def test_the_inertness_check_catches_each_attack_when_it_is_not_escaped(html):
    with pytest.raises(AssertionError):
        assert_inert(html, "raw")
