"""A model queryset compiled to SQL once per shape, then run with each caller's values.

Building and compiling a large queryset (the home feed's: the permission filter, a few
hundred LATERAL sources, the card's annotations) costs the ORM more Python time than the
database takes to run it (docs/BENCHMARKS.md, "Home feed"). Its SQL depends on the shape of
the request (is there a cursor, has the viewer an agency, the page size), not on the values
(which viewer, which agency, which cursor): those are parameters. So a `Statement` is built
from the very queryset the ORM would run, compiled once with marker values in place of the
caller's values, and each later call swaps its own values into the parameter list and builds
model instances as the ORM does (same column converters, same select_related population,
same annotations).

On PostgreSQL the statement runs on a cursor that binds on the server, so that psycopg can
prepare it (see `statement_cursor`).

A marker is a large negative integer that no row id, and no other parameter of these
queries, can be (or, for a text value, a string with NUL characters, which no text column
holds). Compiling checks that each marker stands among the parameters, and only
there (never inlined in the SQL text); otherwise `Statement` refuses, and the caller runs
the queryset as it is.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Model, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.query import (
    ModelIterable,
    RelatedPopulator,
    ValuesListIterable,
    get_related_populators,
)

MARKER_BASE = -7_319_004_521_000


def marker(index: int) -> int:
    """The `index`-th marker value (distinct for each value a shape takes)."""
    return MARKER_BASE - index


def text_marker(index: int) -> str:
    """The `index`-th marker for a text value (no key, name or word looks like it)."""
    return f"\x00agora-marker-{index}\x00"


class StandIn:
    """An active member of staff with a marker for an id: whom a shape is compiled for (the
    permission module reads nothing else of an active viewer in Python but the agency, which
    callers pass in)."""

    is_authenticated = True
    is_active = True

    def __init__(self, pk: int, *, is_staff: bool = False):
        self.pk = self.id = pk
        self.is_staff = is_staff


class ShapeError(ValueError):
    """The compiled SQL does not carry a marker as a plain parameter."""


class Statement:
    """One compiled model queryset; `run(values)` returns its model instances (for a
    `values_list()` queryset, its rows).

    `outer`, for a `values_list()` queryset: SQL of our own around the compiled query, given
    the query's SQL and returning the statement and the parameters it adds after the query's
    (so the markers keep their places). The rows are then the outer query's, as the database
    gives them (no converters: its columns are not the queryset's)."""

    def __init__(
        self,
        queryset: QuerySet,
        markers: dict[str, int | str],
        *,
        outer: Callable[[str], tuple[str, list]] | None = None,
    ):
        self.db = queryset.db
        compiler = queryset.query.get_compiler(using=self.db)
        sql, params = compiler.as_sql()
        self.sql, self.params = sql, list(params)
        names = {value: name for name, value in markers.items()}
        self.slots = [
            (position, names[value])
            for position, value in enumerate(self.params)
            if type(value) in (int, str) and value in names
        ]
        found = {name for _, name in self.slots}
        if found != set(markers) or any(str(value) in sql for value in markers.values()):
            raise ShapeError(f"markers not all parameters: {sorted(set(markers) - found)}")
        self.converters = list(
            compiler.get_converters([column[0] for column in compiler.select]).items()
        )
        # What ModelIterable reads off the compiler to turn rows into instances; a
        # `values_list()` queryset's rows are returned as tuples (`model` None).
        iterable = queryset._iterable_class
        if iterable not in (ModelIterable, ValuesListIterable):
            raise ValueError(f"a Statement runs model or values_list() querysets, not {iterable}")
        klass_info = compiler.klass_info
        self.model = klass_info["model"] if iterable is ModelIterable else None
        if self.model is not None:
            select = compiler.select
            fields = klass_info["select_fields"]
            self.start, self.end = fields[0], fields[-1] + 1
            self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
            self.populators = get_related_populators(klass_info, select, self.db)
            self.fast_populators = [
                _FastPopulator(info, select, self.db)
                for info in klass_info.get("related_klass_infos", [])
            ]
            self.load = _loader(self.model, self.init_list, self.db)
            self.models = _models(klass_info)
            self.annotations = list(compiler.annotation_col_map.items())
        if outer is not None:
            if self.model is not None:
                raise ValueError("outer SQL goes around a values_list() queryset only")
            self.sql, added = outer(self.sql)
            self.params += list(added)
            self.converters = []

    def run(self, values: dict[str, object]) -> list:
        """The model instances (or, for a `values_list()` queryset, the rows' tuples)."""
        rows = self._rows(values)
        if self.model is None:
            return [tuple(row) for row in rows]
        # Instances without Model.__init__ (`_loader`) while nothing watches them being made.
        if self.load is not None and not any(map(_has_init_receivers, self.models)):
            load, populators = self.load, self.fast_populators
        else:
            model, db, init_list = self.model, self.db, self.init_list
            load, populators = (lambda v: model.from_db(db, init_list, v)), self.populators
        out = []
        for row in rows:
            obj = load(row[self.start : self.end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            out.append(obj)
        return out

    def _rows(self, values: dict[str, object]) -> list[list]:
        """The rows, each value converted as the ORM converts it."""
        params = list(self.params)
        for position, name in self.slots:
            params[position] = values[name]
        connection = connections[self.db]
        with statement_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        rows = []
        for row in map(list, fetched):
            for position, (functions, expression) in self.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            rows.append(row)
        return rows


def _models(klass_info: dict) -> list[type[Model]]:
    """The models a statement builds instances of (its own and the select_related ones)."""
    found = [klass_info["model"]]
    for info in klass_info.get("related_klass_infos", []):
        found += _models(info)
    return found


def _has_init_receivers(model: type[Model]) -> bool:
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def _loader(model: type[Model], init_list: list[str], db: str):
    """`model.from_db(db, init_list, values)` without `Model.__init__`, where it can be: for a
    row of the concrete fields in their order, all or some (a field left out stays deferred,
    as `from_db` leaves it: absent from the instance's `__dict__`), of a model that keeps
    Django's `from_db`. `__init__` sets each field's attribute (on a new instance a descriptor's
    `__set__` only stores it) and sends `pre_init` and `post_init`: so `run` takes this way
    only while no receiver listens to either for its models (`_has_init_receivers`).
    A feed page builds about 160 instances, and `__init__` was a fifth of the selector's
    Python time. tests/feeds/test_compiled.py compares the instances with the ORM's.
    Returns None where `from_db` must run."""
    attnames = [field.attname for field in model._meta.concrete_fields]
    if model.from_db.__func__ is not Model.from_db.__func__:
        return None
    if init_list != attnames:
        if init_list != [name for name in attnames if name in init_list]:
            return None
        attnames = list(init_list)
    new = object.__new__

    def load(values) -> Model:
        obj = new(model)
        obj.__dict__.update(zip(attnames, values, strict=True))
        state = obj._state = ModelState()
        state.adding, state.db = False, db
        return obj

    return load


class _FastPopulator(RelatedPopulator):
    """Django's select_related populator, building instances with `_loader` where it can."""

    def __init__(self, klass_info, select, db):
        super().__init__(klass_info, select, db)
        self.related_populators = [
            _FastPopulator(info, select, db) for info in klass_info.get("related_klass_infos", [])
        ]
        load = _loader(self.model_cls, self.init_list, db)
        model, init_list = self.model_cls, self.init_list
        self.load = load or (lambda values: model.from_db(db, init_list, values))

    def populate(self, row, from_obj):
        # RelatedPopulator.populate, with `self.load` for `from_db`.
        if self.reorder_for_init:
            obj_data = self.reorder_for_init(row)
        else:
            obj_data = row[self.cols_start : self.cols_end]
        if obj_data[self.pk_idx] is None:
            obj = None
        else:
            obj = self.load(obj_data)
            for populator in self.related_populators:
                populator.populate(row, obj)
        self.local_setter(from_obj, obj)
        if obj is not None:
            self.remote_setter(obj, from_obj)


class CountOf:
    """A count for one person (their unread notifications, their pending invitations): the
    rows `rows(person_id)` selects, counted by a statement compiled once per database, as
    the ORM's `count()` would count them. Pages ask these on every visit; building and
    planning the `count()` query took longer than running it."""

    def __init__(self, rows: Callable[[object], QuerySet], person: str):
        self.rows, self.person = rows, person  # `person`: the field holding their id
        self._statements = Statements(size=4)

    def _query(self, person_id) -> QuerySet:
        # One row: the count, grouped by the person the filter fixes (none when it is 0).
        rows = self.rows(person_id).order_by().values(self.person)
        return rows.annotate(n=Count("pk")).values_list("n")

    def __call__(self, person_id: int) -> int:
        def build() -> Statement:
            return Statement(self._query(marker(0)), {"person": marker(0)})

        connection = connections[DEFAULT_DB_ALIAS]
        try:
            statement = self._statements.get((connection.alias, connection.vendor), build)
        except ShapeError:  # pragma: no cover - the ORM inlined a value: run it as it is
            return self.rows(person_id).count()
        found = statement.run({"person": person_id})
        return found[0][0] if found else 0


def statement_cursor(connection):
    """A cursor for a compiled statement. On PostgreSQL it binds parameters on the server, so
    psycopg prepares a statement it has run a few times (`prepare_threshold` in the settings)
    and PostgreSQL stops planning it anew each time; Django's own cursors bind on the client
    and never prepare. It is still Django's cursor wrapper: errors, query logging and
    execute wrappers behave as for any query (they see the SQL as Django wrote it)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _native_placeholders_cursor()(connection.connection)
    return connection._prepare_cursor(raw)


@functools.cache
def _native_placeholders_cursor() -> type:
    import psycopg

    class NativePlaceholdersCursor(psycopg.RawCursor):
        """Takes Django's SQL (%s placeholders) and hands PostgreSQL's own ($1, $2, ...) to
        psycopg, converted once per statement (`native_placeholders`). psycopg converts on
        every call, and remembers the conversion only for statements under 4 kB and 50
        parameters: the home feed's is longer, and converting it took 0.1-0.3 ms a page."""

        def execute(self, query, params=None, **kwargs):
            return super().execute(native_placeholders(query), params, **kwargs)

    return NativePlaceholdersCursor


_PLACEHOLDER = re.compile(r"%.?", re.DOTALL)


@functools.lru_cache(maxsize=512)
def native_placeholders(sql: str) -> str:
    """Django's SQL for psycopg ("%s" a parameter, "%%" a "%") with PostgreSQL's numbered
    placeholders instead. Raises ValueError for any other "%" (psycopg's "%(name)s", "%b",
    "%t"), which a compiled statement never holds."""
    numbers = itertools.count(1)

    def replace(found: re.Match) -> str:
        mark = found.group()
        if mark == "%%":
            return "%"
        if mark == "%s":
            return f"${next(numbers)}"
        raise ValueError(f"not a placeholder of a compiled statement: {mark!r}")

    return _PLACEHOLDER.sub(replace, sql)


class Statements:
    """Statements by shape key (least recently used dropped past `size`); thread-safe."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[Hashable, Statement] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Statement]) -> Statement:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        statement = build()
        with self._lock:
            self._items[key] = statement
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return statement

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
