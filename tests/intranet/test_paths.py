"""`intranet.paths` gives what `reverse()` and `build_absolute_uri()` give, for any value."""

import pytest
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet.paths import absolute_url, path_for, url_maker

INT_NAMES = ["feeds:post", "feeds:attachment", "feeds:post_edit", "groups:invitation"]
TEXT_NAMES = ["profiles:detail", "profiles:avatar", "feeds:hashtag", "groups:detail"]


def _reverse_or_error(name, value):
    try:
        return reverse(name, args=[value])
    except NoReverseMatch:
        return NoReverseMatch


def _path_or_error(name, value):
    try:
        return path_for(name, value)
    except NoReverseMatch:
        return NoReverseMatch


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(INT_NAMES), value=st.integers(min_value=0, max_value=10**15))
def test_int_arguments(name, value):
    assert path_for(name, value) == reverse(name, args=[value])


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(TEXT_NAMES), value=st.text(max_size=30))
def test_text_arguments_any_characters(name, value):
    """Quoting, "/", empty text, non-ASCII, "%", and a `<slug:...>` part that refuses some."""
    assert _path_or_error(name, value) == _reverse_or_error(name, value)


@pytest.mark.parametrize(
    "value",
    [
        "marie.dupont",
        "élodie",
        "a b",
        "a%2Fb",
        "100%",
        "x~y",
        "@me",
        "agora~path~marker",
        "a/b",
        "",
    ],
)
@pytest.mark.parametrize("name", TEXT_NAMES)
def test_text_arguments_by_hand(name, value):
    assert _path_or_error(name, value) == _reverse_or_error(name, value)


@pytest.mark.parametrize("name", INT_NAMES)
def test_a_url_maker_gives_what_reverse_gives(name):
    make = url_maker(name)
    for value in (0, 7, 10**12, "12"):
        assert make(value) == reverse(name, args=[value])


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(TEXT_NAMES), values=st.lists(st.text(max_size=20), max_size=5))
def test_a_text_url_maker_gives_what_reverse_gives(name, values):
    make = url_maker(name, str)
    for value in [*values, "marie.dupont", "a/b", "", 12]:
        assert _error_or(make, value) == _reverse_or_error(name, value)


def _error_or(make, value):
    try:
        return make(value)
    except NoReverseMatch:
        return NoReverseMatch


def test_other_types_go_to_reverse():
    with pytest.raises(NoReverseMatch):
        path_for("feeds:post", True)  # as reverse() refuses it
    assert path_for("feeds:post", "12") == reverse("feeds:post", args=["12"])
    assert _path_or_error("feeds:post", "x") is NoReverseMatch


def test_script_prefix_is_followed():
    before = path_for("feeds:post", 5)
    set_script_prefix("/agora/")
    try:
        assert path_for("feeds:post", 5) == reverse("feeds:post", args=[5])
        assert path_for("feeds:post", 5).startswith("/agora/")
        assert path_for("profiles:detail", "é") == reverse("profiles:detail", args=["é"])
    finally:
        clear_script_prefix()
        set_script_prefix("/")
    assert path_for("feeds:post", 5) == before


@override_settings(ALLOWED_HOSTS=["agora.example.gov", "xn--bcher-kva.example"])
@pytest.mark.parametrize("host", ["agora.example.gov", "agora.example.gov:8443"])
@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize(
    "path", ["/posts/1/", "/people/%C3%A9/", "/a/./b", "//evil.example/x", "/people/é/", "x/y"]
)
def test_absolute_url_matches_build_absolute_uri(host, secure, path):
    request = RequestFactory().get("/api/feed/home/", HTTP_HOST=host, secure=secure)
    expected = request.build_absolute_uri(path)
    assert absolute_url(request, path) == expected
    assert absolute_url(request, path) == expected  # the second call reads the cached base


def test_absolute_url_without_request():
    assert absolute_url(None, "/posts/1/") == "/posts/1/"


@settings(max_examples=500, deadline=None)
@given(
    path=st.text(
        st.one_of(
            st.sampled_from("/#%[]=:;$&()+,!?*@'~_.-<>\"{}|\\^` "),
            st.characters(codec="ascii"),
            st.characters(),
        ),
        max_size=30,
    ).map(lambda text: "/" + text.lstrip("/"))
)
def test_absolute_url_matches_build_absolute_uri_for_any_path(path):
    """Paths of any characters: those `iri_to_uri` would change and those it leaves alone."""
    request = RequestFactory().get("/api/feed/home/", HTTP_HOST="localhost")
    try:
        expected = request.build_absolute_uri(path)
    except ValueError:  # a path urllib itself refuses (a NUL, an unbalanced "[")
        return
    assert absolute_url(request, path) == expected
