"""The Content-Security-Policy: scripts and styles from our own files only, none inline.

The browser check (no violation reported while the pages run) is tests/e2e/test_csp.py;
this one reads every main page's header and markup.
"""

from datetime import date
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from branches.models import CriteriaSet
from branches.services.criteria import criteria_defaults_load
from branches.services.recompute import ratings_recompute
from tests.branches.test_report_pages import submitted

MARCH = date(2026, 3, 1)
# Script types a browser does not run: data blocks, which the policy does not govern.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template"}


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def scene(tree, personas):
    """March 2026 with default criteria, A2's report submitted and every branch rated."""
    criteria_defaults_load(year=2026)
    submitted(tree.village_a2, personas.staff_a, MARCH)
    ratings_recompute(period=MARCH)
    return tree


class InlineCode(HTMLParser):
    """Collects what a strict policy refuses: inline scripts, styles and event handlers."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            runs = (attributes.get("type") or "text/javascript") not in DATA_SCRIPT_TYPES
            self._in_script = runs and "src" not in attributes
        if tag == "style":
            self.found.append("<style>")
        for name, value in attributes.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def inline_code(response) -> list[str]:
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser.found


def policy(response) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


STAFF_PAGES = [
    "/",
    "/units/",
    "/units/410102001/",
    "/units/410102001/history/",
    "/units/410102001/edit/",
    "/units/search/?q=41",
    "/units/410102001002/scorecard/?period=2026-03",
    "/units/410102001/summary/?period=2026-03",
    "/units/410102001002/reports/2026-03/",
    "/units/410102001001/reports/2026-03/",
    "/units/410102001/review/2026-03/",
    "/api/docs/",
]
ADMIN_PAGES = [
    "/units/import/",
    "/admin/",
    "/admin/branches/orgunit/",
    "/admin/branches/orgunit/add/",
    "/admin/branches/criteriaset/",
    "/admin/branches/criteriaset/add/",
    "/admin/governance/user/",
    "/admin/governance/user/add/",
    "/admin/password_change/",
]


def test_the_policy_allows_scripts_and_styles_from_our_own_origin_only(db, client):
    directives = policy(client.get(reverse("login")))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_a_staff_page_has_no_inline_script_or_style(url, scene, personas, login):
    response = login(personas.staff_a).get(url)

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert inline_code(response) == []


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_an_admin_page_has_no_inline_script_or_style(url, scene, personas, login):
    response = login(personas.admin).get(url)

    assert response.status_code == 200
    assert inline_code(response) == []


def test_the_admin_change_and_history_pages_have_no_inline_script_or_style(scene, personas, login):
    client = login(personas.admin)
    unit, user = scene.village_a1.pk, personas.staff_a.pk
    criteria_set = CriteriaSet.objects.first().pk
    for url in [
        reverse("admin:branches_orgunit_change", args=[unit]),
        reverse("admin:branches_orgunit_history", args=[unit]),
        reverse("admin:governance_user_change", args=[user]),
        reverse("admin:governance_user_history", args=[user]),
        reverse("admin:branches_criteriaset_change", args=[criteria_set]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response) == [], url


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/nothing-here/", "/units/search/?q=%00", "/admin/login/"]
)
def test_pages_for_anonymous_visitors_and_error_pages_have_none_either(url, db, client):
    assert inline_code(client.get(url)) == []


def test_the_charts_and_the_review_script_are_files(scene, personas, login):
    client = login(personas.staff_a)

    scorecard = client.get("/units/410102001002/scorecard/?period=2026-03").content.decode()
    summary = client.get("/units/410102001/summary/?period=2026-03").content.decode()
    review = client.get("/units/410102001/review/2026-03/").content.decode()

    assert 'src="/static/js/scorecard.js"' in scorecard
    assert 'src="/static/js/summary.js"' in summary
    assert 'src="/static/js/report_review.js"' in review
    assert 'id="select-all"' in review


def test_htmx_is_told_not_to_inject_its_indicator_style(personas, login):
    page = login(personas.staff_a).get("/").content.decode()

    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in page


def test_the_api_docs_load_their_start_up_script_from_a_url(personas, login):
    client = login(personas.staff_a)

    script = client.get(reverse("api-docs"), {"script": ""})

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert 'src="/api/docs/?script="' in client.get(reverse("api-docs")).content.decode()
