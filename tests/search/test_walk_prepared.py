"""On PostgreSQL a walk (newest first, testing each document) is prepared and keeps one
generic plan, without plan settings; a hashtag filter (a join) keeps its plan settings."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.db import connection

from feeds import actions as feed_actions
from feeds.compiled import native_placeholders
from search.backends import postgresql

from .helpers import only_on, search

pytestmark = only_on("postgresql", "prepared statements")


@pytest.fixture
def backend():
    return "database"


@pytest.fixture
def wrens(world, commit):
    posts = [
        commit(feed_actions.create_post, author=world.bob, body=f"a wren at the feeder {i} #birds")
        for i in range(3)
    ]
    return world, posts


@contextmanager
def walks_run():
    """The walks' SQL as our code hands it to the cursor (SET LOCAL included)."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        if "ts_match_vq" in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def test_walks_are_prepared_and_set_no_plan(wrens):
    world, posts = wrens
    with walks_run() as walks:
        for _ in range(4):
            for viewer in (world.alice, world.bob, world.carol):
                found = {r.pk for r in search(viewer, "wren", kinds=("post",)).results}
                assert found == {p.pk for p in posts}
    assert walks and not any("SET LOCAL" in q for q in walks), walks
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = [row for row in cursor.fetchall() if "ts_match_vq" in row[0]]
    # One statement for every viewer (their memberships are parameters), on its generic plan.
    assert len(prepared) == 1 and prepared[0][1] >= 1, prepared


def test_a_hashtag_walk_keeps_its_plan_settings(wrens):
    world, posts = wrens
    with walks_run() as walks:
        results = search(world.alice, "wren", kinds=("post",), hashtag="birds").results
    assert {r.pk for r in results} == {p.pk for p in posts}
    assert walks and all("SET LOCAL enable_bitmapscan = off" in q for q in walks), walks


def test_the_generic_plan_parses_the_query_once(wrens, monkeypatch):
    """In a generic plan `websearch_to_tsquery($1, $2)` is not folded into a constant: written
    in the row filter, it would parse the query again for every document walked."""
    world, _posts = wrens
    statements = []
    run = postgresql._execute_prepared

    def recording(sql, params):
        statements.append((sql, params))
        return run(sql, params)

    monkeypatch.setattr(postgresql, "_execute_prepared", recording)
    search(world.alice, "wren", kinds=("post",))
    sql, params = statements[0]
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE walk_check AS {native_placeholders(sql)}")
        marks = ", ".join(["%s"] * len(params))
        values = [str(p) for p in params]
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE walk_check({marks})", values)
        plan = cursor.fetchone()[0]
        cursor.execute("DEALLOCATE walk_check")
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes, filters = [plan[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        filters.append(node.get("Filter", ""))
        nodes += node.get("Plans", [])
    matching = [f for f in filters if "ts_match_vq" in f]
    assert matching and not any("websearch_to_tsquery" in f for f in matching), filters
