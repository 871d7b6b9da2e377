"""The database backend, for real, on whichever database the suite runs on (SQLite FTS5 or
PostgreSQL full text): content indexed through the actions and the outbox, then searched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds import actions as feed_actions
from feeds.models import Post
from groups import actions as group_actions
from profiles import actions as profile_actions
from search.backends.base import SORT_RELEVANCE
from search.models import SearchDocument

from .helpers import found, post_ids, search

pytestmark = pytest.mark.django_db


def test_a_new_post_is_searchable_after_commit(world, commit):
    """Creating a post indexes it through the outbox, with no reindex."""
    post = commit(feed_actions.create_post, author=world.bob, body="A pelican sighting")
    assert post_ids(world.carol, "pelican") == {post.pk}


def test_posts_are_found_by_body_hashtag_author_group_and_agency(world):
    """Post documents hold the body, hashtags, author, group and agency."""
    everyone = world.posts["everyone"].pk
    assert everyone in post_ids(world.carol, "kingfisher")
    assert everyone in post_ids(world.carol, "procurement")  # the hashtag
    assert everyone in post_ids(world.carol, "Archer")  # the author's name
    assert everyone in post_ids(world.carol, "alice")  # the author's username
    assert everyone in post_ids(world.carol, "Finance")  # the agency it was written in
    assert world.posts["open"].pk in post_ids(world.carol, "Open Data Network heron")


def test_words_are_stemmed_and_phrases_keep_their_order(world, commit):
    post = commit(feed_actions.create_post, author=world.bob, body="We are publishing datasets")
    assert post.pk in post_ids(world.carol, "published dataset")
    assert post.pk in post_ids(world.carol, '"publishing datasets"')
    assert post.pk not in post_ids(world.carol, '"datasets publishing"')
    assert post.pk not in post_ids(world.carol, "publishing -datasets")
    either = post_ids(world.carol, "pelican or datasets")
    assert post.pk in either


def test_comments_are_searchable_and_follow_their_post(world, commit):
    comment = commit(
        feed_actions.add_comment, post=world.posts["private"], author=world.alice,
        body="The cormorant numbers look off",
    )  # fmt: skip
    assert ("comment", comment.pk) in found(world.alice, "cormorant")
    assert found(world.carol, "cormorant") == set()
    commit(feed_actions.delete_comment, comment=comment, actor=world.alice)
    assert found(world.alice, "cormorant") == set()


def test_people_are_found_by_name_title_expertise_department_and_agency(world, commit):
    profile = world.carol.profile
    commit(
        profile_actions.update_profile, profile=profile, actor=world.carol,
        job_title="Flood modeller", expertise=["hydrology"],
    )  # fmt: skip
    person = ("person", profile.pk)
    for words in ("Carol Cole", "flood modeller", "hydrology", "Environment Agency", "carol"):
        assert person in found(world.bob, words, kinds=("person",)), words


def test_groups_are_found_by_name_and_description(world):
    assert ("group", world.open_group.pk) in found(world.carol, "Open Data")
    assert ("group", world.private_group.pk) in found(world.carol, "budget planning")


def test_everything_shows_posts_and_the_best_people_and_groups(world):
    results = search(world.carol, "budget")
    assert [r.pk for r in results.groups] == [world.private_group.pk]
    assert results.counts["group"] == 1
    assert all(r.kind in ("post", "comment") for r in results.results)


# --- permission --------------------------------------------------------------------------------


def test_agency_posts_only_for_their_agency(world):
    post = world.posts["agency"].pk
    assert post_ids(world.bob, "nightingale") == {post}
    assert post_ids(world.carol, "nightingale") == set()


def test_private_and_secret_group_content_only_for_members(world):
    for word, key in (("bittern", "private"), ("osprey", "secret")):
        post = world.posts[key].pk
        assert post_ids(world.alice, word) == {post}
        assert post_ids(world.bob, word) == set(), word
        assert post_ids(world.carol, word) == set(), word
    assert post_ids(world.carol, "heron") == {world.posts["open"].pk}


def test_secret_groups_are_not_found_by_outsiders_counts_included(world):
    """Nothing of a secret group shows to an outsider: not the group, not a count."""
    for viewer in (world.bob, world.carol):
        results = search(viewer, "zanzibarplan")
        assert results.results == [] and results.groups == []
        assert results.counts == {}
        results = search(viewer, "Reorganisation Steering", kinds=("group",))
        assert results.results == [] and results.counts == {}
    results = search(world.alice, "zanzibarplan", kinds=("group",))
    assert [r.pk for r in results.results] == [world.secret_group.pk]


def test_an_invitee_finds_the_secret_group_but_not_its_posts(world, commit):
    commit(group_actions.invite, group=world.secret_group, inviter=world.alice, invitee=world.bob)
    assert ("group", world.secret_group.pk) in found(world.bob, "zanzibarplan", kinds=("group",))
    assert post_ids(world.bob, "osprey") == set()


def test_counts_and_snippets_leave_out_what_the_viewer_may_not_see(world, commit):
    for i in range(3):
        commit(
            feed_actions.create_post, author=world.alice, body=f"grebe note {i}", audience="group",
            group=world.secret_group,
        )  # fmt: skip
    public = commit(feed_actions.create_post, author=world.alice, body="grebe note public")
    results = search(world.carol, "grebe")
    assert results.counts == {"post": 1}
    assert [r.pk for r in results.results] == [public.pk]
    assert "public" in str(results.results[0].snippet)
    assert search(world.alice, "grebe").counts == {"post": 4}


def test_after_leaving_a_group_its_posts_are_no_longer_found(world, commit):
    commit(group_actions.join_group, group=world.open_group, user=world.bob)
    group = world.private_group
    from groups.models import Membership

    Membership.objects.create(group=group, user=world.bob)
    assert post_ids(world.bob, "bittern") == {world.posts["private"].pk}
    commit(group_actions.leave_group, group=group, user=world.bob)
    assert post_ids(world.bob, "bittern") == set()


def test_a_group_turned_secret_hides_its_posts_and_itself(world, commit):
    commit(group_actions.update_group, group=world.open_group, actor=world.alice, kind="secret")
    assert post_ids(world.carol, "heron") == set()
    assert found(world.carol, "Open Data Network", kinds=("group",)) == set()
    document = SearchDocument.objects.get(kind="post", object_id=world.posts["open"].pk)
    assert document.group_kind == "secret"


def test_deactivated_viewers_and_people_are_not_searchable(world, commit):
    world.carol.is_active = False
    world.carol.save()
    assert found(world.carol, "kingfisher") == set()
    commit(
        profile_actions.update_profile,
        profile=world.carol.profile,
        actor=world.carol,
        job_title="x",
    )
    assert ("person", world.carol.profile.pk) not in found(world.bob, "Carol Cole")


# --- changes reach the index -------------------------------------------------------------------


def test_deleted_posts_disappear_with_their_comments(world, commit):
    post = world.posts["everyone"]
    comment = commit(
        feed_actions.add_comment, post=post, author=world.bob, body="Great kingfisher work"
    )
    commit(feed_actions.delete_post, post=post, actor=world.alice)
    assert found(world.carol, "kingfisher") == set()
    assert not SearchDocument.objects.filter(kind="comment", object_id=comment.pk).exists()


def test_edits_are_reindexed(world, commit):
    post = world.posts["everyone"]
    commit(feed_actions.edit_post, post=post, editor=world.alice, body="Now about a puffin")
    assert post_ids(world.carol, "puffin") == {post.pk}
    assert post_ids(world.carol, "kingfisher") == set()


def test_a_new_name_reaches_the_authors_posts(world, commit):
    commit(
        profile_actions.update_profile, profile=world.alice.profile, actor=world.alice,
        display_name="Alice Quartermaine",
    )  # fmt: skip
    assert world.posts["everyone"].pk in post_ids(world.carol, "Quartermaine")
    assert post_ids(world.carol, "Archer") == set()


def test_a_renamed_group_reaches_its_posts(world, commit):
    commit(group_actions.update_group, group=world.open_group, actor=world.alice, name="Data Guild")
    assert world.posts["open"].pk in post_ids(world.carol, "guild")


# --- filters, order, pages, snippets -----------------------------------------------------------


def test_filters(world, commit):
    other = commit(feed_actions.create_post, author=world.carol, body="kingfisher again #birds")
    everyone = world.posts["everyone"].pk
    assert post_ids(world.bob, "kingfisher") == {everyone, other.pk}
    assert post_ids(world.bob, "kingfisher", agency_id=world.agency_b.pk) == {other.pk}
    assert post_ids(world.bob, "kingfisher", author_id=world.alice.pk) == {everyone}
    assert post_ids(world.bob, "kingfisher", hashtag="birds") == {other.pk}
    assert post_ids(world.alice, "", group_id=world.secret_group.pk) == {world.posts["secret"].pk}
    Post.objects.filter(pk=everyone).update(created=timezone.now() - timedelta(days=40))
    commit(feed_actions.edit_post, post=Post.objects.get(pk=everyone), editor=world.alice,
           body="Lessons on the kingfisher tender #procurement")  # fmt: skip
    today = timezone.localdate()
    recent = post_ids(world.bob, "kingfisher", date_from=today - timedelta(days=7), date_to=today)
    assert recent == {other.pk}
    old = post_ids(world.bob, "kingfisher", date_to=today - timedelta(days=30))
    assert old == {everyone}
    assert found(world.bob, "kingfisher", kinds=("group",)) == set()


def test_newest_first_and_pages_cover_everything_once(world, commit):
    posts = [
        commit(feed_actions.create_post, author=world.bob, body=f"swift {i}") for i in range(7)
    ]
    seen, after = [], None
    while True:
        results = search(world.carol, "swift", limit=3, after=after)
        seen.extend(r.pk for r in results.results)
        if not results.next_cursor:
            break
        from search.selectors import decode_cursor

        after = decode_cursor(results.next_cursor, sort="newest")
    assert seen == [p.pk for p in reversed(posts)]


def test_relevance_puts_the_better_match_first(world, commit):
    weak = commit(feed_actions.create_post, author=world.bob, body="a note that mentions wren once")
    strong = commit(
        feed_actions.create_post, author=world.bob, body="wren wren wren: all about the wren #wren"
    )
    commit(feed_actions.create_post, author=world.bob, body="unrelated")
    results = search(world.carol, "wren", sort=SORT_RELEVANCE)
    assert [r.pk for r in results.results] == [strong.pk, weak.pk]


def test_snippets_mark_matches_and_carry_no_other_markup(world, commit):
    commit(
        feed_actions.create_post, author=world.bob,
        body='<script>alert("x")</script> the starling <b>report</b> <mark>fake</mark>',
    )  # fmt: skip
    results = search(world.carol, "starling")
    snippet = str(results.results[0].snippet)
    assert "<mark>starling</mark>" in snippet
    assert "<script" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet or "alert" not in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1


def test_match_all_with_a_filter_lists_the_newest(world):
    results = search(world.carol, "*", author_id=world.alice.pk)
    assert [r.pk for r in results.results] == [
        world.posts["open"].pk,
        world.posts["everyone"].pk,
    ]
