"""Preferences and email: off, at once, daily digest; one digest per person per day, however
often (or however interrupted) the run; unsubscribe links that work without signing in."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from feeds import actions as feed_actions
from notifications import actions
from notifications.emails import (
    ALL_EMAIL,
    read_unsubscribe_token,
    run_digests,
    unsubscribe_token,
)
from notifications.models import Delivery, Digest, Kind, Notification, NotificationPreference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def choose(user, kind, delivery):
    actions.set_preferences(user=user, choices={kind: delivery})


def mention(author, person):
    return feed_actions.create_post(author=author, body=f"Over to you, @{person.username}")


# --- preferences ------------------------------------------------------------------------------


def test_off_means_nothing_at_all(user, other_user, deliver, mailoutbox):
    choose(other_user, Kind.MENTION, Delivery.OFF)
    mention(user, other_user)
    deliver()
    assert Notification.objects.filter(recipient=other_user).count() == 0
    assert run_digests(force=True).sent == 0
    assert mailoutbox == []


def test_in_app_only_sends_no_email(user, other_user, deliver, mailoutbox):
    choose(other_user, Kind.MENTION, Delivery.IN_APP)
    mention(user, other_user)
    deliver()
    assert Notification.objects.filter(recipient=other_user).count() == 1
    run_digests(force=True)
    assert mailoutbox == []


def test_email_at_once_sends_one_multipart_email(user, other_user, deliver, mailoutbox):
    choose(other_user, Kind.MENTION, Delivery.IMMEDIATE)
    post = mention(user, other_user)
    deliver()
    feed_actions.edit_post(post=post, editor=user, body=f"Edited, still @{other_user.username}")
    deliver()  # the mention is not new: no second email
    [message] = mailoutbox
    note = Notification.objects.get(recipient=other_user)
    assert message.to == [other_user.email]
    assert message.subject == f"{user.profile.display_name} mentioned you in a post"
    assert f"https://agora.example.gov/notifications/{note.pk}/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "Stop these emails" in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/notifications/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    assert note.emailed_at is not None
    assert run_digests(force=True).sent == 0  # emailed already: not in a digest


def test_a_failed_immediate_email_is_retried_by_the_next_run(
    user, other_user, deliver, mailoutbox, monkeypatch
):
    choose(other_user, Kind.MENTION, Delivery.IMMEDIATE)

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailMessage, "send", broken)
        mention(user, other_user)
        deliver()
    note = Notification.objects.get(recipient=other_user)
    assert note.emailed_at is None and mailoutbox == []
    later = timezone.now() + timedelta(minutes=10)
    assert run_digests(now=later, force=True).immediate_retried == 1
    assert len(mailoutbox) == 1


def test_digest_choice_waits_for_the_daily_email(user, other_user, deliver, mailoutbox):
    choose(other_user, Kind.MENTION, Delivery.DIGEST)
    mention(user, other_user)
    deliver()
    assert mailoutbox == []
    report = run_digests(force=True)
    assert report.sent == 1
    [message] = mailoutbox
    assert message.subject == "Agora: 1 thing you missed"
    assert "mentioned you in a post" in message.body
    assert message.alternatives[0][1] == "text/html"
    digest = Digest.objects.get(user=other_user)
    assert digest.sent_at is not None and digest.item_count == 1
    assert Notification.objects.get(recipient=other_user).digest == digest


def test_mentions_come_by_daily_email_unless_chosen_otherwise(user, other_user, deliver):
    """Someone who needs you reaches you once a day by default."""
    mention(user, other_user)
    deliver()
    assert run_digests(force=True).sent == 1


# --- digests: once a day, whatever happens ----------------------------------------------------


def test_running_the_digest_twice_sends_one_email(user, other_user, deliver, mailoutbox):
    mention(user, other_user)
    deliver()
    call_command("send_digests", "--force", stdout=StringIO())
    mention(user, other_user)  # something new the same day waits for tomorrow
    deliver()
    call_command("send_digests", "--force", stdout=StringIO())
    assert len(mailoutbox) == 1
    tomorrow = timezone.now() + timedelta(days=1)
    assert run_digests(now=tomorrow, force=True).sent == 1
    assert len(mailoutbox) == 2


def test_an_interrupted_run_resumes_without_duplicates(user, agency, deliver, monkeypatch):
    """The run is killed while sending the second digest: the next run sends the second and
    third, never the first again."""
    people = [UserFactory(profile__agency=agency) for _ in range(3)]
    for person in people:
        mention(user, person)
    deliver()
    real_send = EmailMessage.send
    calls = {"n": 0}

    def dies_on_the_second(self, fail_silently=False):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("the worker was stopped")
        return real_send(self, fail_silently)

    with monkeypatch.context() as patch:
        patch.setattr(EmailMessage, "send", dies_on_the_second)
        with pytest.raises(KeyboardInterrupt):
            run_digests(force=True)
    assert [m.to for m in mail.outbox] == [[people[0].email]]
    assert Digest.objects.filter(sent_at__isnull=True).count() == 1  # prepared, not sent
    report = run_digests(force=True)
    assert (report.resumed, report.sent) == (1, 1)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    run_digests(force=True)
    assert len(mail.outbox) == 3
    assert Digest.objects.filter(sent_at__isnull=True).count() == 0


def test_a_failed_send_is_retried_and_others_still_get_theirs(user, agency, deliver, monkeypatch):
    first, second = UserFactory(profile__agency=agency), UserFactory(profile__agency=agency)
    mention(user, first)
    mention(user, second)
    deliver()
    real_send = EmailMessage.send

    def refuses_first(self, fail_silently=False):
        if self.to == [first.email]:
            raise ConnectionRefusedError("mailbox unavailable")
        return real_send(self, fail_silently)

    with monkeypatch.context() as patch:
        patch.setattr(EmailMessage, "send", refuses_first)
        report = run_digests(force=True)
    assert (report.sent, report.failed) == (1, 1)
    assert [m.to for m in mail.outbox] == [[second.email]]
    assert run_digests(force=True).resumed == 1
    assert [m.to for m in mail.outbox] == [[second.email], [first.email]]


def test_what_was_read_or_may_no_longer_be_seen_is_not_in_the_digest(
    user, other_user, deliver, mailoutbox
):
    post = mention(user, other_user)
    deliver()
    Notification.objects.update(read_at=timezone.now())
    assert run_digests(force=True).sent == 0
    Notification.objects.update(read_at=None)
    feed_actions.delete_post(post=post, actor=user)  # gone for everyone
    assert run_digests(force=True).sent == 0
    assert mailoutbox == []


def test_nothing_is_sent_before_the_digest_hour(user, other_user, deliver, settings):
    settings.NOTIFICATIONS_DIGEST_HOUR = 24  # never reached
    mention(user, other_user)
    deliver()
    report = run_digests()
    assert report.too_early and report.sent == 0
    assert run_digests(force=True).sent == 1


# --- unsubscribe ------------------------------------------------------------------------------


def test_the_unsubscribe_link_works_without_signing_in(client, other_user):
    token = unsubscribe_token(user_id=other_user.pk, kind=Kind.MENTION)
    url = reverse("notifications:unsubscribe", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and "Someone mentions me" in page.content.decode()
    assert not NotificationPreference.objects.exists()  # a GET (mail scanners) changes nothing
    done = client.post(url)
    assert done.status_code == 200
    assert NotificationPreference.objects.get(user=other_user, kind=Kind.MENTION).delivery == (
        Delivery.IN_APP
    )


def test_the_one_click_unsubscribe_of_every_email(client, other_user):
    choose(other_user, Kind.REACTION, Delivery.IMMEDIATE)
    token = unsubscribe_token(user_id=other_user.pk, kind=ALL_EMAIL)
    assert client.post(reverse("notifications:unsubscribe", args=[token])).status_code == 200
    emailed = NotificationPreference.objects.filter(
        user=other_user, delivery__in=[Delivery.IMMEDIATE, Delivery.DIGEST]
    )
    assert not emailed.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_refused(client, other_user, user, method):
    token = unsubscribe_token(user_id=other_user.pk, kind=Kind.MENTION)
    theirs = unsubscribe_token(user_id=user.pk, kind=Kind.MENTION)
    payload = token.split(":", 1)[0]
    forged = theirs.split(":", 1)[0] + token[len(payload) :]  # their payload, my signature
    assert forged != token
    for bad in (forged, token[:-2] + "xx", "nonsense"):
        response = getattr(client, method)(reverse("notifications:unsubscribe", args=[bad]))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_a_token_says_who_and_what():
    assert read_unsubscribe_token(unsubscribe_token(user_id=7, kind="follow")) == (7, "follow")


def test_compose_runs_the_digests_every_hour():
    """The production topology has the periodic job, with the email settings."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    digests = compose["services"]["digests"]
    assert "manage.py send_digests" in digests["command"][-1]
    assert "sleep 3600" in digests["command"][-1]
    assert {"EMAIL_URL", "AGORA_BASE_URL", "DATABASE_URL"} <= set(digests["environment"])
