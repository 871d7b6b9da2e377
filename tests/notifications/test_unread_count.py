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
    monkeypatch.setattr(selectors._unread, "_statements", Statements(size=4))
    counts = [selectors.unread_count(user=person) for person in (*people, people[0])]
    expected = [
        Notification.objects.filter(recipient=p, read_at__isnull=True).count()
        for p in (*people, people[0])
    ]
    assert counts == expected == [0, 1, 2, 3, 0]
    assert len(selectors._unread._statements._items) == 1  # the compiled path ran
    people[3].is_active = False
    assert selectors.unread_count(user=people[3]) == 0
