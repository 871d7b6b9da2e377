"""Live updates in a real browser: two colleagues, two browser contexts, no reload.

The server is the embedded default (daphne, in-memory channel layer). The world
(tests/e2e/make_world.py): Ana and Bob are in the private group "Budget 2027"; Carl is not.
"""

import re
import uuid

import pytest

from tests.e2e.conftest import submit

pytestmark = pytest.mark.integration

CONNECTED = "[data-live][data-live-state=connected]"


def _expect():
    from playwright.sync_api import expect

    return expect


def _publish(page, text: str, audience: str | None = None) -> None:
    page.get_by_label("Message").fill(text)
    if audience:
        page.get_by_label("Who can see this").select_option(label=audience)
    submit(page, page.get_by_role("button", name="Publish"))


def test_a_group_post_is_announced_then_shown_without_reload(sign_in):
    """Ana posts in the group: Bob's open home page says "1 new post" in a polite live
    region, shows the post when he asks, and later updates its reaction count in place;
    Carl, who is not in the group, is told nothing."""
    expect = _expect()
    bob = sign_in("bob")
    carl = sign_in("carl")
    for page in (bob, carl):
        page.wait_for_selector(CONNECTED)
        page.evaluate("window.__sameDocument = true")

    text = f"Live figures {uuid.uuid4().hex[:8]}"
    ana = sign_in("ana")
    _publish(ana, text, "Budget 2027")

    notice = bob.locator("[data-live-show]")
    expect(notice).to_have_text("1 new post", timeout=5000)
    assert bob.locator("[data-live-notice]").get_attribute("aria-live") == "polite"
    assert bob.get_by_text(text).count() == 0  # nothing moves until Bob asks
    notice.click()
    card = bob.locator("article.post-card", has_text=text)
    expect(card).to_be_visible()
    expect(notice).to_be_hidden()
    assert bob.evaluate("window.__sameDocument") is True  # the same page: no reload

    ana_card = ana.locator("article.post-card", has_text=text)
    ana_card.get_by_role("button", name=re.compile("Like")).click()
    expect(card.locator(".reaction__count").first).to_have_text("1", timeout=5000)
    assert bob.evaluate("window.__sameDocument") is True

    expect(carl.locator("[data-live-show]")).to_be_hidden()
    assert carl.get_by_text(text).count() == 0
    assert carl.evaluate("window.__sameDocument") is True


def test_a_comment_appears_on_the_open_post_page(sign_in, e2e_server):
    """Bob reads one of Ana's posts; Ana comments on it; the comment and the new count
    appear on Bob's page without a reload."""
    expect = _expect()
    text = f"Comment me {uuid.uuid4().hex[:8]}"
    ana = sign_in("ana")
    _publish(ana, text, "Budget 2027")
    link = ana.locator("article.post-card", has_text=text).locator("a.post-card__time")
    post_url = f"{e2e_server}{link.get_attribute('href')}"

    bob = sign_in("bob")
    bob.goto(post_url)
    bob.wait_for_selector(CONNECTED)
    bob.evaluate("window.__sameDocument = true")

    ana.goto(post_url)
    ana.get_by_label("Your comment").fill("Numbers look right")
    submit(ana, ana.get_by_role("button", name="Comment"))

    expect(bob.locator("#comments article.comment", has_text="Numbers look right")).to_be_visible(
        timeout=5000
    )
    expect(bob.locator("#comments-heading")).to_have_text("1 comment")
    assert bob.evaluate("window.__sameDocument") is True
