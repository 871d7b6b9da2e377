"""Results from outside the search index, for the search page: `settings.SEARCH_EXTRA_SOURCES`.

Each entry is the dotted path of a function `(*, viewer, query, limit) -> list` whose items
have `kind` ("page": the only kind the page knows so far), `url`, `title`, `created` and
`text` (a plain-text snippet). The function decides who may see what (the intranet's
`search_pages` asks Wagtail's privacy settings); this module imports none of those apps, it
only loads the paths, so the arrows keep pointing one way (intranet wires the apps together).

The page marks the words found with `search.snippets`, like every other result: escaped
text, `<mark>` as the only markup.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from . import snippets

logger = logging.getLogger(__name__)

PAGE_KIND = "page"


@dataclass
class ExtraResult:
    """One result from another source, ready for templates/search/partials/result.html."""

    kind: str
    url: str
    title: str
    title_snippet: SafeString
    snippet: SafeString
    created: datetime | None


@cache
def _load(path: str):
    return import_string(path)


def source_paths() -> list[str]:
    return list(getattr(settings, "SEARCH_EXTRA_SOURCES", []) or [])


def has_sources() -> bool:
    return bool(source_paths())


def _mark(text: str, words: list[str]) -> SafeString:
    """`text` escaped, each word found (at the start of a word, any case) inside <mark>."""
    words = [w for w in words if w]
    if not words or not text:
        return snippets.render(text)
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)
    marked = pattern.sub(lambda m: f"{snippets.START}{m.group()}{snippets.STOP}", text)
    return snippets.render(marked)


def search_extra(*, viewer, query: str, words: list[str], limit: int) -> list[ExtraResult]:
    """At most `limit` results from every source, in the order of SEARCH_EXTRA_SOURCES.

    `query` is the search box's text as typed (each source parses it); `words` are the words
    to mark. A source that fails is logged and skipped: the rest of the page still answers.
    """
    found: list[ExtraResult] = []
    for path in source_paths():
        if len(found) >= limit:
            break
        try:
            items = _load(path)(viewer=viewer, query=query, limit=limit - len(found))
        except Exception:
            logger.exception("Search source %s failed", path)
            continue
        for item in items:
            text = getattr(item, "text", "") or ""
            found.append(
                ExtraResult(
                    kind=item.kind,
                    url=item.url,
                    title=item.title,
                    title_snippet=_mark(snippets.plain(item.title), words),
                    snippet=_mark(snippets.plain(text), words),
                    created=item.created,
                )
            )
    return found[:limit]
