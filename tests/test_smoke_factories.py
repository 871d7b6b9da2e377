import pytest

from tests.factories import GroupFactory, MembershipFactory, PostFactory, UserFactory


@pytest.mark.django_db
def test_factories_build_a_consistent_world():
    """Users come with a profile and agency; posts inherit the author's agency."""
    u = UserFactory()
    assert u.profile.agency is not None
    g = GroupFactory(kind="private")
    MembershipFactory(group=g, user=u)
    p = PostFactory(author=u)
    assert p.agency == u.profile.agency
    assert u.check_password("correct horse battery staple")
    none_agency = UserFactory(profile__agency=None)
    assert none_agency.profile.agency is None
