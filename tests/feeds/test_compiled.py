"""feeds.compiled: a queryset compiled once per shape gives, for every caller's values, the
rows and instances the ORM gives for that queryset built afresh; the home feed uses it."""

import random

import pytest
from django.db import connection
from django.db.models import signals

import permissions
from feeds import selectors
from feeds.compiled import (
    ShapeError,
    StandIn,
    Statement,
    Statements,
    marker,
    native_placeholders,
    statement_cursor,
    text_marker,
)
from feeds.cursors import encode_cursor
from feeds.models import Hashtag, Post
from groups.models import Group
from profiles.models import Profile
from tests.factories import DepartmentFactory, GroupFactory, MembershipFactory, UserFactory
from tests.feeds.test_feed_queries import world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = None


def card(post: Post) -> tuple:
    """What a card shows of a post, read off the instance (related rows included)."""
    profile = post.author.profile
    return (
        post.pk, post.body_html, post.audience, post.created, post.group_id,
        post.group.name if post.group else None, post.agency_id,
        post.author.username, profile.display_name, profile.agency_id,
        profile.agency.name if profile.agency else None,
        profile.department.name if profile.department else None,
        post.comment_count, post.reaction_tally, post.my_reaction_kinds,
        post.attachment_rows, post.tag_rows,
    )  # fmt: skip


def shapes(ids: list[int]):
    yield {"before_id": None, "since_id": None}
    yield {"before_id": ids[len(ids) // 2], "since_id": None}
    yield {"before_id": None, "since_id": ids[-5]}


def test_a_compiled_statement_gives_what_the_orm_gives_for_each_viewer(user):
    """One statement per shape, compiled for a stand-in, then run for several real viewers
    (of two agencies, one without an agency): the same posts, fields, related rows and
    annotations as the ORM's queryset built for each of them."""
    people = world(user, random.Random(5), n_posts=80)
    viewers = [user, *people[:4]]
    lost = people[4]
    lost.profile.agency = None
    lost.profile.save()
    viewers.append(lost)
    ids = list(Post.objects.order_by("-pk").values_list("pk", flat=True))
    for shape in shapes(ids):
        statements = {}
        for viewer in viewers:
            agency_id = permissions.agency_id_of(viewer)
            values = {"viewer": viewer.pk, "agency": agency_id, **shape}
            key = tuple(sorted((k, v is not None) for k, v in values.items()))
            markers = {name: marker(i) for i, (name, v) in enumerate(values.items()) if v}
            if key not in statements:
                stand_in = StandIn(markers["viewer"])
                query = selectors._home_page_query(
                    stand_in,
                    agency_id=markers.get("agency"),
                    before_id=markers.get("before_id"),
                    since_id=markers.get("since_id"),
                    size=20,
                )
                statements[key] = Statement(query, markers)
            orm = selectors._home_page_query(viewer, agency_id=agency_id, size=20, **shape)
            expected = [card(p) for p in orm]
            assert expected, "every viewer of this world has posts in every shape"
            assert [card(p) for p in statements[key].run(values)] == expected
        assert len(statements) == 2  # with an agency, without one


def instance_state(obj, seen=None):
    """Everything an instance holds: its attributes, where it came from, and the related
    instances select_related cached on it (followed through, each instance once)."""
    seen = set() if seen is None else seen
    if obj is None or id(obj) in seen:
        return None if obj is None else ("seen", type(obj).__name__, obj.pk)
    seen.add(id(obj))
    attributes = {k: v for k, v in vars(obj).items() if k != "_state"}
    cached = {
        name: instance_state(related, seen)
        for name, related in sorted(obj._state.fields_cache.items())
    }
    return type(obj), attributes, obj._state.db, obj._state.adding, cached


def _home_statement_and_orm(user):
    agency_id = permissions.agency_id_of(user)
    values = {"viewer": user.pk, "agency": agency_id}
    markers = {name: marker(i) for i, name in enumerate(values)}
    statement = Statement(
        selectors._home_page_query(
            StandIn(markers["viewer"]), agency_id=markers["agency"],
            before_id=None, since_id=None, size=20,
        ),
        markers,
    )  # fmt: skip
    orm = selectors._home_page_query(
        user, agency_id=agency_id, before_id=None, since_id=None, size=20
    )
    return statement, values, orm


def test_instances_are_built_as_the_orm_builds_them(user):
    """Without `Model.__init__` (feeds.compiled._loader): the same attributes, state and
    select_related caches, in every instance, as the ORM's own."""
    user.profile.department = DepartmentFactory(agency=user.profile.agency)
    user.profile.save()
    world(user, random.Random(7), n_posts=60)
    statement, values, orm = _home_statement_and_orm(user)
    expected = [instance_state(p) for p in orm]
    assert len(expected) == 21
    assert any(p.group_id for p in orm) and any(p.author.profile.department_id for p in orm)
    assert [instance_state(p) for p in statement.run(values)] == expected


def test_a_receiver_of_post_init_still_sees_every_instance(user):
    """While something listens to `post_init` for a model of the statement, instances are
    built by `Model.__init__` (which sends it), not by the faster way."""
    world(user, random.Random(8), n_posts=30)
    statement, values, orm = _home_statement_and_orm(user)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    signals.post_init.connect(receiver, sender=Profile)
    try:
        posts = statement.run(values)
    finally:
        signals.post_init.disconnect(receiver, sender=Profile)
    assert seen and sorted(seen) == sorted(p.author.profile.pk for p in posts)
    assert [instance_state(p) for p in posts] == [instance_state(p) for p in orm]


def test_a_value_that_is_not_a_parameter_is_refused():
    """A marker the compiled SQL does not carry as a parameter: no statement."""
    with pytest.raises(ShapeError):
        Statement(Post.objects.filter(pk__gt=0), {"viewer": marker(0)})


def test_a_text_marker_takes_each_callers_text():
    """The API's token lookup compiles a text filter once: each call gets its own rows."""
    ana, bob = UserFactory(username="ana"), UserFactory(username="bob")
    name = text_marker(0)
    statement = Statement(
        type(ana).objects.select_related("profile").filter(username=name), {"name": name}
    )
    assert [u.pk for u in statement.run({"name": "bob"})] == [bob.pk]
    found = statement.run({"name": "ana"})
    assert [u.pk for u in found] == [ana.pk]
    assert found[0].profile.pk == ana.profile.pk  # select_related populated
    assert statement.run({"name": "nobody"}) == []


def test_statements_are_kept_per_key_and_the_oldest_go_first():
    built = []

    def build(n):
        def make():
            built.append(n)
            return Statement(Post.objects.filter(pk=marker(0)), {"post": marker(0)})

        return make

    cache = Statements(size=2)
    first = cache.get("a", build(1))
    assert cache.get("a", build(2)) is first
    cache.get("b", build(3))
    cache.get("c", build(4))  # "a" was the least recently used
    cache.get("a", build(5))
    assert built == [1, 3, 4, 5]


def test_rows_read_with_the_post_answer_a_further_query_from_the_database(user):
    """`.all()` is what was read with the page; anything chained on it is a real query on
    this post's relation (as for prefetched rows), and `set()` works on it."""
    post = Post.objects.create(author=user, body="x", body_html="<p>x</p>")
    other = Post.objects.create(author=user, body="y", body_html="<p>y</p>")
    tags = [Hashtag.objects.create(name=n) for n in ("alpha", "beta")]
    other.hashtags.set(tags)
    [_, got] = selectors.posts_for_home(viewer=user).items
    assert got.pk == post.pk
    assert list(got.hashtags.all()) == []
    got.hashtags.set(tags[:1])
    assert [t.name for t in got.hashtags.all().filter(name__startswith="a")] == ["alpha"]
    assert list(got.hashtags.filter(name="beta")) == []
    assert list(got.attachments.filter(size__gt=0)) == []


def test_the_home_feed_follows_a_viewer_who_changes_agency(user, outsider):
    """The agency is a value of the statement, read fresh on every page."""
    mine = Post.objects.create(
        author=outsider, body="x", body_html="x", audience=Post.Audience.AGENCY,
        agency=outsider.profile.agency, is_announcement=True,
    )  # fmt: skip
    assert [p.pk for p in selectors.posts_for_home(viewer=user).items] == []
    user.profile.agency = outsider.profile.agency
    user.profile.save()
    assert [p.pk for p in selectors.posts_for_home(viewer=user).items] == [mine.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_on_postgresql_the_home_statement_is_prepared_once_with_a_generic_plan(user):
    """After a few pages, the home statement runs as one prepared statement (no planning per
    page); Django's own queries are never prepared."""
    Post.objects.create(author=user, body="x", body_html="x")
    size = 37  # a page size no other test asks for: its statement ends in LIMIT 38
    viewers = [user, *(UserFactory() for _ in range(3))]  # one shape, one statement
    for _ in range(3):
        for viewer in viewers:
            selectors.posts_for_home(viewer=viewer, before=encode_cursor(10**12), limit=size)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
        cursor.execute("SHOW plan_cache_mode")
        [(mode,)] = cursor.fetchall()
    assert mode == "force_generic_plan"
    home = [plans for sql, plans in prepared if "LIMIT 38" in sql and "LATERAL" in sql]
    assert len(home) == 1, prepared
    assert home[0] >= 1
    assert all("LATERAL" in sql for sql, _ in prepared), "only compiled statements are prepared"


def test_some_fields_in_order_load_as_from_db_loads_them(user):
    """A row of some of the fields (the others deferred) builds what `from_db` builds; fields
    out of their order are left to `from_db`."""
    from django.contrib.auth import get_user_model

    from feeds.compiled import _loader

    model = get_user_model()
    names = ["id", "username", "first_name", "last_name", "is_active"]
    values = model.objects.filter(pk=user.pk).values_list(*names).get()
    load = _loader(model, names, "default")
    assert load is not None
    fast, orm = load(list(values)), model.from_db("default", names, list(values))
    assert instance_state(fast) == instance_state(orm)
    assert fast.get_deferred_fields() == orm.get_deferred_fields() >= {"password", "email"}
    assert fast.email == user.email  # read when asked for, as a deferred field is
    assert _loader(model, ["username", "id"], "default") is None


def test_native_placeholders_number_the_parameters_and_unescape_percent_signs():
    sql = "SELECT '%%' || %s, %s LIKE 'a%%b' FROM t WHERE x = %s AND y = '%%s'"
    assert native_placeholders(sql) == (
        "SELECT '%' || $1, $2 LIKE 'a%b' FROM t WHERE x = $3 AND y = '%s'"
    )
    for other in ("%(name)s", "%b", "%t", "50%", "%"):
        with pytest.raises(ValueError, match="not a placeholder"):
            native_placeholders(f"SELECT {other}")


def test_a_statement_cursor_takes_djangos_sql():
    """Parameters and literal percent signs, as Django writes them, on both databases (on
    PostgreSQL the cursor hands psycopg numbered placeholders)."""
    with statement_cursor(connection) as cursor:
        cursor.execute("SELECT %s || '%%', %s + 1, '%%s'", ["a", 2])
        assert cursor.fetchall() == [("a%", 3, "%s")]


def test_trending_hashtags_compiled_once_give_what_the_orm_gives_each_viewer(user, monkeypatch):
    """Trending hashtags run one statement per shape (with an agency, without one), compiled
    for a stand-in and counting the posts' own hashtag column: for each viewer, in turn, the
    counts of their own newest visible posts, as the ORM's queryset built for that viewer
    counts them through the hashtag tables. A window of 30 posts out of 80 makes what each
    viewer may see decide which posts are counted."""
    people = world(user, random.Random(9), n_posts=80)
    tags = [Hashtag.objects.create(name=f"t{i}") for i in range(8)]
    rng = random.Random(3)
    for post in Post.objects.order_by("pk"):
        post.hashtags.add(*rng.sample(tags, rng.randint(1, 3)))
    lost = people[4]
    lost.profile.agency = None
    lost.profile.save()
    monkeypatch.setattr(selectors, "TRENDING_WINDOW", 30)
    monkeypatch.setattr(selectors, "_TRENDING_STATEMENTS", Statements(size=16))
    answers = {}
    for viewer in [user, *people[:5], user]:
        agency_id = permissions.agency_id_of(viewer)
        expected = list(selectors._trending_query(viewer, agency_id, limit=5))
        assert expected, "every viewer sees tagged posts"
        assert selectors.trending_hashtags(viewer=viewer, limit=5) == expected
        answers[viewer.pk] = expected
    assert len(set(map(tuple, answers.values()))) > 2, "viewers see different posts"
    assert len(selectors._TRENDING_STATEMENTS._items) == 2  # the compiled path ran


def test_the_composers_groups_compiled_once_are_each_viewers_own(user, outsider, monkeypatch):
    """One statement for every viewer: each gets their own memberships, by name then id, as
    the ORM's queryset gives them (every field loaded); no groups for someone in none, nor
    for an account that is not active staff."""
    names = ["Zoning", "agile", "Budget", "budget", "Ökologie"]
    kinds = (Group.Kind.values * 2)[: len(names)]
    groups = [GroupFactory(name=n, kind=k) for n, k in zip(names, kinds, strict=True)]
    for group in groups[::2]:
        MembershipFactory(group=group, user=user)
    for group in groups[1:]:
        MembershipFactory(group=group, user=outsider)
    nobody = UserFactory()
    monkeypatch.setattr(selectors, "_COMPOSER_STATEMENTS", Statements(size=4))
    for viewer in (user, outsider, nobody, user):
        expected = list(selectors._groups_to_post_in_query(viewer))
        got = selectors.groups_to_post_in(viewer=viewer)
        assert [instance_state(g) for g in got] == [instance_state(g) for g in expected]
    assert len(selectors.groups_to_post_in(viewer=user)) == 3
    assert len(selectors.groups_to_post_in(viewer=outsider)) == 4
    assert len(selectors._COMPOSER_STATEMENTS._items) == 1  # the compiled path ran
    user.is_active = False
    assert selectors.groups_to_post_in(viewer=user) == []
