"""GET /api/search/: the search page's results as JSON, with the same rules and messages.

Query parameters are validated strictly (an unknown one is a 400, so a misspelt filter never
silently returns unfiltered results). Results, counts and snippets are what the viewer may
see; snippets come as safe HTML whose only element is <mark>, and as plain text.

Counts come only on `counts=true` (and on a first page): counting goes on past the page, up
to COUNT_CAP matches the viewer may see, which for a word in a few percent of the posts costs
more than the page itself. A client that shows "N results" asks once, on its first page.
"""

from __future__ import annotations

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
        data = parse_query(SearchQuerySerializer, request)
        results = selectors.search(viewer=request.user, request=data["request"])
        return Response(response_data(results, request))
