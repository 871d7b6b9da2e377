"""A tiny evaluator of Elasticsearch filter clauses over plain dicts, for the tests.

It understands what `search.backends.elasticsearch` puts in filter context: bool (filter,
must, should + minimum_should_match, must_not), term, terms, range and match_all. Anything
else raises, so a new clause type cannot slip past the permission tests unevaluated.
"""

from __future__ import annotations


def matches(clause: dict, doc: dict) -> bool:
    ((kind, body),) = clause.items()
    if kind == "match_all":
        return True
    if kind == "term":
        ((field, value),) = body.items()
        value = value["value"] if isinstance(value, dict) else value
        return _values(doc, field) & {value} != set()
    if kind == "terms":
        ((field, values),) = body.items()
        return _values(doc, field) & set(values) != set()
    if kind == "range":
        ((field, bounds),) = body.items()
        value = doc.get(field)
        if value is None:
            return False
        checks = {
            "gte": value >= bounds.get("gte", value),
            "lt": value < bounds.get("lt", "\uffff"),
        }
        return all(checks.values())
    if kind == "bool":
        ok = all(matches(c, doc) for c in _list(body.get("filter")))
        ok = ok and all(matches(c, doc) for c in _list(body.get("must")))
        ok = ok and not any(matches(c, doc) for c in _list(body.get("must_not")))
        should = _list(body.get("should"))
        if should:
            needed = body.get(
                "minimum_should_match", 0 if body.get("filter") or body.get("must") else 1
            )
            ok = ok and sum(matches(c, doc) for c in should) >= needed
        return ok
    raise ValueError(f"clause type not understood by the test evaluator: {kind}")


def _list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _values(doc: dict, field: str) -> set:
    value = doc.get(field)
    if isinstance(value, list):
        return set(value)
    return set() if value is None else {value}
