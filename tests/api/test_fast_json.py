"""`intranet.api.FastJSONRenderer` writes the same bytes as DRF's JSONRenderer (orjson for the
feeds' and search's answers), and those answers are written by it."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from intranet.api import FastJSONRenderer
from tests.factories import PostFactory

zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), None])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits: DRF's renderer
    | st.text()  # any character: controls, quotes, U+2028, U+2029, astral planes
    | st.datetimes(timezones=zones)
    | st.dates()
    | st.uuids()
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def both(data, accepted_media_type=None, context=None):
    return (
        FastJSONRenderer().render(data, accepted_media_type, context),
        JSONRenderer().render(data, accepted_media_type, context),
    )


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_bytes_are_drfs(data):
    fast, drf = both(data)
    assert fast == drf


@pytest.mark.parametrize(
    "data",
    [
        {"line": "a\u2028b\u2029c"},  # escaped as DRF escapes them (inside <script>)
        {"when": datetime(2026, 12, 6, 10, 26, 33, 448000, tzinfo=UTC)},  # "...Z", as DRF
        {"lazy": gettext_lazy("Invalid token."), "id": UUID(int=7)},
        {"amount": Decimal("12.50"), "tags": {"only"}},  # DRF's encoder: float, list
        {1: "int key"},  # orjson refuses: DRF's renderer
        None,
    ],
)
def test_values_orjson_does_not_write_itself_are_written_as_drf_writes_them(data):
    fast, drf = both(data)
    assert fast == drf


def test_an_indented_answer_is_drfs():
    fast, drf = both({"a": [1, 2]}, "application/json; indent=2")
    assert fast == drf
    assert b"\n" in fast


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "query"), [("api:feed-home", {}), ("api-search", {"q": "x"})])
def test_the_feeds_and_search_are_written_by_it(api, user, name, query):
    PostFactory(author=user, body="x \u2028 y")
    response = api.get(reverse(name), query)
    assert response.status_code == 200
    assert response.content == JSONRenderer().render(response.data)
    assert resolve(reverse(name)).func.view_class.renderer_classes[0] is FastJSONRenderer
