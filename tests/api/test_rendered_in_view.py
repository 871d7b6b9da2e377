"""The feeds and search answer already rendered (`intranet.api.RenderInViewMixin`): Django
then has no `render()` to call in one more thread hop, and the answer is what DRF's would be
(status, JSON, headers, `data`), errors included."""

from functools import partial

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from feeds.api import HomeFeedView
from intranet.api import FastJSONRenderer
from search.api import SearchAPIView

pytestmark = pytest.mark.django_db

READS = [
    ("api:feed-home", {}, 200),
    ("api:feed-home", {"before": "not a cursor"}, 400),
    ("api-search", {"q": "budget"}, 200),
    ("api-search", {"q": "budget", "sort": "sideways"}, 400),
]


@pytest.mark.parametrize(("name", "query", "status"), READS)
def test_the_answer_is_rendered_in_the_view(api, name, query, status):
    response = api.get(reverse(name), query)
    assert response.status_code == status, response.content
    assert not hasattr(response, "render")
    assert response["Content-Type"] == "application/json"
    assert "Accept" in response["Vary"]
    assert "GET" in response["Allow"]
    assert response.json() == response.data
    if status == 400:
        assert set(response.json()) & {"cursor", "before", "sort"}, response.json()


def test_an_unknown_token_is_refused_as_drf_refuses_it():
    response = APIClient().get(reverse("api:feed-home"), HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Invalid token."}
    assert not hasattr(response, "render")


ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/json;q=0.9, */*;q=0.1",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/xml",
    "*/*; charset=utf-8",
    "",
]
USUAL_ACCEPTS = [None, "*/*", "application/json"]


def negotiated(view_class, accept, query="", suffix=None):
    """(renderer class, media type) as the view chooses, and as DRF's own negotiation does."""
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/x/{query}", **headers))
    view = view_class()
    view.format_kwarg = suffix  # a format suffix in the URL (`.json`)
    answers = []
    for choose in (
        view.perform_content_negotiation,
        partial(APIView.perform_content_negotiation, view),
    ):
        try:
            renderer, media_type = choose(request)
            answers.append((type(renderer), media_type))
        except NotAcceptable:
            answers.append("406")
        except Http404:  # a format no renderer has
            answers.append("404")
    return answers


@pytest.mark.parametrize("view_class", [HomeFeedView, SearchAPIView])
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=xml", "?q=x"])
@pytest.mark.parametrize("suffix", [None, "api"])
def test_the_renderer_chosen_is_the_one_drf_chooses(view_class, accept, query, suffix):
    ours, drfs = negotiated(view_class, accept, query, suffix)
    assert ours == drfs


@pytest.mark.parametrize("accept", USUAL_ACCEPTS)
def test_the_usual_accept_headers_are_answered_without_drfs_negotiation(accept, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("DRF's negotiation was asked")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", refuse)
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/search/?q=x", **headers))
    view = SearchAPIView()
    view.format_kwarg = None
    renderer, media_type = view.perform_content_negotiation(request)
    assert (type(renderer), media_type) == (FastJSONRenderer, "application/json")
