"""Post.comment_count, reaction_tally and tag_rows: kept by the database (migration
0005_post_tallies) whatever writes the rows, and never written back by a stale instance.

After each way of writing a comment, a reaction or a hashtag link, every post's columns are
compared with what its rows say (`counted`). Runs on SQLite and on PostgreSQL (the triggers
are written for each)."""

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from feeds import actions, selectors
from feeds.models import Comment, Hashtag, Post, Reaction
from tests.factories import CommentFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def counted(post: Post) -> tuple[int, dict[str, int], list[dict]]:
    """What the post's rows say: live comments, reactions per kind, hashtags by name."""
    comments = Comment.objects.filter(post=post, deleted__isnull=True).count()
    reactions = Counter(Reaction.objects.filter(post=post).values_list("kind", flat=True))
    tags = [{"id": t.pk, "name": t.name} for t in post.hashtags.order_by("name")]
    return comments, dict(reactions), tags


def stored(post: Post) -> tuple[int, dict[str, int], list[dict]]:
    """The post's columns (a count of zero in the tally is no reaction of that kind)."""
    row = Post.objects.values("comment_count", "reaction_tally", "tag_rows").get(pk=post.pk)
    tally = {kind: n for kind, n in (row["reaction_tally"] or {}).items() if n}
    return row["comment_count"], tally, row["tag_rows"] or []


def assert_kept(*posts: Post) -> None:
    for post in posts:
        assert stored(post) == counted(post), f"post {post.pk}"


def test_comments_are_counted_however_they_are_written_and_removed():
    alice, bob = UserFactory(), UserFactory()
    post, other = PostFactory(author=alice), PostFactory(author=alice)
    first = actions.add_comment(post=post, author=bob, body="First")
    actions.add_comment(post=post, author=alice, body="A reply", parent=first)
    CommentFactory(post=post, author=bob)  # straight through the ORM
    Comment.objects.bulk_create(
        [Comment(post=other, author=bob, body=f"bulk {n}", body_html="") for n in range(3)]
    )
    assert_kept(post, other)
    assert stored(post)[0] == 3

    actions.delete_comment(comment=first, actor=bob)  # soft: the reply stays
    assert_kept(post)
    assert stored(post)[0] == 2

    Comment.objects.filter(post=other).first().delete()  # hard delete
    moved = Comment.objects.filter(post=other).first()
    moved.post = post
    moved.save()
    assert_kept(post, other)
    assert stored(other)[0] == 1

    Comment.objects.filter(pk=first.pk).update(deleted=None)  # undeleted by a moderator
    first.delete()  # and removed with its reply (a cascade)
    assert_kept(post)


def test_reactions_are_tallied_per_kind():
    author, readers = UserFactory(), [UserFactory() for _ in range(3)]
    post = PostFactory(author=author)
    for reader in readers:
        actions.react(post=post, user=reader, kind="like")
    actions.react(post=post, user=readers[0], kind="thanks")
    assert stored(post)[1] == {"like": 3, "thanks": 1}

    actions.unreact(post=post, user=readers[1], kind="like")
    Reaction.objects.filter(post=post, user=readers[2]).update(kind="insightful")
    assert_kept(post)
    assert stored(post)[1] == {"like": 1, "thanks": 1, "insightful": 1}

    get_user_model().objects.filter(pk=readers[0].pk).delete()  # their reactions cascade
    assert_kept(post)
    assert stored(post)[1] == {"insightful": 1}


def test_hashtags_follow_the_post_its_edits_and_the_tags_themselves():
    author = UserFactory()
    post = actions.create_post(author=author, body="Pilot #open-data and #Procurement")
    assert [t["name"] for t in stored(post)[2]] == ["open-data", "procurement"]

    actions.edit_post(post=post, editor=author, body="Now about #accessibility only")
    assert_kept(post)
    assert [t["name"] for t in stored(post)[2]] == ["accessibility"]

    other = PostFactory(author=author)
    tag = Hashtag.objects.get(name="accessibility")
    other.hashtags.set([tag, Hashtag.objects.create(name="wcag")])
    tag.name = "a11y"
    tag.save()  # renamed by a moderator: every post that carries it shows the new name
    assert_kept(post, other)
    assert [t["name"] for t in stored(other)[2]] == ["a11y", "wcag"]

    Hashtag.objects.filter(name="wcag").delete()
    other.hashtags.remove(tag)
    assert_kept(post, other)
    assert stored(other)[2] == []


def test_a_post_read_before_a_comment_does_not_write_its_old_count_back():
    author, reader = UserFactory(), UserFactory()
    post = actions.create_post(author=author, body="Anyone tried #pairing on audits?")
    stale = Post.objects.get(pk=post.pk)  # read now: no comment, no reaction
    actions.add_comment(post=post, author=reader, body="Yes")
    actions.react(post=post, user=reader, kind="like")

    stale.body = "Anyone tried #pairing on internal audits?"
    stale.save()  # every field but the tallies
    stale.edited = timezone.now()
    stale.save(update_fields=["edited", "comment_count", "reaction_tally"])
    assert_kept(post)
    assert stored(post)[:2] == (1, {"like": 1})
    assert Post.objects.get(pk=post.pk).body.endswith("internal audits?")


def test_a_feed_page_shows_the_kept_columns():
    author, reader = UserFactory(), UserFactory()
    post = actions.create_post(author=author, body="Results of the #pilot")
    actions.add_comment(post=post, author=reader, body="Thanks")
    actions.react(post=post, user=reader, kind="celebrate")
    page = selectors.posts_for_home(viewer=author)
    shown = next(p for p in page.items if p.pk == post.pk)
    assert shown.comment_count == 1
    assert {kind: n for kind, _label, n, _mine in shown.reaction_counts if n} == {"celebrate": 1}
    assert [tag.name for tag in selectors.related_list(shown, "hashtags")] == ["pilot"]
    row = next(r for r in selectors.posts_for_home(viewer=author, as_rows=True).items)
    assert (row.comment_count, row.reaction_tally, [t["name"] for t in row.tag_rows]) == (
        1,
        {"celebrate": 1},
        ["pilot"],
    )
