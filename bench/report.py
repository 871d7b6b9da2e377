"""Markdown for docs/BENCHMARKS.md from a benchmark's JSON results."""

from __future__ import annotations

TARGETS = {"postgresql": 25.0, "sqlite": 5.0}
NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def _cell(s: dict) -> str:
    return f"{s['p50']:.1f} / {s['p95']:.1f} / {s['max']:.1f}"


def _ratio(backend: dict, raw: dict) -> str:
    return f"{backend['p95'] / raw['p95']:.2f}" if raw["p95"] else "–"


def render_search(results: dict) -> str:
    m = results["machine"]
    lines = [
        "## Search (issue 4)",
        "",
        f"Measured by `bench/search.py` in {results['seconds']} s. Load average before the run "
        f"{m['load_average']}, after {m.get('load_average_after')} (the machine was shared "
        "with other work; figures are wall-clock times under that load). Times in ms, "
        "p50 / p95 / max. A page is 20 hits; every search carries the viewer's permission.",
    ]
    for name, db in results["databases"].items():
        title = NAMES.get(name, name)
        reindex = db["reindex"]
        lines += ["", f"### {title}: {db['posts']:,} posts", ""]
        if reindex.get("skipped"):
            lines.append(f"Index: {reindex['documents']:,} documents (not rebuilt in this run).")
        else:
            lines.append(
                f"`search_reindex` (database index): {reindex['documents']:,} documents in "
                f"{reindex['seconds']} s = **{reindex['per_second']:,} documents/s**."
            )
            if reindex.get("cluster_seconds") is not None:
                lines.append(
                    f"Then `CLUSTER` (`search_reindex --cluster`, ids back in physical order): "
                    f"{reindex['cluster_seconds']} s."
                )
        target = TARGETS.get(name, 25.0)
        lines += [
            "",
            f"Newest first (the default order); target p95 ≤ {target:g} ms in every band.",
            "",
            "| band | words: share of posts | raw SQL | backend | ratio p95 | + counts | "
            "phrase raw | phrase | word + agency + 90 days |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for band, q in db["queries"].items():
            shares = ", ".join(f"{w['share']:g}%" for w in db["terms"][band]["words"])
            lines.append(
                f"| {band} | {shares} | {_cell(q['raw_newest'])} | **{_cell(q['newest'])}** | "
                f"{_ratio(q['newest'], q['raw_newest'])} | {_cell(q['newest_counts'])} | "
                f"{_cell(q['phrase_raw'])} | {_cell(q['phrase'])} | {_cell(q['filtered'])} |"
            )
        lines += [
            "",
            "Relevance-ranked (one word); target p95 ≤ 100 ms for words in ≤ 3% of posts, and "
            "no band over 100 ms. Raw SQL ranks every match (stopped at 3,000 ms).",
            "",
            "| band | raw SQL | backend | ratio p95 |",
            "|---|---|---|---|",
        ]
        for band, q in db["queries"].items():
            lines.append(
                f"| {band} | {_cell(q['raw_relevance'])} | **{_cell(q['relevance'])}** | "
                f"{_ratio(q['relevance'], q['raw_relevance'])} |"
            )
        if db.get("endpoint"):
            lines += [
                "",
                "`GET /api/search/?q=<word>&kind=post` over HTTP (daphne, token auth, keep-alive) "
                "against `GET /bench/hello/` on the same server; target: endpoint ≤ 2 × (raw SQL "
                "+ hello world).",
                "",
                "| band | hello world | raw SQL | endpoint | endpoint / (raw + hello), p50 | "
                "p95 | requests within 2 × (raw + hello) |",
                "|---|---|---|---|---|---|---|",
            ]
            for band, e in db["endpoint"].items():
                lines.append(
                    f"| {band} | {_cell(e['hello'])} | {_cell(e['raw'])} | {_cell(e['endpoint'])} "
                    f"| {e['ratio_p50']} | {e['ratio_p95']} | {e['within_budget']:.0%} |"
                )
    return "\n".join(lines)
