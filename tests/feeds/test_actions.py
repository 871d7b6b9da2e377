"""Write paths for posts, comments and reactions: validation, permission, rows written, outbox
rows recorded, and nothing half-saved when an action refuses."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from PIL import Image

import permissions
from feeds import actions, selectors
from feeds.models import Attachment, Comment, Hashtag, Mention, Post, Reaction
from groups.models import Group, Membership
from outbox.models import OutboxEvent
from tests.factories import GroupFactory, MembershipFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def topics() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))


def counts() -> dict[str, int]:
    """Row counts of everything a feed action could write."""
    return {
        model.__name__: model.objects.count()
        for model in (Post, Comment, Reaction, Mention, Hashtag, Attachment, OutboxEvent)
    }


def png(name="photo.png", size=(4, 4)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def group_with(kind, **roles):
    group = GroupFactory(kind=kind)
    for role, person in roles.items():
        MembershipFactory(group=group, user=person, role=role)
    return group


# --- create_post: refusals --------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n\t ", None, "x" * 5001, " " + "x" * 5001])
def test_create_post_refuses_empty_or_long_bodies(user, body):
    """Empty, whitespace-only and over-5,000-character bodies write nothing."""
    before = counts()
    with pytest.raises(ValidationError) as exc:
        actions.create_post(author=user, body=body)
    assert "body" in exc.value.message_dict
    assert counts() == before


def test_create_post_accepts_exactly_the_limit(user):
    """5,000 characters (after trimming) is allowed."""
    post = actions.create_post(author=user, body="  " + "x" * 5000 + "  ")
    assert len(post.body) == 5000


def test_create_post_refuses_bad_audiences(user):
    """An unknown audience, a group audience without group, or a group with another audience
    writes nothing."""
    group = group_with(Group.Kind.OPEN, member=user)
    before = counts()
    for kwargs, field in [
        ({"audience": "friends"}, "audience"),
        ({"audience": Post.Audience.GROUP}, "group"),
        ({"audience": Post.Audience.EVERYONE, "group": group}, "group"),
    ]:
        with pytest.raises(ValidationError) as exc:
            actions.create_post(author=user, body="hello", **kwargs)
        assert field in exc.value.message_dict
    assert counts() == before


@pytest.mark.parametrize("kind", [Group.Kind.OPEN, Group.Kind.PRIVATE])
def test_non_members_cannot_post_in_a_group(user, kind):
    """Posting in a group one is not in is forbidden (403), even an open one."""
    group = group_with(kind, owner=UserFactory())
    before = counts()
    with pytest.raises(PermissionDenied):
        actions.create_post(author=user, body="hi", audience=Post.Audience.GROUP, group=group)
    assert counts() == before


def test_secret_group_outsider_gets_not_found(user):
    """Posting in a secret group one does not know is a 404, not a 403."""
    group = group_with(Group.Kind.SECRET, owner=UserFactory())
    before = counts()
    with pytest.raises(Http404):
        actions.create_post(author=user, body="hi", audience=Post.Audience.GROUP, group=group)
    assert counts() == before


def test_agency_audience_needs_an_agency():
    """Someone without an agency cannot post to an agency."""
    author = UserFactory(profile__agency=None)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        actions.create_post(author=author, body="hi", audience=Post.Audience.AGENCY)
    assert "audience" in exc.value.message_dict
    assert counts() == before


def test_announcements_are_for_site_staff(user):
    """A non-staff announcement is refused; staff cannot announce into a group."""
    before = counts()
    with pytest.raises(PermissionDenied):
        actions.create_post(author=user, body="Hear ye", is_announcement=True)
    staff = UserFactory(is_staff=True)
    group = group_with(Group.Kind.OPEN, member=staff)
    with pytest.raises(ValidationError):
        actions.create_post(
            author=staff,
            body="Hear ye",
            audience=Post.Audience.GROUP,
            group=group,
            is_announcement=True,
        )
    assert counts() == before
    post = actions.create_post(author=staff, body="Hear ye", is_announcement=True)
    assert post.is_announcement


def test_leavers_cannot_post(user):
    """A deactivated account writes nothing."""
    user.is_active = False
    with pytest.raises(PermissionDenied):
        actions.create_post(author=user, body="still here?")
    assert not Post.objects.exists()


# --- create_post: what it writes --------------------------------------------------------------


def test_create_post_writes_post_tags_mentions_and_event(user, other_user):
    """Hashtags and mentions become rows (once each); unknown and deactivated handles, and
    anything inside code, do not."""
    leaver = UserFactory(is_active=False)
    body = (
        f"Hello @{other_user.username} and @{other_user.username.upper()}, "
        f"@nobody_here, @{leaver.username}. #Budget #budget #santé "
        f"`#notatag @{leaver.username}` [#linked](https://example.org)\n\n"
        "```\n#fenced\n```"
    )
    post = actions.create_post(author=user, body=body)
    assert post.agency == user.profile.agency
    assert sorted(post.hashtags.values_list("name", flat=True)) == ["budget", "santé"]
    assert list(Mention.objects.filter(post=post).values_list("user", "comment")) == [
        (other_user.pk, None)
    ]
    assert 'class="hashtag"' in post.body_html and 'class="mention"' in post.body_html
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("post.created", post.pk)
    ]


def test_overlong_hashtags_do_not_break_the_post(user):
    """A very long #word makes no hashtag longer than the column allows (60)."""
    # Digits then a letter (no length cap in the pattern), a long word, and a word whose
    # lower-case form is longer than itself ("İ".lower() is two characters).
    body = f"#{'1' * 70}a #{'b' * 80} #{'İ' * 55}"
    post = actions.create_post(author=user, body=body)
    names = list(Hashtag.objects.values_list("name", flat=True))
    assert all(len(name) <= 60 for name in names), names
    assert Post.objects.filter(pk=post.pk).exists()


def test_group_post_for_members(user):
    """A member posts in the group; the group's members are the audience."""
    group = group_with(Group.Kind.SECRET, owner=user)
    post = actions.create_post(author=user, body="hi", audience=Post.Audience.GROUP, group=group)
    assert post.group == group
    outsider = UserFactory()
    assert not permissions.can_view_post(outsider, post)


def test_create_post_with_attachments(user):
    """Valid attachments are stored with their post, re-encoded, named as uploaded."""
    text = SimpleUploadedFile("notes.txt", b"Minutes of the meeting\n")
    post = actions.create_post(author=user, body="See attached", attachments=[png(), text])
    stored = list(post.attachments.order_by("id"))
    assert [(a.kind, a.content_type, a.original_name) for a in stored] == [
        ("image", "image/png", "photo.png"),
        ("document", "text/plain", "notes.txt"),
    ]
    with stored[1].file.open("rb") as handle:
        assert handle.read() == b"Minutes of the meeting\n"
    assert stored[1].size == len(b"Minutes of the meeting\n")
    assert topics() == ["post.created"]


def test_one_bad_attachment_saves_nothing(user, settings):
    """A good and a bad attachment together: no post, no attachment, no event, no file."""
    media = settings.MEDIA_ROOT
    bad = SimpleUploadedFile("report.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 120)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        actions.create_post(author=user, body="Two files", attachments=[png(), bad])
    assert "attachments" in exc.value.message_dict
    assert counts() == before
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_too_many_attachments(user, settings):
    """More attachments than allowed are refused as a whole."""
    settings.AGORA_MAX_ATTACHMENTS = 2
    before = counts()
    with pytest.raises(ValidationError):
        actions.create_post(author=user, body="Many", attachments=[png(), png(), png()])
    assert counts() == before


# --- edit and delete ------------------------------------------------------------------------


def test_edit_post_by_author(user, other_user):
    """The author edits: body, html, edited time, hashtags and mentions follow the new text."""
    post = actions.create_post(author=user, body="First #old @" + other_user.username)
    OutboxEvent.objects.all().delete()
    actions.edit_post(post=post, editor=user, body="Second #new")
    post.refresh_from_db()
    assert post.body == "Second #new"
    assert "#new" in post.body_html and "#old" not in post.body_html
    assert post.edited is not None
    assert list(post.hashtags.values_list("name", flat=True)) == ["new"]
    assert not Mention.objects.filter(post=post).exists()
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("post.updated", post.pk)
    ]


def test_edit_post_by_others(user, other_user, outsider):
    """Someone else gets 403; someone who cannot see it 404; staff cannot edit either."""
    post = actions.create_post(author=user, body="Mine", audience=Post.Audience.AGENCY)
    staff = UserFactory(is_staff=True, profile__agency=user.profile.agency)
    before = counts()
    with pytest.raises(PermissionDenied):
        actions.edit_post(post=post, editor=other_user, body="Yours")
    with pytest.raises(PermissionDenied):
        actions.edit_post(post=post, editor=staff, body="Staff's")
    with pytest.raises(Http404):
        actions.edit_post(post=post, editor=outsider, body="Found it")
    with pytest.raises(ValidationError):
        actions.edit_post(post=post, editor=user, body="  ")
    assert counts() == before
    post.refresh_from_db()
    assert (post.body, post.edited) == ("Mine", None)


def test_delete_post_is_soft_and_hides_it_everywhere(user, other_user):
    """The author deletes: the row stays, marked; it is gone from every read path."""
    group = group_with(Group.Kind.OPEN, owner=user, member=other_user)
    post = actions.create_post(
        author=user,
        body="Going away #gone",
        audience=Post.Audience.GROUP,
        group=group,
        attachments=[png()],
    )
    comment = actions.add_comment(post=post, author=other_user, body="Bye")
    OutboxEvent.objects.all().delete()
    actions.delete_post(post=post, actor=user)
    stored = Post.objects.get(pk=post.pk)
    assert stored.deleted is not None and stored.deleted_by == user
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("post.deleted", post.pk)
    ]
    for viewer in (user, other_user):
        assert selectors.post_get(viewer=viewer, post_id=post.pk) is None
        assert not selectors.posts_for_home(viewer=viewer).items
        assert not selectors.posts_for_group(viewer=viewer, group=group).items
        assert not selectors.posts_for_profile(viewer=viewer, author=user).items
        assert not selectors.posts_for_hashtag(viewer=viewer, tag="gone").items
        assert selectors.comment_get(viewer=viewer, comment_id=comment.pk) is None
        attachment = stored.attachments.get()
        assert selectors.attachment_get(viewer=viewer, attachment_id=attachment.pk) is None
    assert selectors.trending_hashtags(viewer=user) == []
    with pytest.raises(Http404):
        actions.delete_post(post=stored, actor=user)


def test_delete_post_by_moderators(user, other_user):
    """A group admin and site staff may delete; a plain member may not."""
    admin, staff = UserFactory(), UserFactory(is_staff=True)
    group = group_with(Group.Kind.OPEN, owner=user, admin=admin, member=other_user)
    first = actions.create_post(author=user, body="1", audience=Post.Audience.GROUP, group=group)
    second = actions.create_post(author=user, body="2", audience=Post.Audience.GROUP, group=group)
    before = counts()
    with pytest.raises(PermissionDenied):
        actions.delete_post(post=first, actor=other_user)
    assert counts() == before
    assert Post.objects.get(pk=first.pk).deleted is None
    actions.delete_post(post=first, actor=admin)
    actions.delete_post(post=second, actor=staff)
    assert Post.objects.filter(deleted__isnull=False).count() == 2


# --- comments -------------------------------------------------------------------------------


def test_comments_have_one_level_of_replies(user, other_user):
    """A reply to a reply joins the top comment's thread."""
    post = actions.create_post(author=user, body="Discuss")
    top = actions.add_comment(post=post, author=other_user, body="Top")
    reply = actions.add_comment(post=post, author=user, body="Reply", parent=top)
    deeper = actions.add_comment(post=post, author=other_user, body="Deeper", parent=reply)
    assert reply.parent == top
    assert deeper.parent == top
    thread = selectors.comments_for_post(viewer=user, post=post)
    assert [c.pk for c in thread] == [top.pk]
    assert [c.pk for c in thread[0].thread_replies] == [reply.pk, deeper.pk]


def test_add_comment_writes_mentions_and_event(user, other_user):
    """A comment's mentions are rows tied to the comment; comment.created names the post."""
    post = actions.create_post(author=user, body="Discuss")
    OutboxEvent.objects.all().delete()
    comment = actions.add_comment(post=post, author=user, body=f"cc @{other_user.username}")
    assert list(Mention.objects.values_list("post", "comment", "user")) == [
        (post.pk, comment.pk, other_user.pk)
    ]
    assert list(OutboxEvent.objects.values_list("topic", "object_id", "payload")) == [
        ("comment.created", comment.pk, {"post": post.pk})
    ]


def test_add_comment_refusals(user, other_user, outsider):
    """Invisible post: 404; empty body, a parent from another post or a deleted parent: refused;
    nothing is written."""
    post = actions.create_post(author=user, body="Agency only", audience=Post.Audience.AGENCY)
    elsewhere = actions.add_comment(
        post=actions.create_post(author=user, body="Other"), author=user, body="x"
    )
    gone = actions.add_comment(post=post, author=user, body="gone")
    actions.delete_comment(comment=gone, actor=user)
    before = counts()
    with pytest.raises(Http404):
        actions.add_comment(post=post, author=outsider, body="Let me in")
    with pytest.raises(ValidationError):
        actions.add_comment(post=post, author=other_user, body="  ")
    with pytest.raises(ValidationError):
        actions.add_comment(post=post, author=other_user, body="x", parent=elsewhere)
    with pytest.raises(ValidationError):
        actions.add_comment(post=post, author=other_user, body="x", parent=gone)
    assert counts() == before


def test_delete_comment(user, other_user):
    """The author or a moderator deletes a comment; someone else may not."""
    post = actions.create_post(author=user, body="Discuss")
    comment = actions.add_comment(post=post, author=other_user, body="Hmm")
    stranger = UserFactory()
    with pytest.raises(PermissionDenied):
        actions.delete_comment(comment=comment, actor=stranger)
    OutboxEvent.objects.all().delete()
    actions.delete_comment(comment=comment, actor=other_user)
    assert Comment.objects.get(pk=comment.pk).deleted is not None
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("comment.deleted", {"post": post.pk})
    ]
    assert selectors.comments_for_post(viewer=user, post=post) == []
    other = actions.add_comment(post=post, author=other_user, body="Again")
    actions.delete_comment(comment=other, actor=UserFactory(is_staff=True))
    with pytest.raises(Http404):
        actions.delete_comment(comment=Comment.objects.get(pk=other.pk), actor=other_user)


# --- reactions ------------------------------------------------------------------------------


def test_react_and_unreact_are_idempotent(user, other_user):
    """Reacting twice makes one row and one event; unreacting twice removes it once."""
    post = actions.create_post(author=user, body="Nice")
    OutboxEvent.objects.all().delete()
    assert actions.react(post=post, user=other_user, kind="like") is True
    assert actions.react(post=post, user=other_user, kind="like") is False
    assert actions.react(post=post, user=other_user, kind="thanks") is True
    assert Reaction.objects.filter(post=post).count() == 2
    assert actions.unreact(post=post, user=other_user, kind="like") is True
    assert actions.unreact(post=post, user=other_user, kind="like") is False
    assert list(Reaction.objects.values_list("kind", flat=True)) == ["thanks"]
    assert topics() == ["reaction.changed"] * 3


def test_react_refusals(user, outsider):
    """An unknown kind is refused; a post one cannot see is a 404."""
    post = actions.create_post(author=user, body="Ours", audience=Post.Audience.AGENCY)
    before = counts()
    with pytest.raises(ValidationError):
        actions.react(post=post, user=user, kind="angry")
    with pytest.raises(ValidationError):
        actions.unreact(post=post, user=user, kind="angry")
    with pytest.raises(Http404):
        actions.react(post=post, user=outsider, kind="like")
    with pytest.raises(Http404):
        actions.unreact(post=post, user=outsider, kind="like")
    assert counts() == before


def test_group_member_can_post_and_moderate_after_promotion(user, other_user):
    """A member's post is deletable by the group owner, not by the member's peers."""
    group = group_with(Group.Kind.PRIVATE, owner=user, member=other_user)
    post = actions.create_post(
        author=other_user, body="Mine", audience=Post.Audience.GROUP, group=group
    )
    peer = UserFactory()
    MembershipFactory(group=group, user=peer, role=Membership.Role.MEMBER)
    with pytest.raises(PermissionDenied):
        actions.delete_post(post=post, actor=peer)
    actions.delete_post(post=post, actor=user)
    assert Post.objects.get(pk=post.pk).deleted_by == user


def test_posts_for_home_includes_a_new_post(user):
    """A post made through the action appears first in its author's home feed."""
    older = PostFactory(author=user)
    post = actions.create_post(author=user, body="Fresh")
    assert [p.pk for p in selectors.posts_for_home(viewer=user).items] == [post.pk, older.pk]
