"""The search box's syntax: what it accepts, how it is written out, what it refuses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from search.query import MAX_QUERY_LENGTH, parse


@pytest.mark.parametrize(
    ("text", "websearch", "fts5"),
    [
        ("budget", "budget", '"budget"'),
        ("budget review", "budget review", '("budget" AND "review")'),
        ('"budget review"', '"budget review"', '"budget review"'),
        ("budget -draft", "budget -draft", '("budget" NOT "draft")'),
        ('budget -"first draft"', 'budget -"first draft"', '("budget" NOT "first draft")'),
        ("tax or budget", "tax or budget", '"tax" OR "budget"'),
        ("a b OR c", "a b or c", '("a" AND "b") OR "c"'),
        ("budget, (review)!", "budget review", '("budget" AND "review")'),
        ("AND NOT NEAR", "AND NOT NEAR", '("AND" AND "NOT" AND "NEAR")'),
        ("l'équipe santé", "l'équipe santé", '("l\'équipe" AND "santé")'),
        ("or budget or", "budget", '"budget"'),
    ],
)
def test_queries_are_written_out_for_each_backend(text, websearch, fts5):
    parsed = parse(text)
    assert parsed.websearch() == websearch
    assert parsed.fts5() == fts5


@pytest.mark.parametrize("text", ["", "   ", "*", " * ", None])
def test_empty_and_star_mean_everything(text):
    assert parse(text).match_all


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('"budget review', "unbalanced_quotes"),
        ('budget "review" "', "unbalanced_quotes"),
        ("- + & | !", "no_words"),
        ("OR", "no_words"),
        ('""', "no_words"),
        ("-budget", "only_exclusions"),
        ("-budget -tax", "only_exclusions"),
        ("tax or -budget", "only_exclusions"),
        ("budget\x00", "control_characters"),
        ("budget\x1b[31m", "control_characters"),
        ("x" * (MAX_QUERY_LENGTH + 1), "max_length"),
        (" ".join(["word"] * 40), "too_many_words"),
    ],
)
def test_bad_queries_get_a_clear_message(text, code):
    with pytest.raises(ValidationError) as caught:
        parse(text)
    assert caught.value.code == code
    assert caught.value.messages[0]


def test_tabs_newlines_and_invisible_format_characters_are_harmless():
    assert parse("budget\treview\n").websearch() == "budget review"
    assert parse("bud\u200bget").websearch() == "budget"


def test_fts5_output_never_lets_user_text_become_syntax():
    """Every word is a quoted FTS5 string, so NEAR, column filters or ^ stay words."""
    parsed = parse('title:secret NEAR(a b) ^start col:"x y"')
    expression = parsed.fts5()
    for term in parsed.clauses[0]:
        assert f'"{term.text}"' in expression
