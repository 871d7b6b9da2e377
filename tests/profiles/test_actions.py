"""Write paths for people: follows and profile edits, with their outbox rows."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from outbox.models import OutboxEvent
from profiles.actions import create_staff_member, ensure_profile, follow, unfollow, update_profile
from profiles.models import Follow, Profile
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def topics() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))


# --- follow ---------------------------------------------------------------------------------


def test_follow_is_idempotent(user, other_user):
    """Following twice makes one edge and one outbox row."""
    assert follow(follower=user, followee=other_user) is True
    assert follow(follower=user, followee=other_user) is False
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1
    edge = Follow.objects.get()
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("follow.created", edge.pk)
    ]


def test_no_self_follow(user):
    """Nobody follows themselves; nothing is written."""
    with pytest.raises(ValidationError):
        follow(follower=user, followee=user)
    assert not Follow.objects.exists()
    assert topics() == []


def test_following_a_leaver_is_not_found(user, other_user):
    """A deactivated colleague cannot be followed (404), nor can nobody."""
    other_user.is_active = False
    other_user.save()
    with pytest.raises(Http404):
        follow(follower=user, followee=other_user)
    with pytest.raises(Http404):
        follow(follower=user, followee=None)
    assert not Follow.objects.exists()
    assert topics() == []


def test_a_leaver_cannot_follow(user, other_user):
    """A deactivated account cannot follow anyone."""
    user.is_active = False
    user.save()
    with pytest.raises(PermissionDenied):
        follow(follower=user, followee=other_user)
    assert not Follow.objects.exists()


def test_unfollow_removes_the_edge_and_records_it(user, other_user):
    """Unfollowing deletes the edge and records the change; a second unfollow is a no-op."""
    follow(follower=user, followee=other_user)
    OutboxEvent.objects.all().delete()
    assert unfollow(follower=user, followee=other_user) is True
    assert not Follow.objects.exists()
    assert list(OutboxEvent.objects.values_list("topic", "object_id", "payload")) == [
        ("follow.deleted", other_user.pk, {"follower": user.pk})
    ]
    assert unfollow(follower=user, followee=other_user) is False
    assert topics() == ["follow.deleted"]


def test_unfollow_nobody_is_not_found(user):
    """Unfollowing someone who does not exist is a 404."""
    with pytest.raises(Http404):
        unfollow(follower=user, followee=None)


# --- profiles -------------------------------------------------------------------------------


def test_update_own_profile(user):
    """The owner edits their editable fields; a profile.updated row is recorded."""
    department = DepartmentFactory(agency=user.profile.agency)
    update_profile(
        profile=user.profile,
        actor=user,
        job_title="Analyst",
        department=department,
        expertise=["GIS", "  ", "Open data"],
    )
    profile = Profile.objects.get(pk=user.profile.pk)
    assert profile.job_title == "Analyst"
    assert profile.department == department
    assert sorted(profile.expertise.values_list("name", flat=True)) == ["GIS", "Open data"]
    assert list(OutboxEvent.objects.values_list("topic", "object_id")) == [
        ("profile.updated", profile.pk)
    ]


def test_nobody_edits_someone_elses_profile(user, other_user):
    """Only the owner (or site staff) may edit a profile; nothing changes otherwise."""
    with pytest.raises(PermissionDenied):
        update_profile(profile=user.profile, actor=other_user, job_title="Boss")
    assert Profile.objects.get(pk=user.profile.pk).job_title == ""
    assert topics() == []


def test_site_staff_may_edit_a_profile(user):
    """Site staff may correct someone's profile."""
    staff = UserFactory(is_staff=True)
    update_profile(profile=user.profile, actor=staff, job_title="Corrected")
    assert Profile.objects.get(pk=user.profile.pk).job_title == "Corrected"


def test_department_must_be_of_own_agency(user):
    """A department of another agency is refused."""
    foreign = DepartmentFactory()
    with pytest.raises(ValidationError) as exc:
        update_profile(profile=user.profile, actor=user, department=foreign)
    assert "department" in exc.value.message_dict
    assert Profile.objects.get(pk=user.profile.pk).department is None
    assert topics() == []


@pytest.mark.parametrize("field", ["agency", "user", "is_staff", "nonsense"])
def test_unknown_or_locked_fields_are_refused(user, outsider, field):
    """Only the editable fields can be changed: agency and account fields are refused."""
    with pytest.raises(ValidationError) as exc:
        update_profile(profile=user.profile, actor=user, **{field: outsider.profile.agency})
    assert field in exc.value.message_dict
    assert Profile.objects.get(pk=user.profile.pk).agency == user.profile.agency
    assert topics() == []


def test_bad_values_are_refused(user):
    """An empty name, oneself as manager, or an invalid value write nothing."""
    for changes in (
        {"display_name": "   "},
        {"manager": user.profile},
        {"preferred_language": "xx"},
        {"job_title": "x" * 151},
    ):
        with pytest.raises(ValidationError):
            update_profile(profile=Profile.objects.get(pk=user.profile.pk), actor=user, **changes)
    profile = Profile.objects.get(pk=user.profile.pk)
    assert profile.display_name == user.profile.display_name
    assert profile.manager is None
    assert topics() == []


def test_create_staff_member_writes_user_profile_and_event(agency):
    """A new account gets its profile (lower-case username) and a profile.updated row."""
    profile = create_staff_member(
        username="Jane.Doe", display_name="Jane Doe", agency=agency, expertise=["Law"]
    )
    assert profile.user.username == "jane.doe"
    assert profile.agency == agency
    assert list(profile.expertise.values_list("name", flat=True)) == ["Law"]
    assert topics() == ["profile.updated"]


def test_ensure_profile_makes_one_once():
    """An account made outside Agora gets a profile, once."""
    from django.contrib.auth import get_user_model

    account = get_user_model().objects.create(username="root", first_name="Ro", last_name="Ot")
    first = ensure_profile(account)
    assert first.display_name == "Ro Ot"
    assert ensure_profile(account) == first
    assert Profile.objects.filter(user=account).count() == 1


def test_a_refused_update_leaves_the_profile_as_saved(user):
    """A too-long job title is refused, and the caller's object still shows what is saved."""
    update_profile(profile=user.profile, actor=user, job_title="Analyst")
    with pytest.raises(ValidationError) as refused:
        update_profile(profile=user.profile, actor=user, job_title="x" * 151, location="Oslo")
    assert "job_title" in refused.value.message_dict
    assert (user.profile.job_title, user.profile.location) == ("Analyst", "")
    user.profile.refresh_from_db()
    assert user.profile.job_title == "Analyst"
