"""The identity provider's pages, its accounts' login, and the test-only control routes."""

import json
from datetime import timedelta

from allauth.idp.oidc.models import Client, Token
from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .adapter import CONTROL, LOCK


@csrf_exempt
@require_POST
def set_user(request, username):
    """Create or change an account; its JSON body: password and claims (null removes one)."""
    body = json.loads(request.body or "{}")
    password = body.pop("password", None)
    user, _created = get_user_model().objects.get_or_create(username=username)
    if password:
        user.set_password(password)
        user.save()
    with LOCK:
        claims = CONTROL["claims"].setdefault(username, {})
        claims.update(body)
    return JsonResponse({"sub": str(user.pk)})


@csrf_exempt
@require_POST
def set_tamper(request):
    with LOCK:
        CONTROL["tamper"] = json.loads(request.body or "{}")
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def expire_codes(request):
    """Make every authorization code issued so far expired."""
    past = timezone.now() - timedelta(seconds=1)
    count = Token.objects.filter(type=Token.Type.AUTHORIZATION_CODE).update(expires_at=past)
    return JsonResponse({"expired": count})


@csrf_exempt
@require_POST
def add_client(request):
    body = json.loads(request.body)
    client, _created = Client.objects.get_or_create(
        id=body["client_id"], defaults={"name": body["client_id"]}
    )
    client.set_secret(body["client_secret"])
    client.set_redirect_uris(body["redirect_uris"])
    client.set_post_logout_redirect_uris(body.get("post_logout_redirect_uris", []))
    client.set_scopes(["openid", "profile", "email"])
    client.set_grant_types([Client.GrantType.AUTHORIZATION_CODE])
    client.set_response_types(["code"])
    client.type = Client.Type.CONFIDENTIAL
    client.skip_consent = True
    client.save()
    return JsonResponse({"ok": True})


urlpatterns = [
    path("control/users/<str:username>", set_user),
    path("control/tamper", set_tamper),
    path("control/expire-codes", expire_codes),
    path("control/clients", add_client),
    path("accounts/", include("allauth.urls")),
    path("", include("allauth.idp.urls")),
]
