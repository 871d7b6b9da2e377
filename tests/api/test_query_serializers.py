"""Query serializers copy their declared fields shallowly (intranet.api.QuerySerializer):
the same clean values and the same errors as DRF's deep copies, for every query serializer
of the API, and no field shared between two requests."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request

import feeds.api
import groups.api
import profiles.api
import search.api
from intranet.api import QuerySerializer

pytestmark = pytest.mark.django_db

QUERIES = [
    {},
    {"unknown": "x"},
    {"format": "json"},
    {"limit": "5"},
    {"limit": "abc"},
    {"limit": "0"},
    {"limit": "100000"},
    {"page": "2"},
    {"before": "bad cursor"},
    {"before": "a", "since": "b"},
    {"q": "budget review"},
    {"q": '"unbalanced'},
    {"q": "x" * 600},
    {"q": "budget", "kind": "post", "sort": "relevance"},
    {"kind": "nope"},
    {"sort": "sideways", "q": "budget"},
    {"date_from": "2026-13-01", "q": "budget"},
    {"date_from": "2026-02-01", "date_to": "2026-01-01", "q": "budget"},
    {"hashtag": "#open-data"},
    {"hashtag": "two words"},
    {"group": "no-such-group", "q": "x"},
    {"agency": "no-such-agency", "q": "x"},
    {"author": "nobody-here", "q": "x"},
    {"kind": "like"},
    {"search": "ann", "agency": "x"},
    {"mine": "true"},
]


def query_serializers() -> list[type[QuerySerializer]]:
    modules = (feeds.api, groups.api, profiles.api, search.api)
    found = {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, QuerySerializer)
    }
    found.discard(QuerySerializer)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def deep_copying(cls: type[QuerySerializer]) -> type[QuerySerializer]:
    """The same serializer with DRF's own `get_fields` (a deep copy of each field)."""
    return type(f"Deep{cls.__name__}", (cls,), {"get_fields": serializers.Serializer.get_fields})


def outcome(cls, data: dict, request) -> tuple:
    serializer = cls(data=data, context={"request": request})
    if serializer.is_valid():
        return True, repr(sorted(serializer.validated_data.items()))
    return False, serializer.errors


def test_every_query_serializer_of_the_api_is_covered():
    names = {cls.__name__ for cls in query_serializers()}
    assert {"SearchQuerySerializer", "FeedQuerySerializer", "DirectoryQuerySerializer"} <= names
    assert len(names) >= 6


@pytest.mark.parametrize("cls", query_serializers(), ids=lambda cls: cls.__qualname__)
def test_shallow_copies_answer_as_deep_ones(cls, user):
    request = Request(RequestFactory().get("/api/"))
    request.user = user
    outcomes = [outcome(cls, data, request) for data in QUERIES]
    assert outcomes == [outcome(deep_copying(cls), data, request) for data in QUERIES]
    assert any(valid for valid, _ in outcomes) and not all(valid for valid, _ in outcomes)


@pytest.mark.parametrize("cls", query_serializers(), ids=lambda cls: cls.__qualname__)
def test_no_field_is_shared_between_two_requests(cls):
    first, second = cls(data={}), cls(data={})
    for name, field in first.fields.items():
        assert field is not second.fields[name]
        assert field.parent is first and second.fields[name].parent is second
        assert field is not cls._declared_fields[name]
        assert cls._declared_fields[name].parent is None  # the class's own stay unbound
