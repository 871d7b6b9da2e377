"""The people API: API tokens, the directory, profiles, editing one's own, follows.

Each view parses its input with a serializer, calls one action or selector, and serializes.
Errors from the actions (ValidationError, PermissionDenied, Http404) become 400/403/404 in
`intranet.api.exception_handler`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from intranet.api import (
    EnumField,
    PageNumberPagination,
    QuerySerializer,
    StrictSerializer,
    TokenObtainThrottle,
    absolute_url,
    parse,
    parse_query,
)
from intranet.paths import path_for

from . import actions, selectors
from .models import Profile

# --- representations -------------------------------------------------------------------------


def as_profile(person) -> Profile:
    """A Profile for a user or a profile; an account made outside Agora may have none yet."""
    if isinstance(person, Profile):
        return person
    try:
        return person.profile
    except ObjectDoesNotExist:
        return Profile(user=person, display_name=person.get_username())


class AgencySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    short_name = serializers.CharField(read_only=True)


class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class DepartmentPathSerializer(DepartmentSerializer):
    path = serializers.CharField(read_only=True, help_text="From the top of the agency down.")


class PersonSerializer(serializers.Serializer):
    """Someone as they appear next to what they wrote, in lists and in member lists."""

    username = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    agency = AgencySerializer(read_only=True, allow_null=True)
    job_title = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The person's page.")

    def to_representation(self, instance):
        return super().to_representation(as_profile(instance))

    def get_url(self, profile: Profile) -> str:
        path = reverse("profiles:detail", args=[profile.username])
        return absolute_url(self.context.get("request"), path)


def person_data(person, request, profile_path=None) -> dict:
    """`PersonSerializer(person).data`, built directly: the feeds show an author per post and
    DRF's field machinery cost more than the rest of the card (tests/api/test_fast_data.py
    compares both). `profile_path`: `url_maker("profiles:detail", str)`, for many people."""
    profile = as_profile(person)
    agency = profile.agency
    return person_values_data(
        username=profile.username,
        display_name=profile.display_name,
        agency=None if agency is None else (agency.pk, agency.slug, agency.name, agency.short_name),
        job_title=profile.job_title,
        request=request,
        profile_path=profile_path,
    )


def person_values_data(
    *, username, display_name, agency, job_title, request, profile_path=None
) -> dict:
    """`person_data` from plain values; `agency`: (id, slug, name, short name) or None."""
    path = (profile_path or _profile_path)(username)
    return {
        "username": username,
        "display_name": display_name,
        "agency": None
        if agency is None
        else {"id": agency[0], "slug": agency[1], "name": agency[2], "short_name": agency[3]},
        "job_title": job_title,
        "url": absolute_url(request, path),
    }


def _profile_path(username: str) -> str:
    return path_for("profiles:detail", username)


class PersonCardSerializer(PersonSerializer):
    """Someone as the directory and the follower lists show them."""

    department = DepartmentSerializer(read_only=True, allow_null=True)
    location = serializers.CharField(read_only=True)
    expertise = serializers.SerializerMethodField()
    is_followed = serializers.BooleanField(
        read_only=True, help_text="Whether you follow this person."
    )

    def get_expertise(self, profile: Profile) -> list[str]:
        return [tag.name for tag in profile.expertise.all()]


class ProfileSerializer(PersonCardSerializer):
    """One person's full profile."""

    department = DepartmentPathSerializer(read_only=True, allow_null=True)
    bio = serializers.CharField(read_only=True)
    languages = serializers.ListField(
        child=serializers.CharField(), source="language_list", read_only=True
    )
    phone = serializers.CharField(read_only=True)
    manager = PersonSerializer(read_only=True, allow_null=True)
    preferred_language = serializers.CharField(read_only=True)
    avatar_url = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(
        source="user.is_active", read_only=True, help_text="False for former colleagues."
    )
    follower_count = serializers.IntegerField(read_only=True)
    following_count = serializers.IntegerField(read_only=True)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_avatar_url(self, profile: Profile):
        if not profile.avatar:
            return None
        path = reverse("profiles:avatar", args=[profile.username])
        return absolute_url(self.context.get("request"), path)


def _profile_response(request, username: str, *, status_code=status.HTTP_200_OK) -> Response:
    profile = selectors.profile_get(viewer=request.user, username=username)
    if profile is None:
        raise Http404
    profile.is_followed = selectors.is_following(follower=request.user, followee=profile.user)
    data = ProfileSerializer(profile, context={"request": request}).data
    return Response(data, status=status_code)


def _person_or_404(request, username: str) -> Profile:
    """Anyone with an account, former colleagues included (their pages stay readable)."""
    profile = selectors.profile_get(viewer=request.user, username=username)
    if profile is None:
        raise Http404
    return profile


# --- tokens ----------------------------------------------------------------------------------


class TokenObtainSerializer(StrictSerializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        # The authentication backends refuse deactivated accounts as they refuse a wrong
        # password: the answer does not say which it was.
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                _("Unable to sign in with this username and password."), code="authorization"
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    username = serializers.CharField(read_only=True)


class AuthTokenView(APIView):
    """API tokens: send `Authorization: Token <token>` with each request."""

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        if self.request is not None and self.request.method == "POST":
            return [TokenObtainThrottle()]
        return super().get_throttles()

    @extend_schema(
        request=TokenObtainSerializer,
        responses={200: TokenSerializer},
        auth=[],
        summary="Exchange a username and password for an API token",
    )
    def post(self, request):
        data = parse(TokenObtainSerializer, request.data, request=request)
        token, _created = Token.objects.get_or_create(user=data["user"])
        return Response({"token": token.key, "username": data["user"].get_username()})

    @extend_schema(request=None, responses={204: None}, summary="Revoke your API token")
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the directory and profiles --------------------------------------------------------------


class DirectoryQuerySerializer(QuerySerializer):
    extra_params = ("page",)

    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    agency = serializers.CharField(
        required=False, allow_blank=True, help_text="An agency's id or slug."
    )
    department = serializers.IntegerField(
        required=False, help_text="A department's id (its sub-departments are included)."
    )
    expertise = serializers.CharField(required=False, allow_blank=True, max_length=60)

    def validate_agency(self, value):
        if not value:
            return None
        agencies = selectors.agencies()
        agency = (
            agencies.filter(pk=int(value)) if value.isdigit() else agencies.filter(slug=value)
        ).first()
        if agency is None:
            raise serializers.ValidationError(_("There is no such agency."))
        return agency

    def validate_department(self, value):
        department = selectors.departments().filter(pk=value).first()
        if department is None:
            raise serializers.ValidationError(_("There is no such department."))
        return department


class PeopleView(GenericAPIView):
    """The staff directory."""

    pagination_class = PageNumberPagination

    @extend_schema(parameters=[DirectoryQuerySerializer], responses=PersonCardSerializer(many=True))
    def get(self, request):
        query = parse_query(DirectoryQuerySerializer, request)
        people = selectors.directory(
            viewer=request.user,
            query=query.get("q", ""),
            agency=query.get("agency"),
            department=query.get("department"),
            expertise=query.get("expertise", ""),
        )
        page = self.paginate_queryset(people)
        data = PersonCardSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class PersonView(APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request, username: str):
        return _profile_response(request, username)


class ProfileUpdateSerializer(StrictSerializer):
    """The fields of one's own profile that the API may change (the photo is web only)."""

    display_name = serializers.CharField(max_length=150)
    job_title = serializers.CharField(max_length=150, allow_blank=True)
    department = serializers.IntegerField(
        allow_null=True, help_text="A department of your agency, by id; null for none."
    )
    location = serializers.CharField(max_length=150, allow_blank=True)
    bio = serializers.CharField(max_length=2000, allow_blank=True)
    languages = serializers.CharField(max_length=200, allow_blank=True)
    phone = serializers.CharField(max_length=40, allow_blank=True)
    manager = serializers.CharField(
        allow_null=True, help_text="Your manager's username; null for none."
    )
    preferred_language = EnumField(
        [("", "")] + list(settings.LANGUAGES),
        enum_name="LanguageEnum",
        allow_blank=True,
        help_text="Empty to follow the browser.",
    )
    expertise = serializers.ListField(
        child=serializers.CharField(max_length=60), max_length=50, help_text="Skill names."
    )

    def validate_department(self, value):
        if value is None:
            return None
        department = selectors.departments().filter(pk=value).first()
        if department is None:
            raise serializers.ValidationError(_("There is no such department."))
        return department

    def validate_manager(self, value):
        if not value:
            return None
        manager = selectors.user_get(username=value)
        if manager is None:
            raise serializers.ValidationError(_("Nobody on the network has this username."))
        return as_profile(manager)


class MeView(APIView):
    """Your own profile."""

    @extend_schema(responses=ProfileSerializer)
    def get(self, request):
        # An account made outside Agora (createsuperuser) gets its profile on first use, as
        # the web middleware does; token clients never pass through that middleware.
        actions.ensure_profile(request.user)
        return _profile_response(request, request.user.get_username())

    @extend_schema(request=ProfileUpdateSerializer, responses=ProfileSerializer)
    def patch(self, request):
        changes = dict(parse(ProfileUpdateSerializer, request.data, partial=True))
        expertise = changes.pop("expertise", None)
        actions.update_profile(
            profile=actions.ensure_profile(request.user),
            actor=request.user,
            expertise=expertise,
            **changes,
        )
        return _profile_response(request, request.user.get_username())


class FollowView(APIView):
    @extend_schema(
        request=None,
        responses={
            201: OpenApiResponse(ProfileSerializer, description="You now follow this person."),
            200: OpenApiResponse(ProfileSerializer, description="You already followed them."),
        },
        summary="Follow someone",
    )
    def post(self, request, username: str):
        created = actions.follow(
            follower=request.user, followee=selectors.user_get(username=username)
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _profile_response(request, username, status_code=code)

    @extend_schema(request=None, responses={204: None}, summary="Stop following someone")
    def delete(self, request, username: str):
        actions.unfollow(follower=request.user, followee=_person_or_404(request, username).user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PageQuerySerializer(QuerySerializer):
    extra_params = ("page",)


class _PeopleListView(GenericAPIView):
    pagination_class = PageNumberPagination

    def people(self, request, profile: Profile):
        raise NotImplementedError

    @extend_schema(responses=PersonCardSerializer(many=True))
    def get(self, request, username: str):
        parse_query(PageQuerySerializer, request)
        page = self.paginate_queryset(self.people(request, _person_or_404(request, username)))
        return self.get_paginated_response(
            PersonCardSerializer(page, many=True, context={"request": request}).data
        )


class FollowersView(_PeopleListView):
    """The people who follow this person."""

    def people(self, request, profile: Profile):
        return selectors.followers_of(viewer=request.user, user=profile.user)


class FollowingView(_PeopleListView):
    """The people this person follows."""

    def people(self, request, profile: Profile):
        return selectors.following_of(viewer=request.user, user=profile.user)
