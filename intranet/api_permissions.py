"""The API's base permission (its own module: DRF imports it while loading its views)."""

from rest_framework.permissions import BasePermission

import permissions


class IsActiveStaffMember(BasePermission):
    """Every API call needs an active, signed-in member of staff."""

    def has_permission(self, request, view) -> bool:
        return permissions.is_active_staff(request.user)
