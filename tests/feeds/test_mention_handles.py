"""Mentions find their person whatever the case of the handle or the script of the name."""

import pytest

from feeds.actions import create_post
from feeds.models import Mention
from feeds.rendering import render
from tests.factories import UserFactory


def test_accented_handles_are_mentions():
    rendered = render("Merci @zoé.novak et @Ana-Martin.")
    assert rendered.mentions == {"zoé.novak", "ana-martin"}


def test_email_addresses_are_not_mentions():
    assert render("Write to jane@example.org").mentions == frozenset()


@pytest.mark.django_db
def test_a_capitalised_username_is_mentioned(user, agency):
    ana = UserFactory(username="Ana.Martin", profile__agency=agency)
    zoe = UserFactory(username="zoé.novak", profile__agency=agency)
    post = create_post(author=user, body="Thanks @ana.martin and @Zoé.Novak")
    assert set(Mention.objects.filter(post=post).values_list("user_id", flat=True)) == {
        ana.pk,
        zoe.pk,
    }
