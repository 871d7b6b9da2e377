"""Read paths for people: the directory, one profile, followers and following."""

import pytest
from django.contrib.auth.models import AnonymousUser

from profiles import selectors
from profiles.actions import follow, set_expertise
from profiles.models import ExpertiseTag
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def names(profiles) -> list[str]:
    return [p.user.username for p in profiles]


def test_directory_is_for_active_staff_only(user):
    """Anonymous visitors and leavers get an empty directory."""
    leaver = UserFactory(is_active=False)
    assert not selectors.directory(viewer=AnonymousUser()).exists()
    assert not selectors.directory(viewer=leaver).exists()
    assert user.profile in selectors.directory(viewer=user)


def test_directory_lists_active_people_and_marks_follows(user, other_user):
    """Leavers are not listed; `is_followed` says whom the viewer follows."""
    leaver = UserFactory(profile__agency=user.profile.agency, is_active=False)
    follow(follower=user, followee=other_user)
    rows = {p.user_id: p for p in selectors.directory(viewer=user)}
    assert leaver.pk not in rows
    assert rows[other_user.pk].is_followed is True
    assert rows[user.pk].is_followed is False


def test_directory_filters(user, other_user, outsider):
    """Search by name, title, username or expertise; filter by agency, department subtree and
    expertise, each once."""
    top = DepartmentFactory(agency=user.profile.agency, name="Directorate")
    team = DepartmentFactory(agency=user.profile.agency, parent=top, name="Team")
    user.profile.department = team
    user.profile.job_title = "Data analyst"
    user.profile.save()
    set_expertise(user.profile, ["Statistics", "Data"])
    set_expertise(other_user.profile, ["Law"])

    assert names(selectors.directory(viewer=user, query="analyst")) == [user.username]
    assert names(selectors.directory(viewer=user, query="stat")) == [user.username]
    # Two matching tags must not list the person twice.
    assert names(selectors.directory(viewer=user, query="DAT")) == [user.username]
    assert set(names(selectors.directory(viewer=user, agency=user.profile.agency))) == {
        user.username,
        other_user.username,
    }
    assert names(selectors.directory(viewer=user, department=top)) == [user.username]
    assert names(selectors.directory(viewer=user, expertise="law")) == [other_user.username]
    assert outsider.username not in names(
        selectors.directory(viewer=user, agency=user.profile.agency)
    )


def test_profile_get_shows_leavers_and_counts(user, other_user):
    """A deactivated colleague's profile is still found; counts of follows are right."""
    follow(follower=other_user, followee=user)
    profile = selectors.profile_get(viewer=other_user, username=user.username.upper())
    assert profile.pk == user.profile.pk
    assert (profile.follower_count, profile.following_count) == (1, 0)
    user.is_active = False
    user.save()
    assert selectors.profile_get(viewer=other_user, username=user.username) is not None
    assert selectors.profile_get(viewer=AnonymousUser(), username=user.username) is None
    assert selectors.profile_get(viewer=other_user, username="nobody") is None


def test_user_get_finds_active_accounts_only(user):
    """A handle names an active account, case-insensitively."""
    assert selectors.user_get(username=user.username.upper()) == user
    user.is_active = False
    user.save()
    assert selectors.user_get(username=user.username) is None


def test_followers_and_following_skip_leavers(user, other_user):
    """Followers and following lists show active people only."""
    leaver = UserFactory()
    follow(follower=other_user, followee=user)
    follow(follower=leaver, followee=user)
    follow(follower=user, followee=leaver)
    leaver.is_active = False
    leaver.save()
    assert names(selectors.followers_of(viewer=user, user=user)) == [other_user.username]
    assert names(selectors.following_of(viewer=user, user=user)) == []
    assert not selectors.followers_of(viewer=AnonymousUser(), user=user).exists()
    assert selectors.is_following(follower=other_user, followee=user)
    assert not selectors.is_following(follower=user, followee=other_user)


def test_expertise_tags_lists_only_used_tags(user):
    """Tags nobody holds are not offered."""
    ExpertiseTag.objects.create(name="Unused")
    set_expertise(user.profile, ["Used"])
    assert [t.name for t in selectors.expertise_tags()] == ["Used"]
