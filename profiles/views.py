"""People pages: the directory, profiles, editing one's own, follows.

Each view parses its input with a form, calls one action or selector and renders. Action
errors map onto HTTP: ValidationError → a message or form error, PermissionDenied → 403,
Http404 → 404.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from feeds.cursors import InvalidCursor
from feeds.selectors import posts_for_profile

from . import actions, selectors
from .forms import DirectoryFilterForm, ProfileForm

PEOPLE_PER_PAGE = 24


def safe_next_url(request, default: str) -> str:
    """The `next` parameter when it points back into this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def paginate(request, queryset, per_page: int = PEOPLE_PER_PAGE):
    """A page of `queryset` from `?page=` (a bad number gives the first or last page)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def page_range(page) -> list:
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


def feed_page(request, selector, **kwargs):
    """One page of a feed from `?before=`: (page, None), or (None, a 400 page) for a bad cursor."""
    try:
        return selector(before=request.GET.get("before") or None, **kwargs), None
    except InvalidCursor:
        bad = render(request, "feeds/bad_cursor.html", {"back_url": request.path}, status=400)
        return None, bad


def _profile_or_404(request, username: str):
    profile = selectors.profile_get(viewer=request.user, username=username)
    if profile is None:
        raise Http404
    return profile


@login_required
@require_GET
def directory(request):
    form = DirectoryFilterForm(request.GET)
    filters = form.filters()
    page = paginate(request, selectors.directory(viewer=request.user, **filters))
    return render(
        request,
        "profiles/directory.html",
        {
            "form": form,
            "page": page,
            "page_range": page_range(page),
            "expertise_options": selectors.expertise_tags(),
            "filtered": any(filters.values()),
        },
    )


@login_required
@require_GET
def profile_detail(request, username: str):
    profile = _profile_or_404(request, username)
    posts, bad_cursor = feed_page(
        request, posts_for_profile, viewer=request.user, author=profile.user
    )
    if bad_cursor:
        return bad_cursor
    is_self = profile.user_id == request.user.pk
    return render(
        request,
        "profiles/detail.html",
        {
            "profile": profile,
            "is_self": is_self,
            "is_following": (
                not is_self and selectors.is_following(follower=request.user, followee=profile.user)
            ),
            "feed": posts,
            "feed_base_url": request.path,
        },
    )


@login_required
@require_GET
def avatar(request, username: str):
    profile = _profile_or_404(request, username)
    if not profile.avatar:
        raise Http404
    try:
        handle = profile.avatar.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(profile.avatar.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    profile = actions.ensure_profile(request.user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, profile=profile)
        if form.is_valid():
            old_avatar = profile.avatar.name
            changes = form.changes()
            expertise = changes.pop("expertise")
            try:
                actions.update_profile(
                    profile=profile, actor=request.user, expertise=expertise, **changes
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
                profile.refresh_from_db()  # the action may have set attributes before failing
            else:
                if old_avatar and "avatar" in changes:
                    profile.avatar.storage.delete(old_avatar)
                messages.success(request, _("Your profile is saved."))
                return redirect(profile.get_absolute_url())
    else:
        form = ProfileForm(profile=profile)
    return render(request, "profiles/edit.html", {"form": form, "profile": profile})


def add_action_errors(form, error: ValidationError) -> None:
    """Show an action's ValidationError on the form: next to a field when it names one."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
@require_POST
def follow_toggle(request, username: str):
    followee = selectors.user_get(username=username)
    if followee is None:
        raise Http404
    back = safe_next_url(request, reverse("profiles:detail", args=[followee.get_username()]))
    profile = getattr(followee, "profile", None)
    name = profile.display_name if profile else followee.get_username()
    action = request.POST.get("action")
    if action == "follow":
        try:
            created = actions.follow(follower=request.user, followee=followee)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(back)
        if created:
            messages.success(request, _("You now follow %(name)s.") % {"name": name})
    elif action == "unfollow":
        if actions.unfollow(follower=request.user, followee=followee):
            messages.success(request, _("You no longer follow %(name)s.") % {"name": name})
    else:
        raise BadRequest(_("Choose follow or unfollow."))
    return redirect(back)


def _people_list(request, username: str, *, selector, title: str, empty: str):
    profile = _profile_or_404(request, username)
    page = paginate(request, selector(viewer=request.user, user=profile.user))
    return render(
        request,
        "profiles/people_list.html",
        {
            "profile": profile,
            "page": page,
            "page_range": page_range(page),
            "title": title,
            "empty_message": empty,
            "followers_url": reverse("profiles:followers", args=[profile.username]),
            "following_url": reverse("profiles:following", args=[profile.username]),
        },
    )


@login_required
@require_GET
def followers(request, username: str):
    return _people_list(
        request,
        username,
        selector=selectors.followers_of,
        title=_("Followers"),
        empty=_("Nobody follows this person yet."),
    )


@login_required
@require_GET
def following(request, username: str):
    return _people_list(
        request,
        username,
        selector=selectors.following_of,
        title=_("Following"),
        empty=_("This person does not follow anyone yet."),
    )
