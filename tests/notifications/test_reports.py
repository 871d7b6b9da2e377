"""A report of a post tells every moderator, and nobody else, without the post's text.

Moderators are who Django's admin lets resolve reports (`permissions.report_moderators()`):
active site staff with `feeds.change_report` directly, through a group, or as superusers.
The notification links to the report in the admin, names the reporter and the reason, and
follows each moderator's preference like every other kind (by default, the daily email).
"""

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from feeds import actions as feed_actions
from feeds.models import Report
from intranet.actions import grant_role
from notifications import actions, selectors
from notifications.consumers import handle_event
from notifications.emails import ALL_EMAIL, run_digests, unsubscribe_token
from notifications.messages import describe, excerpt
from notifications.models import Delivery, Kind, Notification
from outbox.models import OutboxEvent
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = "The draft budget for the harbour works is 4.2 million"
DETAILS = "It quotes the confidential annex"


def moderator(**fields):
    """Staff in the "Moderators" group (view and change reports), as `intranet_role` makes."""
    person = UserFactory(**fields)
    grant_role(user=person, role="moderator")
    return person


def with_permission(codename: str, **fields):
    person = UserFactory(**fields)
    person.user_permissions.add(Permission.objects.get(codename=codename))
    return person


@pytest.fixture
def post(other_user):
    return PostFactory(author=other_user, body=BODY)


@pytest.fixture
def moderators():
    """One of each way to be a moderator."""
    return {
        "superuser": UserFactory(is_staff=True, is_superuser=True),
        "in the Moderators group": moderator(),
        "granted directly": with_permission("change_report", is_staff=True),
    }


def report(user, post, reason="confidential"):
    return feed_actions.report_post(reporter=user, post=post, reason=reason, details=DETAILS)


def told(kind=Kind.REPORT) -> set:
    return set(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


# --- who is told --------------------------------------------------------------------------------


def test_a_report_reaches_every_moderator_and_nobody_else(user, other_user, post, moderators):
    """Not staff without the permission, not someone with it who is not staff, not a
    superuser outside the admin, not one who may only view reports, not a leaver; nor the
    reporter or the post's author, although both moderate here."""
    in_a_group_of_their_own = UserFactory(is_staff=True)
    own_group = AuthGroup.objects.create(name="Report handlers")
    own_group.permissions.add(Permission.objects.get(codename="change_report"))
    in_a_group_of_their_own.groups.add(own_group)
    nobody = [
        UserFactory(),  # an ordinary member of staff
        UserFactory(is_staff=True),  # site staff without the permission
        with_permission("change_report"),  # the permission, but no entry to the admin
        with_permission("view_report", is_staff=True),  # reads reports, resolves none
        UserFactory(is_superuser=True),  # a superuser the admin does not let in
        moderator(),
    ]
    leaver = nobody[-1]
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])
    grant_role(user=user, role="moderator")  # the reporter moderates too
    grant_role(user=other_user, role="moderator")  # and so does the author

    created = report(user, post)
    with_report = OutboxEvent.objects.get(topic="report.created")
    handle_event(with_report)

    expected = {person.pk for person in moderators.values()} | {in_a_group_of_their_own.pk}
    assert told() == expected
    for note in Notification.objects.all():
        assert note.kind == Kind.REPORT and note.key == f"report:{created.pk}"
        assert note.actor_id == user.pk and note.extra == {"reason": "confidential"}
        assert note.post_id is None and note.comment_id is None  # not tied to the post


def test_handling_the_event_twice_writes_nothing_new(user, post, moderators, deliver, mailoutbox):
    for person in moderators.values():
        actions.set_preferences(user=person, choices={Kind.REPORT: Delivery.IMMEDIATE})
    created = report(user, post)
    deliver()
    assert len(told()) == 3 and len(mailoutbox) == 3
    handle_event(OutboxEvent(topic="report.created", object_id=created.pk, payload={}))
    deliver()
    assert Notification.objects.count() == 3
    assert len(mailoutbox) == 3


def test_a_moderator_who_turned_reports_off_is_not_told(user, post, moderators, deliver):
    quiet = moderators["in the Moderators group"]
    actions.set_preferences(user=quiet, choices={Kind.REPORT: Delivery.OFF})
    report(user, post)
    deliver()
    assert quiet.pk not in told()
    assert told() == {moderators["superuser"].pk, moderators["granted directly"].pk}


def test_a_report_resolved_before_the_event_is_handled_tells_nobody(user, post, moderators):
    created = report(user, post)
    Report.objects.filter(pk=created.pk).update(status=Report.Status.RESOLVED)
    handle_event(OutboxEvent.objects.get(topic="report.created"))
    assert told() == set()


def test_each_report_is_its_own_notification(user, agency, post, moderators, deliver):
    """Two people report the same post: moderators hear of both (one key per report)."""
    report(user, post)
    report(UserFactory(profile__agency=agency), post, reason="spam")
    deliver()
    assert Notification.objects.filter(recipient=moderators["superuser"]).count() == 2


# --- what they are told -----------------------------------------------------------------------


def test_it_links_to_the_report_in_the_admin_and_never_quotes_the_post(
    client, user, post, moderators, deliver
):
    created = report(user, post)
    deliver()
    person = moderators["in the Moderators group"]
    note = Notification.objects.get(recipient=person)
    admin_page = reverse("admin:feeds_report_change", args=[created.pk])
    assert note.url == admin_page
    who = user.profile.display_name
    with translation.override("en"):
        assert describe(note) == f"{who} reported a post: Confidential or personal information"
    assert excerpt(note) == ""

    client.force_login(person)
    page = client.get(reverse("notifications:list")).content.decode()
    assert f"{who} reported a post: Confidential or personal information" in page
    assert "4.2 million" not in page and DETAILS not in page
    opened = client.get(reverse("notifications:open", args=[note.pk]))
    assert opened.status_code == 302 and opened["Location"] == admin_page
    assert client.get(admin_page).status_code == 200  # the moderator may open it


def test_a_report_quotes_nothing_even_if_it_named_the_post(user, post):
    """The excerpt of lists and emails is empty for a report, whatever the row holds."""
    note = Notification(recipient=user, kind=Kind.REPORT, key="report:0", post=post)
    assert excerpt(note) == ""


def test_the_reporters_name_and_reason_follow_the_readers_language(user, post, moderators):
    report(user, post, reason="spam")
    handle_event(OutboxEvent.objects.get(topic="report.created"))
    note = Notification.objects.filter(kind=Kind.REPORT).first()
    with translation.override("fr"):
        text = describe(note)
    assert text == f"{user.profile.display_name} a signalé une publication : Spam ou publicité"


def test_a_moderator_who_no_longer_is_sees_none_of_them(client, user, post, deliver):
    """The right is asked again when reading: it may have been taken away in the admin."""
    former = moderator()
    report(user, post)
    deliver()
    note = Notification.objects.get(recipient=former)
    former.groups.clear()
    client.force_login(former)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "reported a post" not in page
    assert client.get(reverse("notifications:open", args=[note.pk])).status_code == 404
    assert run_digests(force=True).sent == 0


# --- by email, like every kind ------------------------------------------------------------------


def test_by_default_moderators_get_it_in_the_daily_email(user, post, moderators, deliver):
    report(user, post)
    deliver()
    assert run_digests(force=True).sent == 3


def test_email_at_once_names_the_reason_and_not_the_post(
    user, post, moderators, deliver, mailoutbox
):
    person = moderators["granted directly"]
    actions.set_preferences(user=person, choices={Kind.REPORT: Delivery.IMMEDIATE})
    report(user, post, reason="harassment")
    deliver()
    [message] = mailoutbox
    note = Notification.objects.get(recipient=person)
    assert message.to == [person.email]
    assert (
        message.subject == f"{user.profile.display_name} reported a post: Harassment or disrespect"
    )
    assert f"https://agora.example.gov/notifications/{note.pk}/" in message.body
    assert "Reports of posts to moderate" in message.body  # the kind it stops
    [(html, _mimetype)] = message.alternatives
    for text in (message.subject, message.body, html):
        assert "4.2 million" not in text and DETAILS not in text
    assert note.emailed_at is not None


def test_the_daily_email_lists_it_without_the_post(user, post, moderators, deliver, mailoutbox):
    report(user, post)
    deliver()
    run_digests(force=True)
    message = next(m for m in mailoutbox if m.to == [moderators["superuser"].email])
    assert "reported a post: Confidential or personal information" in message.body
    assert "Reports of posts to moderate" in message.body
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "4.2 million" not in text and DETAILS not in text


# --- the choices page -----------------------------------------------------------------------------


def test_only_moderators_are_offered_a_choice_about_reports(client, user, moderators):
    preferences = reverse("notifications:preferences")
    client.force_login(user)
    page = client.get(preferences).content.decode()
    assert "Reports of posts to moderate" not in page
    assert page.count("<fieldset") == len(Kind.values) - 1

    person = moderators["in the Moderators group"]
    client.force_login(person)
    page = client.get(preferences).content.decode()
    assert "<legend>Reports of posts to moderate</legend>" in page
    assert page.count("<fieldset") == len(Kind.values)
    choices = dict.fromkeys(Kind.values, Delivery.IN_APP) | {Kind.REPORT: Delivery.IMMEDIATE}
    assert client.post(preferences, choices).status_code == 302
    assert person.notification_preferences.get(kind=Kind.REPORT).delivery == Delivery.IMMEDIATE


def test_stopping_every_email_stops_reports_but_names_them_to_moderators_only(
    client, user, moderators
):
    """The one-click link of a digest turns every emailed kind to "in Agora", reports too
    (should the person moderate one day); only a moderator reads that kind's name."""
    person = moderators["granted directly"]
    for someone, named in ((user, False), (person, True)):
        token = unsubscribe_token(user_id=someone.pk, kind=ALL_EMAIL)
        page = client.post(reverse("notifications:unsubscribe", args=[token])).content.decode()
        assert ("Reports of posts to moderate" in page) is named
        assert "Someone mentions me" in page
        saved = someone.notification_preferences.get(kind=Kind.REPORT)
        assert saved.delivery == Delivery.IN_APP


# --- once a moderator has dealt with it ---------------------------------------------------------


def _unread(report_id: int) -> set:
    return set(
        Notification.objects.filter(key=f"report:{report_id}", read_at__isnull=True).values_list(
            "recipient_id", flat=True
        )
    )


def test_resolving_a_report_in_the_admin_marks_every_moderators_notice_read(
    client, user, post, moderators, deliver
):
    resolved = report(user, post)
    still_open = feed_actions.report_post(reporter=UserFactory(), post=post, reason="spam")
    deliver()
    everyone = {person.pk for person in moderators.values()}
    assert _unread(resolved.pk) == _unread(still_open.pk) == everyone
    resolver = moderators["in the Moderators group"]
    client.force_login(resolver)
    change = reverse("admin:feeds_report_change", args=[resolved.pk])
    assert client.post(change, {"status": "resolved"}).status_code == 302
    deliver()
    assert _unread(resolved.pk) == set()
    assert _unread(still_open.pk) == everyone  # another report is another matter
    for person in moderators.values():
        assert selectors.unread_count(user=person) == 1
    resolved.refresh_from_db()
    assert resolved.resolved_by == resolver and resolved.resolved is not None


def test_the_admins_resolve_action_marks_them_read_too(client, user, post, moderators, deliver):
    reports = [report(user, post)]
    reports.append(feed_actions.report_post(reporter=UserFactory(), post=post, reason="other"))
    deliver()
    client.force_login(moderators["granted directly"])
    response = client.post(
        reverse("admin:feeds_report_changelist"),
        {"action": "resolve", "_selected_action": [r.pk for r in reports]},
    )
    assert response.status_code == 302
    assert OutboxEvent.objects.filter(topic="report.resolved").count() == 2
    deliver()
    assert all(_unread(r.pk) == set() for r in reports)


def test_a_report_resolved_before_the_daily_email_is_left_out_of_it(
    user, post, moderators, deliver, mailoutbox
):
    created = report(user, post)
    deliver()
    feed_actions.set_report_status(
        report=created, status="resolved", moderator=moderators["superuser"]
    )
    deliver()
    run_digests(force=True)
    assert not [m for m in mailoutbox if "reported a post" in m.body]


def test_a_report_opened_again_before_the_event_is_handled_stays_unread(
    user, post, moderators, deliver
):
    created = report(user, post)
    deliver()
    resolver = moderators["superuser"]
    feed_actions.set_report_status(report=created, status="resolved", moderator=resolver)
    feed_actions.set_report_status(report=created, status="open", moderator=resolver)
    deliver()
    assert _unread(created.pk) == {person.pk for person in moderators.values()}
    created.refresh_from_db()
    assert created.resolved is None and created.resolved_by is None


def test_an_unknown_status_is_refused(user, post, moderators):
    created = report(user, post)
    with pytest.raises(ValidationError) as refused:
        feed_actions.set_report_status(
            report=created, status="ignored", moderator=moderators["superuser"]
        )
    assert "status" in refused.value.message_dict
    assert Report.objects.get(pk=created.pk).status == Report.Status.OPEN
