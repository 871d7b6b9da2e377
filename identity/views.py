"""Sign-in and sign-out pages: agency providers, the password form, RP-initiated logout."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.views.decorators.http import require_POST
from requests import RequestException

from . import selectors
from .adapters import SSO_SESSION_KEY
from .conf import OIDC, provider_config
from .forms import SignInForm

logger = logging.getLogger(__name__)


class SignInView(LoginView):
    """`/accounts/login/`: the agency buttons, and the password form where it is allowed."""

    template_name = "registration/login.html"
    form_class = SignInForm

    def post(self, request, *args, **kwargs):
        if not selectors.password_form_shown():
            return HttpResponseForbidden()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            providers=selectors.sign_in_providers(self.request),
            password_form=selectors.password_form_shown(),
            local_login=selectors.local_login_enabled(),
        )
        return context


@require_POST
def sign_out(request):
    """Sign out of Agora, then of the agency provider when it offers RP-initiated logout."""
    sso = request.session.get(SSO_SESSION_KEY)
    logout(request)
    after = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    target = provider_logout_url(request, sso, post_logout_redirect_uri=after) if sso else None
    return HttpResponseRedirect(target or after)


def provider_logout_url(request, sso: dict, *, post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session URL for this sign-in, or None (local sign-out only)."""
    try:
        provider = get_adapter().get_provider(request, sso["provider"])
        config = provider_config(provider.app)
        if config.kind != OIDC or not config.logout:
            return None
        endpoint = provider.get_oauth2_adapter(request).openid_config.get("end_session_endpoint")
    except (SocialApp.DoesNotExist, KeyError, ValueError, RequestException) as exc:
        logger.warning("no provider logout for %s: %s", sso.get("provider"), exc)
        return None
    if not endpoint:
        return None
    params = {
        "id_token_hint": sso["id_token"],
        "client_id": provider.app.client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri,
    }
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"
