"""GET /api/search/: the search page's results as JSON, with the same rules and messages.

Query parameters are validated strictly (an unknown one is a 400, so a misspelt filter never
silently returns unfiltered results). Results, counts and snippets are what the viewer may
see; snippets come as safe HTML whose only element is <mark>, and as plain text.

Counts come only on `counts=true` (and on a first page): counting goes on past the page, up
to COUNT_CAP matches the viewer may see, which for a word in a few percent of the posts costs
more than the page itself. A client that shows "N results" asks once, on its first page.
"""

from __future__ import annotations

import re
from dataclasses import replace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intranet.api import (
    QuerySerializer,
    RenderInViewMixin,
    absolute_url,
    datetime_writer,
    parse_query,
)

from . import selectors, snippets
from .backends.base import COUNT_CAP
from .forms import (
    KIND_CHOICES,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    SORT_CHOICES,
    check_dates,
    clean_agency,
    clean_author,
    clean_group,
    clean_hashtag,
    clean_query,
    has_criteria,
    search_request,
)
from .query import MAX_QUERY_LENGTH
from .selectors import InvalidCursor


def _django_errors(exc: DjangoValidationError):
    return serializers.ValidationError(exc.messages)


class SearchQuerySerializer(QuerySerializer):
    q = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_QUERY_LENGTH
    )
    kind = serializers.ChoiceField(choices=[c for c, _l in KIND_CHOICES], required=False)
    agency = serializers.CharField(required=False, allow_blank=True, help_text="Agency slug.")
    group = serializers.CharField(required=False, allow_blank=True, help_text="Group slug.")
    author = serializers.CharField(required=False, allow_blank=True, help_text="Username.")
    hashtag = serializers.CharField(required=False, allow_blank=True, max_length=61)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    sort = serializers.ChoiceField(choices=[c for c, _l in SORT_CHOICES], required=False)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=40)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE
    )
    counts = serializers.BooleanField(
        required=False,
        default=False,
        help_text=f"true: count the results you may see by kind (up to {COUNT_CAP} each), on "
        "a first page. Counting costs more than the page: ask only when you show it.",
    )

    def _wrap(self, function, *args):
        try:
            return function(*args)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc

    def validate_q(self, value):
        return self._wrap(clean_query, value)

    def validate_agency(self, value):
        return self._wrap(clean_agency, value)

    def validate_group(self, value):
        return self._wrap(clean_group, self.context["request"].user, value)

    def validate_author(self, value):
        return self._wrap(clean_author, value)

    def validate_hashtag(self, value):
        return self._wrap(clean_hashtag, value)

    def validate(self, attrs):
        try:
            check_dates(attrs.get("date_from"), attrs.get("date_to"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        if not has_criteria(attrs):
            raise serializers.ValidationError(
                {"q": [_("Type something to search for, or choose a filter.")]}
            )
        try:
            attrs["request"] = replace(search_request(attrs), with_counts=attrs["counts"])
        except InvalidCursor as exc:
            raise serializers.ValidationError({"cursor": [str(exc)]}) from exc
        return attrs


# The query strings searches are asked with most (a word, a kind, a page, counts), read without
# the serializer when every value is plainly valid (`plain_query`).
_PLAIN_PARAMS = frozenset({"q", "kind", "sort", "cursor", "limit", "counts"})
_PLAIN_KINDS = frozenset(c for c, _l in KIND_CHOICES if c)
_PLAIN_SORTS = frozenset(c for c, _l in SORT_CHOICES)
_PLAIN_COUNTS = {"true": True, "false": False}
_PLAIN_LIMIT = re.compile(r"[1-9][0-9]?")
_PLAIN_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,40}")


def plain_query(params) -> dict | None:
    """What SearchQuerySerializer's `validated_data` would be for `params`, when they hold
    only the parameters searches are usually asked with and every value is plainly valid:
    words (`q`), and any of `kind`, `sort`, `cursor`, `limit`, `counts`. None for anything
    else (another parameter, an empty or doubtful value, words the parser refuses, a broken
    cursor): the serializer then reads the query and gives its answer or its errors. (The
    parser refuses all the serializer's text field does: over MAX_QUERY_LENGTH characters,
    null and other control or surrogate characters.)

    The serializer's machinery (its fields bound anew, each field's validation run for the
    thirteen fields) cost a search request about 0.4 ms over HTTP, a tenth of what the
    search itself does besides (docs/BENCHMARKS.md, "Search, 2026-12-07, an eighth
    session"). tests/api/test_search_plain_query.py checks, over generated query strings,
    that whatever this returns is what the serializer returns, and that the usual queries
    are read here."""
    if not params.keys() <= _PLAIN_PARAMS:
        return None
    values = {key: params.get(key) for key in params.keys()}  # the last of repeated values
    text = values.get("q")
    if not isinstance(text, str) or not text:
        return None
    try:
        attrs: dict = {"q": clean_query(text), "limit": PAGE_SIZE, "counts": False}
    except DjangoValidationError:
        return None
    for name, allowed in (("kind", _PLAIN_KINDS), ("sort", _PLAIN_SORTS)):
        if name in values:
            if values[name] not in allowed:
                return None
            attrs[name] = values[name]
    if "cursor" in values:
        if not isinstance(values["cursor"], str) or not _PLAIN_CURSOR.fullmatch(values["cursor"]):
            return None
        attrs["cursor"] = values["cursor"]
    if "limit" in values:
        limit = values["limit"]
        if not isinstance(limit, str) or not _PLAIN_LIMIT.fullmatch(limit):
            return None
        if int(limit) > MAX_PAGE_SIZE:
            return None
        attrs["limit"] = int(limit)
    if "counts" in values:
        if values["counts"] not in _PLAIN_COUNTS:
            return None
        attrs["counts"] = _PLAIN_COUNTS[values["counts"]]
    if not has_criteria(attrs):
        return None
    try:
        attrs["request"] = replace(search_request(attrs), with_counts=attrs["counts"])
    except InvalidCursor:
        return None
    return attrs


class SearchResultSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="post, comment, person or group")
    id = serializers.IntegerField(source="pk")
    url = serializers.SerializerMethodField()
    title = serializers.CharField()
    snippet_html = serializers.CharField(
        source="snippet", help_text="Escaped text; matches inside <mark> (no other markup)."
    )
    snippet = serializers.SerializerMethodField(help_text="The snippet as plain text.")
    created = serializers.DateTimeField(allow_null=True)

    def get_url(self, result) -> str:
        return absolute_url(self.context.get("request"), result.url)

    def get_snippet(self, result) -> str:
        return snippets.plain(result.raw_snippet)


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text=f"Results you may see, by kind (post, person, group), each at most {COUNT_CAP}; "
        "null unless `counts=true` was asked on a first page.",
    )
    counts_capped = serializers.BooleanField(
        allow_null=True,
        help_text=f"True when a count stopped at {COUNT_CAP}; null when `counts` is.",
    )
    next = serializers.CharField(allow_null=True, help_text="The next page, or null.")
    notice = serializers.CharField(allow_blank=True)
    backend = serializers.CharField()


def _result(result, request, write_datetime=None) -> dict:
    """What SearchResultSerializer gives for one result, without its per-field machinery
    (a page of 20 results through DRF serializers costs more than the search's own SQL).
    tests/search/test_queries_api.py checks that both give the same. `write_datetime`: one
    `datetime_writer()` for the page."""
    write_datetime = write_datetime or datetime_writer()
    return {
        "kind": result.kind,
        "id": result.pk,
        "url": absolute_url(request, result.url),
        "title": None if result.title is None else str(result.title),
        "snippet_html": None if result.snippet is None else str(result.snippet),
        "snippet": snippets.plain(result.raw_snippet),
        "created": None if result.created is None else write_datetime(result.created),
    }


def response_data(results, request) -> dict:
    """The response body: what SearchResponseSerializer describes (the schema's source)."""
    write_datetime = datetime_writer()
    next_url = None
    if results.next_cursor:
        query = request.query_params.copy()
        query["cursor"] = results.next_cursor
        next_url = absolute_url(request, f"{request.path}?{query.urlencode()}")
    return {
        "results": [_result(r, request, write_datetime) for r in results.results],
        "counts": (
            {str(kind): int(n) for kind, n in results.counts.items()} if results.counted else None
        ),
        "counts_capped": bool(results.capped) if results.counted else None,
        "next": next_url,
        "notice": str(results.notice),
        "backend": str(results.backend),
    }


class SearchAPIView(RenderInViewMixin, APIView):
    """Search posts, comments, people and groups you may see."""

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses=SearchResponseSerializer,
        operation_id="search",
    )
    def get(self, request):
        data = plain_query(request.query_params) or parse_query(SearchQuerySerializer, request)
        results = selectors.search(viewer=request.user, request=data["request"])
        return Response(response_data(results, request))
