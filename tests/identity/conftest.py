"""Fixtures of the identity tests: the real servers, and Agora configured for them."""

import pytest

from identity import conf as identity_conf
from tests.identity.servers.fixtures import (  # noqa: F401  (fixtures)
    allauth_idp,
    node_idp,
    saml_idp,
    slapd,
    slapd_scratch,
    sso_agora_port,
)

ALLOWED_DOMAINS = ["finance.gov.test", "health.gov.test", "justice.gov.test", "demo.gov.test"]


@pytest.fixture
def configure_providers(settings):
    """Point Agora at test providers, through the same environment variables as production."""

    def configure(*providers, **extra_env: str):
        env = {
            "OIDC_PROVIDERS": ",".join(p.id for p in providers if hasattr(p, "client_id")),
            "SAML_PROVIDERS": ",".join(p.id for p in providers if not hasattr(p, "client_id")),
        }
        for provider in providers:
            env.update(provider.env())
        env.update(extra_env)
        settings.SOCIALACCOUNT_PROVIDERS = identity_conf.socialaccount_providers(
            identity_conf.oidc_providers(env), identity_conf.saml_providers(env)
        )
        return settings.SOCIALACCOUNT_PROVIDERS

    settings.AGORA_ALLOWED_EMAIL_DOMAINS = ALLOWED_DOMAINS
    settings.AGORA_ALLOWED_ISSUERS = []
    return configure
