"""Wagtail hooks: who may read the intranet, and a clear error before news cannot be announced."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from wagtail import hooks

import permissions

from .models import NewsArticle


@hooks.register("before_serve_page")
def require_staff(page, request, serve_args, serve_kwargs):
    """The intranet is for signed-in, active staff only, like the rest of Agora."""
    if not permissions.is_active_staff(request.user):
        return redirect_to_login(request.get_full_path())
    return None


@hooks.register("before_publish_page")
def news_needs_a_staff_publisher(request, page):
    """Publishing news posts an announcement in the feeds, which only staff may sign.

    Said before the page goes live (it stays a saved draft), instead of a live article that
    nobody could announce. (A moderator's approval publishes with the submitting editor as
    the signer: README, "Intranet pages and editors".)
    """
    if not isinstance(page.specific, NewsArticle):
        return None
    if permissions.can_publish_announcement(request.user):
        return None
    messages.error(
        request,
        _(
            "Saved as a draft, not published: publishing news announces it in the feeds, "
            "which only staff editors may do. Submit it for moderation instead."
        ),
    )
    return redirect("wagtailadmin_pages:edit", page.pk)
