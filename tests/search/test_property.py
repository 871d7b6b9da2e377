"""Search never shows what the permission module hides: the property test of the core issue,
run over both backends' permission logic on random worlds.

For every viewer of a random network (tests/permissions/test_property.py's worlds):
- the database backend, searching everything (`*`) and a word every post contains, returns
  exactly the visible posts, only visible comments, exactly the groups `visible_groups`
  allows, and counts no more than that;
- the Elasticsearch permission filter built for the viewer, evaluated in Python over the
  documents Elasticsearch would hold, selects exactly `visible_posts(viewer)` among post
  documents, `visible_comments(viewer)` among comment documents and `visible_groups(viewer)`
  among group documents.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from hypothesis import HealthCheck, given, settings

import permissions
from search import query
from search.backends import database_backend
from search.backends.base import SORT_NEWEST, SORT_RELEVANCE, SearchRequest
from search.backends.elasticsearch import es_document, permission_facts, permission_filter
from search.models import SearchDocument
from tests.permissions.test_property import build, worlds

from .es_eval import matches


class _Rollback(Exception):
    pass


def _ids(page, kind: str) -> set[int]:
    return {h.object_id for h in page.hits if h.kind == kind}


def check_search(users, groups) -> None:
    backend = database_backend()
    documents = [(d, es_document(d)) for d in SearchDocument.objects.all()]
    for viewer in [*users, AnonymousUser()]:
        who = f"user {viewer.pk} (active={viewer.is_active})"
        posts = set(permissions.visible_posts(viewer).values_list("pk", flat=True))
        comments = set(permissions.visible_comments(viewer).values_list("pk", flat=True))
        group_ids = set(permissions.visible_groups(viewer).values_list("pk", flat=True))

        for text, sort in (("*", SORT_NEWEST), ("post", SORT_NEWEST), ("post", SORT_RELEVANCE)):
            request = SearchRequest(query=query.parse(text), kinds=("post",), sort=sort, limit=200)
            page = backend.search(request, viewer=viewer)
            assert _ids(page, "post") == posts, f"{who}: {text!r} posts differ"
            assert _ids(page, "comment") <= comments, f"{who}: {text!r} comments leak"
            if text == "*":
                assert _ids(page, "comment") == comments, f"{who}: comments differ"
            assert sum(page.counts.values()) <= len(posts) + len(comments), f"{who}: counts"
        page = backend.search(
            SearchRequest(query=query.parse("*"), kinds=("group",), limit=200), viewer=viewer
        )
        assert _ids(page, "group") == group_ids, f"{who}: groups differ"
        assert page.counts.get("group", 0) == min(len(group_ids), 100)

        facts = permission_facts(viewer)
        if facts is None:
            assert not posts and not group_ids
            continue
        clause = permission_filter(facts).to_dict()
        selected = {(d.kind, d.object_id) for d, source in documents if matches(clause, source)}
        assert {i for k, i in selected if k == "post"} == posts, f"{who}: ES filter on posts"
        assert {i for k, i in selected if k == "comment"} == comments, f"{who}: ES comments"
        assert {i for k, i in selected if k == "group"} == group_ids, f"{who}: ES groups"


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_search_returns_exactly_what_the_permission_module_allows(world):
    try:
        with transaction.atomic():
            users, groups = build(world)
            database_backend().reindex()
            check_search(users, groups)
            raise _Rollback
    except _Rollback:
        pass
