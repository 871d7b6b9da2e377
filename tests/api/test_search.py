"""/api/search/ as the coverage gate sees it: answered for staff, never beyond what they may see.

The search app's own tests cover queries, filters and backends; these check the API contract.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from feeds import actions
from feeds.models import Post
from groups.models import Group

from .conftest import make_group

pytestmark = pytest.mark.django_db

SEARCH = reverse("api-search")


@pytest.fixture
def world(user, owner, outsider):
    group = make_group(Group.Kind.PRIVATE, owner=owner)
    public = actions.create_post(author=owner, body="Quarterly budget review")
    in_group = actions.create_post(
        author=owner, body="Quarterly budget draft", audience=Post.Audience.GROUP, group=group
    )
    agency_only = actions.create_post(
        author=user, body="Quarterly budget for us", audience=Post.Audience.AGENCY
    )
    call_command("search_reindex", verbosity=0)
    return {"public": public, "in_group": in_group, "agency_only": agency_only}


def post_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"] if r["kind"] == "post"}


@pytest.mark.api_endpoint("api-search", "GET")
def test_search_finds_what_the_reader_may_see(client_for, owner, world):
    found = post_ids(client_for(owner).get(SEARCH, {"q": "quarterly", "kind": "post"}))
    assert found == {world["public"].pk, world["in_group"].pk, world["agency_only"].pk}


@pytest.mark.api_wrong_user("api-search", "GET")
def test_search_hides_what_the_reader_may_not_see(client_for, outsider, world):
    found = post_ids(client_for(outsider).get(SEARCH, {"q": "quarterly", "kind": "post"}))
    assert found == {world["public"].pk}


def test_search_rejects_unknown_parameters(api):
    response = api.get(SEARCH, {"q": "budget", "sortby": "new"})
    assert response.status_code == 400
    assert response.json() == {"sortby": ["Unknown field."]}
