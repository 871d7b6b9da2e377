"""The feeds pages: home, one post, editing, comments, reactions, attachments, hashtags.

Each view parses the request with a form, calls one action (writes) or selector (reads) and
renders. Who may see or do what is decided by `permissions` (through the selectors and the
actions): a post the viewer may not see is answered with 404, exactly like a missing one.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import permissions
from groups.selectors import pending_invitation_count

from . import actions, cards, selectors
from .cursors import InvalidCursor
from .forms import CommentForm, PostEditForm, PostForm, ReactionForm, ReportForm, apply_errors
from .idempotency import KeyInFlight, KeyMismatch, Replay
from .models import Attachment, IdempotencyKey, Post
from .realtime import parse_feed

# Signed in and not deactivated; anyone else is sent to the sign-in page.
staff_required = user_passes_test(permissions.is_active_staff)

PARTIAL_HEADER = "X-Agora-Partial"  # set by static/js/agora.js to get a fragment back


# --- helpers --------------------------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _bad_cursor(request: HttpRequest) -> HttpResponse:
    return render(request, "feeds/bad_cursor.html", {"back_url": request.path}, status=400)


def _post_form(request: HttpRequest, *, data=None, files=None) -> PostForm:
    groups = list(selectors.groups_to_post_in(viewer=request.user))
    initial = PostForm.fresh_token()
    wanted = request.GET.get("group")  # "Write a post in this group" preselects it
    if data is None and wanted:
        chosen = next((g for g in groups if g.slug == wanted), None)
        if chosen is not None:
            initial["audience"] = f"group:{chosen.pk}"
    return PostForm(
        data,
        files,
        initial=initial,
        groups=groups,
        has_agency=permissions.can_post_to_agency(request.user),
        auto_id="composer_%s",
    )


def _render_home(request: HttpRequest, form: PostForm, *, status: int = 200) -> HttpResponse:
    before = request.GET.get("before")
    since = request.GET.get("since")
    try:
        page = selectors.posts_for_home(viewer=request.user, before=before, since=since)
    except InvalidCursor:
        return _bad_cursor(request)
    context = {
        "form": form,
        "max_length": settings.AGORA_POST_MAX_LENGTH,
        "page": page,
        "since": since,
        "base_url": reverse("feeds:home"),
        "trending": selectors.trending_hashtags(viewer=request.user),
        "invitation_count": pending_invitation_count(user=request.user),
        "files_dropped": bool(request.FILES) and form.is_bound and bool(form.errors),
    }
    return render(request, "feeds/home.html", context, status=status)


def _get_post_or_404(request: HttpRequest, post_id: int) -> Post:
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    if post is None:
        raise Http404
    return post


def _render_post(
    request: HttpRequest,
    post: Post,
    *,
    comment_form: CommentForm | None = None,
    reply_form: CommentForm | None = None,
    reply_to: int | None = None,
    status: int = 200,
) -> HttpResponse:
    comments = selectors.comments_for_post(viewer=request.user, post=post)
    if reply_to is not None and all(c.pk != reply_to for c in comments):
        # The reply named a comment that is not (or no longer) on this page: show its
        # errors with the main comment form rather than lose them.
        comment_form, reply_form, reply_to = reply_form, None, None
    for comment in comments:
        for item in (comment, *comment.thread_replies):
            item.post = post  # already loaded: the permission checks below need no query
            item.can_delete = permissions.can_delete_comment(request.user, item)
        if reply_to == comment.pk and reply_form is not None:
            comment.reply_form = reply_form
        else:
            comment.reply_form = CommentForm(
                initial={"parent": comment.pk, **CommentForm.fresh_token()},
                auto_id=f"reply{comment.pk}_%s",
            )
    context = {
        "post": post,
        "comments": comments,
        "comment_form": comment_form
        or CommentForm(initial=CommentForm.fresh_token(), auto_id="comment_%s"),
        "can_delete": permissions.can_delete_post(request.user, post),
        "reply_to": reply_to,
    }
    return render(request, "feeds/post_detail.html", context, status=status)


# --- pages ----------------------------------------------------------------------------------


@staff_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The composer and the home feed (?before= pages back, ?since= shows what is newer)."""
    return _render_home(request, _post_form(request))


@staff_required
@require_POST
def post_create(request: HttpRequest) -> HttpResponse:
    form = _post_form(request, data=request.POST, files=request.FILES)
    if form.is_valid():
        group = None
        if form.group_id is not None:
            group = selectors.group_for_post(viewer=request.user, group_id=form.group_id)
            if group is None:
                raise Http404
        try:
            actions.create_post(
                author=request.user,
                body=form.cleaned_data["body"],
                audience=form.audience_value,
                group=group,
                attachments=form.cleaned_data["attachments"],
                once=form.idempotent_request(IdempotencyKey.Endpoint.WEB_POST),
            )
        except (Replay, KeyInFlight):
            # The same form sent again: the first submission wrote the post (or is writing
            # it); go where it went, as if this were the first.
            messages.success(request, _("Your post is published."))
            return redirect(_safe_next(request) or "feeds:home")
        except KeyMismatch:
            form.sent_before_differently()
        except ValidationError as exc:
            apply_errors(form, exc, default_field="body")
        else:
            messages.success(request, _("Your post is published."))
            return redirect(_safe_next(request) or "feeds:home")
    return _render_home(request, form, status=400)


@staff_required
@require_GET
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    return _render_post(request, _get_post_or_404(request, post_id))


@staff_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post_or_404(request, post_id)
    if not permissions.can_edit_post(request.user, post):
        raise PermissionDenied(_("Only the author can edit this post."))
    if request.method == "POST":
        form = PostEditForm(request.POST)
        if form.is_valid():
            try:
                actions.edit_post(post=post, editor=request.user, body=form.cleaned_data["body"])
            except ValidationError as exc:
                apply_errors(form, exc, default_field="body")
            else:
                messages.success(request, _("Your changes are saved."))
                return redirect(post)
        return render(request, "feeds/post_edit.html", {"post": post, "form": form}, status=400)
    form = PostEditForm(initial={"body": post.body})
    return render(request, "feeds/post_edit.html", {"post": post, "form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post_or_404(request, post_id)
    if request.method == "POST":
        actions.delete_post(post=post, actor=request.user)
        messages.success(request, _("The post is deleted."))
        return redirect("feeds:home")
    if not permissions.can_delete_post(request.user, post):
        raise PermissionDenied(_("Only the author or a moderator can delete this post."))
    return render(request, "feeds/post_delete.html", {"post": post})


@staff_required
@require_POST
def comment_create(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post_or_404(request, post_id)
    raw_parent = request.POST.get("parent", "")
    reply_to = int(raw_parent) if raw_parent.isascii() and raw_parent.isdigit() else None
    form = CommentForm(request.POST, auto_id=f"reply{reply_to}_%s" if reply_to else "comment_%s")
    if form.is_valid():
        parent = None
        parent_id = form.cleaned_data.get("parent")
        if parent_id:
            parent = selectors.comment_get(viewer=request.user, comment_id=parent_id)
        if parent_id and parent is None:
            form.add_error("body", _("You can only reply to a comment on this post."))
        else:
            try:
                comment = actions.add_comment(
                    post=post,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    parent=parent,
                    once=form.idempotent_request(IdempotencyKey.Endpoint.WEB_COMMENT, post=post.pk),
                )
            except Replay as replay:  # the same form sent again: go where the first went
                messages.success(request, _("Your comment is published."))
                return redirect(f"{post.get_absolute_url()}#comment-{replay.comment_id}")
            except KeyInFlight:
                messages.success(request, _("Your comment is published."))
                return redirect(f"{post.get_absolute_url()}#comments")
            except KeyMismatch:
                form.sent_before_differently()
            except ValidationError as exc:
                apply_errors(form, exc, default_field="body")
            else:
                messages.success(request, _("Your comment is published."))
                return redirect(f"{post.get_absolute_url()}#comment-{comment.pk}")
    if reply_to:
        return _render_post(request, post, reply_form=form, reply_to=reply_to, status=400)
    return _render_post(request, post, comment_form=form, status=400)


@staff_required
@require_POST
def comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = selectors.comment_get(viewer=request.user, comment_id=comment_id)
    if comment is None:
        raise Http404
    actions.delete_comment(comment=comment, actor=request.user)
    messages.success(request, _("The comment is deleted."))
    return redirect(f"{comment.post.get_absolute_url()}#comments")


@staff_required
@require_POST
def react(request: HttpRequest, post_id: int) -> HttpResponse:
    """Add or remove one reaction; answers a fragment to the script, a redirect otherwise."""
    post = _get_post_or_404(request, post_id)
    form = ReactionForm(request.POST)
    if not form.is_valid():
        return render(request, "feeds/bad_request.html", {"form": form}, status=400)
    change = actions.react if form.cleaned_data["action"] == "add" else actions.unreact
    change(post=post, user=request.user, kind=form.cleaned_data["kind"])
    target = _safe_next(request) or post.get_absolute_url()
    if request.headers.get(PARTIAL_HEADER) == "reactions":
        post = _get_post_or_404(request, post_id)
        return HttpResponse(cards.reactions(post, back_to=target, csrf_token=get_token(request)))
    if "#" not in target:
        target = f"{target}#post-{post.pk}"
    return redirect(target)


@staff_required
@require_GET
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """The file, if the viewer may see its post: images inline, documents as downloads."""
    item = selectors.attachment_get(viewer=request.user, attachment_id=attachment_id)
    if item is None:
        raise Http404
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        content_type=item.content_type,
        as_attachment=item.kind != Attachment.Kind.IMAGE,
        filename=item.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@staff_required
@require_GET
def hashtag(request: HttpRequest, tag: str) -> HttpResponse:
    try:
        page = selectors.posts_for_hashtag(
            viewer=request.user, tag=tag, before=request.GET.get("before")
        )
    except InvalidCursor:
        return _bad_cursor(request)
    context = {"tag": tag.lower(), "page": page, "base_url": request.path}
    return render(request, "feeds/hashtag.html", context)


@staff_required
@require_GET
def live_feed(request: HttpRequest) -> HttpResponse:
    """The posts of a feed newer than ?since=<cursor>, as cards: static/js/live.js catching up
    after a reconnect (?feed= home, group:<id> or profile:<user id>, as on the socket)."""
    kind, ident = parse_feed(request.GET.get("feed"))
    since = request.GET.get("since")
    if not since:
        return render(request, "feeds/bad_cursor.html", {"back_url": "/"}, status=400)
    try:
        if kind == "home":
            page = selectors.posts_for_home(viewer=request.user, since=since)
        elif kind == "group":
            group = selectors.group_for_post(viewer=request.user, group_id=ident)
            if group is None:
                raise Http404
            page = selectors.posts_for_group(viewer=request.user, group=group, since=since)
        elif kind == "profile":
            author = selectors.feed_author(viewer=request.user, user_id=ident)
            if author is None:
                raise Http404
            page = selectors.posts_for_profile(viewer=request.user, author=author, since=since)
        else:
            raise Http404
    except InvalidCursor:
        return render(request, "feeds/bad_cursor.html", {"back_url": "/"}, status=400)
    response = render(request, "feeds/partials/live_page.html", {"page": page})
    response["Cache-Control"] = "no-store"
    return response


# --- reports ---------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def post_report(request: HttpRequest, post_id: int) -> HttpResponse:
    """Report a post to the moderators: the page without JavaScript, the dialog's target."""
    post = _get_post_or_404(request, post_id)
    back = _safe_next(request) or post.get_absolute_url()
    if request.method == "POST":
        form = ReportForm(request.POST, auto_id="report_%s")
        if form.is_valid():
            try:
                actions.report_post(
                    reporter=request.user,
                    post=post,
                    reason=form.cleaned_data["reason"],
                    details=form.cleaned_data["details"],
                )
            except ValidationError as exc:
                errors_by_field = getattr(exc, "error_dict", None) or {None: exc.error_list}
                for field, errors in errors_by_field.items():
                    for item in errors:
                        form.add_error(field if field in form.fields else None, item)
            else:
                messages.success(
                    request, _("Thank you. The moderators will look at the post you reported.")
                )
                return redirect(back if "#" in back else f"{back}#post-{post.pk}")
        context = {"post": post, "form": form, "next": back}
        return render(request, "feeds/post_report.html", context, status=400)
    context = {"post": post, "form": ReportForm(auto_id="report_%s"), "next": back}
    if request.headers.get(PARTIAL_HEADER) == "report":  # static/js/report.js: the dialog
        response = render(request, "feeds/partials/report_dialog.html", context)
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "feeds/post_report.html", context)
