"""The notifications pages: the list, opening one, read state, preferences, unsubscribe.

Each view parses, calls one action or selector, renders. Someone else's notification, or one
about something the viewer may no longer see, answers 404 like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import permissions

from . import actions, selectors
from .emails import read_unsubscribe_token
from .forms import PreferencesForm
from .live import count_label
from .messages import describe, excerpt
from .models import Kind

staff_required = user_passes_test(permissions.is_active_staff)


def _decorate(items) -> list:
    for item in items:
        item.message = describe(item)
        item.quote = excerpt(item)
    return items


@staff_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    try:
        page = selectors.notifications_for(viewer=request.user, before=request.GET.get("before"))
    except selectors.InvalidCursor:
        return render(request, "feeds/bad_cursor.html", {"back_url": request.path}, status=400)
    _decorate(page.items)
    return render(request, "notifications/list.html", {"page": page})


@staff_required
@require_GET
def unread(request: HttpRequest) -> JsonResponse:
    """The bell's count, for a page that reconnects (or a client without the websocket)."""
    unread = selectors.unread_count(user=request.user)
    return JsonResponse({"unread": unread, "label": count_label(unread)})


@staff_required
@require_GET
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification: it becomes read, and the browser goes where it points."""
    notification = selectors.notification_get(viewer=request.user, notification_id=notification_id)
    if notification is None:
        raise Http404
    actions.mark_read(user=request.user, notification=notification)
    target = notification.url
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "notifications:list"
    return redirect(target)


@staff_required
@require_POST
def read_one(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_get(viewer=request.user, notification_id=notification_id)
    if notification is None:
        raise Http404
    actions.mark_read(user=request.user, notification=notification)
    return redirect("notifications:list")


@staff_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    count = actions.mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All your notifications are marked as read."))
    return redirect("notifications:list")


@staff_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = selectors.preferences_for(user=request.user)
    kinds = selectors.kinds_for(user=request.user)  # reports: for moderators only
    if request.method == "POST":
        form = PreferencesForm(request.POST, current=current, kinds=kinds)
        if form.is_valid():
            try:
                actions.set_preferences(user=request.user, choices=form.cleaned_data)
            except ValidationError as exc:
                for kind, errors in exc.message_dict.items():
                    form.add_error(kind if kind in form.fields else None, errors)
            else:
                messages.success(request, _("Your notification choices are saved."))
                return redirect("notifications:preferences")
        status = 400
    else:
        form = PreferencesForm(current=current, kinds=kinds)
        status = 200
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


@csrf_exempt  # the signed token is the proof; mail clients POST it (RFC 8058 one-click)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Stop one kind of email without signing in.

    GET only shows what the link does (mail scanners follow links); POST does it.
    """
    context = {"token": token}
    if request.method == "GET":
        try:
            _user_id, kind = read_unsubscribe_token(token)
        except signing.BadSignature:
            return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
        context["kind_label"] = Kind(kind).label if kind in Kind.values else None
        return render(request, "notifications/unsubscribe.html", context)
    try:
        user, kinds = actions.unsubscribe(token=token)
    except ValidationError:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    context["done"] = True
    # Every emailed kind stops (reports too, should they become a moderator later); the page
    # names only the kinds they can receive.
    receivable = selectors.kinds_for(user=user)
    context["kind_labels"] = [Kind(kind).label for kind in kinds if kind in receivable]
    return render(request, "notifications/unsubscribe.html", context)
