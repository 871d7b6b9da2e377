"""The test provider's claims, and the ways a test can make it misbehave.

`CONTROL` is changed by the control views (urls.py): per-user claims (email, email_verified,
agency, ...) and `tamper`, which forges what a broken or hostile provider would send: another
issuer, another audience, another nonce, or userinfo about someone else. The ID token is still
signed with the provider's real key, so only Agora's checks stand in the way.
"""

import threading

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from django.conf import settings

LOCK = threading.Lock()
CONTROL: dict = {"claims": {}, "tamper": {}}


class TestProviderAdapter(DefaultOIDCAdapter):
    def get_issuer(self) -> str:
        return settings.IDP_ISSUER

    def get_claims(self, purpose, user, client, scopes, email=None, **kwargs):
        claims = super().get_claims(purpose, user, client, scopes, email=email, **kwargs)
        with LOCK:
            claims.update(CONTROL["claims"].get(user.get_username(), {}))
            tamper = dict(CONTROL["tamper"])
        if purpose == "userinfo" and "userinfo_sub" in tamper:
            claims["sub"] = tamper["userinfo_sub"]
        return {key: value for key, value in claims.items() if value is not None}

    def populate_id_token(self, id_token, client, scopes, **kwargs):
        with LOCK:
            tamper = dict(CONTROL["tamper"])
        for claim in ("iss", "aud", "nonce"):
            if claim in tamper:
                id_token[claim] = tamper[claim]
