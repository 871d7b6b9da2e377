"""The sign-in redirect and callback of the `agency_oidc` provider (see provider.py)."""

from __future__ import annotations

import jwt
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from identity.conf import normalize_issuer, provider_config

# Asymmetric algorithms only: a key published in the provider's JWKS can never be used as an
# HMAC secret, and "none" is never accepted.
ID_TOKEN_ALGORITHMS = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}  # fmt: skip
CLOCK_SKEW_SECONDS = 30


class AgencyOIDCAdapter(OpenIDConnectOAuth2Adapter):
    state: dict | None = None  # the unstashed state of this callback (set by the view)

    def get_callback_url(self, request: HttpRequest, app):
        url = reverse("agency_oidc_callback", kwargs={"provider_id": self.provider_id})
        return build_absolute_uri(request, url, self.redirect_uri_protocol)

    def complete_login(self, request: HttpRequest, app, token: SocialToken, **kwargs):
        raw = kwargs["response"].get("id_token")
        if not raw:
            raise OAuth2Error("the provider sent no ID token")
        config = provider_config(app)
        discovered = self.openid_config.get("issuer", "")
        if normalize_issuer(discovered) != normalize_issuer(config.issuer):
            raise OAuth2Error(f"discovery names issuer {discovered!r}, not {config.issuer!r}")
        id_token = self._verified_id_token(app, raw, issuer=discovered)
        expected_nonce = (self.state or {}).get("nonce") or ""
        if not expected_nonce or not constant_time_compare(
            str(id_token.get("nonce", "")), expected_nonce
        ):
            raise OAuth2Error("the ID token does not carry this sign-in's nonce")
        data = {"id_token": id_token}
        if app.settings.get("fetch_userinfo", True) and self.openid_config.get("userinfo_endpoint"):
            userinfo = self._fetch_user_info(token.token)
            if str(userinfo.get("sub")) != str(id_token["sub"]):
                raise OAuth2Error("userinfo describes another subject than the ID token")
            data["userinfo"] = userinfo
        login = self.get_provider().sociallogin_from_response(request, data)
        # For RP-initiated logout (identity.adapters.AccountAdapter.login keeps it).
        request.agora_sso = {"provider": app.provider_id, "id_token": raw}
        return login

    def _verified_id_token(self, app, raw: str, *, issuer: str) -> dict:
        try:
            header = jwt.get_unverified_header(raw)
            algorithm = header.get("alg")
            if algorithm not in ID_TOKEN_ALGORITHMS:
                raise OAuth2Error(f"ID token signed with {algorithm!r}")
            _alg, key = jwtkit.fetch_key(raw, self.openid_config["jwks_uri"], jwtkit.lookup_kid_jwk)
            data = jwt.decode(
                raw,
                key=key,
                algorithms=[algorithm],
                audience=app.client_id,
                issuer=issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise OAuth2Error(f"invalid ID token: {exc}") from exc
        audiences = data["aud"] if isinstance(data["aud"], list) else [data["aud"]]
        if len(audiences) > 1 and data.get("azp") != app.client_id:
            raise OAuth2Error("ID token for several audiences without this client as azp")
        jwtkit.verify_jti(data)
        return data


class AgencyOIDCCallbackView(OAuth2CallbackView):
    def dispatch(self, request: HttpRequest, *args, **kwargs):
        provider = self.adapter.get_provider()
        iss = request.GET.get("iss")
        if iss is not None and normalize_issuer(iss) != normalize_issuer(
            provider_config(provider.app).issuer
        ):
            return render_authentication_error(
                request, provider, exception=OAuth2Error(f"response from issuer {iss!r}")
            )
        return super().dispatch(request, *args, **kwargs)

    def _get_state(self, request: HttpRequest, provider):
        state, response = super()._get_state(request, provider)
        self.adapter.state = state
        return state, response


@login_not_required
def login(request: HttpRequest, provider_id: str):
    try:
        return OAuth2LoginView.adapter_view(AgencyOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


@login_not_required
def callback(request: HttpRequest, provider_id: str):
    try:
        return AgencyOIDCCallbackView.adapter_view(AgencyOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
