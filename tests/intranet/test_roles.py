"""Editors and moderators: the groups exist from the migrations; the command gives a role."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from wagtail.models import GroupPagePermission

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_migrations_create_both_roles_with_their_permissions():
    editors = set(
        GroupPagePermission.objects.filter(group__name="Editors").values_list(
            "permission__codename", flat=True
        )
    )
    moderators = set(
        GroupPagePermission.objects.filter(group__name="Moderators").values_list(
            "permission__codename", flat=True
        )
    )
    assert {"add_page", "change_page"} <= editors and "publish_page" not in editors
    assert {"add_page", "change_page", "publish_page"} <= moderators
    for name in ("Editors", "Moderators"):
        codenames = Group.objects.get(name=name).permissions.values_list("codename", flat=True)
        assert "access_admin" in codenames


def test_the_command_makes_someone_a_staff_moderator(client):
    person = UserFactory(username="ana")
    out = StringIO()
    call_command("intranet_role", "ANA", "moderator", stdout=out)
    person.refresh_from_db()
    assert person.is_staff
    assert list(person.groups.values_list("name", flat=True)) == ["Moderators"]
    assert "ana is now an intranet moderator" in out.getvalue()
    client.force_login(person)
    assert client.get("/cms/").status_code == 200


def test_the_command_refuses_unknown_people_and_deactivated_accounts():
    with pytest.raises(CommandError, match="No account"):
        call_command("intranet_role", "nobody", "editor")
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("intranet_role", "gone", "editor")


def test_staff_without_a_role_cannot_open_the_cms(client, user):
    user.is_staff = True
    user.save()
    client.force_login(user)
    response = client.get("/cms/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
