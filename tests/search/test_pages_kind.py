"""Intranet pages on the search page (kind "page"): found by their words, highlighted, linked,
and never shown to someone Wagtail's privacy settings keep out. /api/search/ is unchanged:
it refuses kind=page with its usual 400."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group as AuthGroup
from rest_framework.test import APIClient
from wagtail.models import PageViewRestriction

from intranet import selectors as intranet_selectors
from intranet.actions import grant_role
from intranet.models import IntranetHomePage, StandardPage
from search import sources
from tests.factories import UserFactory
from tests.intranet.conftest import add_draft, news, publish

pytestmark = pytest.mark.django_db

PAGE = "/search/"


@pytest.fixture
def home():
    return IntranetHomePage.objects.get()


@pytest.fixture
def moderator(agency):
    person = UserFactory(profile__agency=agency)
    grant_role(user=person, role="moderator")
    return person


@pytest.fixture
def reader(client, user):
    client.force_login(user)
    return client


def standard(home, moderator, *, title, slug, body, parent=None):
    page = add_draft(parent or home, StandardPage(title=title, slug=slug, body=body))
    return publish(page, moderator)


def restrict(page, kind, *, groups=(), password=""):
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=kind, password=password
    )
    restriction.groups.set(groups)
    return restriction


def test_the_kind_filter_offers_intranet_pages(reader):
    html = reader.get(PAGE).content.decode()
    assert '<option value="page">Intranet pages</option>' in html


def test_kind_page_lists_matching_pages_highlighted_and_linked(reader, home, moderator):
    publish(news(home, body="<p>The quokkaplan reform starts in spring.</p>"), moderator)
    standard(home, moderator, title="Quokkaplan <b>help</b>", slug="qhelp", body="<p>How to.</p>")
    add_draft(home, StandardPage(title="Draft quokkaplan", slug="draft", body="<p>x</p>"))
    standard(home, moderator, title="Unrelated", slug="other", body="<p>Nothing here.</p>")

    response = reader.get(PAGE, {"q": "quokkaplan", "kind": "page"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 intranet pages" in html
    assert 'href="/intranet/budget-2027-is-out/"' in html and 'href="/intranet/qhelp/"' in html
    assert "Draft quokkaplan" not in html and "Unrelated" not in html
    assert "The <mark>quokkaplan</mark> reform" in html  # the snippet, words marked
    assert "<mark>Quokkaplan</mark> &lt;b&gt;help&lt;/b&gt;" in html  # the title, escaped
    assert html.count('class="search-result__kind">Intranet page<') == 2
    assert '<option value="page" selected>' in html


def test_kind_page_understands_phrases_and_exclusions(reader, home, moderator):
    standard(home, moderator, title="Leave policy", slug="leave", body="<p>Wombat leave rules</p>")
    standard(home, moderator, title="Travel", slug="travel", body="<p>Wombat travel rules</p>")
    html = reader.get(PAGE, {"q": "wombat -travel", "kind": "page"}).content.decode()
    assert "Leave policy" in html and "/intranet/travel/" not in html
    html = reader.get(PAGE, {"q": '"wombat travel"', "kind": "page"}).content.decode()
    assert "/intranet/travel/" in html and "Leave policy" not in html
    html = reader.get(PAGE, {"q": "nothingmatchesthis", "kind": "page"}).content.decode()
    assert "0 intranet pages" in html and "No intranet page you can read matches" in html


def test_kind_page_needs_words(reader):
    response = reader.get(PAGE, {"kind": "page"})
    assert response.status_code == 400
    assert "Type the words to find in intranet pages." in response.content.decode()


def test_kind_page_says_which_filters_it_ignores(reader, home, moderator, agency):
    standard(home, moderator, title="Numbat guide", slug="numbat", body="<p>Numbat.</p>")
    response = reader.get(PAGE, {"q": "numbat", "kind": "page", "agency": agency.slug})
    html = response.content.decode()
    assert response.status_code == 200 and 'href="/intranet/numbat/"' in html
    assert "the other filters do not apply to them" in html


def test_every_kind_shows_the_best_pages_beside_the_other_results(reader, home, moderator):
    for n in range(4):
        standard(home, moderator, title=f"Bilby {n}", slug=f"bilby-{n}", body="<p>Bilby.</p>")
    html = reader.get(PAGE, {"q": "bilby"}).content.decode()
    assert '<h3 id="search-pages-heading">Intranet pages</h3>' in html
    assert html.count('class="search-result__kind">Intranet page<') == 3
    assert "All matching intranet pages" in html and "kind=page" in html
    assert "Nothing you can see matches" not in html  # pages alone are results
    assert "3 or more results" in html

    # A filter that pages do not have (author, group, hashtag, ...) leaves them out.
    html = reader.get(PAGE, {"q": "bilby", "hashtag": "bilby"}).content.decode()
    assert "search-pages-heading" not in html


def test_restricted_pages_never_show_to_those_kept_out(client, home, moderator, agency):
    hr = AuthGroup.objects.create(name="Human resources")
    insider = UserFactory(profile__agency=agency)
    insider.groups.add(hr)
    outsider = UserFactory(profile__agency=agency)
    open_page = standard(home, moderator, title="Echidna open", slug="o", body="<p>echidna</p>")
    for_hr = standard(home, moderator, title="Echidna salaries", slug="hr", body="<p>echidna</p>")
    below_hr = standard(
        home, moderator, title="Echidna grades", slug="g", body="<p>echidna</p>", parent=for_hr
    )
    secret = standard(home, moderator, title="Echidna password", slug="p", body="<p>echidna</p>")
    signed_in = standard(home, moderator, title="Echidna staff", slug="s", body="<p>echidna</p>")
    restrict(for_hr, PageViewRestriction.GROUPS, groups=[hr])
    restrict(secret, PageViewRestriction.PASSWORD, password="open sesame")
    restrict(signed_in, PageViewRestriction.LOGIN)

    def titles(viewer):
        found = intranet_selectors.search_pages(viewer=viewer, query="echidna", limit=50)
        return {result.title for result in found}

    assert titles(outsider) == {open_page.title, signed_in.title}
    assert titles(insider) == {open_page.title, signed_in.title, for_hr.title, below_hr.title}
    assert titles(UserFactory(is_active=False)) == set()
    assert secret.title not in titles(insider)

    for q, kind in (("echidna", "page"), ("echidna", "")):
        client.force_login(outsider)
        html = client.get(PAGE, {"q": q, "kind": kind}).content.decode()
        assert 'href="/intranet/o/"' in html and 'href="/intranet/s/"' in html
        for hidden in ("salaries", "grades", "password"):
            assert f"</mark> {hidden}" not in html
        client.force_login(insider)
        html = client.get(PAGE, {"q": q, "kind": "page"}).content.decode()
        assert "</mark> salaries" in html and 'href="/intranet/hr/g/"' in html


def test_a_failing_source_leaves_the_page_working(reader, settings, home, moderator):
    standard(home, moderator, title="Platypus", slug="platypus", body="<p>platypus</p>")
    broken = "search.does_not_exist.nothing"
    settings.SEARCH_EXTRA_SOURCES = [broken, *settings.SEARCH_EXTRA_SOURCES]
    response = reader.get(PAGE, {"q": "platypus", "kind": "page"})
    assert response.status_code == 200 and "Platypus" in response.content.decode()


def test_without_sources_there_is_no_page_kind(reader, settings):
    settings.SEARCH_EXTRA_SOURCES = []
    assert not sources.has_sources()
    assert 'value="page"' not in reader.get(PAGE).content.decode()
    response = reader.get(PAGE, {"q": "x", "kind": "page"})
    assert response.status_code == 400  # not one of the choices


def test_the_api_refuses_kind_page_with_a_field_message(user):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/search/", {"q": "anything", "kind": "page"})
    assert response.status_code == 400
    assert "kind" in response.json()
