"""What a search document says about a post, a comment, a person or a group.

Builders take ids, reload the objects (events carry ids only) and return unsaved
`SearchDocument`s; an id whose object is gone, deleted or (people) deactivated gives no
document, which tells the caller to remove it from the index. The same builders feed live
indexing and `search_reindex`, so there is one definition of a document.

Nothing secret goes into a document that its audience may not read: a person's document
holds what the directory shows every member of staff (never their groups); a group's holds
its name and description, and a secret group's document is marked for its members only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, QuerySet

from feeds.models import Comment, Post
from groups.models import Group
from profiles.models import ExpertiseTag, Profile

from .models import SearchDocument

Kind = SearchDocument.Kind
Audience = SearchDocument.Audience


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


_CONTROL = {code: " " for code in range(32) if chr(code) not in "\n\t"}


def _clean(text: str) -> str:
    """Control characters have no place in an index (and NUL breaks PostgreSQL)."""
    return (text or "").translate(_CONTROL)


def _name(user) -> tuple[str, str]:
    profile = getattr(user, "profile", None)
    return (profile.display_name if profile else user.get_username()), user.get_username()


def _group_facts(group: Group | None) -> dict:
    if group is None:
        return {"group_id": None, "group_kind": ""}
    return {"group_id": group.pk, "group_kind": group.kind}


_POST_FIELDS = (
    "id", "author_id", "body", "audience", "agency_id", "group_id", "created", "deleted",
    "author__username", "author__profile__display_name", "group__name", "group__kind",
    "agency__name",
)  # fmt: skip
_COMMENT_FIELDS = (
    "id", "post_id", "author_id", "body", "created", "deleted", "post__deleted",
    "post__audience", "post__agency_id", "post__group_id", "post__group__kind",
    "post__group__name", "post__agency__name", "author__username",
    "author__profile__display_name",
)  # fmt: skip


def _post_rows(qs) -> list[SearchDocument]:
    rows = list(qs.values(*_POST_FIELDS))
    tags: dict[int, list[str]] = {}
    if rows:
        through = Post.hashtags.through.objects.filter(post_id__in=qs.values("pk"))
        for post_id, name in through.values_list("post_id", "hashtag__name").order_by(
            "post_id", "hashtag__name"
        ):
            tags.setdefault(post_id, []).append(name)
    return [
        doc
        for doc in (post_document(row, tags.get(row["id"], [])) for row in rows)
        if doc is not None
    ]


def post_document(row: dict, tags: list[str]) -> SearchDocument | None:
    """A post's document from a row of `_POST_FIELDS`; None for a deleted post."""
    if row["deleted"] is not None:
        return None
    return SearchDocument(
        kind=Kind.POST,
        object_id=row["id"],
        post_id=row["id"],
        audience=row["audience"],
        agency_id=row["agency_id"],
        group_id=row["group_id"],
        group_kind=row["group__kind"] or "",
        author_id=row["author_id"],
        created=row["created"],
        title="",
        body=_clean(row["body"]),
        tags=" ".join(tags),
        context=_join(
            row["author__profile__display_name"],
            row["author__username"],
            row["group__name"],
            row["agency__name"],
        ),
    )


def _comment_rows(qs) -> list[SearchDocument]:
    return [doc for doc in (comment_document(row) for row in qs.values(*_COMMENT_FIELDS)) if doc]


def comment_document(row: dict) -> SearchDocument | None:
    """A comment's document from a row of `_COMMENT_FIELDS`; None once it or its post is gone."""
    if row["deleted"] is not None or row["post__deleted"] is not None:
        return None
    return SearchDocument(
        kind=Kind.COMMENT,
        object_id=row["id"],
        post_id=row["post_id"],
        audience=row["post__audience"],
        agency_id=row["post__agency_id"],
        group_id=row["post__group_id"],
        group_kind=row["post__group__kind"] or "",
        author_id=row["author_id"],
        created=row["created"],
        title="",
        body=_clean(row["body"]),
        tags="",
        context=_join(
            row["author__profile__display_name"],
            row["author__username"],
            row["post__group__name"],
            row["post__agency__name"],
        ),
    )


def _person_queryset() -> QuerySet[Profile]:
    return Profile.objects.select_related("user", "agency", "department__parent").prefetch_related(
        Prefetch("expertise", queryset=ExpertiseTag.objects.order_by("name"))
    )


def person_document(profile: Profile) -> SearchDocument | None:
    if not profile.user.is_active:
        return None
    return SearchDocument(
        kind=Kind.PERSON,
        object_id=profile.pk,
        audience=Audience.EVERYONE,
        agency_id=profile.agency_id,
        author_id=profile.user_id,
        created=profile.user.date_joined,
        title=_clean(profile.display_name),
        body=_clean(_join(profile.job_title, profile.bio)),
        tags=" ".join(tag.name for tag in profile.expertise.all()),
        context=_join(
            profile.user.get_username(),
            profile.department.path if profile.department else "",
            profile.agency.name if profile.agency else "",
            profile.agency.short_name if profile.agency else "",
            profile.location,
        ),
    )


def group_document(group: Group) -> SearchDocument:
    return SearchDocument(
        kind=Kind.GROUP,
        object_id=group.pk,
        # Open and private groups are listed for all staff; a secret one for its members.
        audience=Audience.GROUP if group.is_secret else Audience.EVERYONE,
        group_id=group.pk,
        group_kind=group.kind,
        created=group.created,
        title=_clean(group.name),
        body=_clean(group.description),
        tags="",
        context="",
    )


def _person_rows(qs) -> list[SearchDocument]:
    return [doc for doc in (person_document(p) for p in qs) if doc is not None]


def _group_rows(qs) -> list[SearchDocument]:
    return [group_document(g) for g in qs]


# kind: (base queryset, rows → documents, filter for what a rebuild includes)
_SOURCES = {
    Kind.POST: (Post.objects.all, _post_rows, {"deleted__isnull": True}),
    Kind.COMMENT: (
        Comment.objects.all,
        _comment_rows,
        {"deleted__isnull": True, "post__deleted__isnull": True},
    ),
    Kind.PERSON: (_person_queryset, _person_rows, {"user__is_active": True}),
    Kind.GROUP: (Group.objects.all, _group_rows, {}),
}


def build(kind: str, ids: Iterable[int]) -> tuple[list[SearchDocument], list[int]]:
    """Documents for `ids` of `kind`, and the ids that should have none (to remove)."""
    ids = sorted(set(ids))
    if not ids:
        return [], []
    queryset, rows, _live = _SOURCES[Kind(kind)]
    docs = rows(queryset().filter(pk__in=ids))
    found = {d.object_id for d in docs}
    return docs, [i for i in ids if i not in found]


def iterate(kind: str, *, chunk_size: int = 2000) -> Iterator[SearchDocument]:
    """Every document of `kind`, in id order (time order for posts and comments)."""
    queryset, rows, live = _SOURCES[Kind(kind)]
    qs = queryset().filter(**live).order_by("pk")
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).values_list("pk", flat=True)[:chunk_size])
        if not chunk:
            return
        docs = rows(queryset().filter(pk__gt=last, pk__lte=chunk[-1]))
        last = chunk[-1]
        docs.sort(key=lambda d: d.object_id)
        yield from docs


def count(kind: str) -> int:
    queryset, _rows, live = _SOURCES[Kind(kind)]
    return queryset().filter(**live).count()
