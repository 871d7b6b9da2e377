"""The live socket (feeds.consumers.LiveConsumer) with Channels' communicator, in-memory layer.

Each test writes through the real actions in a real transaction, so events are published by
the on-commit hook exactly as in production. "Gets nothing" is checked only after a socket
that should receive the same message has received it: the hub delivers one message to all
its sockets in one pass, so a short quiet period then proves the other got nothing.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from feeds import actions as feed_actions
from feeds.consumers import LiveConsumer
from feeds.models import Post
from groups import actions as group_actions
from groups.models import Group
from profiles import actions as profile_actions
from tests.factories import AgencyFactory, GroupFactory, MembershipFactory, UserFactory

from .conftest import next_event, nothing_for, open_socket, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]

db = database_sync_to_async


@pytest.fixture
def world():
    """Ana (agency A) owns a private and a secret group; Bob (agency B) is in both; Carl
    (agency B) is in neither; Dora (agency A) follows Ana."""
    agency_a, agency_b = AgencyFactory(), AgencyFactory()
    ana = UserFactory(username="ana", profile__agency=agency_a)
    bob = UserFactory(username="bob", profile__agency=agency_b)
    carl = UserFactory(username="carl", profile__agency=agency_b)
    dora = UserFactory(username="dora", profile__agency=agency_a)
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    secret = GroupFactory(kind=Group.Kind.SECRET)
    for group in (private, secret):
        MembershipFactory(group=group, user=ana, role="owner")
        MembershipFactory(group=group, user=bob)
    profile_actions.follow(follower=dora, followee=ana)
    return {
        "ana": ana,
        "bob": bob,
        "carl": carl,
        "dora": dora,
        "private": private,
        "secret": secret,
    }


def test_anonymous_and_deactivated_people_are_refused_at_connect(world):
    """No session, or a deactivated account: the handshake is refused."""
    world["carl"].is_active = False
    world["carl"].save()

    async def body():
        for user in (AnonymousUser(), world["carl"]):
            communicator = _communicator(user)
            connected, _code = await communicator.connect(timeout=3)
            assert not connected, f"{user} was let in"

    run(body)


@pytest.mark.parametrize("kind", ["private", "secret"])
def test_a_group_post_reaches_its_members_and_nobody_else(world, kind):
    """Members' home sockets get the post with its card; a non-member's socket gets nothing,
    even on the author's profile page, where it would belong if it could be seen."""
    ana, bob, carl = world["ana"], world["bob"], world["carl"]

    async def body():
        bob_home = await open_socket(bob)
        carl_home = await open_socket(carl)
        carl_profile = await open_socket(carl, feed=f"profile:{ana.pk}")
        post = await db(feed_actions.create_post)(
            author=ana, body="Figures for review", audience="group", group=world[kind]
        )
        event = await next_event(bob_home)
        assert event["kind"] == "post" and event["op"] == "add" and event["id"] == post.pk
        assert event["cursor"]
        assert f'id="post-{post.pk}"' in event["html"] and "Figures for review" in event["html"]
        assert await nothing_for(carl_home)
        assert await nothing_for(carl_profile)
        for socket in (bob_home, carl_home, carl_profile):
            await socket.disconnect()

    run(body)


def test_an_agency_post_stays_in_its_agency(world):
    """On Ana's profile page: Dora (her agency) gets her agency post; Bob (another) does not."""
    ana, bob, dora = world["ana"], world["bob"], world["dora"]

    async def body():
        dora_page = await open_socket(dora, feed=f"profile:{ana.pk}")
        bob_page = await open_socket(bob, feed=f"profile:{ana.pk}")
        post = await db(feed_actions.create_post)(author=ana, body="Agency only", audience="agency")
        assert (await next_event(dora_page))["id"] == post.pk
        assert await nothing_for(bob_page)
        await dora_page.disconnect()
        await bob_page.disconnect()

    run(body)


def test_each_page_takes_the_posts_that_belong_on_it(world):
    """A post for everyone: on the home of a follower and on the author's profile page, not on
    the home of someone who does not follow the author, nor on a group page."""
    ana, bob, dora = world["ana"], world["bob"], world["dora"]

    async def body():
        dora_home = await open_socket(dora)
        bob_home = await open_socket(bob)
        bob_profile = await open_socket(bob, feed=f"profile:{ana.pk}")
        bob_group = await open_socket(bob, feed=f"group:{world['private'].pk}")
        post = await db(feed_actions.create_post)(author=ana, body="Hello all")
        assert (await next_event(dora_home))["id"] == post.pk
        assert (await next_event(bob_profile))["id"] == post.pk
        assert await nothing_for(bob_home)
        assert await nothing_for(bob_group)
        for socket in (dora_home, bob_home, bob_profile, bob_group):
            await socket.disconnect()

    run(body)


def test_joining_a_group_changes_open_sockets_without_a_reconnect(world):
    """Carl accepts an invitation: his open socket is told to catch up, then hears the group."""
    ana, carl, private = world["ana"], world["carl"], world["private"]

    async def body():
        carl_home = await open_socket(carl)
        invitation = await db(group_actions.invite)(group=private, inviter=ana, invitee=carl)
        await db(group_actions.accept_invitation)(invitation=invitation, user=carl)
        assert await next_event(carl_home, skip_sync=False) == {"kind": "sync"}
        post = await db(feed_actions.create_post)(
            author=ana, body="Welcome Carl", audience="group", group=private
        )
        assert (await next_event(carl_home))["id"] == post.pk
        await carl_home.disconnect()

    run(body)


@pytest.mark.parametrize("how", ["leaves", "is removed"])
def test_leaving_or_being_removed_stops_the_stream_at_once(world, how):
    """After Bob leaves (or is removed), his open socket hears nothing more of the group."""
    ana, bob, secret = world["ana"], world["bob"], world["secret"]

    async def body():
        ana_home = await open_socket(ana)
        bob_group = await open_socket(bob, feed=f"group:{secret.pk}")
        if how == "leaves":
            await db(group_actions.leave_group)(group=secret, user=bob)
        else:
            await db(group_actions.remove_member)(group=secret, actor=ana, user=bob)
        post = await db(feed_actions.create_post)(
            author=ana, body="After Bob", audience="group", group=secret
        )
        assert (await next_event(ana_home))["id"] == post.pk
        assert await nothing_for(bob_group)
        await ana_home.disconnect()
        await bob_group.disconnect()

    run(body)


async def _nothing_more_for_bob(ana, secret, ana_home, bob_group, change: str) -> None:
    """Ana posts in the secret group: her home page gets it, Bob's group page (if it is still
    open: removed, not deactivated) does not. Both sockets are then closed."""
    post = await db(feed_actions.create_post)(
        author=ana, body="After Bob", audience="group", group=secret
    )
    assert (await next_event(ana_home))["id"] == post.pk
    if change == "removed":
        assert await nothing_for(bob_group)
        await bob_group.disconnect()
    await ana_home.disconnect()


@pytest.mark.parametrize("change", ["removed", "deactivated"])
def test_a_state_lost_in_an_outage_is_read_again_before_pages_catch_up(world, monkeypatch, change):
    """Bob is removed from the secret group (or deactivated) while the publisher cannot reach
    the channel layer: the message that would have stopped his stream is lost. When the layer
    answers again, pages are told to catch up (`live.sync`), and the hub reads each person's
    state afresh first: Bob's socket is left on no stream he may no longer read (or closed),
    and Ana's next post in the group does not reach it."""
    from feeds import realtime

    ana, bob, secret = world["ana"], world["bob"], world["secret"]
    sent = realtime.send

    def lose_states(stream, message):
        return False if message.get("type") == "live.state" else sent(stream, message)

    async def body():
        ana_home = await open_socket(ana)
        bob_group = await open_socket(bob, feed=f"group:{secret.pk}")
        monkeypatch.setattr(realtime, "send", lose_states)
        if change == "removed":
            await db(group_actions.remove_member)(group=secret, actor=ana, user=bob)
        else:
            await db(profile_actions.deactivate_user)(bob)
        monkeypatch.setattr(realtime, "send", sent)
        await db(realtime.send)("everyone", {"type": "live.sync"})  # as after an outage
        if change == "removed":
            assert await next_event(bob_group, skip_sync=False) == {"kind": "sync"}
        else:
            output = await bob_group.receive_output(timeout=3)
            assert output == {"type": "websocket.close", "code": 4403}
        await _nothing_more_for_bob(ana, secret, ana_home, bob_group, change)

    run(body)


@pytest.mark.parametrize("change", ["removed", "deactivated"])
def test_a_state_lost_by_a_process_that_ended_reaches_the_socket_from_the_outbox(
    world, monkeypatch, settings, change
):
    """Bob is removed from the secret group (or deactivated) by a process whose message to his
    sockets is lost, and which ends without telling anyone (a directory sync, say): no page is
    told to catch up. The outbox worker sends his state again (`republish_state`): while the
    layer still loses it the event stays in the outbox, with its error; once the layer takes
    it, Bob's socket leaves the group's stream (or is closed)."""
    from feeds import realtime
    from outbox.models import OutboxEvent
    from outbox.worker import drain

    settings.OUTBOX_DRAIN_INLINE = False  # the worker drains, in its own time
    settings.OUTBOX_CONSUMERS = ["feeds.realtime.republish_state"]
    ana, bob, secret = world["ana"], world["bob"], world["secret"]
    sent = realtime.send

    def lose_states(stream, message):
        return False if message.get("type") == "live.state" else sent(stream, message)

    OutboxEvent.objects.all().delete()  # what setting up the world recorded

    async def body():
        ana_home = await open_socket(ana)
        bob_group = await open_socket(bob, feed=f"group:{secret.pk}")
        monkeypatch.setattr(realtime, "send", lose_states)
        if change == "removed":
            await db(group_actions.remove_member)(group=secret, actor=ana, user=bob)
            topic = "membership.changed"
        else:
            await db(profile_actions.deactivate_user)(bob)
            topic = "user.deactivated"
        await db(drain)()  # the worker's first try: still lost
        kept = await db(OutboxEvent.objects.get)(topic=topic)
        assert (kept.attempts, kept.last_error.split(":")[0]) == (1, "StateNotDelivered")
        assert await bob_group.receive_nothing(timeout=0.3)

        monkeypatch.setattr(realtime, "send", sent)  # the layer takes messages again
        await db(OutboxEvent.objects.filter(pk=kept.pk).update)(available_at=kept.created)
        await db(drain)()
        assert not await db(OutboxEvent.objects.filter(topic=topic).exists)()
        if change == "deactivated":
            output = await bob_group.receive_output(timeout=3)
            assert output == {"type": "websocket.close", "code": 4403}
        await _nothing_more_for_bob(ana, secret, ana_home, bob_group, change)

    run(body)


def test_following_someone_brings_their_posts_to_the_open_home_feed(world):
    """Bob follows Carl while his home page is open: Carl's next post reaches it."""
    bob, carl = world["bob"], world["carl"]

    async def body():
        bob_home = await open_socket(bob)
        await db(profile_actions.follow)(follower=bob, followee=carl)
        post = await db(feed_actions.create_post)(author=carl, body="Now you follow me")
        assert (await next_event(bob_home))["id"] == post.pk
        await db(profile_actions.unfollow)(follower=bob, followee=carl)
        carl_home = await open_socket(carl)
        second = await db(feed_actions.create_post)(author=carl, body="And now you do not")
        assert (await next_event(carl_home))["id"] == second.pk
        assert await nothing_for(bob_home)
        await bob_home.disconnect()
        await carl_home.disconnect()

    run(body)


def test_deactivation_closes_open_sockets(world):
    """A deactivated person's sockets are closed with 4403 (the page stops reconnecting)."""
    bob = world["bob"]

    async def body():
        bob_home = await open_socket(bob)
        await db(profile_actions.deactivate_user)(bob)
        output = await bob_home.receive_output(timeout=3)
        assert output == {"type": "websocket.close", "code": 4403}

    run(body)


def test_comments_and_reactions_reach_the_post_page(world):
    """On the post page: a new comment (with its thread markup and the new count), a reply,
    and reaction counts, in place."""
    ana, bob = world["ana"], world["bob"]
    post = feed_actions.create_post(
        author=ana, body="Discuss", audience="group", group=world["private"]
    )

    async def body():
        page = await open_socket(bob, feed=f"post:{post.pk}")
        comment = await db(feed_actions.add_comment)(post=post, author=ana, body="First!")
        event = await next_event(page)
        assert event["kind"] == "comment" and event["op"] == "add"
        assert event["id"] == comment.pk and event["post"] == post.pk
        assert event["parent"] is None and event["count"] == 1
        assert event["count_label"] == "1 comment"
        assert f'id="comment-{comment.pk}"' in event["html"] and 'name="parent"' in event["html"]
        assert "csrfmiddlewaretoken" not in event["html"]  # the page adds its own
        reply = await db(feed_actions.add_comment)(
            post=post, author=bob, body="Second", parent=comment
        )
        event = await next_event(page)
        assert event["id"] == reply.pk and event["parent"] == comment.pk
        assert event["count_label"] == "2 comments"
        await db(feed_actions.react)(post=post, user=ana, kind="like")
        event = await next_event(page)
        assert event == {
            "kind": "reactions",
            "op": "update",
            "id": post.pk,
            "counts": {"like": 1, "celebrate": 0, "support": 0, "insightful": 0, "thanks": 0},
            "total": 1,
        }
        await db(feed_actions.delete_comment)(comment=reply, actor=bob)
        event = await next_event(page)
        assert (event["op"], event["id"], event["count"]) == ("delete", reply.pk, 1)
        await page.disconnect()

    run(body)


def test_edits_and_deletions_reach_pages_that_show_the_post(world):
    """A feed that shows a post (it says so with "watch") hears of its edit and deletion; a
    feed that does not show it hears nothing."""
    ana, dora = world["ana"], world["dora"]
    post = feed_actions.create_post(author=ana, body="Draft one")

    async def body():
        watching = await open_socket(dora)
        await watching.send_json_to({"watch": [post.pk]})
        other = await open_socket(dora)
        await db(feed_actions.edit_post)(post=post, editor=ana, body="Draft two")
        event = await next_event(watching)
        assert (event["kind"], event["op"], event["id"]) == ("post", "update", post.pk)
        assert "Draft two" in event["html"]
        await db(feed_actions.delete_post)(post=post, actor=ana)
        assert await next_event(watching) == {"kind": "post", "op": "delete", "id": post.pk}
        assert await nothing_for(other)
        await watching.disconnect()
        await other.disconnect()

    run(body)


def test_each_socket_gets_the_fragment_in_its_page_language(world):
    """The card is rendered once per language; a French page gets the French one."""
    ana, dora = world["ana"], world["dora"]

    async def body():
        french = await open_socket(dora, lang="fr")
        english = await open_socket(dora, lang="en")
        await db(feed_actions.create_post)(author=ana, body="Bonjour")
        assert "Tout le monde" in (await next_event(french))["html"]
        assert "Everyone" in (await next_event(english))["html"]
        await french.disconnect()
        await english.disconnect()

    run(body)


def test_a_post_made_before_connecting_is_not_pushed(world):
    """Sockets hear only what happens after they are ready (the page catches up with since)."""
    ana, dora = world["ana"], world["dora"]
    feed_actions.create_post(author=ana, body="Earlier")
    assert Post.objects.count() == 1

    async def body():
        socket = await open_socket(dora)
        assert await nothing_for(socket)
        await socket.disconnect()

    run(body)


def _communicator(user):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/?feed=home")
    communicator.scope["user"] = user
    return communicator


def test_an_event_addressed_to_one_person_reaches_all_their_pages_and_nobody_elses(world):
    """Events whose meta names a user (the bell's count) go to that person's sockets, on any
    page, feed or not; never to anyone else's."""
    from feeds import realtime

    bob, carl = world["bob"], world["carl"]
    message = {
        "type": "live.event",
        "meta": {"event": "test.personal", "post": None, "user": bob.pk},
        "text": {"en": '{"kind":"personal","unread":2}', "fr": '{"kind":"personal"}'},
    }

    async def body():
        bob_page = await open_socket(bob, feed="")
        bob_home = await open_socket(bob)
        carl_home = await open_socket(carl)
        await db(realtime.send)(f"user-{bob.pk}", message)
        await db(realtime.send)("everyone", message)  # even on a shared stream: Bob only
        for socket in (bob_page, bob_home):
            assert await next_event(socket) == {"kind": "personal", "unread": 2}
            assert await next_event(socket) == {"kind": "personal", "unread": 2}
        assert await nothing_for(carl_home)
        for socket in (bob_page, bob_home, carl_home):
            await socket.disconnect()

    run(body)
