"""An allauth provider for agencies' OpenID Connect sign-in, stricter than the stock one.

django-allauth's `openid_connect` provider neither sends nor checks a `nonce`, and skips the
ID token's signature when the token came straight from the token endpoint. Agora's provider,
registered as `agency_oidc` (one allauth app per agency, see identity/conf.py):

- always uses the authorization-code flow with PKCE (S256) and a `state`;
- sends a fresh `nonce` with every sign-in, keeps it in the (single-use) state, and refuses
  an ID token that does not carry it back;
- verifies the ID token's signature against the provider's published keys, its issuer (the
  configured one, which discovery must confirm), audience (and `azp`), expiry, and refuses a
  replayed token (`jti`);
- refuses userinfo about another subject than the ID token's, and an authorization response
  whose `iss` parameter (RFC 9207) names another issuer;
- offers no token-posting sign-in (`supports_token_authentication = False`).
"""

from __future__ import annotations

import logging

from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest
from django.utils.crypto import get_random_string
from requests import RequestException

from .views import AgencyOIDCAdapter

logger = logging.getLogger(__name__)


class AgencyOIDCProvider(OpenIDConnectProvider):
    id = "agency_oidc"
    name = "Agency sign-in"
    supports_token_authentication = False
    oauth2_adapter_class = AgencyOIDCAdapter

    def get_pkce_params(self) -> dict:
        return generate_code_challenge()  # always, whatever the app settings say

    def get_oauth2_adapter(self, request: HttpRequest):
        return self.oauth2_adapter_class(request, self.app.provider_id)

    def verify_token(self, request: HttpRequest, token):
        raise NotImplementedError("agency sign-in goes through the browser flow only")

    def redirect(self, request: HttpRequest, process, next_url=None, data=None, **kwargs):
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        nonce = get_random_string(43)
        auth_params = {**auth_params, "nonce": nonce}
        try:
            return super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except (RequestException, ValueError, KeyError) as exc:
            # Discovery failed: the provider is down or answers nonsense.
            logger.warning("sign-in provider %s unreachable: %s", self.app.provider_id, exc)
            return render_authentication_error(request, self, exception=exc)


provider_classes = [AgencyOIDCProvider]
