"""The bell's count (`notifications.selectors.unread_count`), a statement compiled once and run
for each person: their own unread notifications, as the ORM counts them."""

import pytest
from django.utils import timezone

from feeds.compiled import Statements
from notifications import selectors
from notifications.models import Kind, Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_each_person_gets_their_own_unread_count(monkeypatch):
    people = [UserFactory() for _ in range(4)]
    for n, person in enumerate(people):
        for i in range(n * 2):
            Notification.objects.create(
                recipient=person, kind=Kind.FOLLOW, key=f"k{i}", url="/",
                read_at=timezone.now() if i % 2 else None,
            )  # fmt: skip
    counter = selectors._unread_not_moderating  # nobody here moderates reports
    monkeypatch.setattr(counter, "_statements", Statements(size=4))
    counts = [selectors.unread_count(user=person) for person in (*people, people[0])]
    expected = [
        Notification.objects.filter(recipient=p, read_at__isnull=True).count()
        for p in (*people, people[0])
    ]
    assert counts == expected == [0, 1, 2, 3, 0]
    assert len(counter._statements._items) == 1  # the compiled path ran
    people[3].is_active = False
    assert selectors.unread_count(user=people[3]) == 0


def test_reports_count_only_while_the_person_moderates():
    """A report's notification stays in the table when its moderator stops moderating (nothing
    prunes it); the list hides it from them then, and so must the bell."""
    from intranet.actions import grant_role
    from notifications.selectors import visible_notifications

    person = UserFactory()
    grant_role(user=person, role="moderator")
    for kind, key in ((Kind.REPORT, "report:1"), (Kind.FOLLOW, "follow:1")):
        Notification.objects.create(recipient=person, kind=kind, key=key, url="/")
    assert selectors.unread_count(user=person) == 2
    person.is_staff = False  # out of the admin: no longer a moderator
    person.save(update_fields=["is_staff"])
    person = type(person).objects.get(pk=person.pk)  # no permissions cached from before
    assert selectors.unread_count(user=person) == visible_notifications(person).count() == 1
