"""The API's token authentication (its own module: DRF imports it while loading settings)."""

from django.core.exceptions import ObjectDoesNotExist
from django.db import router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

import permissions
from feeds.compiled import Statement, Statements, text_marker

_KEY = text_marker(0)
_STATEMENTS = Statements(size=8)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with the person's profile read in the same query.

    Every API call then asks the permission module for the caller's agency; inside a GET
    (`permissions.agency_read_once`) that answer is the profile read here, not one more query.
    The query is compiled once (feeds/compiled.py): every API request runs it, and building
    it with the ORM each time cost more than running it. The messages are DRF's own (and so
    are their translations).
    """

    def lookup(self, key: str):
        model = self.get_model()
        alias = router.db_for_read(model)

        def build() -> Statement:
            queryset = model.objects.using(alias).select_related("user__profile")
            return Statement(queryset.filter(key=_KEY), {"key": _KEY})

        found = _STATEMENTS.get((model, alias), build).run({"key": key})
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return found[0]

    def authenticate_credentials(self, key):
        token = self.lookup(key)
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        try:
            agency_id = user.profile.agency_id
        except ObjectDoesNotExist:
            agency_id = None
        permissions.agency_was_read(user, agency_id)
        return (user, token)
