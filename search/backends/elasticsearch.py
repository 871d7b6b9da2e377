"""The Elasticsearch backend, written with the client's DSL (`elasticsearch.dsl`).

Documents are copies of the database index's rows (search/models.py), so the database stays
the source of truth and the fallback. Each carries the facts the permission rules need:
`audience`, `agency_id`, `group_id`, `group_kind` (and `kind`). Every query, whatever its
words (none, `*`, a phrase...), gets `permission_filter(facts)` as a filter clause, built
from the viewer's agency and memberships read through the permission module:

    audience = everyone
    or audience = agency and agency_id = <viewer's agency>
    or audience = group and group_kind = open
    or audience = group and group_id in <viewer's groups>
    or kind = group and group_id in <secret groups the viewer may know of (invitations)>

Counts come from an aggregation over the same filtered query, so they never include what
the viewer may not see; the selector re-checks the page's ids through the permission module
before anything is shown.

Writes go through an alias. `reindex()` builds a new index, fills it with bulk requests,
swaps the alias in one atomic `update_aliases` call, catches up with what changed meanwhile,
and deletes the old index: searches never stop.

When the cluster cannot be reached, methods raise BackendUnavailable: searches fall back to
the database backend and indexing leaves a `search.sync` event in the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime

from django.utils import timezone

import permissions

from .. import conf
from ..models import SearchDocument
from ..query import ParsedQuery, Term
from .base import (
    COUNT_CAP,
    SORT_NEWEST,
    BackendUnavailable,
    Hit,
    ReindexReport,
    SearchBackend,
    SearchPage,
    SearchRequest,
)

logger = logging.getLogger(__name__)

Kind = SearchDocument.Kind
START, STOP = "\x02", "\x03"
TEXT_FIELDS = ["title^4", "tags^2", "body", "context^0.5"]
BULK_CHUNK = 1000
DOWN_FOR_SECONDS = 30  # after a failure, fall back at once for this long


# --- mapping -------------------------------------------------------------------------------


def text_analyzer():
    """Words: standard tokenizer, lower case, accents folded, stemmed for the language."""
    from elasticsearch.dsl import analyzer, token_filter

    language = conf.language()
    filters = ["lowercase", "asciifolding"]
    if language != "simple":
        filters.append(token_filter("agora_stemmer", type="stemmer", language=language))
    return analyzer("agora_text", tokenizer="standard", filter=filters)


def exact_analyzer():
    """The same without stemming, for the `.exact` sub-fields (phrases, names)."""
    from elasticsearch.dsl import analyzer

    return analyzer("agora_exact", tokenizer="standard", filter=["lowercase", "asciifolding"])


def build_mapping():
    from elasticsearch.dsl import Date, Keyword, Long, Mapping, Text

    text, exact = text_analyzer(), exact_analyzer()

    def words(**extra):
        return Text(analyzer=text, fields={"exact": Text(analyzer=exact)}, **extra)

    mapping = Mapping()
    mapping.meta("dynamic", "strict")
    for name in ("kind", "audience", "group_kind"):
        mapping.field(name, Keyword())
    for name in ("seq", "object_id", "post_id", "agency_id", "group_id", "author_id"):
        mapping.field(name, Long())
    mapping.field("created", Date())
    mapping.field("hashtags", Keyword())
    mapping.field("title", words())
    mapping.field("tags", words())
    mapping.field("body", words(index_options="offsets"))
    mapping.field("context", words())
    return mapping


def build_index(name: str, *, replicas: int = 1):
    from elasticsearch.dsl import Index

    index = Index(name)
    index.settings(number_of_shards=1, number_of_replicas=replicas)
    index.mapping(build_mapping())
    return index


def es_document(document: SearchDocument) -> dict:
    return {
        "seq": document.pk,
        "kind": document.kind,
        "object_id": document.object_id,
        "post_id": document.post_id,
        "audience": document.audience,
        "agency_id": document.agency_id,
        "group_id": document.group_id,
        "group_kind": document.group_kind or None,
        "author_id": document.author_id,
        "created": document.created.isoformat(),
        "hashtags": document.tags.split() if document.kind == Kind.POST else [],
        "title": document.title,
        "tags": document.tags,
        "body": document.body,
        "context": document.context,
    }


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionFacts:
    """What the permission rules need to know about a viewer, read from `permissions`."""

    agency_id: int | None
    member_group_ids: tuple[int, ...]
    known_secret_group_ids: tuple[int, ...]  # member of, or invited to


def permission_facts(viewer) -> PermissionFacts | None:
    """The viewer's facts, or None for someone who may see nothing (signed out, a leaver)."""
    if not permissions.is_active_staff(viewer):
        return None
    from groups.models import Group

    members = sorted(permissions.member_group_ids(viewer).values_list("group_id", flat=True))
    secret = sorted(
        permissions.visible_groups(viewer)
        .filter(kind=Group.Kind.SECRET)
        .values_list("pk", flat=True)
    )
    return PermissionFacts(
        agency_id=permissions.agency_id_of(viewer),
        member_group_ids=tuple(members),
        known_secret_group_ids=tuple(secret),
    )


def permission_filter(facts: PermissionFacts):
    """The clause every query carries: the documents these facts allow, and nothing else."""
    from elasticsearch.dsl import Q

    should = [
        Q("term", audience="everyone"),
        Q("bool", filter=[Q("term", audience="group"), Q("term", group_kind="open")]),
    ]
    if facts.agency_id is not None:
        should.append(
            Q("bool", filter=[Q("term", audience="agency"), Q("term", agency_id=facts.agency_id)])
        )
    if facts.member_group_ids:
        should.append(
            Q(
                "bool",
                filter=[
                    Q("term", audience="group"),
                    Q("terms", group_id=list(facts.member_group_ids)),
                ],
            )
        )
    if facts.known_secret_group_ids:
        should.append(
            Q(
                "bool",
                filter=[
                    Q("term", kind="group"),
                    Q("terms", group_id=list(facts.known_secret_group_ids)),
                ],
            )
        )
    return Q("bool", should=should, minimum_should_match=1)


def _term_query(term: Term):
    from elasticsearch.dsl import Q

    if term.is_phrase:
        return Q("multi_match", query=term.text, type="phrase", fields=TEXT_FIELDS)
    return Q("multi_match", query=term.text, type="best_fields", fields=TEXT_FIELDS)


def words_query(parsed: ParsedQuery):
    """The words as a query: OR of clauses, each an AND of terms (minus the excluded ones)."""
    from elasticsearch.dsl import Q

    if parsed.match_all:
        return Q("match_all")
    clauses = []
    for clause in parsed.clauses:
        must = [_term_query(t) for t in clause if not t.negated]
        must_not = [_term_query(t) for t in clause if t.negated]
        clauses.append(Q("bool", must=must, must_not=must_not))
    if len(clauses) == 1:
        return clauses[0]
    return Q("bool", should=clauses, minimum_should_match=1)


def _day_start(day) -> str:
    return timezone.make_aware(datetime.combine(day, dtime.min)).isoformat()


def build_search(request: SearchRequest, facts: PermissionFacts, *, index: str, client=None):
    """The `Search` for a request: words as the query, everything else as filter clauses."""
    from elasticsearch.dsl import A, Q, Search

    search = Search(using=client, index=index)
    # The words are the only scoring part, nested in `must` so that nothing merges with them.
    search = search.query(Q("bool", must=[words_query(request.query)]))
    search = search.filter(permission_filter(facts))
    search = search.filter("terms", kind=[str(k) for k in request.document_kinds])
    if request.agency_id is not None:
        search = search.filter("term", agency_id=request.agency_id)
    if request.group_id is not None:
        search = search.filter("term", group_id=request.group_id)
    if request.author_id is not None:
        search = search.filter("term", author_id=request.author_id)
    if request.hashtag:
        search = search.filter("term", hashtags=request.hashtag.lower())
    if request.date_from or request.date_to:
        bounds = {}
        if request.date_from:
            bounds["gte"] = _day_start(request.date_from)
        if request.date_to:
            bounds["lt"] = _day_start(request.date_to + timedelta(days=1))
        search = search.filter("range", created=bounds)
    relevance = request.sort != SORT_NEWEST and not request.query.match_all
    if relevance:
        search = search.sort("_score", {"seq": {"order": "desc"}})
        search = search.extra(from_=request.offset, size=request.limit + 1)
    else:
        search = search.sort({"seq": {"order": "desc"}})
        search = search.extra(size=request.limit + 1)
        if request.after is not None:
            search = search.extra(search_after=[request.after])
    search = search.extra(track_total_hits=False)
    search = search.source(["kind", "object_id", "seq"])
    if not request.query.match_all:
        search = search.highlight_options(
            pre_tags=[START], post_tags=[STOP], encoder="default", require_field_match=False
        )
        search = search.highlight("title", number_of_fragments=0)
        search = search.highlight("body", fragment_size=160, number_of_fragments=2)
    search.aggs.bucket("by_kind", A("terms", field="kind", size=len(Kind.values)))
    return search


# --- the backend ---------------------------------------------------------------------------


def _unavailable(exc: Exception) -> bool:
    from elasticsearch import ApiError, NotFoundError, TransportError

    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, NotFoundError):
        return True  # no index behind the alias yet: search_reindex has not run
    return isinstance(exc, ApiError) and exc.meta.status >= 500


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, *, url: str, alias: str, refresh: bool = False):
        self.url = url
        self.alias = alias
        self.refresh = refresh
        self._client = None
        self._down_until = 0.0

    @property
    def client(self):
        if not self.url:
            raise BackendUnavailable("ELASTICSEARCH_URL is not set")
        if self._client is None:
            from elasticsearch import Elasticsearch

            self._client = Elasticsearch(
                self.url,
                request_timeout=conf.elasticsearch_timeout(),
                max_retries=0,
                retry_on_timeout=False,
            )
        return self._client

    @contextmanager
    def _guarded(self):
        """A dead cluster becomes BackendUnavailable (and is not asked again for a while)."""
        if time.monotonic() < self._down_until:
            raise BackendUnavailable("Elasticsearch failed recently; not retrying yet")
        try:
            yield
        except BackendUnavailable:
            raise
        except Exception as exc:
            if _unavailable(exc):
                self._down_until = time.monotonic() + DOWN_FOR_SECONDS
                raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise

    def _call(self, function: Callable, *args, **kwargs):
        with self._guarded():
            return function(*args, **kwargs)

    def mark_up(self) -> None:
        self._down_until = 0.0

    # --- writing ---

    def _bulk(self, actions: Iterable[dict]) -> int:
        from elasticsearch.helpers import bulk

        ok, errors = self._call(
            bulk,
            self.client,
            actions,
            chunk_size=BULK_CHUNK,
            raise_on_error=False,
            refresh="wait_for" if self.refresh else False,
        )
        failures = [
            e for e in errors if next(iter(e.values())).get("status") != 404
        ]  # deleting what is not there is fine
        if failures:
            raise BackendUnavailable(f"{len(failures)} bulk actions failed: {failures[:3]}")
        return ok

    def index(self, documents: Sequence[SearchDocument]) -> None:
        self._bulk(
            {"_op_type": "index", "_index": self.alias, "_id": d.key, "_source": es_document(d)}
            for d in documents
        )

    def delete(self, keys: Sequence[tuple[str, int]]) -> None:
        self._bulk(
            {"_op_type": "delete", "_index": self.alias, "_id": f"{kind}-{object_id}"}
            for kind, object_id in keys
        )

    def sync(self, keys: Sequence[tuple[str, int]]) -> None:
        """Make these documents in Elasticsearch what they are in the database index."""
        present: dict[tuple[str, int], SearchDocument] = {}
        by_kind: dict[str, list[int]] = {}
        for kind, object_id in keys:
            by_kind.setdefault(kind, []).append(object_id)
        for kind, ids in by_kind.items():
            for document in SearchDocument.objects.filter(kind=kind, object_id__in=ids):
                present[(kind, document.object_id)] = document
        actions = []
        for key in dict.fromkeys(keys):
            document = present.get(key)
            if document is None:
                actions.append(
                    {"_op_type": "delete", "_index": self.alias, "_id": f"{key[0]}-{key[1]}"}
                )
            else:
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": self.alias,
                        "_id": document.key,
                        "_source": es_document(document),
                    }
                )
        if actions:
            self._bulk(actions)

    # --- reading ---

    def search(self, request: SearchRequest, *, viewer) -> SearchPage:
        facts = permission_facts(viewer)
        if facts is None or not request.document_kinds:
            return SearchPage(hits=[], has_more=False, counts={}, backend=self.name)
        search = build_search(request, facts, index=self.alias, client=self.client)
        response = self._call(search.execute)
        hits = []
        for item in response.hits:
            highlight = getattr(item.meta, "highlight", None)
            body = " … ".join(highlight.body) if highlight and "body" in highlight else ""
            title = highlight.title[0] if highlight and "title" in highlight else ""
            hits.append(
                Hit(
                    kind=item.kind,
                    object_id=int(item.object_id),
                    seq=int(item.seq),
                    snippet=body,
                    title_snippet=title,
                    score=item.meta.score,
                )
            )
        has_more = len(hits) > request.limit
        counts = {
            bucket.key: min(bucket.doc_count, COUNT_CAP)
            for bucket in response.aggregations.by_kind.buckets
        }
        return SearchPage(
            hits=hits[: request.limit], has_more=has_more, counts=counts, backend=self.name
        )

    # --- rebuilding ---

    def _current_indices(self) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            return sorted(self._call(self.client.indices.get_alias, name=self.alias).keys())
        except NotFoundError:
            return []
        except BackendUnavailable as exc:
            if isinstance(exc.__cause__, NotFoundError):
                self.mark_up()
                return []
            raise

    def reindex(self, *, progress: Callable[[int], None] | None = None) -> ReindexReport:
        """Build a new index from the database index, then swap the alias to it."""
        from elasticsearch.helpers import streaming_bulk

        started_at = timezone.now()
        started = time.perf_counter()
        name = f"{self.alias}-{started_at:%Y%m%d%H%M%S%f}"
        if self._call(self.client.indices.exists, index=self.alias) and not self._call(
            self.client.indices.exists_alias, name=self.alias
        ):
            raise BackendUnavailable(f"{self.alias} is an index, not an alias: delete it first")
        build_index(name, replicas=0).create(using=self.client)
        total = 0

        def actions():
            last = 0
            while True:
                rows = list(SearchDocument.objects.filter(pk__gt=last).order_by("pk")[:BULK_CHUNK])
                if not rows:
                    return
                last = rows[-1].pk
                for d in rows:
                    yield {
                        "_op_type": "index",
                        "_index": name,
                        "_id": d.key,
                        "_source": es_document(d),
                    }

        with self._guarded():
            for _ok, _item in streaming_bulk(
                self.client, actions(), chunk_size=BULK_CHUNK, raise_on_error=True
            ):
                total += 1
                if progress and total % BULK_CHUNK == 0:
                    progress(BULK_CHUNK)
        if progress and total % BULK_CHUNK:
            progress(total % BULK_CHUNK)
        self._call(self.client.indices.put_settings, index=name, settings={"number_of_replicas": 1})
        self._call(self.client.indices.refresh, index=name)
        old = self._current_indices()
        swap = [{"add": {"index": name, "alias": self.alias}}]
        swap += [{"remove": {"index": o, "alias": self.alias}} for o in old]
        self._call(self.client.indices.update_aliases, actions=swap)
        self._catch_up(name, since=started_at)
        for o in old:
            self._call(self.client.indices.delete, index=o)
        return ReindexReport(documents=total, seconds=time.perf_counter() - started)

    def _catch_up(self, name: str, *, since) -> None:
        """After the swap: re-send what changed while building, drop what was deleted."""
        from elasticsearch.helpers import scan

        changed = SearchDocument.objects.filter(updated__gte=since - timedelta(seconds=5))
        self.sync([(d.kind, d.object_id) for d in changed.only("kind", "object_id")])
        batch: list[tuple[str, int]] = []
        with self._guarded():
            hits = scan(
                self.client,
                index=name,
                query={"query": {"match_all": {}}},
                _source=["kind", "object_id"],
            )
            for item in hits:
                batch.append((item["_source"]["kind"], int(item["_source"]["object_id"])))
                if len(batch) >= 5000:
                    self._delete_missing(batch)
                    batch = []
        self._delete_missing(batch)

    def _delete_missing(self, keys: list[tuple[str, int]]) -> None:
        """Delete from Elasticsearch the keys the database index no longer has."""
        existing: set[tuple[str, int]] = set()
        for kind in {k for k, _ in keys}:
            ids = [i for k, i in keys if k == kind]
            found = SearchDocument.objects.filter(kind=kind, object_id__in=ids)
            existing.update((kind, i) for i in found.values_list("object_id", flat=True))
        gone = [key for key in keys if key not in existing]
        if gone:
            self.delete(gone)
