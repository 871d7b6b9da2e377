"""Markdown to safe HTML: nothing executable survives, links are marked, mentions and hashtags
are linked outside code and existing links."""

from html.parser import HTMLParser

import pytest

from feeds.rendering import render


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict]]:
    """The start tags of `html` with their attributes, as a browser would see them."""
    collector = _Collect()
    collector.feed(html)
    return collector.tags


def links(html: str) -> list[dict]:
    return [attrs for tag, attrs in parse(html) if tag == "a"]


ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    '<div onclick="alert(1)">hi</div>',
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"></svg>',
    "<style>body{display:none}</style>",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "![img](https://evil.example/x.png)",
    "<p style='color:red'>styled</p>",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_nothing_executable_survives(text):
    """Scripts, event handlers, dangerous URL schemes and raw HTML are neutralised."""
    html = render(text).html
    for tag, attrs in parse(html):
        assert tag not in {"script", "img", "iframe", "svg", "style", "div"}, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name != "style", html
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:", "/")), html


def test_raw_html_is_shown_as_text():
    """Raw HTML in a post is displayed, not interpreted."""
    html = render("<b>bold</b> <script>x</script>").html
    assert "&lt;b&gt;" in html and "&lt;script&gt;" in html
    assert [tag for tag, _attrs in parse(html)] == ["p"]


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("[site](https://example.org/page)", "https://example.org/page"),
        ("[plain](http://example.org)", "http://example.org"),
        ("[mail](mailto:someone@example.gov)", "mailto:someone@example.gov"),
        ("https://example.org/auto", "https://example.org/auto"),
    ],
)
def test_safe_links_are_kept_and_marked(text, href):
    """http, https and mailto links survive, with rel="nofollow noopener noreferrer"."""
    (link,) = links(render(text).html)
    assert link["href"] == href
    assert set(link["rel"].split()) == {"nofollow", "noopener", "noreferrer"}


def test_mentions_and_hashtags_are_linked():
    """@handle links to the profile, #tag to the hashtag page; both are reported lower-case."""
    rendered = render("Thanks @Jane.Doe for #OpenData!")
    assert rendered.mentions == {"jane.doe"}
    assert rendered.hashtags == {"opendata"}
    by_class = {link["class"]: link["href"] for link in links(rendered.html)}
    assert by_class == {"mention": "/people/jane.doe/", "hashtag": "/tags/opendata/"}


def test_unicode_hashtags():
    """Accented hashtags are hashtags: #santé links and is recorded."""
    rendered = render("Campagne #santé et #Été2025")
    assert rendered.hashtags == {"santé", "été2025"}
    hrefs = [link["href"] for link in links(rendered.html)]
    assert len(hrefs) == 2
    assert all(href.startswith("/tags/") for href in hrefs)


@pytest.mark.parametrize(
    "text",
    [
        "`#nottag @nobody`",
        "```\n#nottag @nobody\n```",
        "    #nottag @nobody",
        "[#nottag @nobody](https://example.org)",
        "https://example.org/#nottag",
        "someone@example.gov",
        "issue#12 and a&#35;b",
        "#123 is a number",
    ],
)
def test_no_links_inside_code_links_or_words(text):
    """Code, existing links, URLs, e-mail addresses and plain numbers hold no mention or tag."""
    rendered = render(text)
    assert rendered.hashtags == frozenset()
    assert rendered.mentions == frozenset()
    assert not [
        link for link in links(rendered.html) if link.get("class") in {"hashtag", "mention"}
    ]


def test_overlong_hashtag_is_text():
    """A word too long to be a hashtag stays text rather than being cut."""
    rendered = render("#" + "a" * 61 + " #" + "1" * 70 + "x #ok")
    assert rendered.hashtags == {"ok"}


def test_trailing_punctuation_is_not_part_of_a_handle():
    """'@bob.' mentions bob; the full stop stays text."""
    rendered = render("Ask @bob. Or @alice_2!")
    assert rendered.mentions == {"bob", "alice_2"}


def test_markdown_formatting_is_kept():
    """Emphasis, lists, code and quotes render as HTML; images do not."""
    html = render("**b** *i* ~~s~~\n\n- one\n- two\n\n> quote\n\n`code`").html
    tags = {tag for tag, _attrs in parse(html)}
    assert {"strong", "em", "ul", "li", "blockquote", "code"} <= tags
