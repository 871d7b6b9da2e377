"""Write paths for people: staff accounts, profiles, follows."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

import permissions
from outbox.actions import record_event

from .models import Department, ExpertiseTag, Follow, Profile

EDITABLE_FIELDS = (
    "display_name", "job_title", "department", "location", "bio", "languages", "phone",
    "manager", "preferred_language", "avatar",
)  # fmt: skip


def ensure_profile(user) -> Profile:
    """Every account has a profile; one made outside Agora (createsuperuser) gets one here."""
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    try:
        with transaction.atomic():
            return Profile.objects.create(user=user, display_name=name or user.get_username())
    except IntegrityError:
        return Profile.objects.get(user=user)


def create_staff_member(
    *, username: str, display_name: str, email: str = "", password: str | None = None, **fields
) -> Profile:
    User = get_user_model()
    expertise = fields.pop("expertise", [])
    with transaction.atomic():
        user = User.objects.create_user(username=username.lower(), email=email, password=password)
        profile = Profile.objects.create(user=user, display_name=display_name, **fields)
        if expertise:
            set_expertise(profile, expertise)
        record_event(topic="profile.updated", object_id=profile.pk)
    return profile


def set_expertise(profile: Profile, names) -> None:
    tags = []
    for raw in names:
        name = raw.strip()[:60]
        if name:
            tag, _created = ExpertiseTag.objects.get_or_create(
                name__iexact=name, defaults={"name": name}
            )
            tags.append(tag)
    profile.expertise.set(tags)


def update_profile(*, profile: Profile, actor, expertise=None, **changes) -> Profile:
    """Change the editable fields of a profile; only its owner (or site staff) may."""
    if actor.pk != profile.user_id and not (actor.is_active and actor.is_staff):
        raise PermissionDenied(_("You can only edit your own profile."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    locked = _managed_changes(profile, changes)
    if locked:
        message = _("This comes from your agency's directory and cannot be changed here.")
        raise ValidationError(dict.fromkeys(sorted(locked), message))
    department = changes.get("department")
    if department is not None and department.agency_id != profile.agency_id:
        raise ValidationError({"department": _("Choose a department of your own agency.")})
    manager = changes.get("manager")
    if manager is not None and manager.pk == profile.pk:
        raise ValidationError({"manager": _("You cannot be your own manager.")})
    if "display_name" in changes and not (changes["display_name"] or "").strip():
        raise ValidationError({"display_name": _("Your name cannot be empty.")})
    with transaction.atomic():
        for name, value in changes.items():
            setattr(profile, name, value)
        try:
            profile.full_clean(exclude=["user", "avatar"])
        except ValidationError:
            profile.refresh_from_db()  # the caller's object shows what is saved, not the try
            raise
        profile.save()
        if expertise is not None:
            set_expertise(profile, expertise)
        record_event(topic="profile.updated", object_id=profile.pk)
    return profile


def follow(*, follower, followee) -> bool:
    """Follow someone; True if it is new. Following twice changes nothing."""
    if not permissions.is_active_staff(follower):
        raise PermissionDenied
    if followee is None or not followee.is_active:
        raise Http404
    if follower.pk == followee.pk:
        raise ValidationError(_("You cannot follow yourself."), code="self_follow")
    try:
        with transaction.atomic():
            _edge, created = Follow.objects.get_or_create(follower=follower, followee=followee)
            if created:
                record_event(topic="follow.created", object_id=_edge.pk)
    except IntegrityError:  # a concurrent follow won the race
        created = False
    return created


def unfollow(*, follower, followee) -> bool:
    """Stop following someone; True if there was an edge to remove."""
    if followee is None:
        raise Http404
    with transaction.atomic():
        deleted, _detail = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:  # the edge is gone: name both ends
            record_event(
                topic="follow.deleted", object_id=followee.pk, payload={"follower": follower.pk}
            )
    return bool(deleted)


def department_choices(agency_id: int | None):
    return Department.objects.filter(agency_id=agency_id).select_related("parent")


def set_preferred_language(*, user, language: str) -> None:
    """Remember the interface language someone chose (empty: follow the browser)."""
    from django.conf import settings

    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"preferred_language": _("Choose a language we offer.")})
    profile = ensure_profile(user)
    if profile.preferred_language != language:
        profile.preferred_language = language
        profile.save(update_fields=["preferred_language"])


def managed_fields(profile: Profile) -> set[str]:
    """Fields an outside source (the agency directory) keeps up to date: read-only here.

    `settings.AGORA_PROFILE_MANAGED_FIELDS` names the function that knows (the identity app's
    `identity.selectors.directory_fields`); unset, every editable field is the person's.
    """
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, "AGORA_PROFILE_MANAGED_FIELDS", "")
    return set(import_string(path)(profile)) if path else set()


def _managed_changes(profile: Profile, changes: dict) -> set[str]:
    """The managed fields `changes` would really change (a form may resend current values)."""
    changed = set()
    for name in managed_fields(profile) & set(changes):
        field = Profile._meta.get_field(name)
        current = getattr(profile, field.attname)
        value = changes[name]
        if field.is_relation:
            value = value.pk if value is not None else None
        if (current or None) != (value or None):
            changed.add(name)
    return changed


def deactivate_user(user) -> bool:
    """Close an account at once: no sign-in, no session, no API token; their posts stay.

    Records `user.deactivated`, on which live updates close the person's open websockets.
    Returns True if the account was active.
    """
    from django.contrib.sessions.models import Session
    from rest_framework.authtoken.models import Token

    User = get_user_model()
    with transaction.atomic():
        row = User.objects.select_for_update().filter(pk=user.pk).first()
        user.is_active = False
        if row is None or not row.is_active:
            return False
        row.is_active = False
        row.save(update_fields=["is_active"])
        Token.objects.filter(user_id=user.pk).delete()
        _delete_sessions(user.pk, Session)
        record_event(topic="user.deactivated", object_id=user.pk)
    return True


def _delete_sessions(user_id: int, session_model) -> None:
    """Delete the stored sessions signed in as `user_id` (database-backed session engines).

    Other engines cannot be listed; there the authentication backend refuses inactive users
    on the next request anyway.
    """
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone

    listable = ("sessions.backends.db", "sessions.backends.cached_db")
    if not settings.SESSION_ENGINE.endswith(listable):
        return
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    decoder = store_class()
    doomed = []
    rows = session_model.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data"
    )
    for key, data in rows.iterator(chunk_size=2000):
        if str(decoder.decode(data).get("_auth_user_id")) == str(user_id):
            doomed.append(key)
    for key in doomed:
        store_class(session_key=key).delete()
