"""The bell in the page header: the unread count, read only if the page shows it."""

from __future__ import annotations

from django.utils.functional import cached_property

import permissions

from .selectors import unread_count


class Bell:
    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(user=self.user)


def bell(request) -> dict:
    """`notification_bell.unread`: one indexed count query, and only when a template asks."""
    user = getattr(request, "user", None)
    if user is None or not permissions.is_active_staff(user):
        return {}
    return {"notification_bell": Bell(user)}
