"""Project-wide views that belong to no single app."""

from django.conf import settings
from django.views import i18n
from django.views.decorators.http import require_POST

from profiles.actions import set_preferred_language


@require_POST
def set_language(request):
    """Django's set_language that also remembers the choice on a signed-in person's profile.

    The profile's language wins over the browser's on every request, so without this the
    switcher would seem to do nothing for someone who once chose a language.
    """
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        set_preferred_language(user=request.user, language=language)
    return i18n.set_language(request)
