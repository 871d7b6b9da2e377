"""Write paths for posts, comments and reactions: validate, check permission, write, record.

Each action runs in one transaction that also writes the outbox row for what follows the
commit (indexing, notifications). Errors: ValidationError (bad input, with field names),
PermissionDenied (403), Http404 (the object, or its existence, is not the actor's to know).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

import permissions
from groups.models import Group
from outbox.actions import record_event

from .attachments import CheckedUpload, check_upload
from .idempotency import IdempotentRequest, KeyInFlight, KeyMismatch, Replay
from .models import (
    Attachment,
    Comment,
    Hashtag,
    IdempotencyKey,
    Mention,
    Post,
    Reaction,
    Report,
)
from .rendering import render


def _clean_body(body: str | None, *, field: str = "body") -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({field: _("Write something before posting.")}, code="required")
    if len(body) > settings.AGORA_POST_MAX_LENGTH:
        raise ValidationError(
            {
                field: _("Keep it under %(limit)d characters (this has %(count)d).")
                % {"limit": settings.AGORA_POST_MAX_LENGTH, "count": len(body)}
            },
            code="max_length",
        )
    return body


def _active_users_by_handle(handles: Iterable[str]) -> list:
    handles = sorted(handles)[:50]
    if not handles:
        return []
    User = get_user_model()
    # Handles come lower-cased from the text; usernames may have capitals (Ana.Martin).
    match = Q()
    for handle in handles:
        match |= Q(username__iexact=handle)
    return list(User.objects.filter(match, is_active=True))


def _sync_hashtags(post: Post, names: Iterable[str], *, new: bool = False) -> list[Hashtag]:
    """Link the post to its hashtags (creating the missing ones); returns them by name.
    `new`: the post has no links yet (one INSERT for them all, nothing to compare)."""
    names = sorted(names)[:30]
    if names:
        Hashtag.objects.bulk_create([Hashtag(name=n) for n in names], ignore_conflicts=True)
    tags = sorted(Hashtag.objects.filter(name__in=names), key=lambda t: t.name) if names else []
    if new:
        Post.hashtags.through.objects.bulk_create(
            [Post.hashtags.through(post=post, hashtag=tag) for tag in tags]
        )
    else:
        post.hashtags.set(tags)
    return tags


def _sync_mentions(
    post: Post, handles: Iterable[str], *, comment: Comment | None = None, new: bool = False
) -> None:
    """`new`: the post or comment was just created, so it has no mentions to compare."""
    users = _active_users_by_handle(handles)
    existing = set()
    if not new:
        Mention.objects.filter(post=post, comment=comment).exclude(user__in=users).delete()
        existing = set(
            Mention.objects.filter(post=post, comment=comment).values_list("user_id", flat=True)
        )
    to_add = [Mention(post=post, comment=comment, user=u) for u in users if u.pk not in existing]
    if to_add:
        Mention.objects.bulk_create(to_add)


def _check_audience(author, audience: str, group: Group | None, is_announcement: bool):
    if audience not in Post.Audience.values:
        raise ValidationError(
            {"audience": _("Choose who can see this post.")}, code="invalid_choice"
        )
    if audience == Post.Audience.GROUP:
        if group is None:
            raise ValidationError({"group": _("Choose the group to post in.")}, code="required")
        if not permissions.can_view_group(author, group):
            raise Http404
        if not permissions.can_post_in(author, group):
            raise PermissionDenied(_("Only members can post in this group. Join it first."))
    elif group is not None:
        raise ValidationError(
            {"group": _("A post in a group must have the group's members as audience.")},
            code="invalid",
        )
    agency_id = permissions.agency_id_of(author)
    if audience == Post.Audience.AGENCY and agency_id is None:
        raise ValidationError(
            {"audience": _("Your profile has no agency, so you cannot post to an agency.")},
            code="no_agency",
        )
    if is_announcement and not permissions.can_publish_announcement(author):
        raise PermissionDenied(_("Only staff editors can publish announcements."))
    if is_announcement and audience == Post.Audience.GROUP:
        raise ValidationError(
            {"audience": _("Announcements go to everyone or to an agency.")}, code="invalid"
        )
    return agency_id


def check_attachments(files: Sequence[UploadedFile]) -> list[CheckedUpload]:
    """Validate uploads before anything is written (so nothing is half-saved)."""
    if len(files) > settings.AGORA_MAX_ATTACHMENTS:
        raise ValidationError(
            {
                "attachments": _("Attach at most %(count)d files.")
                % {"count": settings.AGORA_MAX_ATTACHMENTS}
            }
        )
    checked, errors = [], []
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"attachments": errors})
    return checked


class _KeyTaken(Exception):
    """The key's row could not be written: another request with the key got there first."""


def _answer_if_done(actor, once: IdempotentRequest | None) -> None:
    """Before anything is validated or written: if `actor` sent this key before, raise how to
    answer instead of writing again (Replay, KeyMismatch, KeyInFlight). A replay skips the
    checks, as the first request passed them; the view re-reads what it created through the
    selectors, which ask the permission module again. Expired keys (everyone's: one indexed
    DELETE, outside the action's transaction) are deleted first, so a key reused after that
    is a new request."""
    if once is None:
        return
    expired = timezone.now() - timedelta(hours=settings.AGORA_IDEMPOTENCY_KEY_HOURS)
    IdempotencyKey.objects.filter(created__lt=expired).delete()
    _raise_if_used(actor, once)


def _raise_if_used(actor, once: IdempotentRequest) -> None:
    earlier = (
        IdempotencyKey.objects.filter(user=actor, key=once.key)
        .values_list("endpoint", "fingerprint", "post_id", "comment_id")
        .first()
    )
    if earlier is None:
        return
    endpoint, fingerprint, post_id, comment_id = earlier
    if (endpoint, fingerprint) != (once.endpoint, once.fingerprint):
        raise KeyMismatch
    if post_id is None and comment_id is None:
        raise KeyInFlight  # only a row the first request has not filled in yet
    raise Replay(post_id=post_id, comment_id=comment_id)


@contextmanager
def _atomic_once(actor, once: IdempotentRequest | None):
    """The action's transaction. With a key, its first write is the key's row (yielded for
    `_settle_key`): the post or comment and its key commit or roll back together.

    A second request with the same key, sent while the first is still writing, waits at that
    INSERT (on the unique (user, key) index on PostgreSQL, for the write lock on SQLite)
    until the first commits; the INSERT then fails before anything else is written, and the
    second answers from the first's row like any later retry."""
    try:
        with transaction.atomic():
            yield _claim_key(actor, once)
    except _KeyTaken:
        _raise_if_used(actor, once)
        raise KeyInFlight from None  # the row that took the key is gone: a retry may write


def _claim_key(actor, once: IdempotentRequest | None) -> IdempotencyKey | None:
    if once is None:
        return None
    try:
        return IdempotencyKey.objects.create(
            user=actor, key=once.key, endpoint=once.endpoint, fingerprint=once.fingerprint
        )
    except IntegrityError as exc:  # (user, key) is taken
        raise _KeyTaken from exc  # out of the atomic block, which rolls back


def _settle_key(claim: IdempotencyKey | None, **created) -> None:
    """Record what the keyed request created (`post=` or `comment=`), in its transaction."""
    if claim is not None:
        IdempotencyKey.objects.filter(pk=claim.pk).update(**created)


def create_post(
    *,
    author,
    body: str,
    audience: str = Post.Audience.EVERYONE,
    group: Group | None = None,
    attachments: Sequence[UploadedFile] = (),
    is_announcement: bool = False,
    agency=None,
    once: IdempotentRequest | None = None,
) -> Post:
    """`agency`: for an announcement to one agency's staff, that agency (default: the
    author's own). `once`: the request's Idempotency-Key or form token; if the author sent
    it before, raises Replay (with that post's id), KeyMismatch or KeyInFlight instead."""
    if not permissions.is_active_staff(author):
        raise PermissionDenied
    _answer_if_done(author, once)
    body = _clean_body(body)
    agency_id = _check_audience(author, audience, group, is_announcement)
    if agency is not None:
        if not (is_announcement and audience == Post.Audience.AGENCY):
            raise ValidationError(
                {"agency": _("Only an announcement can go to another agency.")}, code="invalid"
            )
        agency_id = agency.pk
    checked = check_attachments(attachments)
    rendered = render(body)
    with _atomic_once(author, once) as claim:
        post = Post.objects.create(
            author=author,
            body=body,
            body_html=rendered.html,
            audience=audience,
            group=group if audience == Post.Audience.GROUP else None,
            agency_id=agency_id,
            is_announcement=is_announcement,
        )
        tags = _sync_hashtags(post, rendered.hashtags, new=True)
        _sync_mentions(post, rendered.mentions, new=True)
        saved = []
        for item in checked:
            attachment = Attachment(
                post=post,
                kind=item.kind,
                content_type=item.content_type,
                size=len(item.data),
                original_name=item.name,
            )
            attachment.file.save(item.name, ContentFile(item.data), save=False)
            attachment.save()
            saved.append(attachment)
        # What the caller and the live publisher may show at once without reading them back
        # (selectors.post_as_written).
        post.written_hashtags, post.written_attachments = tags, saved
        _settle_key(claim, post=post)
        record_event(topic="post.created", object_id=post.pk, instance=post)
    return post


def edit_post(*, post: Post, editor, body: str) -> Post:
    if not permissions.can_view_post(editor, post):
        raise Http404
    if not permissions.can_edit_post(editor, post):
        raise PermissionDenied(_("Only the author can edit this post."))
    body = _clean_body(body)
    rendered = render(body)
    with transaction.atomic():
        post.body = body
        post.body_html = rendered.html
        post.edited = timezone.now()
        post.save(update_fields=["body", "body_html", "edited"])
        _sync_hashtags(post, rendered.hashtags)
        _sync_mentions(post, rendered.mentions)
        record_event(topic="post.updated", object_id=post.pk)
    return post


def delete_post(*, post: Post, actor) -> Post:
    """Soft delete: the row stays (for moderation records); nobody sees it any more."""
    if not permissions.can_view_post(actor, post):
        raise Http404
    if not permissions.can_delete_post(actor, post):
        raise PermissionDenied(_("Only the author or a moderator can delete this post."))
    with transaction.atomic():
        post.deleted = timezone.now()
        post.deleted_by = actor
        post.save(update_fields=["deleted", "deleted_by"])
        record_event(topic="post.deleted", object_id=post.pk)
    return post


def add_comment(
    *,
    post: Post,
    author,
    body: str,
    parent: Comment | None = None,
    once: IdempotentRequest | None = None,
) -> Comment:
    """`once`: as for create_post (Replay carries the comment's id)."""
    if not permissions.can_view_post(author, post):
        raise Http404
    if not permissions.can_comment_on(author, post):
        raise PermissionDenied
    _answer_if_done(author, once)
    body = _clean_body(body)
    if parent is not None:
        if parent.post_id != post.pk or parent.deleted is not None:
            raise ValidationError({"parent": _("You can only reply to a comment on this post.")})
        if parent.parent_id is not None:
            parent = parent.parent  # one level of replies: a reply to a reply joins the thread
    rendered = render(body)
    with _atomic_once(author, once) as claim:
        comment = Comment.objects.create(
            post=post, parent=parent, author=author, body=body, body_html=rendered.html
        )
        _sync_mentions(post, rendered.mentions, comment=comment, new=True)
        _settle_key(claim, comment=comment)
        record_event(topic="comment.created", object_id=comment.pk, payload={"post": post.pk})
    return comment


def delete_comment(*, comment: Comment, actor) -> Comment:
    if not permissions.can_view_comment(actor, comment):
        raise Http404
    if not permissions.can_delete_comment(actor, comment):
        raise PermissionDenied(_("Only the author or a moderator can delete this comment."))
    with transaction.atomic():
        comment.deleted = timezone.now()
        comment.save(update_fields=["deleted"])
        record_event(
            topic="comment.deleted", object_id=comment.pk, payload={"post": comment.post_id}
        )
    return comment


def react(*, post: Post, user, kind: str) -> bool:
    """Add a reaction; True if it was new. Reacting twice with the same kind changes nothing."""
    if not permissions.can_view_post(user, post):
        raise Http404
    if kind not in Reaction.Kind.values:
        raise ValidationError({"kind": _("Unknown reaction.")}, code="invalid_choice")
    with transaction.atomic():
        _reaction, created = Reaction.objects.get_or_create(post=post, user=user, kind=kind)
        if created:
            record_event(topic="reaction.changed", object_id=post.pk)
    return created


def unreact(*, post: Post, user, kind: str) -> bool:
    if not permissions.can_view_post(user, post):
        raise Http404
    if kind not in Reaction.Kind.values:
        raise ValidationError({"kind": _("Unknown reaction.")}, code="invalid_choice")
    with transaction.atomic():
        deleted, _detail = Reaction.objects.filter(post=post, user=user, kind=kind).delete()
        if deleted:
            record_event(topic="reaction.changed", object_id=post.pk)
    return bool(deleted)


def report_post(*, reporter, post: Post, reason: str, details: str = "") -> Report:
    """Tell the moderators that `post` breaks the community guidelines.

    404 if the reporter may not see the post (its existence is not theirs to know). Bad input
    is a ValidationError by field: an unknown reason, details too long, one's own post, or a
    second report while the first is still open. Records `report.created` with the report,
    so that the moderators are told (notifications.consumers.report_created); the report
    itself is read and resolved in Django's admin.
    """
    if not permissions.can_view_post(reporter, post):
        raise Http404
    if reason not in Report.Reason.values:
        raise ValidationError(
            {"reason": _("Choose why you are reporting this post.")}, code="invalid_choice"
        )
    details = (details or "").replace("\r\n", "\n").strip()
    if len(details) > Report.DETAILS_MAX_LENGTH:
        raise ValidationError(
            {
                "details": _("Keep it under %(limit)d characters (this has %(count)d).")
                % {"limit": Report.DETAILS_MAX_LENGTH, "count": len(details)}
            },
            code="max_length",
        )
    if post.author_id == reporter.pk:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "This is your own post: edit or delete it instead of reporting it."
                )
            },
            code="own_post",
        )
    already = _("You have already reported this post. The moderators will look at it.")
    open_reports = Report.objects.filter(post=post, reporter=reporter, status=Report.Status.OPEN)
    if open_reports.exists():
        raise ValidationError({NON_FIELD_ERRORS: already}, code="duplicate")
    try:
        with transaction.atomic():
            report = Report.objects.create(
                post=post, reporter=reporter, reason=reason, details=details
            )
            record_event(topic="report.created", object_id=report.pk)
            return report
    except IntegrityError as exc:  # the same report sent twice at once
        raise ValidationError({NON_FIELD_ERRORS: already}, code="duplicate") from exc


def set_report_status(*, report: Report, status: str, moderator) -> Report:
    """A moderator resolves `report`, or opens it again (the admin's change form).

    Resolving records who and when, and `report.resolved`: every moderator's notification of
    the report is then marked read (notifications.consumers.report_resolved), so that the
    bell stops counting what one of them has dealt with. Opening it again clears both.
    """
    if status not in Report.Status.values:
        raise ValidationError({"status": _("Choose a status.")}, code="invalid_choice")
    with transaction.atomic():
        report.status = status
        if status == Report.Status.RESOLVED:
            report.resolved, report.resolved_by = timezone.now(), moderator
        else:
            report.resolved, report.resolved_by = None, None
        report.save(update_fields=["status", "resolved", "resolved_by"])
        if status == Report.Status.RESOLVED:
            record_event(topic="report.resolved", object_id=report.pk)
    return report


def resolve_reports(*, report_ids: Iterable[int], moderator) -> int:
    """Resolve the open reports among `report_ids` (the admin's bulk action), each as
    `set_report_status` would; returns how many were open."""
    with transaction.atomic():
        open_ids = list(
            Report.objects.select_for_update()
            .filter(pk__in=list(report_ids), status=Report.Status.OPEN)
            .values_list("pk", flat=True)
        )
        Report.objects.filter(pk__in=open_ids).update(
            status=Report.Status.RESOLVED, resolved=timezone.now(), resolved_by=moderator
        )
        for report_id in open_ids:
            record_event(topic="report.resolved", object_id=report_id)
    return len(open_ids)
