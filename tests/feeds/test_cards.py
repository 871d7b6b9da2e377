"""feeds.cards: a post's card as the feeds, the post page and live updates show it. Every
value is escaped (names, titles, group and file names, the page it comes back to), the body
is the sanitised HTML saved with the post, the parts follow who looks (author, anyone else,
everyone at once when live) and the words follow the language."""

from html.parser import HTMLParser

import pytest
from django.middleware.csrf import get_token
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

from feeds import cards, selectors
from feeds.models import Attachment, Post, Reaction
from groups.models import Group
from tests.factories import AgencyFactory, GroupFactory, MembershipFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>&'
VOID = {"img", "input", "br", "hr"}


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = None


class Tags(HTMLParser):
    """The elements of a fragment, and whether every one that opens also closes."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.seen: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    assert tags.open == [], f"never closed: {tags.open}"
    return tags


def with_name(tags: Tags, tag: str, **attrs) -> list[dict]:
    """The `tag` elements with these attributes (None: present, with no value)."""
    return [
        a for t, a in tags.seen if t == tag and all(k in a and a[k] == v for k, v in attrs.items())
    ]


@pytest.fixture
def world():
    agency = AgencyFactory(name=f"Agency {HOSTILE}", short_name="")
    author = UserFactory(profile__agency=agency, profile__job_title=f"Clerk {HOSTILE}")
    Post.objects.all().delete()
    reader = UserFactory(profile__agency=agency)
    group = GroupFactory(name=f"Group {HOSTILE}", kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=author)
    MembershipFactory(group=group, user=reader)
    post = PostFactory(
        author=author,
        audience=Post.Audience.GROUP,
        group=group,
        agency=None,
        body="Hello **world**",
    )
    Attachment.objects.create(
        post=post, file="attachments/a.png", kind="image", content_type="image/png", size=10,
        original_name=f"pic {HOSTILE}.png",
    )  # fmt: skip
    Attachment.objects.create(
        post=post, file="attachments/d.pdf", kind="document", content_type="application/pdf",
        size=2048, original_name=f"doc {HOSTILE}.pdf",
    )  # fmt: skip
    Reaction.objects.create(post=post, user=reader, kind=Reaction.Kind.choices[1][0])
    Reaction.objects.create(post=post, user=author, kind=Reaction.Kind.choices[1][0])
    return {"author": author, "reader": reader, "post": post}


def card_for(viewer, post_id: int, **options) -> str:
    post = selectors.post_get(viewer=viewer, post_id=post_id)
    return cards.post_card(post, **options)


def test_every_value_is_escaped_and_the_body_is_the_saved_html(world):
    html = card_for(world["reader"], world["post"].pk, back_to=f"/?q={HOSTILE}", csrf_token="t")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    tags = parse(html)
    nexts = {a["value"] for a in with_name(tags, "input", name="next")}
    assert nexts == {f"/?q={HOSTILE}"}  # the parser unescapes: the value round-trips
    assert world["post"].body_html in html
    assert "<strong>world</strong>" in html


def test_what_a_reader_sees(world):
    tags = parse(card_for(world["reader"], world["post"].pk, back_to="/", csrf_token="tok"))
    forms = with_name(tags, "form")
    assert len(forms) == len(Reaction.Kind.choices)
    assert {a["value"] for a in with_name(tags, "input", name="csrfmiddlewaretoken")} == {"tok"}
    pressed = [a["aria-pressed"] for a in with_name(tags, "button")]
    assert pressed.count("true") == 1  # the reader's own reaction
    assert "2" in tags.text  # two people reacted that way
    assert with_name(tags, "a", **{"data-report-link": None})  # Report, no Edit/Delete
    assert not with_name(tags, "a", href=f"/posts/{world['post'].pk}/edit/")
    assert with_name(tags, "a", href=f"/posts/{world['post'].pk}/#comments")
    assert with_name(tags, "img", alt=f"Attached image: pic {HOSTILE}.png")
    assert with_name(tags, "a", download=None)
    assert with_name(tags, "h3", id=f"post-{world['post'].pk}-author")


def test_what_the_author_sees_and_the_post_page(world):
    pk = world["post"].pk
    tags = parse(card_for(world["author"], pk, back_to="/"))
    assert with_name(tags, "a", href=f"/posts/{pk}/edit/")
    assert with_name(tags, "a", href=f"/posts/{pk}/delete/")
    assert not with_name(tags, "a", **{"data-report-link": None})
    page = parse(card_for(world["author"], pk, back_to="/", full=True, heading_level=2))
    assert with_name(page, "h2", id=f"post-{pk}-author")
    assert not with_name(page, "a", href=f"/posts/{pk}/delete/")  # the page has its own
    assert not with_name(page, "a", href=f"/posts/{pk}/#comments")
    report = parse(card_for(world["reader"], pk, full=True, no_report=True))
    assert not with_name(report, "a", **{"data-report-link": None})


def test_the_live_card_is_the_same_for_everyone(world):
    post = selectors.post_for_delivery(post_id=world["post"].pk)  # what feeds.realtime reads
    tags = parse(cards.post_card(post, csrf_token="tok", live=True))
    assert not with_name(tags, "input", name="csrfmiddlewaretoken")
    assert [a["aria-pressed"] for a in with_name(tags, "button")].count("true") == 0
    owner = with_name(tags, "span", **{"data-live-owner": str(world["author"].pk)})
    assert owner and "hidden" in owner[0]


def test_the_words_follow_the_language(world):
    with translation.override("fr"):
        tags = parse(card_for(world["reader"], world["post"].pk))
    words = " ".join(tags.text)
    assert "Signaler" in words and "Réactions" in words and "0 commentaire" in words
    (image,) = with_name(tags, "img", loading="lazy")
    assert image["alt"].startswith("Image jointe") and image["alt"].endswith(f"pic {HOSTILE}.png")


def test_the_template_tag_takes_the_page_s_token_and_address(world, rf: RequestFactory):
    request = rf.get("/?before=abc")
    request.user = world["reader"]
    token = get_token(request)
    template = engines["django"].from_string("{% load agora_ui %}{% post_card post %}")
    post = selectors.post_get(viewer=world["reader"], post_id=world["post"].pk)
    tags = parse(template.render({"post": post}, request=request))
    assert {a["value"] for a in with_name(tags, "input", name="next")} == {"/?before=abc"}
    (value,) = {a["value"] for a in with_name(tags, "input", name="csrfmiddlewaretoken")}
    assert len(value) == len(token)
    with_next = template.render({"post": post, "next": "/groups/x/"}, request=request)
    assert 'name="next" value="/groups/x/"' in with_next
