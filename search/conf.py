"""Search settings, read when used (never at import time).

SEARCH_BACKEND        "database" (default) or "elasticsearch"
SEARCH_LANGUAGE       PostgreSQL text search configuration, per deployment ("english",
                      "french", "simple", ...). SQLite stems with Porter when it is
                      "english" and only folds case and accents otherwise. After changing
                      it, run `manage.py search_reindex`.
ELASTICSEARCH_URL     the cluster, e.g. http://elasticsearch:9200
ELASTICSEARCH_INDEX   the alias searches and writes go through (default "agora-search")
ELASTICSEARCH_TIMEOUT seconds before a search gives up and the database answers (default 3)
ELASTICSEARCH_REFRESH wait until each write is searchable (tests; default off)
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

BACKENDS = ("database", "elasticsearch")


def backend_name() -> str:
    name = getattr(settings, "SEARCH_BACKEND", "database") or "database"
    if name not in BACKENDS:
        raise ImproperlyConfigured(f"SEARCH_BACKEND must be one of {BACKENDS}, not {name!r}")
    return name


def language() -> str:
    name = getattr(settings, "SEARCH_LANGUAGE", "english") or "english"
    if not re.fullmatch(r"[a-z_]+", name):
        raise ImproperlyConfigured("SEARCH_LANGUAGE must be a text search configuration name")
    return name


def sqlite_tokenizer() -> str:
    base = "unicode61 remove_diacritics 2"
    return f"porter {base}" if language() == "english" else base


def elasticsearch_url() -> str:
    return getattr(settings, "ELASTICSEARCH_URL", "") or ""


def elasticsearch_index() -> str:
    return getattr(settings, "ELASTICSEARCH_INDEX", "agora-search") or "agora-search"


def elasticsearch_refresh() -> bool:
    """Wait for each write to be searchable (tests, small sites); off in production."""
    return bool(getattr(settings, "ELASTICSEARCH_REFRESH", False))


def elasticsearch_timeout() -> float:
    """Seconds a search waits for Elasticsearch before the database answers instead."""
    return float(getattr(settings, "ELASTICSEARCH_TIMEOUT", 3.0))
