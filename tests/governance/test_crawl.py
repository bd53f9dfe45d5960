"""Every demo persona walks every page reachable from the home page: no 5xx, nothing outside
their jurisdiction.

The town demo is seeded once for the module (it is deterministic). The walk is breadth-first
over same-site links (href, src and the charts' data-url), GET only, and bounded: a link that
differs from one already taken only in its query values (page, sort, filters, period) is
skipped, a view is visited at most `PER_VIEW` times with other arguments and at most
`PERIODS_PER_PAGE` months of the same page, and at most `PAGE_LIMIT` pages per persona.
The API is walked from its root the same way, following the URLs in its JSON.
"""

import json
import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.db import transaction
from django.urls import Resolver404, resolve

from branches.demo.hierarchy import demo_seed
from branches.demo.users import DEMO_USERNAMES
from branches.demo.values import demo_values_seed
from branches.models import OrgUnit
from governance.models import User

PAGE_LIMIT = 400
PER_VIEW = 8
PERIODS_PER_PAGE = 3
START = ["/", "/api/v1/"]
SKIPPED = ("/accounts/logout/",)
HOST = "testserver"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "data-url") and value:
                self.links.append(value)


def html_links(text: str) -> list[str]:
    parser = _Links()
    parser.feed(text)
    return parser.links


def json_links(data) -> list[str]:
    if isinstance(data, dict):
        return [link for value in data.values() for link in json_links(value)]
    if isinstance(data, list):
        return [link for value in data for link in json_links(value)]
    if isinstance(data, str) and data.startswith(f"http://{HOST}/"):
        return [data]
    return []


def same_site(base: str, link: str) -> str | None:
    """The link as a path with its query, or None when it leaves the site."""
    parts = urlsplit(urljoin(f"http://{HOST}{base}", link))
    if parts.scheme not in ("http", "https") or parts.netloc != HOST:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Walk:
    """The breadth-first walk of one persona, with its bounds."""

    def __init__(self, client):
        self.client = client
        self.queue = deque(START)
        self.taken: set = set()
        self.per_view: Counter = Counter()
        self.visited: list[tuple[str, int]] = []

    def admit(self, url: str) -> bool:
        path, _sep, query = url.partition("?")
        if path.startswith(SKIPPED):
            return False
        keys = tuple(sorted({part.split("=")[0] for part in query.split("&") if part}))
        try:
            match = resolve(path)
        except Resolver404:
            match = None
        if match is None:  # static files and unknown paths: each path once
            key, view, periods = (path, keys), None, None
        else:
            others = {k: v for k, v in match.kwargs.items() if k != "period"}
            view = match.view_name
            key = (view, tuple(sorted(others.items())), keys)
            periods = (key, match.kwargs.get("period"))
        if periods is not None and "period" in match.kwargs:
            if periods in self.taken:
                return False
            if self.per_view[key] >= PERIODS_PER_PAGE:
                return False
            self.per_view[key] += 1
            self.taken.add(periods)
            return self.count_view(view, key)
        if key in self.taken:
            return False
        self.taken.add(key)
        return self.count_view(view, key)

    def count_view(self, view, key) -> bool:
        if view is None:
            return True
        # The first of each distinct set of arguments counts against the view's bound.
        first = ("view", view, key[1])
        if first not in self.taken:
            self.taken.add(first)
            self.per_view[("view", view)] += 1
        return self.per_view[("view", view)] <= PER_VIEW

    def run(self):
        for url in START:
            self.admit(url)
        while self.queue and len(self.visited) < PAGE_LIMIT:
            url = self.queue.popleft()
            response = self.client.get(url)
            self.visited.append((url, response.status_code))
            assert response.status_code < 500, (url, response.status_code)
            for link in self.links_of(url, response):
                target = same_site(url, link)
                if target is not None and self.admit(target):
                    self.queue.append(target)
        return self.visited

    @staticmethod
    def links_of(url, response) -> list[str]:
        content_type = response.get("Content-Type", "")
        if response.status_code != 200 or getattr(response, "streaming", False):
            return []
        if content_type.startswith("text/html"):
            return html_links(response.content.decode())
        if content_type.startswith("application/json"):
            return json_links(json.loads(response.content))
        return []


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The town demo with its values, once for the module; rolled back after it."""
    media = tmp_path_factory.mktemp("crawl_media")
    from django.conf import settings

    previous = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = media
    with django_db_blocker.unblock(), transaction.atomic():
        demo_seed(scale="town")
        demo_values_seed(seed=2026)
        yield media
        transaction.set_rollback(True)
    settings.MEDIA_ROOT = previous


def unit_codes(url: str) -> list[str]:
    path = url.partition("?")[0]
    try:
        match = resolve(path)
    except Resolver404:
        return []
    codes = [match.kwargs["code"]] if "code" in match.kwargs else []
    # The API names units in its filters too.
    codes += re.findall(r"(?:^|&)(?:unit|under|parent)=(\d+)", url.partition("?")[2])
    return codes


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_every_page_a_demo_persona_can_reach_answers_without_error_and_inside_their_jurisdiction(
    username, demo, client, settings, db
):
    settings.MEDIA_ROOT = demo
    # Static files are served from the apps' folders as in development, so their links are
    # checked too (the vendored front end only after `make assets`).
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    user = User.objects.select_related("unit").get(username=username)
    client.force_login(user)

    visited = Walk(client).run()

    scope = user.unit.path if user.unit else ""
    paths = dict(OrgUnit.objects.values_list("code", "path"))
    outside = [
        (url, status)
        for url, status in visited
        for code in unit_codes(url)
        if code in paths and not paths[code].startswith(scope)
    ]
    assert not outside, outside
    assert len(visited) > 10, visited
    # The rectification pages (问题清单) are reached from the navigation by every reader.
    reached = any(url.startswith("/rectifications/") for url, status in visited if status == 200)
    assert reached == user.can_read_rectifications
    # 包联 and 结对 are linked in the navigation of every role that reads them.
    if user.can_read_reports and user.role != User.Role.SECRETARY:
        urls = [url for url, _status in visited]
        for prefix in ("/assignments/", "/pairings/"):
            assert any(url.startswith(prefix) for url in urls), prefix
    # The same pages for a unit of the same level outside the jurisdiction: never a 200.
    for url, code, level in first_per_view(visited, paths):
        stranger = OrgUnit.objects.filter(level=level).exclude(path__startswith=scope).first()
        if stranger is not None:
            probe = url.replace(f"/{code}/", f"/{stranger.code}/", 1)
            assert client.get(probe).status_code in (403, 404), probe
    print(username, len(visited), sorted(Counter(status for _url, status in visited).items()))


def first_per_view(visited, paths) -> list[tuple[str, str, int]]:
    """(url, its unit code, the unit's level) for the first page of each view with a code."""
    levels = dict(OrgUnit.objects.values_list("code", "level"))
    seen, first = set(), []
    for url, status in visited:
        path = url.partition("?")[0]
        try:
            match = resolve(path)
        except Resolver404:
            continue
        code = match.kwargs.get("code")
        if status == 200 and code in paths and match.view_name not in seen:
            seen.add(match.view_name)
            first.append((path, code, levels[code]))
    return first
