"""Interface language: the person's own setting, else what the browser asks for."""

from django.utils import translation

import permissions

from .actions import ensure_profile


class ProfileLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = ensure_profile(user)
            permissions.agency_was_read(user, profile.agency_id)  # one read per GET
            if profile.preferred_language:
                translation.activate(profile.preferred_language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
