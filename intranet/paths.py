"""`reverse()` for URLs with one argument, at the cost of one `reverse()` per URL name.

A feed page or a page of search results names the same few URLs (a post, its author, an
attachment) once per item. `reverse()` walks the resolver, quotes, and looks up the
language and script prefix on every call: on an API feed page its forty calls took longer
than turning the page's rows into JSON. `path_for(name, value)` reverses `name` once with a
marker in place of the argument (per URL configuration and script prefix) and then puts
each value where the marker was, quoted as `reverse()` quotes it.

Only plain arguments take this way: an int for an `<int:...>` part, or text with no "/" for
a `<str:...>` part. Anything else (a slug part, an empty string, a "/", another type) goes
to `reverse()` itself, so the result is always what `reverse()` gives; tests/intranet/
test_paths.py compares both over generated values.
"""

from __future__ import annotations

import re
from threading import Lock
from urllib.parse import quote

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.encoding import iri_to_uri
from django.utils.http import RFC3986_SUBDELIMS

_INT_MARKER = 9_180_273_645_001
# "~" is not a slug character: a `<slug:...>` part refuses this marker, and its URL name then
# always goes to reverse() (which checks each value against the slug pattern).
_TEXT_MARKER = "agora~path~marker"
_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted
_TEMPLATES: dict[tuple, tuple[str, str] | None] = {}
_LOCK = Lock()


def _template(name: str, kind: type) -> tuple[str, str] | None:
    """(before, after) the argument in `name`'s URL; None: this URL takes reverse()."""
    key = (name, kind, get_script_prefix(), get_urlconf())
    try:
        return _TEMPLATES[key]
    except KeyError:
        pass
    marker = str(_INT_MARKER) if kind is int else _TEXT_MARKER
    try:
        head, found, tail = reverse(name, args=[marker]).partition(marker)
    except NoReverseMatch:
        found = ""
    template = (head, tail) if found and marker not in tail else None
    with _LOCK:
        _TEMPLATES[key] = template
    return template


def path_for(name: str, value: int | str) -> str:
    """`reverse(name, args=[value])` for a URL with one argument."""
    kind = type(value)
    if kind is int:
        template = _template(name, int)
        if template is not None:
            return f"{template[0]}{value}{template[1]}"
    elif kind is str and value and "/" not in value:
        template = _template(name, str)
        if template is not None:
            return template[0] + quote(value, safe=_SAFE) + template[1]
    return reverse(name, args=[value])


def url_maker(name: str, kind: type = int):
    """`path_for(name, value)` for many values in one request: `url_maker("feeds:post")(7)`,
    `url_maker("profiles:detail", str)("marie")`. The template is looked up once, here (the
    script prefix and URL configuration are the request's, which a result page does not
    change); a value `path_for` would not put in a template still goes to it."""
    template = _template(name, kind)
    if template is None:
        return lambda value: path_for(name, value)
    head, tail = template
    if kind is int:
        return lambda value: f"{head}{value}{tail}" if type(value) is int else path_for(name, value)

    def make(value) -> str:
        if type(value) is str and value and "/" not in value:
            return head + quote(value, safe=_SAFE) + tail
        return path_for(name, value)

    return make


def absolute_url(request: HttpRequest | None, path: str) -> str:
    """`request.build_absolute_uri(path)`; for a plain absolute path (what `path_for` gives) it
    reads the scheme and host once per request instead of parsing each path."""
    if request is None:
        return path
    if path.startswith("/") and not path.startswith("//") and "/." not in path:
        base = getattr(request, "_agora_url_base", None)
        if base is None:
            base = request._agora_url_base = request.build_absolute_uri("/")[:-1]
        return base + (path if _URI_AS_IS.fullmatch(path) else iri_to_uri(path))
    return request.build_absolute_uri(path)


# What `iri_to_uri` leaves as it is: a path of these characters only (what `path_for` gives
# for ids and quoted names) needs no call to it, which cost more than the rest of the URL.
_URI_AS_IS = re.compile(r"[A-Za-z0-9/#%\[\]=:;$&()+,!?*@'~_.\-]*")
