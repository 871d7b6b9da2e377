"""The feeds and search answer already rendered (`intranet.api.RenderInViewMixin`): Django
then has no `render()` to call in one more thread hop, and the answer is what DRF's would be
(status, JSON, headers, `data`), errors included."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

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
