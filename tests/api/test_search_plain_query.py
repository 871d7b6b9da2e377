"""search.api.plain_query: the usual search queries read without the serializer.

Whatever it returns must be what SearchQuerySerializer's `validated_data` is for the same
query string (and the serializer must accept it); what it does not read (None) is left to
the serializer, answers and errors alike. The usual queries must be read by it.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from feeds import actions
from search.api import SearchQuerySerializer, plain_query
from search.selectors import encode_cursor

pytestmark = pytest.mark.django_db

NEWEST_CURSOR = encode_cursor(sort="newest", value=1234)
RELEVANCE_CURSOR = encode_cursor(sort="relevance", value=40)

VALUES = {
    "q": [
        "budget", "budget review", '"budget review"', "budget -draft", "budget or forecast",
        "  budget  ", "", "   ", "*", '"unbalanced', "-draft", "or", "x" * 500, "x" * 501,
        "bud\x00get", "bud\x07get", "\ud800", "Ωmega café", "#open-data", "a " * 40,
    ],
    "kind": ["post", "person", "group", "", "comment", "Post", "page"],
    "sort": ["newest", "relevance", "", "sideways", "Newest"],
    "cursor": [
        NEWEST_CURSOR, RELEVANCE_CURSOR, "", "bad cursor", "bm90", "x" * 41, " " + NEWEST_CURSOR,
    ],
    "limit": ["1", "20", "50", "51", "0", "05", "abc", "", "1.0", " 5", "-1", "100000"],
    "counts": ["true", "false", "True", "1", "0", "yes", "", "TRUE"],
    "date_from": ["2026-01-01", "bad"],
    "agency": ["no-such-agency", ""],
    "format": ["json"],
    "unknown": ["x"],
}  # fmt: skip
USUAL = ["q", "kind", "sort", "cursor", "limit", "counts"]


def serializer_answer(data: dict, user):
    request = Request(APIRequestFactory().get("/api/search/"))
    request.user = user
    serializer = SearchQuerySerializer(data=data, context={"request": request})
    if serializer.is_valid():
        return True, dict(serializer.validated_data)
    return False, serializer.errors


def grid() -> list[dict]:
    """Every value of every parameter beside each query text, and every pair of values of
    two parameters beside a plain word."""
    out = [{}]
    others = [name for name in VALUES if name != "q"]
    for text in VALUES["q"]:
        out.append({"q": text})
        out += [{"q": text, name: value} for name in others for value in VALUES[name]]
    for i, first in enumerate(others):
        for second in others[i + 1 :]:
            out += [
                {"q": "budget", first: a, second: b} for a in VALUES[first] for b in VALUES[second]
            ]
    return out


def test_what_it_reads_is_what_the_serializer_gives(user):
    read = 0
    for data in grid():
        fast = plain_query(data)
        if fast is None:
            continue
        read += 1
        valid, answer = serializer_answer(data, user)
        assert valid, (data, answer)
        assert fast == answer, data
    assert read > 100  # many of the grid's queries are read here (161 when written)


@st.composite
def queries(draw, names=tuple(VALUES)):
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=5))
    return {name: draw(st.sampled_from(VALUES[name])) for name in chosen}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(queries(), queries(tuple(USUAL))))
def test_what_it_reads_of_any_mix_is_what_the_serializer_gives(data, user):
    fast = plain_query(data)
    if fast is not None:
        assert (True, fast) == serializer_answer(data, user)


@pytest.mark.parametrize(
    "data",
    [
        {"q": "budget"},
        {"q": "budget", "kind": "post"},
        {"q": "budget review", "kind": "person", "sort": "relevance"},
        {"q": "budget", "cursor": NEWEST_CURSOR},
        {"q": "budget", "sort": "relevance", "cursor": RELEVANCE_CURSOR},
        {"q": "budget", "counts": "true", "limit": "5"},
        {"q": '"budget review" -draft or forecast', "counts": "false", "limit": "50"},
    ],
)
def test_the_usual_queries_are_read_without_the_serializer(data, user):
    fast = plain_query(data)
    assert fast is not None
    assert (True, fast) == serializer_answer(data, user)


@pytest.mark.parametrize(
    "data",
    [
        {"q": "budget", "kind": "comment"},  # the serializer's "not a valid choice"
        {"q": "budget", "limit": "51"},
        {"q": "budget", "limit": "0"},
        {"q": "budget", "counts": "yes"},
        {"q": "budget", "cursor": "bad cursor"},
        {"q": "budget", "cursor": RELEVANCE_CURSOR},  # a relevance cursor on a newest search
        {"q": '"unbalanced'},
        {"q": "x" * 501},
        {"q": "budget", "format": "json"},
        {"q": "budget", "agency": "no-such-agency"},
        {"kind": "post"},  # no words: a filter alone, left to the serializer
    ],
)
def test_anything_else_is_left_to_the_serializer(data, user):
    assert plain_query(data) is None


def test_a_query_string_repeating_a_parameter_is_read_as_the_serializer_reads_it(user):
    params = QueryDict("q=first&q=budget&kind=group&kind=post")
    fast = plain_query(params)
    assert fast is not None
    assert fast["q"] == serializer_answer(params, user)[1]["q"]
    assert fast["kind"] == "post"


def test_the_endpoint_answers_the_same_either_way(client_for, user, monkeypatch):
    """The endpoint with plain_query and with the serializer alone: the same answers."""
    for body in ("Quarterly budget review", "The budget draft", "Budget lines"):
        actions.create_post(author=user, body=body)
    call_command("search_reindex", verbosity=0)
    api = client_for(user)
    asked = [
        "/api/search/?q=budget&kind=post",
        "/api/search/?q=budget&limit=2&counts=true",
        "/api/search/?q=budget&kind=post&limit=51",
        "/api/search/?q=%22unbalanced",
    ]

    def answers():
        return [(r.status_code, r.json()) for r in (api.get(path) for path in asked)]

    fast = answers()
    monkeypatch.setattr("search.api.plain_query", lambda params: None)
    assert answers() == fast
    assert [status for status, _body in fast] == [200, 200, 400, 400]
    assert len(fast[0][1]["results"]) == 3
    assert fast[1][1]["counts"] == {"post": 3} and fast[1][1]["next"]
