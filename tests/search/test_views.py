"""The search page and /api/search/: results, filters, bad input (a message, never a 500),
and who may ask."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feeds import actions as feed_actions

pytestmark = pytest.mark.django_db

PAGE = "/search/"
API = "/api/search/"


@pytest.fixture
def api_as():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_urls_are_where_the_docs_say():
    assert reverse("search:search") == PAGE
    assert reverse("api-search") == API


def test_the_page_without_a_search_shows_the_form(client, world):
    client.force_login(world.carol)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form class="search-form" method="get"' in html
    assert 'role="search"' in html
    for name in (
        "q",
        "kind",
        "agency",
        "group",
        "author",
        "hashtag",
        "date_from",
        "date_to",
        "sort",
    ):
        assert f'name="{name}"' in html
        assert f'for="id_{name}"' in html  # every control has a label
    assert "search-results" not in html


def test_the_page_finds_highlights_and_counts(client, world):
    client.force_login(world.carol)
    response = client.get(PAGE, {"q": "kingfisher"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<mark>kingfisher</mark>" in html
    assert "1 result" in html
    assert world.posts["everyone"].get_absolute_url() in html


def test_a_topic_of_a_private_group_is_found_by_a_member_not_an_outsider(client, world):
    client.force_login(world.alice)
    assert "bittern" in client.get(PAGE, {"q": "bittern"}).content.decode()
    client.force_login(world.carol)
    html = client.get(PAGE, {"q": "bittern"}).content.decode()
    assert "bittern" not in html.split('id="search-results-heading"')[1]
    assert "0 results" in html


def test_the_secret_group_is_not_a_choice_for_outsiders(client, world):
    client.force_login(world.carol)
    html = client.get(PAGE).content.decode()
    assert world.open_group.name in html
    assert world.secret_group.name not in html
    response = client.get(PAGE, {"q": "x", "group": world.secret_group.slug})
    assert response.status_code == 400
    assert world.secret_group.name not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": '"unclosed'}, "q"),
        ({"q": "- - !"}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "tab\x07bell"}, "q"),
        ({"q": "-only"}, "q"),
        ({"q": "x", "date_from": "2024-02-31"}, "date_from"),
        ({"q": "x", "date_from": "yesterday"}, "date_from"),
        ({"q": "x", "date_from": "2024-05-02", "date_to": "2024-05-01"}, "date_to"),
        ({"q": "x", "kind": "secrets"}, "kind"),
        ({"q": "x", "sort": "random"}, "sort"),
        ({"q": "x", "author": "nobody-here"}, "author"),
        ({"q": "x", "agency": "no-such-agency"}, "agency"),
        ({"q": "x", "hashtag": "two words"}, "hashtag"),
        ({"q": "x", "cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_input_is_a_message_next_to_its_field(client, api_as, world, params, field):
    client.force_login(world.carol)
    response = client.get(PAGE, params)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors.get(field) or form.non_field_errors()
    assert 'class="form-errors"' in response.content.decode()
    api_response = api_as(world.carol).get(API, params)
    assert api_response.status_code == 400
    assert field in api_response.json() or "non_field_errors" in api_response.json()


def test_api_returns_results_counts_and_safe_snippets(api_as, world, commit):
    commit(feed_actions.create_post, author=world.bob, body="kingfisher <script>x</script>")
    response = api_as(world.carol).get(API, {"q": "kingfisher", "counts": "true"})
    assert response.status_code == 200
    data = response.json()
    assert data["counts"] == {"post": 2}
    assert data["counts_capped"] is False
    assert data["backend"] == "database"
    assert data["notice"] == ""
    assert {r["kind"] for r in data["results"]} == {"post"}
    for result in data["results"]:
        assert "<mark>kingfisher</mark>" in result["snippet_html"]
        assert "<script" not in result["snippet_html"]
        assert "<mark>" not in result["snippet"]
        assert result["url"].startswith("http://testserver/posts/")


def test_api_counts_only_when_asked_and_on_a_first_page(api_as, world, commit):
    for i in range(3):
        commit(feed_actions.create_post, author=world.bob, body=f"shearwater {i}")
    client = api_as(world.carol)
    plain = client.get(API, {"q": "shearwater", "limit": 2}).json()
    assert plain["counts"] is None and plain["counts_capped"] is None
    assert len(plain["results"]) == 2 and plain["next"]
    asked = client.get(API, {"q": "shearwater", "limit": 2, "counts": "true"}).json()
    assert asked["counts"] == {"post": 3} and asked["counts_capped"] is False
    assert [r["id"] for r in asked["results"]] == [r["id"] for r in plain["results"]]
    assert client.get(API, {"q": "shearwater", "counts": "false"}).json()["counts"] is None
    # The next page carries counts=true on, and counts nothing: the first page said it.
    assert "counts=true" in asked["next"]
    second = client.get(asked["next"]).json()
    assert second["counts"] is None and len(second["results"]) == 1


def test_api_refuses_a_counts_value_that_is_not_a_boolean(api_as, world):
    response = api_as(world.carol).get(API, {"q": "shearwater", "counts": "maybe"})
    assert response.status_code == 400
    assert list(response.json()) == ["counts"]


def test_the_search_page_counts_without_being_asked(client, world, commit):
    for i in range(3):
        commit(feed_actions.create_post, author=world.bob, body=f"shearwater {i}")
    client.force_login(world.carol)
    html = client.get(PAGE, {"q": "shearwater"}).content.decode()
    assert "3 results" in html


def test_api_pages_with_next_links(api_as, world, commit):
    for i in range(5):
        commit(feed_actions.create_post, author=world.bob, body=f"puffin {i}")
    client = api_as(world.carol)
    data = client.get(API, {"q": "puffin", "limit": 2}).json()
    seen = [r["id"] for r in data["results"]]
    while data["next"]:
        data = client.get(data["next"]).json()
        seen.extend(r["id"] for r in data["results"])
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    "params",
    [{"q": "x", "colour": "blue"}, {"query": "x"}, {"q": "x", "limit": 500}, {}, {"q": ""}],
)
def test_api_refuses_unknown_parameters_and_empty_searches(api_as, world, params):
    response = api_as(world.carol).get(API, params)
    assert response.status_code == 400


def test_signed_out_or_deactivated_people_get_nothing(client, world):
    response = client.get(PAGE, {"q": "kingfisher"})
    assert response.status_code == 302
    assert APIClient().get(API, {"q": "kingfisher"}).status_code in (401, 403)
    world.carol.is_active = False
    world.carol.save()
    api = APIClient()
    api.force_authenticate(world.carol)
    assert api.get(API, {"q": "kingfisher"}).status_code in (401, 403)


def test_wrong_user_does_not_see_agency_or_group_posts_through_the_api(api_as, world):
    carol = api_as(world.carol)
    for word in ("nightingale", "bittern", "osprey", "zanzibarplan"):
        data = carol.get(API, {"q": word, "counts": "true"}).json()
        assert data["results"] == [] and data["counts"] == {}, word
    alice = api_as(world.alice)
    for word in ("nightingale", "bittern", "osprey"):
        assert alice.get(API, {"q": word, "counts": "true"}).json()["counts"] == {"post": 1}, word


def test_only_post_requests_are_refused(client, world):
    client.force_login(world.carol)
    assert client.post(PAGE, {"q": "x"}).status_code == 405
