"""The Elasticsearch backend without a server: its mapping, its documents and the exact
clauses of its queries. Every query shape must carry the viewer's permission filter, as a
filter clause, including the empty and the wildcard query."""

from __future__ import annotations

from datetime import date

import pytest

from search import query
from search.backends.base import SORT_RELEVANCE, SearchRequest
from search.backends.elasticsearch import (
    PermissionFacts,
    build_index,
    build_mapping,
    build_search,
    es_document,
    permission_facts,
    permission_filter,
)
from search.models import SearchDocument

from .es_eval import matches

pytestmark = pytest.mark.django_db

CAROL = PermissionFacts(agency_id=7, member_group_ids=(), known_secret_group_ids=())
ALICE = PermissionFacts(agency_id=3, member_group_ids=(11, 12, 13), known_secret_group_ids=(13, 14))


def expected_permission(facts: PermissionFacts) -> dict:
    should = [
        {"term": {"audience": "everyone"}},
        {"bool": {"filter": [{"term": {"audience": "group"}}, {"term": {"group_kind": "open"}}]}},
    ]
    if facts.agency_id is not None:
        should.append(
            {
                "bool": {
                    "filter": [
                        {"term": {"audience": "agency"}},
                        {"term": {"agency_id": facts.agency_id}},
                    ]
                }
            }
        )
    if facts.member_group_ids:
        should.append(
            {
                "bool": {
                    "filter": [
                        {"term": {"audience": "group"}},
                        {"terms": {"group_id": list(facts.member_group_ids)}},
                    ]
                }
            }
        )
    if facts.known_secret_group_ids:
        should.append(
            {
                "bool": {
                    "filter": [
                        {"term": {"kind": "group"}},
                        {"terms": {"group_id": list(facts.known_secret_group_ids)}},
                    ]
                }
            }
        )
    return {"bool": {"should": should, "minimum_should_match": 1}}


SHAPES = {
    "empty": {"text": ""},
    "wildcard": {"text": "*"},
    "word": {"text": "budget"},
    "phrase": {"text": '"budget review"'},
    "excluded": {"text": "budget -draft"},
    "either": {"text": "budget or forecast"},
    "filters only": {"text": "", "agency_id": 4, "hashtag": "gdpr"},
    "all filters": {
        "text": "budget",
        "agency_id": 4,
        "group_id": 12,
        "author_id": 99,
        "hashtag": "gdpr",
        "date_from": date(2026, 1, 1),
        "date_to": date(2026, 1, 31),
    },
    "relevance": {"text": "budget", "sort": SORT_RELEVANCE, "offset": 20},
    "next page": {"text": "budget", "after": 1234},
    "people": {"text": "ana", "kinds": ("person",)},
    "groups": {"text": "*", "kinds": ("group",)},
}


def build(facts, **shape) -> dict:
    shape = dict(shape)
    parsed = query.parse(shape.pop("text"))
    request = SearchRequest(query=parsed, **shape)
    return build_search(request, facts, index="agora-search").to_dict()


@pytest.mark.parametrize("facts", [CAROL, ALICE], ids=["outsider", "member"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_every_query_carries_the_permission_filter(facts, shape):
    body = build(facts, **shape)
    filters = body["query"]["bool"]["filter"]
    assert expected_permission(facts) in filters
    # The permission is a filter clause, never something the words could outscore.
    assert "should" not in body["query"]["bool"]
    assert all("audience" not in str(c) for c in body["query"]["bool"].get("must", []))


def test_an_outsiders_filter_names_no_group_and_no_other_agency():
    clause = permission_filter(CAROL).to_dict()
    assert clause == expected_permission(CAROL)
    assert "group_id" not in str(clause)


def test_filters_are_filter_clauses_and_words_are_the_query():
    body = build(ALICE, **SHAPES["all filters"])
    q = body["query"]["bool"]
    assert {"terms": {"kind": ["post"]}} in q["filter"]  # a hashtag: posts only
    assert {"term": {"agency_id": 4}} in q["filter"]
    assert {"term": {"group_id": 12}} in q["filter"]
    assert {"term": {"author_id": 99}} in q["filter"]
    assert {"term": {"hashtags": "gdpr"}} in q["filter"]
    ranges = [c["range"]["created"] for c in q["filter"] if "range" in c]
    assert len(ranges) == 1 and ranges[0]["gte"].startswith("2026-01-01")
    assert ranges[0]["lt"].startswith("2026-02-01")
    assert q["must"] == [
        {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": "budget",
                            "type": "best_fields",
                            "fields": ["title^4", "tags^2", "body", "context^0.5"],
                        }
                    }
                ]
            }
        }
    ]


def test_word_shapes():
    assert build(CAROL, text="")["query"]["bool"]["must"] == [{"match_all": {}}]
    assert build(CAROL, text="*")["query"]["bool"]["must"] == [{"match_all": {}}]
    phrase = build(CAROL, text='"budget review"')["query"]["bool"]["must"][0]["bool"]
    assert phrase["must"][0]["multi_match"]["type"] == "phrase"
    excluded = build(CAROL, text="budget -draft")["query"]["bool"]["must"][0]["bool"]
    assert excluded["must"][0]["multi_match"]["query"] == "budget"
    assert excluded["must_not"][0]["multi_match"]["query"] == "draft"
    either = build(CAROL, text="budget or forecast")["query"]["bool"]["must"][0]["bool"]
    assert either["minimum_should_match"] == 1 and len(either["should"]) == 2


def test_order_pages_highlights_and_counts():
    newest = build(CAROL, text="budget", after=1234)
    assert newest["sort"] == [{"seq": {"order": "desc"}}]
    assert newest["search_after"] == [1234]
    assert newest["size"] == 21
    relevance = build(CAROL, **SHAPES["relevance"])
    assert relevance["sort"] == ["_score", {"seq": {"order": "desc"}}]
    assert relevance["from"] == 20
    assert newest["highlight"]["pre_tags"] == ["\x02"] and newest["highlight"]["post_tags"] == [
        "\x03"
    ]
    assert set(newest["highlight"]["fields"]) == {"title", "body"}
    assert newest["aggs"] == {"by_kind": {"terms": {"field": "kind", "size": 4}}}
    assert newest["track_total_hits"] is False
    assert "highlight" not in build(CAROL, text="*")


def test_mapping_has_analysers_keywords_and_is_strict(settings):
    settings.SEARCH_LANGUAGE = "french"
    index = build_index("agora-search-1").to_dict()
    analysis = index["settings"]["analysis"]
    assert analysis["analyzer"]["agora_text"]["filter"] == [
        "lowercase",
        "asciifolding",
        "agora_stemmer",
    ]
    assert analysis["filter"]["agora_stemmer"] == {"type": "stemmer", "language": "french"}
    mapping = build_mapping().to_dict()
    assert mapping["dynamic"] == "strict"
    props = mapping["properties"]
    for name in ("kind", "audience", "group_kind", "hashtags"):
        assert props[name] == {"type": "keyword"}
    for name in ("seq", "object_id", "post_id", "agency_id", "group_id", "author_id"):
        assert props[name] == {"type": "long"}
    assert props["created"] == {"type": "date"}
    assert props["body"]["analyzer"] == "agora_text"
    assert props["body"]["fields"]["exact"]["analyzer"] == "agora_exact"
    assert props["body"]["index_options"] == "offsets"


def test_documents_carry_the_permission_facts(world):
    for document in SearchDocument.objects.all():
        source = es_document(document)
        assert source["seq"] == document.pk
        for field in ("kind", "audience", "agency_id", "group_id", "author_id", "object_id"):
            assert source[field] == getattr(document, field)
    post = SearchDocument.objects.get(kind="post", object_id=world.posts["everyone"].pk)
    assert es_document(post)["hashtags"] == ["procurement"]


def test_facts_come_from_the_permission_module(world, commit):
    from groups import actions as group_actions

    alice = permission_facts(world.alice)
    groups = sorted([world.open_group.pk, world.private_group.pk, world.secret_group.pk])
    assert alice == PermissionFacts(world.agency_a.pk, tuple(groups), (world.secret_group.pk,))
    commit(group_actions.invite, group=world.secret_group, inviter=world.alice, invitee=world.carol)
    assert permission_facts(world.carol) == PermissionFacts(
        world.agency_b.pk, (), (world.secret_group.pk,)
    )
    world.carol.is_active = False
    assert permission_facts(world.carol) is None


def test_the_filter_selects_what_the_permission_module_allows(world):
    """On the world of tests/search/conftest.py, the filter evaluated over the documents
    selects exactly the visible posts (the property test does the same on random worlds)."""
    import permissions

    for viewer in (world.alice, world.bob, world.carol):
        clause = permission_filter(permission_facts(viewer)).to_dict()
        selected = {
            d.object_id
            for d in SearchDocument.objects.filter(kind="post")
            if matches(clause, es_document(d))
        }
        assert selected == set(permissions.visible_posts(viewer).values_list("pk", flat=True))
