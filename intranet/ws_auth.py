"""Who is on the other end of a websocket: the session (browsers) or an API token (clients).

Browsers authenticate with their session cookie; because a cookie is sent whatever page opens
the socket, those handshakes must come from one of our own origins (ALLOWED_HOSTS) or they
are refused. Other clients send `Authorization: Token <key>` (DRF's authtoken, the key from
`POST /api/auth/token/`) in the handshake: a browser cannot set that header on a websocket,
so no origin check is needed and cookies are ignored on that path. (A query-string token would
end up in access logs; a token in the subprotocol header is a hack.)
"""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


def _token_key(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
            return ""  # an Authorization header we do not understand: nobody
    return None


class TokenAuthMiddleware:
    """Sets scope["user"] from an `Authorization: Token <key>` header (else AnonymousUser)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        key = _token_key(scope)
        user = await _user_for_token(key) if key else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)


class SessionOrTokenAuth:
    """Route a handshake through token auth if it carries a token, else through the session
    (with the origin check)."""

    def __init__(self, app):
        self.token = TokenAuthMiddleware(app)
        self.session = AllowedHostsOriginValidator(AuthMiddlewareStack(app))

    async def __call__(self, scope, receive, send):
        if _token_key(scope) is not None:
            return await self.token(scope, receive, send)
        return await self.session(scope, receive, send)
