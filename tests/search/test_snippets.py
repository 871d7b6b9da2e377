"""Snippets: the quick way of `search.snippets.render` gives what nh3 gives, for any text."""

from django.utils.safestring import SafeString
from hypothesis import example, given, settings
from hypothesis import strategies as st

from search import snippets
from search.snippets import START, STOP

# Markers, what HTML escapes or entities touch, what its parser rewrites, and ordinary text.
_ALPHABET = st.sampled_from(
    [START, STOP, "&", "<", ">", '"', "'", "\xa0", "\r", "\n", "\t", "\x00", "\x0c", "\x7f",
     "a", "é", "漢", " ", ";", "#", "x", "mark", "/", "=", "&amp;", "&#x27;", "<mark>"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
@example(f"{START}budget{STOP} and {START}plan{STOP}")
@example(f"{START}{STOP}")
@example(f"{STOP}stray{START}")
@example(f"{START}{START}nested{STOP}{STOP}")
@example(f"{START}left open")
@example('it\'s "quoted" & <b>bold</b>\xa0')
def test_render_is_what_nh3_gives(text):
    rendered = snippets.render(text)
    assert isinstance(rendered, SafeString)
    assert str(rendered) == str(snippets.sanitized(text))


def test_the_quick_way_is_taken_for_well_formed_markers():
    assert snippets._well_formed(f"a {START}b{STOP} c {START}d{STOP}")
    assert snippets._well_formed("no markers at all")
    assert not snippets._well_formed(f"{START}open")
    assert not snippets._well_formed(f"{START}{START}x{STOP}{STOP}")
    assert not snippets._well_formed("a\rb")
