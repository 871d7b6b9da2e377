"""Reporting a post: the action (permission first, bad input as field errors), the page and
its dialog fragment, the "Report" link on cards, and the moderators' list in Django's admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse

from feeds import actions
from feeds.models import Post, Report
from groups.models import Group
from intranet.actions import grant_role
from intranet.models import IntranetHomePage
from outbox.models import OutboxEvent
from tests.factories import GroupFactory, MembershipFactory, PostFactory, UserFactory
from tests.intranet.conftest import guide, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.OUTBOX_CONSUMERS = []
    settings.REALTIME_PUBLISHER = None


@pytest.fixture
def post(other_user):
    return PostFactory(author=other_user, body="Something to report")


def report_url(post) -> str:
    return reverse("feeds:post_report", args=[post.pk])


# --- the action --------------------------------------------------------------------------------


def test_a_report_is_recorded_open(user, post):
    report = actions.report_post(reporter=user, post=post, reason="spam", details="  Ads  ")
    assert (report.post, report.reporter, report.reason) == (post, user, "spam")
    assert report.details == "Ads" and report.status == Report.Status.OPEN
    assert report.resolved_by is None


def test_a_report_records_one_event_for_the_moderators(user, post):
    """`report.created` names the report (the moderators' notifications follow from it);
    a refused report records nothing, and the event carries no text of the post."""
    report = actions.report_post(reporter=user, post=post, reason="spam")
    with pytest.raises(ValidationError):
        actions.report_post(reporter=user, post=post, reason="spam")  # already reported
    [event] = OutboxEvent.objects.all()
    assert (event.topic, event.object_id, event.payload) == ("report.created", report.pk, {})


@pytest.mark.parametrize(
    ("reason", "details", "field", "message"),
    [
        ("nonsense", "", "reason", "Choose why you are reporting this post."),
        ("", "", "reason", "Choose why you are reporting this post."),
        ("other", "x" * 1001, "details", "Keep it under 1000 characters (this has 1001)."),
    ],
)
def test_bad_input_is_a_field_error(user, post, reason, details, field, message):
    with pytest.raises(ValidationError) as caught:
        actions.report_post(reporter=user, post=post, reason=reason, details=details)
    assert caught.value.message_dict == {field: [message]}
    assert not Report.objects.exists()


def test_one_open_report_per_person_and_post(user, post):
    first = actions.report_post(reporter=user, post=post, reason="spam")
    with pytest.raises(ValidationError, match="already reported this post"):
        actions.report_post(reporter=user, post=post, reason="other")
    assert Report.objects.count() == 1
    Report.objects.filter(pk=first.pk).update(status=Report.Status.RESOLVED)
    actions.report_post(reporter=user, post=post, reason="other")  # resolved: may report again
    assert Report.objects.filter(status=Report.Status.OPEN).count() == 1


def test_ones_own_post_is_edited_not_reported(user):
    mine = PostFactory(author=user)
    with pytest.raises(ValidationError, match="your own post"):
        actions.report_post(reporter=user, post=mine, reason="spam")


def test_a_post_one_may_not_see_is_404(user, outsider):
    secret = GroupFactory(kind=Group.Kind.SECRET)
    MembershipFactory(group=secret, user=outsider)
    hidden = [
        PostFactory(author=outsider, audience=Post.Audience.AGENCY),  # another agency's
        PostFactory(author=outsider, audience=Post.Audience.GROUP, group=secret, agency=None),
    ]
    gone = PostFactory(author=outsider)
    actions.delete_post(post=gone, actor=outsider)
    for post in [*hidden, gone]:
        with pytest.raises(Http404):
            actions.report_post(reporter=user, post=post, reason="nonsense")  # 404 comes first
    with pytest.raises(Http404):
        actions.report_post(reporter=UserFactory(is_active=False), post=gone, reason="spam")
    assert not Report.objects.exists()


# --- the page, the dialog fragment, the link -------------------------------------------------


def test_the_report_page_has_a_labelled_form_and_the_guidelines(web, post, moderator_user):
    publish(guide(IntranetHomePage.objects.get()), moderator_user)
    response = web.get(report_url(post))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Report this post</h1>" in html
    assert f'action="{report_url(post)}"' in html and "csrfmiddlewaretoken" in html
    assert "<legend>Why are you reporting this post?" in html
    for value in ("harassment", "confidential", "spam", "other"):
        assert f'value="{value}"' in html
    assert 'for="report_reason_0"' in html and 'id="report_reason_0"' in html
    assert 'for="report_details"' in html and 'maxlength="1000"' in html
    assert 'href="/intranet/community-guidelines/"' in html


def test_the_dialog_fragment_is_titled_and_comes_back_to_the_feed(web, post):
    response = web.get(
        report_url(post), {"next": f"/#post-{post.pk}"}, headers={"X-Agora-Partial": "report"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert html.lstrip().startswith('<h2 id="report-dialog-title"')
    assert "<html" not in html and "csrfmiddlewaretoken" in html
    assert f'name="next" value="/#post-{post.pk}"' in html
    assert "community guidelines" in html  # named even before the page is published


def test_reporting_returns_to_the_post_with_a_message(web, user, post):
    response = web.post(report_url(post), {"reason": "harassment", "details": "Rude\r\nreply"})
    assert response.status_code == 302
    assert response["Location"] == f"{post.get_absolute_url()}#post-{post.pk}"
    report = Report.objects.get()
    assert (report.reporter, report.reason, report.details) == (user, "harassment", "Rude\nreply")
    page = web.get(response["Location"]).content.decode()
    assert "The moderators will look at the post you reported." in page


def test_reporting_from_a_feed_returns_there(web, post):
    response = web.post(report_url(post), {"reason": "spam", "next": f"/?x=1#post-{post.pk}"})
    assert response["Location"] == f"/?x=1#post-{post.pk}"
    response = web.post(report_url(post), {"reason": "spam", "next": "https://evil.example/"})
    assert response.status_code == 400  # already reported; and the next is never followed
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "nonsense"}, "Choose why you are reporting this post."),
        ({}, "Choose why you are reporting this post."),
        ({"reason": "other", "details": "x" * 1001}, "Keep it under 1000 characters"),
    ],
)
def test_bad_input_is_shown_with_400(web, post, data, message):
    response = web.post(report_url(post), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'class="form-errors" role="alert"' in html
    assert not Report.objects.exists()


def test_reporting_twice_is_a_friendly_400(web, post):
    assert web.post(report_url(post), {"reason": "spam"}).status_code == 302
    response = web.post(report_url(post), {"reason": "spam"})
    assert response.status_code == 400
    assert "You have already reported this post." in response.content.decode()
    assert Report.objects.count() == 1


def test_a_post_one_may_not_see_is_404_on_the_page(web, outsider):
    hidden = PostFactory(author=outsider, audience=Post.Audience.AGENCY)
    assert web.get(report_url(hidden)).status_code == 404
    assert web.post(report_url(hidden), {"reason": "spam"}).status_code == 404
    assert web.post(reverse("feeds:post_report", args=[999999]), {}).status_code == 404
    assert not Report.objects.exists()


def test_signing_in_and_csrf_are_required(client, user, post):
    response = client.post(report_url(post), {"reason": "spam"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(report_url(post), {"reason": "spam"}).status_code == 403
    assert not Report.objects.exists()


def test_cards_link_to_the_report_except_ones_own(web, user, post):
    mine = PostFactory(author=user)
    html = web.get(reverse("feeds:home")).content.decode()
    html += web.get(post.get_absolute_url()).content.decode()
    assert f'href="{report_url(post)}" class="post-card__report" data-report-link' in html
    assert report_url(mine) not in html
    assert 'src="/static/js/report.js"' in html


# --- moderators ----------------------------------------------------------------------------------


@pytest.fixture
def moderator_user(agency):
    person = UserFactory(profile__agency=agency)
    grant_role(user=person, role="moderator")
    return person


def test_moderators_list_and_resolve_reports(client, user, post, moderator_user):
    report = actions.report_post(reporter=user, post=post, reason="confidential", details="Names")
    client.force_login(moderator_user)
    listing = client.get(reverse("admin:feeds_report_changelist"))
    assert listing.status_code == 200 and "Confidential or personal information" in listing.text
    change = reverse("admin:feeds_report_change", args=[report.pk])
    page = client.get(change)
    assert page.status_code == 200 and "Something to report" in page.text  # the post's text
    response = client.post(change, {"status": "resolved"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "resolved" and report.resolved_by == moderator_user
    assert report.resolved is not None and report.details == "Names"  # nothing else changes
    assert client.get(reverse("admin:feeds_report_add")).status_code == 403


def test_the_resolve_action(client, user, other_user, moderator_user):
    reports = [
        actions.report_post(reporter=user, post=PostFactory(author=other_user), reason="spam")
        for _ in range(2)
    ]
    client.force_login(moderator_user)
    response = client.post(
        reverse("admin:feeds_report_changelist"),
        {"action": "resolve", "_selected_action": [r.pk for r in reports]},
    )
    assert response.status_code == 302
    assert set(Report.objects.values_list("status", "resolved_by")) == {
        ("resolved", moderator_user.pk)
    }


def test_reopening_cannot_make_two_open_reports(client, user, post, moderator_user):
    old = actions.report_post(reporter=user, post=post, reason="spam")
    Report.objects.filter(pk=old.pk).update(status=Report.Status.RESOLVED)
    actions.report_post(reporter=user, post=post, reason="other")
    client.force_login(moderator_user)
    response = client.post(reverse("admin:feeds_report_change", args=[old.pk]), {"status": "open"})
    assert response.status_code == 200 and "reported the post again since" in response.text
    assert Report.objects.filter(status="open").count() == 1


def test_other_staff_cannot_see_reports(client, user, post):
    actions.report_post(reporter=user, post=post, reason="spam")
    client.force_login(user)  # staff of the network, not a moderator
    response = client.get(reverse("admin:feeds_report_changelist"))
    assert response.status_code == 302  # to the admin's sign-in
