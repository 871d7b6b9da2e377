"""People through the API: the directory, profiles, one's own profile, follows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feeds.models import Post
from profiles.actions import follow, set_expertise
from profiles.models import Follow
from tests.factories import AgencyFactory, DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = reverse("api:people")
ME = reverse("api:person-me")


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [person["username"] for person in response.json()["results"]]


def person_url(user, name="person-detail") -> str:
    return reverse(f"api:{name}", args=[user.username])


# --- the directory ---------------------------------------------------------------------------


@pytest.mark.api_endpoint("people", "GET")
def test_directory_filters(api, user, agency):
    team = DepartmentFactory(agency=agency, name="Digital")
    sub_team = DepartmentFactory(agency=agency, parent=team, name="Platform")
    alice = UserFactory(profile__agency=agency, profile__display_name="Alice Archer")
    alice.profile.department = sub_team
    alice.profile.save()
    set_expertise(alice.profile, ["Procurement"])
    other_agency = AgencyFactory(slug="treasury")
    bob = UserFactory(profile__agency=other_agency, profile__display_name="Bob Baker")
    set_expertise(bob.profile, ["procurement", "Budgets"])
    UserFactory(is_active=False, profile__display_name="Alice Gone")
    follow(follower=user, followee=alice)

    everyone = api.get(PEOPLE)
    assert set(usernames(everyone)) == {user.username, alice.username, bob.username}
    assert everyone.json()["count"] == 3
    assert usernames(api.get(PEOPLE, {"q": "alice"})) == [alice.username]
    assert usernames(api.get(PEOPLE, {"agency": "treasury"})) == [bob.username]
    assert usernames(api.get(PEOPLE, {"agency": other_agency.pk})) == [bob.username]
    assert usernames(api.get(PEOPLE, {"department": team.pk})) == [alice.username]
    assert usernames(api.get(PEOPLE, {"expertise": "PROCUREMENT"})) == [
        alice.username,
        bob.username,
    ]
    card = api.get(PEOPLE, {"q": "alice"}).json()["results"][0]
    assert card["is_followed"] is True
    assert card["department"] == {"id": sub_team.pk, "name": "Platform"}
    profile = api.get(person_url(alice)).json()
    assert profile["department"]["path"] == "Digital › Platform"
    assert card["expertise"] == ["Procurement"]


def test_directory_pages(api, settings):
    settings.AGORA_PAGE_SIZE = 2
    for _ in range(4):
        UserFactory()  # with the signed-in user: five people
    first = api.get(PEOPLE)
    assert first.json()["count"] == 5
    assert len(first.json()["results"]) == 2
    third = api.get(first.json()["next"].replace("http://testserver", "")[:-1] + "3")
    assert len(third.json()["results"]) == 1
    assert third.json()["next"] is None
    assert api.get(PEOPLE, {"page": 4}).status_code == 404


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"agency": "no-such-agency"}, {"agency": ["There is no such agency."]}),
        ({"agency": "999999"}, {"agency": ["There is no such agency."]}),
        ({"department": 999999}, {"department": ["There is no such department."]}),
        ({"department": "digital"}, {"department": ["A valid integer is required."]}),
        ({"skills": "python"}, {"skills": ["Unknown field."]}),
    ],
)
def test_directory_bad_filters_are_a_400(api, query, errors):
    response = api.get(PEOPLE, query)
    assert response.status_code == 400
    assert response.json() == errors


@pytest.fixture
def deactivated_api(client_for, user):
    user.is_active = False
    user.save()
    return client_for(user)


@pytest.mark.api_wrong_user("people", "GET")
@pytest.mark.api_wrong_user("person-detail", "GET")
@pytest.mark.api_wrong_user("person-me", "GET", "PATCH")
@pytest.mark.api_wrong_user("person-followers", "GET")
@pytest.mark.api_wrong_user("person-following", "GET")
def test_people_endpoints_refuse_former_staff(deactivated_api, other_user):
    """Someone deactivated (a leaver) reads nothing, even with a live session."""
    for response in (
        deactivated_api.get(PEOPLE),
        deactivated_api.get(person_url(other_user)),
        deactivated_api.get(ME),
        deactivated_api.patch(ME, {"job_title": "Still here"}, format="json"),
        deactivated_api.get(person_url(other_user, "person-followers")),
        deactivated_api.get(person_url(other_user, "person-following")),
    ):
        assert response.status_code == 403
    assert other_user.profile.job_title == ""


# --- profiles --------------------------------------------------------------------------------


@pytest.mark.api_endpoint("person-detail", "GET")
def test_profile(api, user, other_user, agency):
    other_user.profile.job_title = "Analyst"
    other_user.profile.bio = "I count things."
    other_user.profile.languages = "English, French"
    other_user.profile.manager = user.profile
    other_user.profile.save()
    set_expertise(other_user.profile, ["Statistics"])
    follow(follower=user, followee=other_user)
    response = api.get(person_url(other_user))
    assert response.status_code == 200
    data = response.json()
    assert data["username"] == other_user.username
    assert data["job_title"] == "Analyst"
    assert data["bio"] == "I count things."
    assert data["languages"] == ["English", "French"]
    assert data["expertise"] == ["Statistics"]
    assert data["agency"]["slug"] == agency.slug
    assert data["manager"]["username"] == user.username
    assert data["is_active"] is True
    assert data["is_followed"] is True
    assert (data["follower_count"], data["following_count"]) == (1, 0)
    assert data["avatar_url"] is None
    assert (
        api.get(reverse("api:person-detail", args=[other_user.username.upper()])).json()["username"]
        == other_user.username
    )


def test_profile_of_a_former_colleague_says_so(api):
    leaver = UserFactory(is_active=False)
    response = api.get(person_url(leaver))
    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_profile_of_nobody_is_404(api):
    assert api.get(reverse("api:person-detail", args=["nobody"])).status_code == 404


@pytest.mark.api_endpoint("person-me", "GET")
def test_me(api, user):
    response = api.get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == user.username


@pytest.mark.api_endpoint("person-me", "PATCH")
def test_edit_own_profile(api, user, other_user, agency):
    department = DepartmentFactory(agency=agency)
    response = api.patch(
        ME,
        {
            "display_name": "Dana Doe",
            "job_title": "Head of Data",
            "department": department.pk,
            "manager": other_user.username,
            "expertise": ["Python", "Open data", "python"],
            "preferred_language": "fr",
            "languages": "English, Welsh",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    profile = user.profile
    profile.refresh_from_db()
    assert profile.display_name == "Dana Doe"
    assert profile.job_title == "Head of Data"
    assert profile.department == department
    assert profile.manager == other_user.profile
    assert profile.preferred_language == "fr"
    assert sorted(profile.expertise.values_list("name", flat=True)) == ["Open data", "Python"]
    data = response.json()
    assert data["display_name"] == "Dana Doe"
    assert data["expertise"] == ["Open data", "Python"]
    assert data["languages"] == ["English", "Welsh"]

    cleared = api.patch(ME, {"department": None, "manager": None, "expertise": []}, format="json")
    assert cleared.status_code == 200
    profile.refresh_from_db()
    assert (profile.department, profile.manager) == (None, None)
    assert not profile.expertise.exists()
    assert profile.display_name == "Dana Doe"  # untouched by a partial update


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 151}, "display_name"),
        ({"bio": "x" * 2001}, "bio"),
        ({"preferred_language": "de"}, "preferred_language"),
        ({"manager": "nobody"}, "manager"),
        ({"department": 999999}, "department"),
        ({"expertise": "python"}, "expertise"),
        ({"expertise": ["python", " "]}, "expertise"),
        ({"expertise": ["x" * 61]}, "expertise"),
        ({"avatar": "me.png"}, "avatar"),
        ({"agency": 1}, "agency"),
        ({"username": "root"}, "username"),
    ],
)
def test_edit_own_profile_bad_input_is_a_400(api, user, data, field):
    response = api.patch(ME, data, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    before = user.profile.display_name
    user.profile.refresh_from_db()
    assert user.profile.display_name == before


def test_edit_own_profile_rules_of_the_action(api, user):
    """The action's own checks come back as field errors too."""
    elsewhere = DepartmentFactory()
    response = api.patch(ME, {"department": elsewhere.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"department": ["Choose a department of your own agency."]}
    response = api.patch(ME, {"manager": user.username}, format="json")
    assert response.status_code == 400
    assert response.json() == {"manager": ["You cannot be your own manager."]}
    user.profile.refresh_from_db()
    assert (user.profile.department, user.profile.manager) == (None, None)


# --- follows ---------------------------------------------------------------------------------


@pytest.mark.api_endpoint("person-follow", "POST")
def test_follow_is_idempotent(api, user, outsider):
    first = api.post(person_url(outsider, "person-follow"))
    assert first.status_code == 201
    assert first.json()["is_followed"] is True
    assert first.json()["follower_count"] == 1
    again = api.post(person_url(outsider, "person-follow"))
    assert again.status_code == 200
    assert Follow.objects.filter(follower=user, followee=outsider).count() == 1


def test_follow_oneself_is_a_400(api, user):
    response = api.post(person_url(user, "person-follow"))
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["You cannot follow yourself."]}
    assert not Follow.objects.exists()


@pytest.mark.api_wrong_user("person-follow", "POST")
def test_follow_a_missing_or_deactivated_person_is_404(api):
    leaver = UserFactory(is_active=False)
    assert api.post(person_url(leaver, "person-follow")).status_code == 404
    assert api.post(reverse("api:person-follow", args=["nobody"])).status_code == 404
    assert not Follow.objects.exists()


@pytest.mark.api_endpoint("person-follow", "DELETE")
def test_unfollow(api, user, other_user):
    follow(follower=user, followee=other_user)
    assert api.delete(person_url(other_user, "person-follow")).status_code == 204
    assert not Follow.objects.filter(follower=user).exists()
    assert api.delete(person_url(other_user, "person-follow")).status_code == 204  # idempotent


@pytest.mark.api_wrong_user("person-follow", "DELETE")
def test_unfollow_touches_only_ones_own_follows(client_for, user, other_user, outsider):
    follow(follower=other_user, followee=user)
    assert client_for(outsider).delete(person_url(user, "person-follow")).status_code == 204
    assert Follow.objects.filter(follower=other_user, followee=user).exists()
    missing = client_for(outsider).delete(reverse("api:person-follow", args=["nobody"]))
    assert missing.status_code == 404


def test_unfollow_a_former_colleague(api, user, other_user):
    follow(follower=user, followee=other_user)
    other_user.is_active = False
    other_user.save()
    assert api.delete(person_url(other_user, "person-follow")).status_code == 204
    assert not Follow.objects.exists()


@pytest.mark.api_endpoint("person-followers", "GET")
@pytest.mark.api_endpoint("person-following", "GET")
def test_followers_and_following(api, user, other_user, outsider):
    leaver = UserFactory()
    for follower in (other_user, outsider, leaver):
        follow(follower=follower, followee=user)
    follow(follower=user, followee=outsider)
    leaver.is_active = False
    leaver.save()
    followers = api.get(person_url(user, "person-followers"))
    assert sorted(usernames(followers)) == sorted([other_user.username, outsider.username])
    by_name = {p["username"]: p for p in followers.json()["results"]}
    assert by_name[outsider.username]["is_followed"] is True
    assert by_name[other_user.username]["is_followed"] is False
    assert usernames(api.get(person_url(user, "person-following"))) == [outsider.username]
    assert usernames(api.get(person_url(outsider, "person-followers"))) == [user.username]
    assert api.get(reverse("api:person-followers", args=["nobody"])).status_code == 404


def test_directory_query_count_does_not_grow_with_the_page(api, user, agency):
    """One query per page, not per person (nested departments, expertise, follows)."""

    def add_person():
        person = UserFactory(profile__agency=agency)
        parent = DepartmentFactory(agency=agency)
        person.profile.department = DepartmentFactory(agency=agency, parent=parent)
        person.profile.save()
        set_expertise(person.profile, ["Law"])
        follow(follower=person, followee=user)

    def count_queries(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured.captured_queries)

    followers = person_url(user, "person-followers")
    add_person()
    small = (count_queries(PEOPLE), count_queries(followers))
    for _ in range(5):
        add_person()
    assert (count_queries(PEOPLE), count_queries(followers)) == small


def test_me_for_an_account_made_outside_agora(client_for, django_user_model):
    """A token user without a profile yet (createsuperuser) gets one, not a 404."""
    admin = django_user_model.objects.create_user(username="root", password="x" * 12)
    response = client_for(admin).get(ME)
    assert response.status_code == 200
    assert response.json()["display_name"] == "root"
    assert response.json()["agency"] is None
    assert admin.profile.display_name == "root"


def test_posts_by_an_account_without_a_profile_still_serialize(api, django_user_model):
    admin = django_user_model.objects.create_user(username="root", password="x" * 12)
    post = Post.objects.create(author=admin, body="Hi", body_html="<p>Hi</p>")
    response = api.get(reverse("api:post-detail", args=[post.pk]))
    assert response.status_code == 200
    assert response.json()["author"]["username"] == "root"
    assert response.json()["author"]["agency"] is None
