"""Row-level truth the models hold: constraints the database enforces, and small properties."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from feeds.models import Attachment, Comment, Hashtag, Mention, Post, Reaction
from groups.models import Group, Invitation, JoinRequest, Membership
from outbox.models import OutboxEvent
from profiles.models import Department, Follow
from tests.factories import (
    AgencyFactory,
    CommentFactory,
    DepartmentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def refused(make) -> None:
    """The database refuses the row `make` writes."""
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# --- profiles -------------------------------------------------------------------------------


def test_follow_once_and_never_oneself(user, other_user):
    """A follow edge exists once per pair, and never from someone to themselves."""
    Follow.objects.create(follower=user, followee=other_user)
    refused(lambda: Follow.objects.create(follower=user, followee=other_user))
    refused(lambda: Follow.objects.create(follower=user, followee=user))
    Follow.objects.create(follower=other_user, followee=user)
    assert Follow.objects.count() == 2


def test_department_names_are_unique_per_parent(agency):
    """Two departments of one agency under the same parent cannot share a name, at the top
    level too; other agencies and other parents may reuse it."""
    top = DepartmentFactory(agency=agency, name="Finance")
    refused(lambda: Department.objects.create(agency=agency, parent=None, name="Finance"))
    child = Department.objects.create(agency=agency, parent=top, name="Payroll")
    refused(lambda: Department.objects.create(agency=agency, parent=top, name="Payroll"))
    Department.objects.create(agency=agency, parent=child, name="Finance")
    Department.objects.create(agency=AgencyFactory(), parent=None, name="Finance")


def test_department_path_and_descendants(agency):
    """A department knows its path and the ids below it, and survives a cycle."""
    top = DepartmentFactory(agency=agency, name="Directorate")
    mid = DepartmentFactory(agency=agency, parent=top, name="Division")
    low = DepartmentFactory(agency=agency, parent=mid, name="Team")
    DepartmentFactory(agency=agency, name="Elsewhere")
    assert low.path == "Directorate › Division › Team"
    assert str(mid) == "Directorate › Division"
    assert top.descendant_ids() == {top.pk, mid.pk, low.pk}
    assert low.descendant_ids() == {low.pk}
    Department.objects.filter(pk=top.pk).update(parent=low)  # a bad import made a loop
    top.refresh_from_db()
    assert top.path.count("Directorate") == 1
    assert top.descendant_ids() == {top.pk, mid.pk, low.pk}


def test_profile_properties(user):
    """A profile shows its name, its username, its languages as a list, and its page."""
    profile = user.profile
    profile.languages = " English, French ,, "
    assert profile.language_list == ["English", "French"]
    assert profile.username == user.username
    assert str(profile) == profile.display_name
    assert profile.get_absolute_url() == f"/people/{user.username}/"


# --- groups ---------------------------------------------------------------------------------


def test_membership_once_per_group(user):
    """Someone is a member of a group once."""
    group = GroupFactory()
    MembershipFactory(group=group, user=user)
    refused(lambda: Membership.objects.create(group=group, user=user, role="admin"))


def test_one_pending_request_and_invitation_per_person(user):
    """One pending request and one pending invitation per person and group; decided ones may
    pile up."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    JoinRequest.objects.create(group=group, user=user)
    refused(lambda: JoinRequest.objects.create(group=group, user=user))
    JoinRequest.objects.filter(group=group, user=user).update(status="denied")
    JoinRequest.objects.create(group=group, user=user)
    Invitation.objects.create(group=group, invitee=user)
    refused(lambda: Invitation.objects.create(group=group, invitee=user))
    Invitation.objects.filter(group=group, invitee=user).update(status="declined")
    Invitation.objects.create(group=group, invitee=user)


def test_group_properties():
    """Kinds and roles answer their questions."""
    group = GroupFactory(kind=Group.Kind.SECRET, slug="x")
    assert group.is_secret and not group.is_open
    assert GroupFactory(kind=Group.Kind.OPEN).is_open
    assert group.get_absolute_url() == "/groups/x/"
    assert Membership(role="owner").is_manager and Membership(role="admin").is_manager
    assert not Membership(role="member").is_manager


# --- feeds ----------------------------------------------------------------------------------


def test_post_audience_constraints(user):
    """A group post has a group and only a group post has one; an agency post has an agency."""
    group = GroupFactory()
    refused(lambda: PostFactory(author=user, audience=Post.Audience.GROUP, group=None))
    refused(lambda: PostFactory(author=user, audience=Post.Audience.EVERYONE, group=group))
    refused(lambda: PostFactory(author=user, audience=Post.Audience.AGENCY, agency=None))
    PostFactory(author=user, audience=Post.Audience.GROUP, group=group)
    PostFactory(author=user, audience=Post.Audience.EVERYONE, agency=None)


def test_reactions_and_mentions_once(user, other_user):
    """One reaction per kind per person; one mention per person per post and per comment."""
    post = PostFactory(author=user)
    Reaction.objects.create(post=post, user=user, kind="like")
    refused(lambda: Reaction.objects.create(post=post, user=user, kind="like"))
    Reaction.objects.create(post=post, user=user, kind="thanks")
    Mention.objects.create(post=post, user=other_user)
    refused(lambda: Mention.objects.create(post=post, user=other_user))
    comment = CommentFactory(post=post)
    Mention.objects.create(post=post, comment=comment, user=other_user)
    refused(lambda: Mention.objects.create(post=post, comment=comment, user=other_user))


def test_hashtag_names_are_unique():
    """A hashtag exists once."""
    Hashtag.objects.create(name="budget")
    refused(lambda: Hashtag.objects.create(name="budget"))
    assert str(Hashtag.objects.get()) == "#budget"
    assert Hashtag.objects.get().get_absolute_url() == "/tags/budget/"


def test_ids_grow_with_time(user):
    """Later posts and comments get larger ids (the feeds' cursor relies on it)."""
    posts = [PostFactory(author=user) for _ in range(3)]
    assert [p.pk for p in posts] == sorted(p.pk for p in posts)
    assert list(Post.objects.all()) == list(reversed(posts)), "default order: newest first"
    comments = [CommentFactory(post=posts[0]) for _ in range(3)]
    assert list(Comment.objects.all()) == comments, "comments read oldest first"


def test_post_and_attachment_properties(user):
    """A post knows whether it is deleted and where it lives; an attachment likewise."""
    post = PostFactory(author=user)
    assert not post.is_deleted
    post.deleted = timezone.now()
    assert post.is_deleted
    assert post.get_absolute_url() == f"/posts/{post.pk}/"
    attachment = Attachment.objects.create(
        post=post, file="attachments/a.txt", kind="document", content_type="text/plain", size=1,
        original_name="a.txt",
    )  # fmt: skip
    assert str(attachment) == "a.txt"
    assert attachment.get_absolute_url() == f"/attachments/{attachment.pk}/"


def test_deleting_a_group_deletes_its_posts_but_authors_are_protected(user):
    """Group posts go with their group; an author with posts cannot be hard-deleted (they are
    deactivated instead)."""
    group = GroupFactory()
    PostFactory(author=user, audience=Post.Audience.GROUP, group=group)
    group.delete()
    assert not Post.objects.exists()
    PostFactory(author=user)
    refused(lambda: UserFactory._meta.model.objects.filter(pk=user.pk).delete())


def test_outbox_event_str():
    """An outbox row names its topic and object."""
    event = OutboxEvent(topic="post.created", object_id=5, available_at=timezone.now())
    assert str(event) == "post.created:5"
