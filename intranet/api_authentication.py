"""The API's token authentication (its own module: DRF imports it while loading settings)."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

import permissions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with the person's profile read in the same query.

    Every API call then asks the permission module for the caller's agency; inside a GET
    (`permissions.agency_read_once`) that answer is the profile read here, not one more query.
    The messages are DRF's own (and so are its translations).
    """

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user__profile").get(key=key)
        except model.DoesNotExist as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        try:
            agency_id = user.profile.agency_id
        except ObjectDoesNotExist:
            agency_id = None
        permissions.agency_was_read(user, agency_id)
        return (user, token)
