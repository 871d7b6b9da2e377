"""The interface language: the person's choice, else the browser's."""

import pytest

from profiles.models import Profile


@pytest.mark.django_db
def test_browser_language_is_used_when_the_person_has_not_chosen(web):
    response = web.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response.status_code == 200
    assert '<html lang="fr"' in response.content.decode()


@pytest.mark.django_db
def test_switcher_choice_is_kept_on_the_profile_and_wins_over_the_browser(web, user):
    response = web.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert Profile.objects.get(user=user).preferred_language == "fr"
    page = web.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr"' in page.content.decode()
    web.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = web.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="en"' in page.content.decode()


@pytest.mark.django_db
def test_unknown_language_changes_nothing(web, user):
    web.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert Profile.objects.get(user=user).preferred_language == ""
