"""Search backends: `database` (always present) and `elasticsearch` (large deployments).

`primary_backend()` is the one settings.SEARCH_BACKEND names; `database_backend()` is always
there, because it is the fallback and the source Elasticsearch is fed from. Backends are built
when first used, never at import time; no client connects before a search or an index call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import conf

if TYPE_CHECKING:
    from .base import SearchBackend
    from .database import DatabaseBackend
    from .elasticsearch import ElasticsearchBackend

_elasticsearch: dict[tuple[str, str, bool], ElasticsearchBackend] = {}


def database_backend() -> DatabaseBackend:
    from .database import DatabaseBackend

    return DatabaseBackend()


def elasticsearch_backend() -> ElasticsearchBackend:
    """The Elasticsearch backend for the current settings (one client per URL and index)."""
    from .elasticsearch import ElasticsearchBackend

    key = (conf.elasticsearch_url(), conf.elasticsearch_index(), conf.elasticsearch_refresh())
    if key not in _elasticsearch:
        _elasticsearch[key] = ElasticsearchBackend(url=key[0], alias=key[1], refresh=key[2])
    return _elasticsearch[key]


def uses_elasticsearch() -> bool:
    return conf.backend_name() == "elasticsearch"


def primary_backend() -> SearchBackend:
    return elasticsearch_backend() if uses_elasticsearch() else database_backend()
