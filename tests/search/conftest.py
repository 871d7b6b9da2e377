"""Search fixtures: a small network indexed through the real actions and the outbox.

`commit` runs an action and then its after-commit work (the outbox drain, and so the search
consumer), as a real request would. The `world` fixture builds two agencies, people in
them, an open, a private and a secret group, and posts of every audience, each with a word
that appears nowhere else, so a test can ask "who finds `zebrafinch`?".
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from feeds import actions as feed_actions
from groups import actions as group_actions
from groups.models import Group
from profiles import actions as profile_actions
from tests.factories import AgencyFactory, UserFactory


@pytest.fixture(autouse=True)
def _search_settings(settings):
    settings.SEARCH_BACKEND = "database"
    settings.SEARCH_LANGUAGE = "english"
    settings.OUTBOX_CONSUMERS = ["search.indexing.handle_event"]
    settings.OUTBOX_DRAIN_INLINE = True
    settings.ELASTICSEARCH_URL = ""


def drain_outbox() -> None:
    """Hand every due outbox event to the consumers, as `run_outbox` would."""
    from outbox.worker import drain

    while sum(drain()):
        pass


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Call an action, then run what follows its commit: the outbox drain.

    (Under pytest the whole test is one transaction, so the inline after-commit drain runs
    only when captured; draining explicitly afterwards makes every action's events land.)
    """

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = function(*args, **kwargs)
        drain_outbox()
        return result

    return run


ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request, settings):
    """The same behaviour tests for both backends. Elasticsearch runs only against a real
    server (ELASTICSEARCH_URL); without one those runs are skipped, saying why."""
    if request.param == "database":
        yield "database"
        return
    if not ELASTICSEARCH_URL:
        pytest.skip("ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
    from search import backends

    settings.SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = ELASTICSEARCH_URL
    settings.ELASTICSEARCH_INDEX = f"agora-test-{uuid.uuid4().hex[:10]}"
    settings.ELASTICSEARCH_REFRESH = True
    backends._elasticsearch.clear()
    es = backends.elasticsearch_backend()
    es.reindex()  # an empty index behind the alias
    yield "elasticsearch"
    for name in es.client.indices.get_alias(name=es.alias):
        es.client.indices.delete(index=name)
    backends._elasticsearch.clear()


@dataclass
class World:
    agency_a: object
    agency_b: object
    alice: object  # agency A; member of every group
    bob: object  # agency A; member of no group
    carol: object  # agency B; member of no group
    open_group: Group
    private_group: Group
    secret_group: Group
    posts: dict


@pytest.fixture
def world(backend, commit) -> World:
    agency_a = AgencyFactory(name="Ministry of Finance", slug="mof")
    agency_b = AgencyFactory(name="Environment Agency", slug="ea")
    alice = UserFactory(
        username="alice", profile__agency=agency_a, profile__display_name="Alice Archer"
    )
    bob = UserFactory(username="bob", profile__agency=agency_a, profile__display_name="Bob Baker")
    carol = UserFactory(
        username="carol", profile__agency=agency_b, profile__display_name="Carol Cole"
    )
    for user in (alice, bob, carol):
        commit(
            profile_actions.update_profile, profile=user.profile, actor=user, job_title="Analyst"
        )
    open_group = commit(
        group_actions.create_group, creator=alice, name="Open Data Network", kind="open",
        description="Publishing government data",
    )  # fmt: skip
    private_group = commit(
        group_actions.create_group, creator=alice, name="Budget Preparation", kind="private",
        description="Cross-agency budget planning",
    )  # fmt: skip
    secret_group = commit(
        group_actions.create_group, creator=alice, name="Reorganisation Steering", kind="secret",
        description="Planning the zanzibarplan reorganisation",
    )  # fmt: skip
    posts = {
        "everyone": commit(
            feed_actions.create_post,
            author=alice,
            body="Lessons on the kingfisher tender #procurement",
        ),
        "agency": commit(
            feed_actions.create_post,
            author=alice,
            body="Our agency's nightingale budget",
            audience="agency",
        ),
        "open": commit(
            feed_actions.create_post,
            author=alice,
            body="The heron dataset is out",
            audience="group",
            group=open_group,
        ),
        "private": commit(
            feed_actions.create_post,
            author=alice,
            body="Draft of the bittern forecast",
            audience="group",
            group=private_group,
        ),
        "secret": commit(
            feed_actions.create_post,
            author=alice,
            body="Which units merge: the osprey plan",
            audience="group",
            group=secret_group,
        ),
    }
    return World(
        agency_a=agency_a, agency_b=agency_b, alice=alice, bob=bob, carol=carol,
        open_group=open_group, private_group=private_group, secret_group=secret_group, posts=posts,
    )  # fmt: skip


@pytest.fixture
def api_as_carol(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.carol)
    return client
