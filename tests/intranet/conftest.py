"""Intranet tests: the home page comes from the data migration; the outbox is drained by
hand through the notifications consumer (search indexing has its own tests)."""

import pytest
from wagtail.models import Page

from intranet.actions import grant_role
from intranet.models import IntranetHomePage, NewsArticle, StandardPage
from outbox.worker import drain
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.OUTBOX_CONSUMERS = ["notifications.consumers.handle_event"]
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = None


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            while sum(drain()):
                pass

    return run


@pytest.fixture
def home():
    return IntranetHomePage.objects.get()


@pytest.fixture
def editor(agency):
    """An intranet editor: staff, in the Editors group (writes, submits for moderation)."""
    person = UserFactory(profile__agency=agency, profile__display_name="Eda Editor")
    grant_role(user=person, role="editor")
    return person


@pytest.fixture
def moderator(agency):
    """An intranet moderator: staff, in the Moderators group (publishes)."""
    person = UserFactory(profile__agency=agency, profile__display_name="Mo Moderator")
    grant_role(user=person, role="moderator")
    return person


def add_draft(parent: Page, page: Page) -> Page:
    page.live = False
    parent.add_child(instance=page)
    return page


def news(parent, *, title="Budget 2027 is out", slug=None, **fields) -> NewsArticle:
    fields.setdefault("lead", "What the new budget means for every team.")
    fields.setdefault("body", "<p>The <b>details</b> are in the attached note.</p>")
    return add_draft(
        parent, NewsArticle(title=title, slug=slug or title.lower().replace(" ", "-"), **fields)
    )


def guide(parent, *, title="Community guidelines", slug="community-guidelines") -> StandardPage:
    return add_draft(parent, StandardPage(title=title, slug=slug, body="<p>Be kind.</p>"))


def publish(page: Page, user) -> Page:
    revision = page.save_revision(user=user)
    revision.publish(user=user)
    page.refresh_from_db()
    return page
