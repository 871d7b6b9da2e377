"""The one interface both search backends implement, and the values that cross it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..models import SearchDocument
from ..query import ParsedQuery

Kind = SearchDocument.Kind

SORT_NEWEST = "newest"
SORT_RELEVANCE = "relevance"
# Counts stop here ("100+"): an exact count of a frequent word costs more than the search.
COUNT_CAP = 100
# Relevance pages are bounded (offset pagination over at most this many ranked hits).
RELEVANCE_MAX_OFFSET = 200


class BackendUnavailable(Exception):
    """The backend's server cannot be reached; the caller falls back to the database."""


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: what the form or the API's serializer produced."""

    query: ParsedQuery
    kinds: tuple[str, ...] = ()  # empty: every kind (post means posts and comments)
    agency_id: int | None = None
    group_id: int | None = None
    author_id: int | None = None
    hashtag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = SORT_NEWEST
    # Newest: the last id of the previous page. Relevance: how many hits to skip.
    after: int | None = None
    offset: int = 0
    limit: int = 20
    # Counts cost more than the page (matches up to COUNT_CAP): the selector asks for them on
    # first pages only, and the API only on `counts=true`.
    with_counts: bool = True

    @property
    def document_kinds(self) -> tuple[str, ...]:
        """The document kinds searched: `post` means posts and their comments."""
        kinds = self.kinds or (Kind.POST, Kind.PERSON, Kind.GROUP)
        out: list[str] = []
        for kind in kinds:
            out.extend([Kind.POST, Kind.COMMENT] if kind == Kind.POST else [kind])
        if self.hashtag:
            out = [k for k in out if k == Kind.POST]
        if self.author_id is not None or self.date_from or self.date_to:
            # People and groups have no author or date one would filter by.
            out = [k for k in out if k in (Kind.POST, Kind.COMMENT)]
        if self.group_id is not None:
            out = [k for k in out if k in (Kind.POST, Kind.COMMENT, Kind.GROUP)]
        if self.agency_id is not None:
            out = [k for k in out if k != Kind.GROUP]
        return tuple(out)


@dataclass
class Hit:
    kind: str
    object_id: int
    seq: int  # the document id: time order
    snippet: str = ""  # text with \x02 … \x03 around matches (see search.snippets)
    title_snippet: str = ""
    score: float | None = None


@dataclass
class SearchPage:
    hits: list[Hit]
    has_more: bool
    counts: dict[str, int] = field(default_factory=dict)  # by document kind, each ≤ COUNT_CAP
    backend: str = ""
    # Hits the backend already re-checked with the selector's own statement
    # (`search.recheck.CheckedRows`, for one viewer), or None.
    checked: object | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def total_capped(self) -> bool:
        return any(n >= COUNT_CAP for n in self.counts.values())


@dataclass(frozen=True)
class ReindexReport:
    documents: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class SearchBackend(ABC):
    """index, delete, search, reindex. Documents are `SearchDocument` rows."""

    name: str = ""

    @abstractmethod
    def index(self, documents: Sequence[SearchDocument]) -> None:
        """Add or replace these documents."""

    @abstractmethod
    def delete(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove the documents of these (kind, object id) pairs; unknown ones are ignored."""

    @abstractmethod
    def search(self, request: SearchRequest, *, viewer) -> SearchPage:
        """The page of hits `viewer` may see, newest first or by relevance."""

    @abstractmethod
    def reindex(self, *, progress: Callable[[int], None] | None = None) -> ReindexReport:
        """Rebuild the whole index from the database without interrupting searches."""
