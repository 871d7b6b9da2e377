"""The publishing side (feeds.realtime): one message per event, to the stream that may see it.

docs/events.md documents each message; each has a test here. The outage tests swap in a
channel layer that fails, and check that writes still succeed and the failure is logged once.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from feeds import actions as feed_actions
from feeds import realtime
from groups import actions as group_actions
from groups.models import Group
from outbox.actions import record_event
from profiles import actions as profile_actions
from tests.factories import AgencyFactory, GroupFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_memory_layer")]


def texts(message: dict) -> dict[str, dict]:
    """The JSON each socket receives, per language, decoded."""
    return {lang: json.loads(text) for lang, text in message["text"].items()}


@pytest.fixture
def ana(agency):
    return UserFactory(profile__agency=agency)


@pytest.fixture
def private_group(ana):
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=ana, role="owner")
    return group


def test_post_created_goes_to_the_posts_stream_with_its_card(ana, settings):
    """`post.created`: meta for the page filter, and per language {kind, op, id, cursor, html}."""
    post = feed_actions.create_post(author=ana, body="Hello #world")
    message = realtime.build_message("post.created", post.pk)
    assert message["type"] == "live.event" and message["stream"] == "everyone"
    assert message["meta"] == {
        "event": "post.new",
        "post": post.pk,
        "author": ana.pk,
        "group": None,
        "announcement": False,
    }
    assert set(message["text"]) == {code for code, _name in settings.LANGUAGES}
    data = texts(message)["en"]
    assert (data["kind"], data["op"], data["id"]) == ("post", "add", post.pk)
    assert data["cursor"] and data["html"].startswith('<article class="post-card"')
    assert "Hello" in data["html"] and "csrfmiddlewaretoken" not in data["html"]


@pytest.mark.parametrize("audience", ["everyone", "agency", "group"])
def test_the_card_of_a_post_just_written_is_the_card_read_back(ana, private_group, audience):
    """create_post hands the publisher the post it wrote: the message is the same as one
    built by reading the post back (hashtags, attachments, badges, counts)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), "teal").save(out, format="PNG")
    files = [
        SimpleUploadedFile("a.png", out.getvalue(), content_type="image/png"),
        SimpleUploadedFile("notes.txt", b"Agenda", content_type="text/plain"),
    ]
    post = feed_actions.create_post(
        author=ana,
        body="Budget #Zeta #alpha **now**",
        audience=audience,
        group=private_group if audience == "group" else None,
        attachments=files,
    )
    as_written = realtime.build_message("post.created", post.pk, instance=post)
    read_back = realtime.build_message("post.created", post.pk)
    assert as_written == read_back
    html = texts(as_written)["en"]["html"]
    assert "#alpha" in html and "notes.txt" in html


@pytest.mark.parametrize(
    ("kind", "stream"), [("open", "everyone"), ("private", "group"), ("secret", "group")]
)
def test_a_group_posts_stream_follows_the_group_kind(ana, kind, stream):
    group = GroupFactory(kind=kind)
    MembershipFactory(group=group, user=ana)
    post = feed_actions.create_post(author=ana, body="In a group", audience="group", group=group)
    expected = "everyone" if stream == "everyone" else f"group-{group.pk}"
    assert realtime.build_message("post.created", post.pk)["stream"] == expected


def test_an_agency_posts_stream_is_its_agency(ana, agency):
    post = feed_actions.create_post(author=ana, body="Agency news", audience="agency")
    assert realtime.build_message("post.created", post.pk)["stream"] == f"agency-{agency.pk}"


def test_post_updated_carries_the_new_card(ana):
    post = feed_actions.create_post(author=ana, body="v1")
    feed_actions.edit_post(post=post, editor=ana, body="v2 edited")
    message = realtime.build_message("post.updated", post.pk)
    assert message["meta"] == {"event": "post.change", "post": post.pk}
    data = texts(message)["en"]
    assert (data["op"], data["id"]) == ("update", post.pk) and "v2 edited" in data["html"]


def test_post_deleted_tells_the_stream_that_saw_it_and_carries_no_content(ana, private_group):
    post = feed_actions.create_post(
        author=ana, body="secret plan", audience="group", group=private_group
    )
    feed_actions.delete_post(post=post, actor=ana)
    message = realtime.build_message("post.deleted", post.pk)
    assert message["stream"] == f"group-{private_group.pk}"
    assert texts(message)["en"] == {"kind": "post", "op": "delete", "id": post.pk}
    assert realtime.build_message("post.created", post.pk) is None  # deleted: no card anywhere


def test_comment_created_and_deleted(ana):
    post = feed_actions.create_post(author=ana, body="Post")
    comment = feed_actions.add_comment(post=post, author=ana, body="A *comment*")
    data = texts(realtime.build_message("comment.created", comment.pk))
    assert data["en"]["count_label"] == "1 comment"
    assert data["en"]["html"].startswith(f'<li data-comment-thread="{comment.pk}">')
    assert "<em>comment</em>" in data["en"]["html"]
    feed_actions.delete_comment(comment=comment, actor=ana)
    message = realtime.build_message("comment.deleted", comment.pk)
    assert message["meta"] == {"event": "post.change", "post": post.pk}
    data = texts(message)["en"]
    assert (data["op"], data["count"], data["count_label"]) == ("delete", 0, "0 comments")
    assert "html" not in data
    assert realtime.build_message("comment.created", comment.pk) is None  # deleted meanwhile


def test_reaction_changed_carries_counts(ana, other_user):
    post = feed_actions.create_post(author=ana, body="Post")
    feed_actions.react(post=post, user=ana, kind="like")
    feed_actions.react(post=post, user=other_user, kind="like")
    feed_actions.react(post=post, user=other_user, kind="thanks")
    data = texts(realtime.build_message("reaction.changed", post.pk))["en"]
    assert data["counts"]["like"] == 2 and data["counts"]["thanks"] == 1 and data["total"] == 3


def test_membership_follow_and_profile_changes_send_the_persons_new_state(ana, private_group):
    """`membership.changed`, `follow.created`, `follow.deleted`, `profile.updated`: the
    person's streams and home-feed sets, to their own stream."""
    bob = UserFactory()
    group_actions.invite(group=private_group, inviter=ana, invitee=bob)
    group_actions.join_group(group=private_group, user=bob)
    message = realtime.build_message("membership.changed", private_group.pk, {"user": bob.pk})
    assert message["type"] == "live.state" and message["stream"] == f"user-{bob.pk}"
    assert f"group-{private_group.pk}" in message["state"]["streams"]
    assert message["state"]["groups"] == [private_group.pk]

    profile_actions.follow(follower=bob, followee=ana)
    follow_id = bob.following_edges.get().pk
    assert realtime.build_message("follow.created", follow_id)["state"]["follows"] == [ana.pk]
    profile_actions.unfollow(follower=bob, followee=ana)
    state = realtime.build_message("follow.deleted", ana.pk, {"follower": bob.pk})["state"]
    assert state["follows"] == []

    new_agency = AgencyFactory()
    bob.profile.agency = new_agency
    bob.profile.save()
    state = realtime.build_message("profile.updated", bob.profile.pk)["state"]
    assert f"agency-{new_agency.pk}" in state["streams"]


def test_user_deactivated_sends_an_empty_state(ana):
    """`user.deactivated`: no streams at all, which closes the person's sockets."""
    profile_actions.deactivate_user(ana)
    message = realtime.build_message("user.deactivated", ana.pk)
    assert message["stream"] == f"user-{ana.pk}" and message["state"]["streams"] == []


def test_other_topics_publish_nothing(ana):
    assert realtime.build_message("group.updated", 1) is None
    assert realtime.build_message("invitation.created", 1) is None


def test_every_recorded_event_reaches_the_publisher_after_commit(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    """record_event hands (topic, id, payload) to REALTIME_PUBLISHER once the commit is done,
    and not at all when it is turned off."""
    calls = []
    monkeypatch.setattr(realtime, "publish_event", lambda *args: calls.append(args))
    settings.REALTIME_PUBLISHER = "feeds.realtime.publish_event"
    with django_capture_on_commit_callbacks(execute=True):
        record_event(topic="comment.created", object_id=7, payload={"post": 3})
        assert calls == []
    assert calls == [("comment.created", 7, {"post": 3})]
    settings.REALTIME_PUBLISHER = None
    with django_capture_on_commit_callbacks(execute=True):
        record_event(topic="post.created", object_id=8)
    assert len(calls) == 1


class BrokenLayer:
    """A channel layer whose Redis is gone."""

    def __init__(self):
        self.sent = []
        self.broken = True

    async def group_send(self, group, message):
        if self.broken:
            raise ConnectionError("Connection refused")
        self.sent.append((group, message))


def test_a_dead_channel_layer_never_fails_a_write_and_is_logged_once(
    ana, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """Three posts while the layer is down: all saved, one warning. When it answers again:
    one more line, and every page is told to catch up."""
    layer = BrokenLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(realtime, "_probe", lambda: None)
    caplog.set_level(logging.WARNING, logger="feeds.realtime")
    posts = []
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            posts.append(feed_actions.create_post(author=ana, body=f"during the outage {n}"))
    assert all(post.pk for post in posts)
    warnings = [r for r in caplog.records if r.name == "feeds.realtime"]
    assert len(warnings) == 1 and "not being delivered" in warnings[0].getMessage()

    layer.broken = False
    with django_capture_on_commit_callbacks(execute=True):
        after = feed_actions.create_post(author=ana, body="after the outage")
    warnings = [r for r in caplog.records if r.name == "feeds.realtime"]
    assert len(warnings) == 2 and "delivered again" in warnings[1].getMessage()
    groups = [group for group, _message in layer.sent]
    assert groups == ["live.everyone", "live.everyone"]
    assert [message["type"] for _group, message in layer.sent] == ["live.event", "live.sync"]
    assert layer.sent[0][1]["meta"]["post"] == after.pk


class CancellingLayer(BrokenLayer):
    """A channel layer whose send is cancelled under it (its connection closed mid-command)."""

    async def group_send(self, group, message):
        raise asyncio.CancelledError


def test_a_send_cancelled_under_it_never_fails_a_write(
    ana, monkeypatch, django_capture_on_commit_callbacks
):
    """asyncio.CancelledError is not an Exception: a send cancelled under it fails the send
    (logged as an outage), not the post that published it."""
    layer = CancellingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(realtime, "_probe", lambda: None)
    with django_capture_on_commit_callbacks(execute=True):
        post = feed_actions.create_post(author=ana, body="while a send is cancelled")
    assert type(post).objects.filter(pk=post.pk).exists()
    assert realtime.send("everyone", {"type": "live.sync"}) is False


def test_a_redis_that_makes_us_wait_pauses_sending_for_a_moment(ana, monkeypatch):
    """After a slow failure, posts do not each wait for a dead Redis: sends pause briefly.
    (A Redis that refuses at once costs nothing: every post tries, as above.)"""
    layer = BrokenLayer()
    attempts = []
    original = layer.group_send

    async def counting(group, message):
        attempts.append(group)
        await asyncio.sleep(realtime.SLOW_FAILURE * 1.5)
        await original(group, message)

    layer.group_send = counting
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(realtime, "_probe", lambda: None)
    assert realtime.send("everyone", {"type": "live.sync"}) is False
    assert realtime.send("everyone", {"type": "live.sync"}) is False
    assert len(attempts) == 1


def test_a_rendering_bug_is_logged_not_raised(ana, monkeypatch, caplog):
    post = feed_actions.create_post(author=ana, body="Post")

    def broken(post):
        raise RuntimeError("template bug")

    monkeypatch.setattr(realtime, "render_post_card", broken)
    assert realtime.publish_event("post.created", post.pk) is False
    assert "Could not build the live message" in caplog.text
