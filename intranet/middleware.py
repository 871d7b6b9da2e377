"""The database is unreachable (restarting, failing over): answer 503 with Retry-After.

While PostgreSQL restarts, every request that needs it fails with `OperationalError` or
`InterfaceError`. Without this middleware that is a 500 with a logged traceback per request;
with it the person gets a short "try again in a moment" page (JSON `{"detail": ...}` under
/api/), status 503 and a `Retry-After` header, and the server logs one line per request.
Nothing needs restarting afterwards: with CONN_MAX_AGE=0 (as settings.py ships) every request
opens its own connection, and CONN_HEALTH_CHECKS discards a persistent one that went stale.

Errors can come from a view (caught in `process_exception`) or from another middleware that
reads the session or the person (Django turns those into a 500 inside that middleware's own
wrapper, so they never reach ours as exceptions): `got_request_exception` marks the request,
and this middleware, placed above them in MIDDLEWARE, replaces that 500 with the 503. The
page is rendered without a request context, since context processors would query the database.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

import permissions

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_MARK = "_agora_database_unavailable"
# SQLite reports missing tables and syntax errors as OperationalError too: those are bugs, not
# an outage, and stay 500s.
_SQLITE_BUGS = ("no such ", "near ", "table ", "has no column")


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` means "the database cannot answer right now" (worth a retry)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("sqlite3"):
        return not str(exc).startswith(_SQLITE_BUGS)
    return True


def _mark_request(sender, request=None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and database_unavailable(exc):
        setattr(request, _MARK, True)


class _QuietOutage(logging.Filter):
    """Drop django.request's traceback for a request we answer with 503 (logged once here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not database_unavailable(exc)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_mark_request, dispatch_uid="agora-database-unavailable")
        request_logger = logging.getLogger("django.request")
        if not any(isinstance(f, _QuietOutage) for f in request_logger.filters):
            request_logger.addFilter(_QuietOutage())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _MARK, False):
            return self.unavailable(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if database_unavailable(exception):
            setattr(request, _MARK, True)
            return self.unavailable(request, exception)
        return None

    def unavailable(self, request: HttpRequest, exc: BaseException | None = None) -> HttpResponse:
        detail = (str(exc).strip().splitlines() or [""])[0] if exc else ""
        logger.warning(
            "Database unavailable, answered 503: %s %s%s",
            request.method,
            request.path,
            f" ({type(exc).__name__}: {detail})" if exc else "",
        )
        message = _("Agora cannot reach its database at the moment. Please try again shortly.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            # Trying a GET again is the same request; a form sent again is the person's call.
            retry = request.get_full_path() if request.method in ("GET", "HEAD") else "/"
            html = render_to_string("503.html", {"message": message, "retry_url": retry})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        response._has_been_logged = True  # logged above; not again as a server error
        return response


class ReadOnceMiddleware:
    """A GET or HEAD request reads each person's agency once (`permissions.agency_read_once`):
    the home page asks for it from the feed, the trending hashtags and the composer. Requests
    that write (POST, ...) read it afresh at every check, as an agency may change on the way."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with permissions.agency_read_once():
            return self.get_response(request)
