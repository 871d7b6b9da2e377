"""A search's permission clause and its re-check are compiled once per viewer shape (active
staff or not, in the admin's staff or not, with an agency or not), with the viewer's id and
agency as parameters: viewers of one shape share the compilation, and each still finds only
what they may see (search/backends/database.py, `shaped_sql`)."""

from __future__ import annotations

import pytest

from search import recheck
from search.backends import database

from .helpers import post_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def backend():
    return "database"


@pytest.fixture
def fresh_caches():
    database._PERMISSION_SQL.clear()
    recheck._COMPILED.clear()


def _compiled() -> tuple[int, int]:
    return len(database._PERMISSION_SQL), len(recheck._COMPILED)


def test_viewers_of_one_shape_share_the_compiled_sql_and_keep_their_own_results(
    world, fresh_caches
):
    """Alice compiles; Bob (her agency, in no group) and Carol (another agency) reuse it,
    each with their own id and agency: the agency's post for Alice and Bob, the private
    group's post for Alice alone, neither for Carol."""
    agency_post, private_post = world.posts["agency"].pk, world.posts["private"].pk
    assert post_ids(world.alice, "nightingale") == {agency_post}
    assert post_ids(world.alice, "bittern") == {private_post}
    after_alice = _compiled()
    assert after_alice[0] >= 1 and after_alice[1] == 1

    assert post_ids(world.bob, "nightingale") == {agency_post}
    assert post_ids(world.bob, "bittern") == set()
    assert post_ids(world.carol, "nightingale") == set()
    assert post_ids(world.carol, "bittern") == set()
    assert post_ids(world.alice, "bittern") == {private_post}  # and Alice's is still hers
    assert _compiled() == after_alice


def test_a_viewer_without_an_agency_is_a_shape_of_its_own(world, fresh_caches):
    """Someone with no agency gets SQL without the agency clause (compiled for that shape),
    and does not see an agency's posts."""
    world.carol.profile.agency = None
    world.carol.profile.save(update_fields=["agency"])
    assert post_ids(world.alice, "nightingale") == {world.posts["agency"].pk}
    before = _compiled()
    assert post_ids(world.carol, "nightingale") == set()
    assert post_ids(world.carol, "kingfisher") == {world.posts["everyone"].pk}
    assert _compiled()[1] == before[1] + 1
