"""Publishing a news article announces it in the feeds of the people it targets; unpublishing
withdraws it; republishing edits it rather than duplicating; moderation works as Wagtail's."""

import pytest
from django.urls import reverse
from wagtail.models import Workflow

from feeds import selectors as feed_selectors
from feeds.models import Post
from intranet.models import NewsAnnouncement
from notifications.models import Kind, Notification
from tests.factories import AgencyFactory, UserFactory
from tests.intranet.conftest import news, publish

pytestmark = pytest.mark.django_db


def visible_announcements():
    return Post.objects.filter(is_announcement=True, deleted__isnull=True)


def in_home_feed(person, post) -> bool:
    return post.pk in {p.pk for p in feed_selectors.posts_for_home(viewer=person).items}


def test_news_for_all_staff_is_announced_to_everyone(home, moderator, outsider, deliver):
    article = publish(news(home), moderator)
    [post] = visible_announcements()
    assert post.audience == Post.Audience.EVERYONE and post.author == moderator
    assert NewsAnnouncement.objects.get(page=article).post == post
    assert "**Budget 2027 is out**" in post.body and "What the new budget means" in post.body
    assert f'href="{article.url}"' in post.body_html
    assert in_home_feed(outsider, post)
    deliver()
    assert Notification.objects.filter(recipient=outsider, kind=Kind.NEWS).count() == 1
    assert not Notification.objects.filter(recipient=moderator).exists()


def test_news_for_one_agency_reaches_only_its_staff(home, moderator, agency, outsider, deliver):
    other_agency = AgencyFactory()
    colleague = UserFactory(profile__agency=other_agency)
    publish(news(home, agency=other_agency), moderator)  # from another agency's editor
    [post] = visible_announcements()
    assert post.audience == Post.Audience.AGENCY and post.agency == other_agency
    assert in_home_feed(colleague, post)
    assert not in_home_feed(outsider, post)
    deliver()
    [note] = Notification.objects.filter(kind=Kind.NEWS)
    assert note.recipient == colleague and note.url == "/intranet/budget-2027-is-out/"


def test_unpublishing_withdraws_the_announcement(home, moderator, outsider, deliver):
    article = publish(news(home), moderator)
    post = visible_announcements().get()
    deliver()
    article.unpublish(user=moderator)
    post.refresh_from_db()
    assert post.deleted is not None
    assert not in_home_feed(outsider, post)
    deliver()
    assert not Notification.objects.filter(kind=Kind.NEWS).exists()


def test_republishing_edits_the_announcement_instead_of_adding_one(home, moderator):
    article = publish(news(home), moderator)
    first = visible_announcements().get()
    article.lead = "Corrected: what the budget means."
    publish(article, moderator)
    post = visible_announcements().get()
    assert post.pk == first.pk and post.edited is not None
    assert "Corrected: what the budget means." in post.body
    publish(article, moderator)  # nothing changed: nothing edited
    assert Post.objects.filter(is_announcement=True).count() == 1


def test_unpublish_then_publish_again_leaves_one_announcement(home, moderator):
    article = publish(news(home), moderator)
    article.unpublish(user=moderator)
    publish(article, moderator)
    assert visible_announcements().count() == 1
    assert NewsAnnouncement.objects.get(page=article).post == visible_announcements().get()


def test_changing_the_audience_replaces_the_announcement(home, moderator, agency):
    article = publish(news(home, agency=agency), moderator)
    old = visible_announcements().get()
    article.agency = None
    publish(article, moderator)
    new = visible_announcements().get()
    assert new.pk != old.pk and new.audience == Post.Audience.EVERYONE
    old.refresh_from_db()
    assert old.deleted is not None


def test_deleting_a_live_article_withdraws_its_announcement(home, moderator):
    article = publish(news(home), moderator)
    post = visible_announcements().get()
    article.delete()
    post.refresh_from_db()
    assert post.deleted is not None


def test_tags_become_hashtags(home, moderator):
    article = news(home)
    article.tags.add("Budget", "open data")
    publish(article, moderator)
    post = visible_announcements().get()
    assert set(post.hashtags.values_list("name", flat=True)) == {"budget", "opendata"}


def test_nobody_may_sign_it_means_no_announcement_and_a_logged_error(home, agency, caplog):
    """A page published by someone who is not staff (e.g. from a script) stays live; the
    missing announcement is logged for an administrator."""
    nobody = UserFactory(profile__agency=agency)
    article = news(home)
    article.save_revision(user=nobody).publish()  # a script: no publishing user checked
    article.refresh_from_db()
    assert article.live and not visible_announcements().exists()
    assert "has no announcement" in caplog.text


# --- moderation -------------------------------------------------------------------------------


def test_an_editor_submits_and_a_moderator_publishes(home, editor, moderator):
    """Draft, submit for moderation (Wagtail's "Moderators approval" workflow), approve."""
    article = news(home)
    article.owner = editor
    article.save()
    article.save_revision(user=editor)
    workflow = article.get_workflow()
    assert isinstance(workflow, Workflow)
    workflow.start(article, editor)
    article.refresh_from_db()
    assert not article.live and not visible_announcements().exists()
    task_state = article.current_workflow_task_state
    assert task_state.task.specific.user_can_access_editor(article, moderator)
    assert not task_state.task.specific.user_can_access_editor(article, UserFactory())
    task_state.approve(user=moderator)
    article.refresh_from_db()
    assert article.live
    post = visible_announcements().get()
    assert post.author == editor  # the announcement is signed by the article's editor


def test_editors_cannot_publish_but_moderators_can(home, editor, moderator):
    article = news(home)
    assert not article.permissions_for_user(editor).can_publish()
    assert article.permissions_for_user(editor).can_edit()
    assert article.permissions_for_user(moderator).can_publish()


def test_a_moderator_who_is_not_staff_gets_a_clear_error_instead_of_silent_news(
    client, home, agency
):
    """Publishing from the admin: the hook stops it before the page goes live."""
    from django.contrib.auth.models import Group as AuthGroup
    from wagtail.test.utils.form_data import nested_form_data, rich_text

    person = UserFactory(profile__agency=agency)
    person.groups.add(AuthGroup.objects.get(name="Moderators"))
    article = news(home)
    client.force_login(person)
    url = reverse("wagtailadmin_pages:edit", args=[article.pk])
    data = nested_form_data(
        {
            "title": article.title,
            "slug": article.slug,
            "lead": article.lead,
            "body": rich_text("<p>Body</p>"),
            "tags": "",
            "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0},
            "action-publish": "publish",
        }
    )
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    article.refresh_from_db()
    assert not article.live
    assert "only staff editors" in response.content.decode()
    assert not visible_announcements().exists()
