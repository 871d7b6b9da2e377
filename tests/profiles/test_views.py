"""The people pages over HTTP: directory, profile, avatar, editing, follows."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from feeds.cursors import encode_cursor
from feeds.models import Post
from groups.models import Group
from profiles.actions import set_expertise
from profiles.models import Follow, Profile
from tests.factories import (
    AgencyFactory,
    DepartmentFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DIRECTORY = reverse("profiles:directory")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories set a password for every user; a cheap hasher keeps large worlds quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def names_listed(response) -> set[str]:
    """Display names of the people cards on a directory-like page."""
    return {profile.display_name for profile in response.context["page"].object_list}


def image_bytes(fmt: str = "JPEG", size=(64, 48), exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    kwargs = {"exif": exif} if exif else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def edit_data(profile: Profile, **overrides) -> dict:
    data = {
        "display_name": profile.display_name,
        "job_title": profile.job_title,
        "department": profile.department_id or "",
        "location": profile.location,
        "bio": profile.bio,
        "expertise": "",
        "languages": profile.languages,
        "phone": profile.phone,
        "manager": "",
        "preferred_language": "",
    }
    data.update(overrides)
    return data


# --- sign-in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        reverse("profiles:directory"),
        reverse("profiles:edit"),
        reverse("profiles:detail", args=["someone"]),
        reverse("profiles:avatar", args=["someone"]),
        reverse("profiles:followers", args=["someone"]),
        reverse("profiles:following", args=["someone"]),
    ],
)
def test_people_pages_need_sign_in(client, url):
    """Anonymous visitors are sent to the sign-in page, never shown a profile."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_follow_needs_sign_in(client, other_user):
    response = client.post(reverse("profiles:follow", args=[other_user.username]))
    assert response.status_code == 302
    assert not Follow.objects.exists()


# --- directory ----------------------------------------------------------------------------


def test_directory_lists_active_staff_with_card_details(web, user, other_user):
    """Each card shows name, job title, agency, expertise and a follow button (not for oneself)."""
    other_user.profile.job_title = "Data steward"
    other_user.profile.save()
    set_expertise(other_user.profile, ["GIS"])
    gone = UserFactory(profile__display_name="Gone Person", is_active=False)
    response = web.get(DIRECTORY)
    assert response.status_code == 200
    html = response.content.decode()
    assert other_user.profile.display_name in html
    assert "Data steward" in html
    assert other_user.profile.agency.name in html
    assert ">GIS</a>" in html
    assert reverse("profiles:follow", args=[other_user.username]) in html
    assert reverse("profiles:follow", args=[user.username]) not in html
    assert gone.profile.display_name not in names_listed(response)


def test_directory_search_matches_name_title_and_skill(web, user):
    ada = UserFactory(profile__display_name="Ada Lovelace", profile__job_title="Analyst")
    bob = UserFactory(profile__display_name="Bob Builder", profile__job_title="Architect")
    set_expertise(bob.profile, ["Procurement"])
    assert names_listed(web.get(DIRECTORY, {"q": "lovelace"})) == {"Ada Lovelace"}
    assert names_listed(web.get(DIRECTORY, {"q": "architect"})) == {"Bob Builder"}
    assert names_listed(web.get(DIRECTORY, {"q": "procure"})) == {"Bob Builder"}
    response = web.get(DIRECTORY, {"q": "nobody-has-this"})
    assert names_listed(response) == set()
    assert "Nobody matches this search" in response.content.decode()
    assert ada.profile.display_name


def test_directory_filters_by_agency(web, user, agency):
    elsewhere = UserFactory(profile__display_name="Elsewhere Person")
    response = web.get(DIRECTORY, {"agency": agency.pk})
    listed = names_listed(response)
    assert user.profile.display_name in listed
    assert elsewhere.profile.display_name not in listed
    response = web.get(DIRECTORY, {"agency": elsewhere.profile.agency_id})
    assert names_listed(response) == {"Elsewhere Person"}


def test_directory_filter_by_department_includes_sub_departments(web, agency):
    division = DepartmentFactory(agency=agency, name="Division")
    team = DepartmentFactory(agency=agency, parent=division, name="Team")
    other = DepartmentFactory(agency=agency, name="Other unit")
    UserFactory(profile__agency=agency, profile__department=division, profile__display_name="Div")
    UserFactory(profile__agency=agency, profile__department=team, profile__display_name="Teamer")
    UserFactory(profile__agency=agency, profile__department=other, profile__display_name="Out")
    response = web.get(DIRECTORY, {"department": division.pk})
    assert names_listed(response) == {"Div", "Teamer"}
    response = web.get(DIRECTORY, {"agency": agency.pk, "department": team.pk})
    assert names_listed(response) == {"Teamer"}


def test_directory_filter_by_expertise(web):
    gis = UserFactory(profile__display_name="Gis Person")
    set_expertise(gis.profile, ["GIS", "Python"])
    other = UserFactory(profile__display_name="Other Person")
    set_expertise(other.profile, ["Law"])
    response = web.get(DIRECTORY, {"expertise": "gis"})
    assert names_listed(response) == {"Gis Person"}
    # the datalist offers the skills in use
    assert '<option value="Law">' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [{"agency": "999999"}, {"agency": "not-a-number"}, {"department": "abc"}, {"page": "x"}],
)
def test_directory_bad_filter_values_are_ignored_with_an_error(web, user, params):
    """Unknown ids or garbage never crash the page: the filter is dropped and explained."""
    response = web.get(DIRECTORY, params)
    assert response.status_code == 200
    assert user.profile.display_name in names_listed(response)
    if "page" not in params:
        assert response.context["form"].errors
        assert "is not in the list: filter ignored." in response.content.decode()


def test_directory_department_of_other_agency_than_chosen_is_an_error(web, agency):
    elsewhere = DepartmentFactory()
    response = web.get(DIRECTORY, {"agency": agency.pk, "department": elsewhere.pk})
    assert response.status_code == 200
    assert "department" in response.context["form"].errors


def test_directory_is_paginated_by_24_with_numbered_pages(web, agency):
    UserFactory.create_batch(30, profile__agency=agency)  # 31 with the viewer
    first = web.get(DIRECTORY)
    assert len(first.context["page"].object_list) == 24
    html = first.content.decode()
    assert 'aria-current="page"' in html
    assert "?page=2" in html
    second = web.get(DIRECTORY, {"page": 2})
    assert len(second.context["page"].object_list) == 7
    assert not names_listed(first) & names_listed(second)


def test_directory_pagination_keeps_filters(web, agency):
    UserFactory.create_batch(25, profile__agency=agency)
    html = web.get(DIRECTORY, {"agency": agency.pk}).content.decode()
    assert f"?agency={agency.pk}&amp;page=2" in html


# --- profile page -------------------------------------------------------------------------


def test_profile_page_shows_the_person(web, user, agency):
    division = DepartmentFactory(agency=agency, name="Digital")
    team = DepartmentFactory(agency=agency, parent=division, name="Platforms")
    boss = UserFactory(profile__agency=agency, profile__display_name="Big Boss")
    person = UserFactory(
        profile__agency=agency,
        profile__display_name="Pat Example",
        profile__job_title="Engineer",
        profile__department=team,
        profile__location="Ottawa",
        profile__languages="English, French",
        profile__phone="555 0100",
        profile__bio="I build things.",
        profile__manager=boss.profile,
    )
    set_expertise(person.profile, ["Kubernetes"])
    Follow.objects.create(follower=user, followee=person)
    response = web.get(reverse("profiles:detail", args=[person.username]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Pat Example", "Engineer", agency.name, "Digital › Platforms", "Ottawa"):
        assert text in html
    assert "English, French" in html and "555 0100" in html and "I build things." in html
    assert boss.profile.get_absolute_url() in html and "Big Boss" in html
    assert ">Kubernetes</a>" in html
    assert reverse("profiles:followers", args=[person.username]) in html
    assert "<strong>1</strong> follower" in html
    assert "Unfollow" in html  # the viewer follows them
    assert "Edit profile" not in html


def test_own_profile_has_edit_link_and_no_follow_button(web, user):
    html = web.get(reverse("profiles:detail", args=[user.username])).content.decode()
    assert reverse("profiles:edit") in html
    assert reverse("profiles:follow", args=[user.username]) not in html


def test_unknown_profile_is_404(web):
    assert web.get(reverse("profiles:detail", args=["nobody-here"])).status_code == 404


def test_deactivated_profile_shows_former_colleague_without_follow(web):
    gone = UserFactory(is_active=False, profile__display_name="Old Timer")
    response = web.get(reverse("profiles:detail", args=[gone.username]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Old Timer" in html and "Former colleague" in html
    assert reverse("profiles:follow", args=[gone.username]) not in html


def test_profile_shows_only_posts_the_viewer_may_see(web, user, agency):
    """An agency post of another agency and a private group's post stay hidden."""
    author = UserFactory(profile__display_name="Writer")
    private = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=private, user=author)
    PostFactory(author=author, body="visible to all", audience=Post.Audience.EVERYONE)
    PostFactory(author=author, body="agency secret", audience=Post.Audience.AGENCY)
    PostFactory(author=author, body="group secret", audience=Post.Audience.GROUP, group=private)
    html = web.get(reverse("profiles:detail", args=[author.username])).content.decode()
    assert "visible to all" in html
    assert "agency secret" not in html
    assert "group secret" not in html

    MembershipFactory(group=private, user=user)
    html = web.get(reverse("profiles:detail", args=[author.username])).content.decode()
    assert "group secret" in html
    assert "agency secret" not in html  # user is in another agency


def test_profile_posts_are_keyset_paginated(web, settings):
    settings.AGORA_PAGE_SIZE = 2
    author = UserFactory()
    posts = [PostFactory(author=author, body=f"entry {n}") for n in range(3)]
    url = reverse("profiles:detail", args=[author.username])
    first = web.get(url)
    assert [p.pk for p in first.context["feed"].items] == [posts[2].pk, posts[1].pk]
    cursor = first.context["feed"].next_cursor
    assert f"?before={cursor}" in first.content.decode()
    older = web.get(url, {"before": cursor})
    assert [p.pk for p in older.context["feed"].items] == [posts[0].pk]
    assert web.get(url, {"before": encode_cursor(posts[0].pk)}).context["feed"].items == []


def test_profile_malformed_cursor_is_400(web, user):
    response = web.get(reverse("profiles:detail", args=[user.username]), {"before": "!!nope"})
    assert response.status_code == 400


# --- avatar -------------------------------------------------------------------------------


def test_avatar_is_streamed_to_staff_and_404_without_one(web, client, user, other_user):
    assert web.get(reverse("profiles:avatar", args=[other_user.username])).status_code == 404
    other_user.profile.avatar.save("a.jpg", io.BytesIO(image_bytes()), save=True)
    response = web.get(reverse("profiles:avatar", args=[other_user.username]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == other_user.profile.avatar.read()
    assert web.get(reverse("profiles:avatar", args=["nobody"])).status_code == 404
    client.logout()
    assert client.get(reverse("profiles:avatar", args=[other_user.username])).status_code == 302


# --- edit ---------------------------------------------------------------------------------


def test_edit_form_shows_current_values(web, user):
    user.profile.job_title = "Clerk"
    user.profile.save()
    set_expertise(user.profile, ["Archives", "Law"])
    html = web.get(reverse("profiles:edit")).content.decode()
    assert 'value="Clerk"' in html
    assert 'value="Archives, Law"' in html


def test_edit_saves_profile(web, user, agency):
    team = DepartmentFactory(agency=agency, name="Team A")
    boss = UserFactory(username="theboss", profile__agency=agency)
    data = edit_data(
        user.profile,
        display_name="New Name",
        job_title="Lead",
        department=team.pk,
        expertise="GIS, Python, gis",
        languages="English ,  French",
        manager="@TheBoss",
        preferred_language="fr",
    )
    response = web.post(reverse("profiles:edit"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("profiles:detail", args=[user.username])
    profile = Profile.objects.get(pk=user.profile.pk)
    assert profile.display_name == "New Name"
    assert profile.job_title == "Lead"
    assert profile.department == team
    assert profile.manager == boss.profile
    assert profile.languages == "English, French"
    assert profile.preferred_language == "fr"
    assert sorted(t.name for t in profile.expertise.all()) == ["GIS", "Python"]


def test_edit_errors_are_shown_and_input_kept(web, user):
    data = edit_data(user.profile, display_name="   ", job_title="Kept title", manager="ghost")
    response = web.post(reverse("profiles:edit"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your name cannot be empty." in html
    assert "No active colleague has the username" in html
    assert 'value="Kept title"' in html
    assert 'aria-invalid="true"' in html
    profile = Profile.objects.get(pk=user.profile.pk)
    assert profile.job_title != "Kept title"


def test_edit_refuses_department_of_another_agency(web, user):
    foreign = DepartmentFactory()  # another agency
    response = web.post(reverse("profiles:edit"), edit_data(user.profile, department=foreign.pk))
    assert response.status_code == 200
    assert "department" in response.context["form"].errors
    assert Profile.objects.get(pk=user.profile.pk).department_id is None


def test_edit_refuses_self_as_manager(web, user):
    response = web.post(reverse("profiles:edit"), edit_data(user.profile, manager=user.username))
    assert "You cannot be your own manager." in response.content.decode()
    assert Profile.objects.get(pk=user.profile.pk).manager_id is None


def test_edit_only_ever_changes_the_signed_in_person(web, user, other_user):
    """There is no way to name someone else: extra fields are ignored."""
    before = other_user.profile.display_name
    data = edit_data(user.profile, display_name="Mine", user=other_user.pk)
    data["username"] = other_user.username
    assert web.post(reverse("profiles:edit"), data).status_code == 302
    assert Profile.objects.get(pk=other_user.profile.pk).display_name == before
    assert Profile.objects.get(pk=user.profile.pk).display_name == "Mine"
    html = web.get(reverse("profiles:detail", args=[other_user.username])).content.decode()
    assert reverse("profiles:edit") not in html.split('id="main"', 1)[1]


def test_avatar_upload_is_reencoded_without_metadata(web, user):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 1  # Orientation
    upload = SimpleUploadedFile("me.jpg", image_bytes(exif=exif.tobytes()), "image/jpeg")
    data = edit_data(user.profile, avatar=upload)
    assert web.post(reverse("profiles:edit"), data).status_code == 302
    profile = Profile.objects.get(pk=user.profile.pk)
    assert profile.avatar
    assert not profile.avatar.name.endswith("me.jpg")
    with profile.avatar.open("rb") as stored:
        content = stored.read()
    assert b"SpyCam" not in content
    assert not Image.open(io.BytesIO(content)).getexif()


def test_avatar_upload_rejects_non_images_and_large_files(web, user):
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", "image/jpeg")
    response = web.post(reverse("profiles:edit"), edit_data(user.profile, avatar=fake))
    assert "This file is not an image we can read." in response.content.decode()
    big = SimpleUploadedFile("big.jpg", b"0" * (2 * 1024 * 1024 + 1), "image/jpeg")
    response = web.post(reverse("profiles:edit"), edit_data(user.profile, avatar=big))
    assert "larger than 2 MB" in response.content.decode()
    assert not Profile.objects.get(pk=user.profile.pk).avatar


def test_avatar_can_be_removed(web, user):
    user.profile.avatar.save("a.jpg", io.BytesIO(image_bytes()), save=True)
    stored = user.profile.avatar.name
    storage = user.profile.avatar.storage
    response = web.post(reverse("profiles:edit"), edit_data(user.profile, remove_avatar="on"))
    assert response.status_code == 302
    assert not Profile.objects.get(pk=user.profile.pk).avatar
    assert not storage.exists(stored)


# --- follow -------------------------------------------------------------------------------


def follow_url(user) -> str:
    return reverse("profiles:follow", args=[user.username])


def test_follow_and_unfollow_are_idempotent(web, user, other_user):
    for _ in range(2):
        response = web.post(follow_url(other_user), {"action": "follow"})
        assert response.status_code == 302
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1
    for _ in range(2):
        web.post(follow_url(other_user), {"action": "unfollow"})
    assert not Follow.objects.filter(follower=user, followee=other_user).exists()


def test_follow_shows_a_message_and_button_state(web, other_user):
    response = web.post(follow_url(other_user), {"action": "follow"}, follow=True)
    html = response.content.decode()
    assert f"You now follow {other_user.profile.display_name}." in html
    assert "Unfollow" in html


def test_follow_redirects_to_a_safe_next_only(web, other_user):
    response = web.post(follow_url(other_user), {"action": "follow", "next": "/people/?q=a"})
    assert response["Location"] == "/people/?q=a"
    response = web.post(
        follow_url(other_user), {"action": "unfollow", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("profiles:detail", args=[other_user.username])


def test_self_follow_is_refused_with_a_message(web, user):
    response = web.post(follow_url(user), {"action": "follow"}, follow=True)
    assert "You cannot follow yourself." in response.content.decode()
    assert not Follow.objects.exists()


def test_follow_unknown_or_deactivated_user_is_404(web):
    gone = UserFactory(is_active=False)
    response = web.post(reverse("profiles:follow", args=["ghost"]), {"action": "follow"})
    assert response.status_code == 404
    assert web.post(follow_url(gone), {"action": "follow"}).status_code == 404
    assert not Follow.objects.exists()


def test_follow_needs_post_and_a_known_action(web, other_user):
    assert web.get(follow_url(other_user)).status_code == 405
    assert web.post(follow_url(other_user), {"action": "poke"}).status_code == 400
    assert not Follow.objects.exists()


# --- followers / following ----------------------------------------------------------------


def test_followers_and_following_lists(web, user, other_user):
    third = UserFactory(profile__display_name="Third Person")
    Follow.objects.create(follower=other_user, followee=user)
    Follow.objects.create(follower=third, followee=user)
    Follow.objects.create(follower=user, followee=third)
    response = web.get(reverse("profiles:followers", args=[user.username]))
    assert names_listed(response) == {other_user.profile.display_name, "Third Person"}
    response = web.get(reverse("profiles:following", args=[user.username]))
    assert names_listed(response) == {"Third Person"}
    assert 'aria-current="page"' in response.content.decode()


def test_followers_and_following_empty_states_and_404(web, other_user):
    html = web.get(reverse("profiles:followers", args=[other_user.username])).content.decode()
    assert "Nobody follows this person yet." in html
    html = web.get(reverse("profiles:following", args=[other_user.username])).content.decode()
    assert "This person does not follow anyone yet." in html
    assert web.get(reverse("profiles:followers", args=["ghost"])).status_code == 404


def test_followers_list_hides_deactivated_people(web, user):
    gone = UserFactory(is_active=False, profile__display_name="Gone")
    Follow.objects.create(follower=gone, followee=user)
    response = web.get(reverse("profiles:followers", args=[user.username]))
    assert names_listed(response) == set()


def test_agency_filter_on_directory_uses_current_agency(web):
    """Someone who moved agency is listed under the new one only."""
    old, new = AgencyFactory(), AgencyFactory()
    mover = UserFactory(profile__agency=old, profile__display_name="Mover")
    mover.profile.agency = new
    mover.profile.save()
    assert "Mover" not in names_listed(web.get(DIRECTORY, {"agency": old.pk}))
    assert "Mover" in names_listed(web.get(DIRECTORY, {"agency": new.pk}))


def test_directory_query_count_does_not_grow_with_the_page(web, agency):
    """Cards read agency, department, expertise and follow state without a query per person."""

    def queries_for_directory() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web.get(DIRECTORY).status_code == 200
        return len(captured)

    for _ in range(2):
        set_expertise(UserFactory(profile__agency=agency).profile, ["GIS", "Law"])
    few = queries_for_directory()
    for _ in range(10):
        set_expertise(UserFactory(profile__agency=agency).profile, ["Python"])
    assert queries_for_directory() == few
