"""django-allauth adapters: where an agency sign-in becomes an Agora account.

allauth verifies the protocol (identity/oidc for OpenID Connect, its SAML provider for SAML)
and finds the social account by (provider id, subject). Then `pre_social_login` hands the
verified claims to `identity.actions.provision_from_claims`, which binds the person by
(issuer, subject), applies the allowed issuers and email domains, and creates or updates the
account and profile; a refusal becomes a clear page and leaves nothing behind. Email addresses
never select an account: allauth's email matching is off here, whatever the settings say.
"""

from __future__ import annotations

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import actions
from .claims import Claims, claims_from_data
from .conf import OIDC, ProviderConfig, normalize_issuer, provider_config

logger = logging.getLogger(__name__)

SSO_SESSION_KEY = "agora_sso"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Accounts come from the directory or an agency sign-in, never from a signup form."""
        return False

    def add_message(self, *args, **kwargs) -> None:
        """No "Successfully signed in as ..." banners: Agora's own pages say what happened."""

    def login(self, request, user) -> None:
        sso = getattr(request, "agora_sso", None)
        super().login(request, user)
        if sso:
            request.session[SSO_SESSION_KEY] = sso


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def can_authenticate_by_email(self, login, email) -> bool:
        return False

    def authenticate_by_email(self, sociallogin):
        return None

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True  # provisioning already happened in pre_social_login

    def validate_disconnect(self, account, accounts) -> None:
        raise ValidationError(_("Agency sign-in identities are managed by your administrator."))

    def pre_social_login(self, request, sociallogin) -> None:
        provider = sociallogin.provider
        try:
            config = provider_config(provider.app)
        except ImproperlyConfigured:
            config = ProviderConfig(
                id=provider.app.provider_id or provider.app.client_id,
                kind=provider.id,
                label=provider.name,
                issuer="",
            )
            logger.error("sign-in app %s has no Agora settings (OIDC_/SAML_ variables)", config.id)
            raise ImmediateHttpResponse(refused_page(request, "not_configured", config)) from None
        try:
            if sociallogin.state.get("process", AuthProcess.LOGIN) != AuthProcess.LOGIN:
                raise actions.SignInRefused("not_supported")
            claims = claims_from_login(config, sociallogin)
            linked_user = sociallogin.user if sociallogin.is_existing else None
            with transaction.atomic():
                user = actions.provision_from_claims(
                    provider=config, claims=claims, linked_user=linked_user
                )
                if linked_user is None:
                    sociallogin.connect(request, user)
        except actions.SignInRefused as refusal:
            logger.warning(
                "sign-in refused (%s) from provider %s, subject %s",
                refusal.code,
                config.id,
                sociallogin.account.uid,
            )
            raise ImmediateHttpResponse(refused_page(request, refusal, config)) from refusal
        sociallogin.user = user


def refused_page(request, refusal, config: ProviderConfig):
    if isinstance(refusal, str):
        refusal = actions.SignInRefused(refusal)
    context = {"refusal": refusal, "provider": config}
    return render(request, "identity/refused.html", context, status=403)


def claims_from_login(config: ProviderConfig, sociallogin) -> Claims:
    """The verified claims of an allauth social login, in Agora's terms."""
    extra = sociallogin.account.extra_data or {}
    if config.kind == OIDC:
        id_token = extra.get("id_token") or {}
        data = {**id_token, **(extra.get("userinfo") or {})}
        issuer = id_token.get("iss") or config.issuer
    else:
        data = extra  # SAML attributes: {name: [values]}
        issuer = config.issuer  # python3-saml checked the response's Issuer against it
    return claims_from_data(
        provider=config,
        issuer=normalize_issuer(issuer),
        subject=str(sociallogin.account.uid or ""),
        data=data,
    )
