"""The notifications pages through HTTP: the bell, the list, reading, choices; and the rule
that a notification about something one may no longer see is never shown."""

import json

import pytest
from django.urls import reverse

from feeds import actions as feed_actions
from groups.models import Group, Membership
from notifications import live
from notifications.models import Delivery, Kind, Notification, NotificationPreference
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")


@pytest.fixture
def mentioned(user, other_user, deliver):
    """`user` was mentioned by `other_user`: one unread notification."""
    feed_actions.create_post(author=other_user, body=f"@{user.username} have a look")
    deliver()
    return Notification.objects.get(recipient=user)


def test_the_bell_shows_the_unread_count_in_a_polite_live_region(web, mentioned):
    page = web.get(reverse("feeds:home")).content.decode()
    assert 'data-unread="1" aria-live="polite"' in page
    assert "1 unread notification" in page
    assert f'href="{LIST}"' in page


def test_the_bell_is_absent_when_signed_out(client):
    page = client.get(reverse("login")).content.decode()
    assert "data-notification-count" not in page


def test_the_list_shows_the_notification_and_links_to_it(web, mentioned, other_user):
    page = web.get(LIST).content.decode()
    assert f"{other_user.profile.display_name} mentioned you in a post" in page
    assert reverse("notifications:open", args=[mentioned.pk]) in page
    assert "have a look" in page


def test_opening_a_notification_marks_it_read_and_goes_there(web, mentioned):
    response = web.get(reverse("notifications:open", args=[mentioned.pk]))
    assert response.status_code == 302 and response["Location"] == mentioned.url
    mentioned.refresh_from_db()
    assert mentioned.read_at is not None
    assert json.loads(web.get(reverse("notifications:count")).content)["unread"] == 0


def test_mark_one_and_mark_all_read(web, user, mentioned, other_user, deliver):
    feed_actions.create_post(author=other_user, body=f"@{user.username} and again")
    deliver()
    assert web.post(reverse("notifications:read", args=[mentioned.pk])).status_code == 302
    assert Notification.objects.filter(recipient=user, read_at__isnull=True).count() == 1
    assert web.post(reverse("notifications:read_all")).status_code == 302
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found(client, mentioned, other_user):
    client.force_login(other_user)
    assert client.get(reverse("notifications:open", args=[mentioned.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[mentioned.pk])).status_code == 404
    client.post(reverse("notifications:read_all"))
    mentioned.refresh_from_db()
    assert mentioned.read_at is None


def test_signed_out_people_are_sent_to_sign_in(client, mentioned):
    for url in (LIST, reverse("notifications:open", args=[mentioned.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_notification_about_a_post_one_can_no_longer_see_is_not_shown(client, deliver):
    """They commented on a private group's post, then lost access (a membership removed
    outside any action, so nothing pruned it): the list, the count's target and the link all
    ask the permission module again."""
    author, commenter = UserFactory(), UserFactory()
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=author, role=Membership.Role.OWNER)
    MembershipFactory(group=private, user=commenter)
    post = feed_actions.create_post(author=author, body="plan", audience="group", group=private)
    feed_actions.add_comment(post=post, author=commenter, body="Secret plan details")
    deliver()
    note = Notification.objects.get(recipient=author)
    Membership.objects.filter(group=private, user=author).delete()
    client.force_login(author)
    page = client.get(LIST).content.decode()
    assert "Secret plan details" not in page and "commented on your post" not in page
    assert client.get(reverse("notifications:open", args=[note.pk])).status_code == 404


def test_choosing_how_to_be_told(web, user):
    page = web.get(reverse("notifications:preferences"))
    assert page.status_code == 200
    # every kind but reports, which only moderators receive (tests/notifications/test_reports.py)
    assert page.content.decode().count("<fieldset") == len(Kind.values) - 1
    choices = dict.fromkeys(Kind.values, Delivery.IN_APP)
    choices[Kind.REACTION] = Delivery.OFF
    choices[Kind.MENTION] = Delivery.IMMEDIATE
    assert web.post(reverse("notifications:preferences"), choices).status_code == 302
    saved = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    assert saved[Kind.REACTION] == Delivery.OFF and saved[Kind.MENTION] == Delivery.IMMEDIATE


def test_a_bad_choice_is_refused_with_the_form_again(web, user):
    choices = dict.fromkeys(Kind.values, Delivery.IN_APP)
    choices[Kind.FOLLOW] = "carrier-pigeon"
    response = web.post(reverse("notifications:preferences"), choices)
    assert response.status_code == 400
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_a_broken_page_link_is_a_clear_error(web):
    assert web.get(LIST, {"before": "!!notacursor"}).status_code == 400


def test_the_new_count_is_pushed_to_the_persons_own_stream(settings, user, monkeypatch, mentioned):
    """After a change, the person's sockets get their count (feeds.realtime.send)."""
    settings.REALTIME_PUBLISHER = "feeds.realtime.publish_event"
    sent = []
    monkeypatch.setattr(
        "feeds.realtime.send", lambda stream, message: sent.append((stream, message)) or True
    )
    assert live.push_unread_counts([user.pk]) == 1
    [(stream, message)] = sent
    assert stream == f"user-{user.pk}"
    assert message["meta"] == {"event": "notifications.count", "post": None, "user": user.pk}
    assert json.loads(message["text"]["en"])["unread"] == 1
