"""Highlighted snippets, made safe: the only markup that reaches a page is `<mark>`.

Backends mark matches with the control characters \\x02 (start) and \\x03 (end), which the
indexed text never contains (search.documents strips control characters). Rendering escapes
everything, turns the markers into `<mark>` and `</mark>`, and passes the result through nh3
with `mark` as the only allowed tag, so a post containing `<script>` or a stray marker can
never produce anything else.
"""

from __future__ import annotations

import re

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

START, STOP = "\x02", "\x03"


def render(text: str) -> SafeString:
    """Escaped text with the backend's match markers as <mark> elements."""
    text = text or ""
    if _well_formed(text):
        # SafeString, as mark_safe() gives for text, without its check for lazy arguments
        return SafeString(_serialized(text))  # escaped: see _serialized
    return sanitized(text)


def sanitized(text: str) -> SafeString:
    """`render` for any text: escaped, the markers as tags, then through nh3."""
    html = escape(text).replace(START, "<mark>").replace(STOP, "</mark>")
    return mark_safe(nh3.clean(html, tags={"mark"}, attributes={}))  # noqa: S308


# What nh3 gives for text whose markers open and close in turn (no nesting, none left open)
# and that holds neither a NUL nor a carriage return (which its HTML parser drops or turns
# into a line feed): the text with &, <, > and no-break spaces as entities, each marker a
# tag. nh3 took a third of a results page's Python time; tests/search/test_snippets.py checks
# that both give the same, character for character, over generated text.
_MARKERS = re.compile(f"[{START}{STOP}]")
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\xa0", "&nbsp;"))


def _well_formed(text: str) -> bool:
    if "\x00" in text or "\r" in text:
        return False
    markers = "".join(_MARKERS.findall(text))
    return markers == (START + STOP) * (len(markers) // 2)


def _serialized(text: str) -> str:
    for character, entity in _ENTITIES:
        if character in text:
            text = text.replace(character, entity)
    return text.replace(START, "<mark>").replace(STOP, "</mark>")


def plain(text: str) -> str:
    """The snippet without its markers (for JSON consumers that want text)."""
    return (text or "").replace(START, "").replace(STOP, "")


def shorten(text: str, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
