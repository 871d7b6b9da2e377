from django.apps import AppConfig


class AgencyOIDCConfig(AppConfig):
    """The allauth provider package for agencies' OpenID Connect sign-in."""

    name = "identity.oidc"
    label = "identity_oidc"
    verbose_name = "Agency OpenID Connect"
