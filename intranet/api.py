"""Shared pieces of the JSON API: the error format and strict serializers."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import datetime

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import ISO_8601, exceptions, pagination, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from feeds.cursors import InvalidCursor
from feeds.idempotency import KeyInFlight, KeyMismatch
from intranet.paths import absolute_url  # noqa: F401  (the API modules import it from here)

_DATETIME = serializers.DateTimeField()


def _validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            field: [str(message) for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": [str(message) for message in exc.messages]}


class ErrorDetailSerializer(serializers.Serializer):
    """The body of an error answer that names no field (403, 404, 409, 422): for the schema."""

    detail = serializers.CharField(read_only=True)


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class UnprocessableContent(exceptions.APIException):
    status_code = 422
    default_code = "unprocessable"


def exception_handler(exc, context):
    """Map the actions' Django errors onto API answers: 400 with field messages, 403, 404;
    an Idempotency-Key used for another request 422, one whose first request is still being
    written 409 (with Retry-After: the draft's answers)."""
    retry_after = None
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, InvalidCursor):
        exc = exceptions.ValidationError({"cursor": [str(exc)]})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, KeyMismatch):
        exc = UnprocessableContent(str(exc))
    elif isinstance(exc, KeyInFlight):
        exc, retry_after = Conflict(str(exc)), "1"
    response = drf_exception_handler(exc, context)
    if response is not None and retry_after is not None:
        response["Retry-After"] = retry_after
    return response


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, writing with orjson: a feed page's JSON (22 kB) in 0.013 ms
    instead of 0.2 ms. The same bytes as DRF's (tests/api/test_fast_json.py): compact,
    UTF-8, U+2028 and U+2029 escaped as DRF escapes them, and date-times, lazy strings and
    whatever else orjson does not write itself handed to DRF's encoder. Indented answers
    (`; indent=` in Accept) and values orjson refuses (an integer beyond 64 bits) are
    rendered by DRF itself. For answers whose data our code builds from known types: orjson
    writes a float by its own shortest form and NaN as null, where DRF would refuse NaN."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=self.encoder_class().default, option=self._OPTIONS)
        except TypeError:  # orjson.JSONEncodeError
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:  # as DRF: safe inside <script>
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out


class RenderInViewMixin:
    """For the read endpoints called most (the feeds, search): the answer is rendered in the
    view's own thread and handed to Django as a plain HttpResponse.

    Under ASGI, Django renders a response that has a `render()` method (DRF's `Response`
    has) in one more hop to a worker thread and back after the view: about 0.2 ms a request
    on the benchmark machine (docs/BENCHMARKS.md, "Home feed"). `data` stays on the answer,
    as on DRF's, for whoever reads it after the view (the tests do). JSON is written by
    `FastJSONRenderer`."""

    renderer_classes = [
        FastJSONRenderer,
        *(r for r in api_settings.DEFAULT_RENDERER_CLASSES if not issubclass(r, JSONRenderer)),
    ]

    def perform_content_negotiation(self, request, force=False):
        """DRF's choice of renderer, made at once for what API clients send most: no Accept
        header, `*/*` (a browser's fetch) or the first renderer's own media type, and no
        format asked for in the URL. DRF's negotiation parses and orders the Accept header
        first (about 0.1 ms a request); anything else still goes to it.
        tests/api/test_rendered_in_view.py checks that both choose the same."""
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        first = self.renderer_classes[0]
        if (
            (accept == "*/*" or accept == first.media_type)
            and not self.format_kwarg
            and api_settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first(), first.media_type
        return super().perform_content_negotiation(request, force=force)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not isinstance(response, SimpleTemplateResponse):
            return response
        response.render()
        rendered = HttpResponse(
            response.content, status=response.status_code, headers=response.headers
        )
        rendered.cookies = response.cookies
        rendered.data = response.data
        return rendered


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, instead of silently ignoring them."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = set(data.keys()) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in sorted(unknown)}
                )
        return super().to_internal_value(data)


class QuerySerializer(StrictSerializer):
    """A strict serializer for query strings.

    Besides its own fields it accepts DRF's `format` override and the names in
    `extra_params` (such as `page`, read by the paginator), so a misspelt filter is a 400
    instead of a silently unfiltered answer.
    """

    extra_params: tuple[str, ...] = ()

    def get_fields(self):
        """The declared fields, each a shallow copy for this instance. DRF deep-copies them,
        which builds every field anew (its validators, its choices): on a search request that
        took a third of the time the whole query's validation took. A query serializer's
        fields are flat (nested ones still get deep copies) and keep no state of their own but
        what binding sets on the copy;
        tests/api/test_query_serializers.py checks that answers and errors do not change."""
        declared = self._declared_fields
        if any(hasattr(f, "child") or hasattr(f, "fields") for f in declared.values()):
            return super().get_fields()  # nested fields: DRF's deep copies
        return {name: copy.copy(field) for name, field in declared.items()}

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            ignored = {api_settings.URL_FORMAT_OVERRIDE, *self.extra_params}
            data = {key: data.get(key) for key in data.keys() if key not in ignored}
        return super().to_internal_value(data)


def parse(serializer_class: type[serializers.Serializer], data, *, partial=False, **context):
    """Validate `data` with `serializer_class` (400 on error) and return the clean values."""
    serializer = serializer_class(data=data, partial=partial, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def parse_query(serializer_class: type[QuerySerializer], request):
    return parse(serializer_class, request.query_params, request=request)


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination for lists that are not feeds (directory, members, groups)."""

    def get_page_size(self, request) -> int:
        return settings.AGORA_PAGE_SIZE


class TokenObtainThrottle(SimpleRateThrottle):
    """Slows password guessing on the token endpoint: per client address and username.

    Keyed on the username too, so that behind a reverse proxy (one address for everyone)
    one person's typos do not lock the whole network out.
    """

    scope = "token-obtain"
    rate = "10/minute"

    def get_cache_key(self, request, view) -> str:
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        digest = hashlib.sha256(str(username).strip().lower().encode()).hexdigest()[:32]
        ident = f"{self.get_ident(request)}:{digest}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class EnumField(serializers.ChoiceField):
    """A ChoiceField whose OpenAPI enum is a component named here (`GroupKindEnum`).

    drf-spectacular names enums after their field, so the `kind` of groups, reactions and
    attachments would collide; a name per choice set keeps generated clients readable.
    """

    def __init__(self, choices, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(choices, **kwargs)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": list(self.target.choices)}


def datetime_writer() -> Callable[[datetime | None], str | None]:
    """`DateTimeField().to_representation` for the many date-times of one answer (a feed or
    results page), reading the current time zone once instead of once per value. An aware
    date-time in DRF's ISO 8601 format is written here; anything else goes to DRF.
    tests/api/test_fast_data.py compares both over generated values and time zones."""
    if not settings.USE_TZ or api_settings.DATETIME_FORMAT.lower() != ISO_8601:
        return _DATETIME.to_representation
    zone = timezone.get_current_timezone()
    slow = _DATETIME.to_representation

    def write(value):
        if type(value) is not datetime or value.utcoffset() is None:
            return slow(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return slow(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write
