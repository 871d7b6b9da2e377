"""Fields the agency directory keeps up to date are read-only on the profile edit page."""

import pytest

from identity.models import DirectoryIdentity
from profiles.models import Profile


@pytest.fixture
def synced(user):
    DirectoryIdentity.objects.create(
        user=user,
        kind=DirectoryIdentity.Kind.DIRECTORY,
        source="ldap://directory.example.gov",
        external_id="e-1001",
        managed_fields=["display_name", "job_title"],
    )
    Profile.objects.filter(user=user).update(display_name="Ana Directory", job_title="Analyst")
    return user


@pytest.mark.django_db
def test_directory_fields_are_shown_read_only(web, synced):
    html = web.get("/people/me/edit/").content.decode()
    assert "Kept up to date from your agency directory." in html
    assert (
        'name="display_name"' in html and "disabled" in html.split('name="display_name"')[1][:200]
    )
    assert "disabled" not in html.split('name="location"')[1].split(">")[0]


@pytest.mark.django_db
def test_a_posted_directory_field_is_ignored_and_the_rest_saved(web, synced):
    response = web.post(
        "/people/me/edit/",
        {"display_name": "Someone Else", "job_title": "Minister", "location": "Ghent"},
    )
    assert response.status_code in (200, 302)
    profile = Profile.objects.get(user=synced)
    assert profile.display_name == "Ana Directory"
    assert profile.job_title == "Analyst"
    assert profile.location == "Ghent"


@pytest.mark.django_db
def test_without_a_directory_everything_is_editable(web, user):
    html = web.get("/people/me/edit/").content.decode()
    assert "Kept up to date from your agency directory." not in html
