"""Read paths for people: the directory, one profile, followers and following."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

import permissions

from .models import Agency, Department, ExpertiseTag, Follow, Profile


def directory(
    *,
    viewer,
    query: str = "",
    agency: Agency | None = None,
    department: Department | None = None,
    expertise: str = "",
) -> QuerySet[Profile]:
    if not permissions.can_view_profiles(viewer):
        return Profile.objects.none()
    qs = Profile.objects.filter(user__is_active=True).select_related("user", "agency", "department")
    if query:
        qs = qs.filter(
            Q(display_name__icontains=query)
            | Q(job_title__icontains=query)
            | Q(user__username__icontains=query)
            | Q(expertise__name__icontains=query)
        ).distinct()
    if agency is not None:
        qs = qs.filter(agency=agency)
    if department is not None:
        qs = qs.filter(department_id__in=department.descendant_ids())
    if expertise:
        qs = qs.filter(expertise__name__iexact=expertise)
    return with_card_details(qs, viewer=viewer).order_by("display_name", "pk")


def with_card_details(qs: QuerySet[Profile], *, viewer) -> QuerySet[Profile]:
    """What a person card shows: agency, department, expertise, and whether `viewer` follows."""
    return (
        qs.select_related("user", "agency", "department")
        .prefetch_related("expertise")
        .annotate(
            is_followed=Exists(
                Follow.objects.filter(follower_id=viewer.pk, followee=OuterRef("user"))
            )
        )
    )


def profile_get(*, viewer, username: str) -> Profile | None:
    """A profile by handle; former colleagues (deactivated) stay visible as such."""
    if not permissions.can_view_profiles(viewer):
        return None
    return (
        Profile.objects.select_related("user", "agency", "department", "manager__user")
        .prefetch_related("expertise")
        .filter(user__username__iexact=username)
        .annotate(
            follower_count=Count("user__follower_edges", distinct=True),
            following_count=Count("user__following_edges", distinct=True),
        )
        .first()
    )


def user_get(*, username: str):
    User = get_user_model()
    return User.objects.filter(username__iexact=username, is_active=True).first()


def is_following(*, follower, followee) -> bool:
    return Follow.objects.filter(follower=follower, followee=followee).exists()


def followers_of(*, viewer, user) -> QuerySet[Profile]:
    if not permissions.can_view_profiles(viewer):
        return Profile.objects.none()
    ids = Follow.objects.filter(followee=user).values("follower_id")
    return with_card_details(
        Profile.objects.filter(user_id__in=ids, user__is_active=True), viewer=viewer
    ).order_by("display_name", "pk")


def following_of(*, viewer, user) -> QuerySet[Profile]:
    if not permissions.can_view_profiles(viewer):
        return Profile.objects.none()
    ids = Follow.objects.filter(follower=user).values("followee_id")
    return with_card_details(
        Profile.objects.filter(user_id__in=ids, user__is_active=True), viewer=viewer
    ).order_by("display_name", "pk")


def agencies() -> QuerySet[Agency]:
    return Agency.objects.order_by("name")


def departments(*, agency: Agency | None = None) -> QuerySet[Department]:
    qs = Department.objects.select_related("agency", "parent")
    return qs.filter(agency=agency) if agency else qs


def expertise_tags() -> QuerySet[ExpertiseTag]:
    return ExpertiseTag.objects.annotate(n=Count("profiles")).filter(n__gt=0).order_by("name")
