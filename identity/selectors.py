"""Read paths for identity: where a profile's fields come from, how people may sign in."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import ALLAUTH_OIDC_PROVIDER, ALLAUTH_SAML_PROVIDER, provider_config
from .models import DirectoryIdentity


def directory_fields(profile) -> set[str]:
    """The profile fields an outside source keeps up to date (read-only for the person).

    The agency directory (LDAP sync) and the agency sign-in (claims at each sign-in) both
    count: a value the person typed would be overwritten at the next sync or sign-in.
    """
    if profile is None or profile.user_id is None:
        return set()
    fields: set[str] = set()
    for managed in DirectoryIdentity.objects.filter(
        user_id=profile.user_id, deactivated__isnull=True
    ).values_list("managed_fields", flat=True):
        fields.update(managed or [])
    return fields


def directory_identities(*, user):
    """The outside identities of `user`: for their profile ("from the directory") and admins."""
    return DirectoryIdentity.objects.filter(user=user).order_by("kind", "source")


def sign_in_providers(request) -> list[dict]:
    """The agency providers configured, in order, for the sign-in page's buttons."""
    from allauth.socialaccount.adapter import get_adapter

    providers = []
    for provider in get_adapter().list_providers(request):
        if provider.id not in (ALLAUTH_OIDC_PROVIDER, ALLAUTH_SAML_PROVIDER):
            continue
        try:
            config = provider_config(provider.app)
        except ImproperlyConfigured:
            continue  # an app added by hand in the admin, without Agora's settings: not offered
        providers.append(
            {
                "id": config.id,
                "kind": config.kind,
                "label": config.label,
                "login_url": provider.get_login_url(request),
            }
        )
    return providers


def local_login_enabled() -> bool:
    """Password sign-in for everyone (`AGORA_LOCAL_LOGIN`, on for the embedded demo)."""
    return bool(getattr(settings, "AGORA_LOCAL_LOGIN", True))


def local_login_for_admins() -> bool:
    """With local login off, may administrators still use their password?"""
    return bool(getattr(settings, "AGORA_LOCAL_LOGIN_ADMINS", False))


def password_form_shown() -> bool:
    return local_login_enabled() or local_login_for_admins()


def may_use_password(user) -> bool:
    if local_login_enabled():
        return True
    return local_login_for_admins() and bool(user.is_staff or user.is_superuser)
