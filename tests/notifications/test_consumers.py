"""Which events tell whom what: one test per kind, grouping, idempotence, and permission.

Nobody is told about a post they may not see: every notification about a post or a comment
goes only to people in `permissions.post_audience(post)`.
"""

import pytest
from django.utils import timezone

from feeds import actions as feed_actions
from feeds.models import Post
from groups import actions as group_actions
from groups.models import Group, Membership
from notifications.consumers import handle_event
from notifications.messages import describe
from notifications.models import Kind, Notification
from outbox.models import OutboxEvent
from profiles import actions as profile_actions
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def notes(user, **filters):
    return list(Notification.objects.filter(recipient=user, **filters))


# --- mentions ---------------------------------------------------------------------------------


def test_a_mention_in_a_post_tells_the_person_mentioned(user, other_user, deliver):
    """@handle in a post: one notification, linking to the post; the author hears nothing."""
    post = feed_actions.create_post(author=user, body=f"Thoughts, @{other_user.username}?")
    deliver()
    [note] = notes(other_user)
    assert note.kind == Kind.MENTION
    assert note.post == post and note.actor == user
    assert note.url == post.get_absolute_url()
    assert notes(user) == []


def test_editing_a_post_does_not_mention_someone_twice(user, other_user, deliver):
    post = feed_actions.create_post(author=user, body=f"Hi @{other_user.username}")
    deliver()
    feed_actions.edit_post(post=post, editor=user, body=f"Hello @{other_user.username}!")
    deliver()
    assert len(notes(other_user)) == 1


def test_a_mention_inside_a_secret_group_tells_nobody_outside_it(user, other_user, deliver):
    """The mentioned person is not in the secret group: no notification, nothing leaks."""
    secret = GroupFactory(kind=Group.Kind.SECRET)
    MembershipFactory(group=secret, user=user)
    post = feed_actions.create_post(
        author=user, body=f"@{other_user.username} look", audience="group", group=secret
    )
    feed_actions.add_comment(post=post, author=user, body=f"@{other_user.username} again")
    deliver()
    assert notes(other_user) == []
    assert Notification.objects.count() == 0


def test_a_mention_in_a_private_group_reaches_members(user, other_user, deliver):
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=user)
    MembershipFactory(group=private, user=other_user)
    feed_actions.create_post(
        author=user, body=f"@{other_user.username} look", audience="group", group=private
    )
    deliver()
    assert [n.kind for n in notes(other_user)] == [Kind.MENTION]


def test_a_mention_in_an_agency_post_reaches_only_that_agency(user, outsider, deliver):
    feed_actions.create_post(author=user, body=f"@{outsider.username} hi", audience="agency")
    deliver()
    assert notes(outsider) == []


# --- comments and replies ---------------------------------------------------------------------


def test_a_comment_tells_the_post_author_and_a_reply_tells_the_comment_author(deliver, agency):
    author, first, second = (UserFactory(profile__agency=agency) for _ in range(3))
    post = feed_actions.create_post(author=author, body="A question")
    comment = feed_actions.add_comment(post=post, author=first, body="An answer")
    deliver()
    [note] = notes(author)
    assert note.kind == Kind.COMMENT and note.comment == comment
    assert note.url == f"{post.get_absolute_url()}#comment-{comment.pk}"
    reply = feed_actions.add_comment(post=post, author=second, body="Agreed", parent=comment)
    deliver()
    assert [n.kind for n in notes(first)] == [Kind.REPLY]
    assert {n.kind for n in notes(author, comment=reply)} == {Kind.COMMENT}


def test_commenting_on_ones_own_post_tells_nobody(user, deliver):
    post = feed_actions.create_post(author=user, body="Note to self")
    feed_actions.add_comment(post=post, author=user, body="And another")
    deliver()
    assert Notification.objects.count() == 0


def test_a_mention_in_a_comment_wins_over_the_comment_notice(user, other_user, deliver):
    """The post's author mentioned in a comment gets one notification, the mention."""
    post = feed_actions.create_post(author=user, body="Plan")
    feed_actions.add_comment(post=post, author=other_user, body=f"@{user.username} see this")
    deliver()
    assert [n.kind for n in notes(user)] == [Kind.MENTION]


def test_a_comment_on_a_private_group_post_skips_an_author_who_left(user, other_user, deliver):
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=user, role=Membership.Role.OWNER)
    MembershipFactory(group=private, user=other_user)
    post = feed_actions.create_post(author=other_user, body="x", audience="group", group=private)
    group_actions.leave_group(group=private, user=other_user)
    feed_actions.add_comment(post=post, author=user, body="A reply they may not read")
    deliver()
    assert notes(other_user) == []


# --- reactions, grouped -----------------------------------------------------------------------


def test_reactions_group_into_one_notification_per_post(user, agency, deliver):
    post = feed_actions.create_post(author=user, body="Good news")
    people = [UserFactory(profile__agency=agency, profile__display_name=f"P{i}") for i in range(5)]
    for person in people:
        feed_actions.react(post=post, user=person, kind="like")
    feed_actions.react(post=post, user=people[0], kind="thanks")  # two kinds, one person
    feed_actions.react(post=post, user=user, kind="like")  # one's own: not counted
    deliver()
    [note] = notes(user)
    assert note.kind == Kind.REACTION and note.actor_count == 5
    assert describe(note) == f"{note.actor.profile.display_name} and 4 others reacted to your post"


def test_a_new_reaction_after_reading_makes_it_unread_again(user, agency, deliver):
    post = feed_actions.create_post(author=user, body="Good news")
    first, second = UserFactory(profile__agency=agency), UserFactory(profile__agency=agency)
    feed_actions.react(post=post, user=first, kind="like")
    deliver()
    Notification.objects.filter(recipient=user).update(read_at=timezone.now())
    feed_actions.react(post=post, user=second, kind="like")
    deliver()
    [note] = notes(user)
    assert note.read_at is None and note.actor == second and note.actor_count == 2


def test_withdrawn_reactions_shrink_then_remove_the_notification(user, agency, deliver):
    post = feed_actions.create_post(author=user, body="Good news")
    first, second = UserFactory(profile__agency=agency), UserFactory(profile__agency=agency)
    feed_actions.react(post=post, user=first, kind="like")
    feed_actions.react(post=post, user=second, kind="like")
    deliver()
    feed_actions.unreact(post=post, user=second, kind="like")
    deliver()
    assert notes(user)[0].actor_count == 1
    feed_actions.unreact(post=post, user=first, kind="like")
    deliver()
    assert notes(user) == []


# --- people and groups ------------------------------------------------------------------------


def test_a_new_follower_is_announced_once(user, other_user, deliver):
    profile_actions.follow(follower=other_user, followee=user)
    profile_actions.unfollow(follower=other_user, followee=user)
    profile_actions.follow(follower=other_user, followee=user)
    deliver()
    [note] = notes(user)
    assert note.kind == Kind.FOLLOW and note.actor == other_user
    assert note.url == f"/people/{other_user.username}/"


def test_an_invitation_to_a_secret_group_tells_the_invitee(user, other_user, deliver):
    secret = GroupFactory(kind=Group.Kind.SECRET)
    MembershipFactory(group=secret, user=user, role=Membership.Role.OWNER)
    group_actions.invite(group=secret, inviter=user, invitee=other_user)
    deliver()
    [note] = notes(other_user)
    assert note.kind == Kind.INVITATION and note.group == secret
    assert describe(note) == f"{user.profile.display_name} invited you to join {secret.name}"


def test_a_join_request_tells_the_managers_and_the_answer_tells_the_asker(agency, deliver):
    owner, admin, member, asker = (UserFactory(profile__agency=agency) for _ in range(4))
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=owner, role=Membership.Role.OWNER)
    MembershipFactory(group=private, user=admin, role=Membership.Role.ADMIN)
    MembershipFactory(group=private, user=member)
    join_request = group_actions.request_to_join(group=private, user=asker, message="Please")
    deliver()
    assert [n.kind for n in notes(owner)] == [Kind.JOIN_REQUEST]
    assert [n.kind for n in notes(admin)] == [Kind.JOIN_REQUEST]
    assert notes(member) == []
    group_actions.decide_join_request(join_request=join_request, actor=owner, approve=True)
    deliver()
    [answer] = notes(asker)
    assert answer.kind == Kind.JOIN_DECISION and answer.extra == {"approved": True}
    assert describe(answer) == f"Your request to join {private.name} was approved"
    assert all(n.read_at is not None for n in notes(admin))  # decided: nothing left to do


def test_news_for_an_agency_tells_that_agencys_staff(agency, outsider, deliver):
    editor = UserFactory(profile__agency=agency, is_staff=True)
    colleague = UserFactory(profile__agency=agency)
    post = feed_actions.create_post(
        author=editor, body="**News**", audience="agency", is_announcement=True
    )
    OutboxEvent.objects.create(
        topic="news.published",
        object_id=post.pk,
        payload={"url": "/intranet/news/", "title": "News", "lead": "Read on"},
        available_at=timezone.now(),
    )
    deliver()
    [note] = notes(colleague)
    assert note.kind == Kind.NEWS and note.url == "/intranet/news/"
    assert describe(note) == "News: News"
    assert notes(outsider) == [] and notes(editor) == []


# --- consistency ------------------------------------------------------------------------------


def test_handling_an_event_twice_writes_nothing_new(user, other_user, deliver):
    """Consumers are retried: the same event twice leaves the same notifications."""
    post = feed_actions.create_post(author=user, body=f"@{other_user.username}")
    event = OutboxEvent(topic="post.created", object_id=post.pk, payload={})
    handle_event(event)
    handle_event(event)
    assert Notification.objects.count() == 1


def test_a_deleted_post_takes_its_notifications_with_it(user, other_user, deliver):
    post = feed_actions.create_post(author=user, body=f"@{other_user.username}")
    comment = feed_actions.add_comment(post=post, author=other_user, body="ok")
    deliver()
    assert Notification.objects.count() == 2
    feed_actions.delete_comment(comment=comment, actor=other_user)
    deliver()
    assert notes(user) == []
    feed_actions.delete_post(post=post, actor=user)
    deliver()
    assert Notification.objects.count() == 0


def test_leaving_a_private_group_removes_what_one_may_no_longer_see(user, other_user, deliver):
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=user, role=Membership.Role.OWNER)
    MembershipFactory(group=private, user=other_user)
    post = feed_actions.create_post(author=other_user, body="mine", audience="group", group=private)
    feed_actions.add_comment(post=post, author=user, body="a comment")
    deliver()
    assert len(notes(other_user)) == 1
    group_actions.leave_group(group=private, user=other_user)
    deliver()
    assert notes(other_user) == []


def test_unknown_events_are_ignored():
    handle_event(OutboxEvent(topic="something.new", object_id=1, payload={}))
    handle_event(OutboxEvent(topic="post.created", object_id=999_999, payload={}))
    assert Notification.objects.count() == 0


def test_a_deleted_post_is_never_a_reason_to_notify(user, other_user):
    post = feed_actions.create_post(author=user, body=f"@{other_user.username}")
    Post.objects.filter(pk=post.pk).update(deleted=timezone.now())
    handle_event(OutboxEvent(topic="post.created", object_id=post.pk, payload={}))
    assert Notification.objects.count() == 0
