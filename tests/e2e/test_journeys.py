"""End-to-end journeys in a real browser against a real daphne server.

The world (tests/e2e/make_world.py): Ana (Finance) owns the private group "Budget 2027",
with Bob (Health) as a member; Carl (Health) is in neither.
"""

import re

import pytest

from tests.e2e.conftest import submit

pytestmark = pytest.mark.integration


def test_private_group_post_reaches_members_only(sign_in, e2e_server):
    """Ana posts in a private group: Bob (member) reads it, Carl (outsider) cannot reach it."""
    ana = sign_in("ana")
    ana.get_by_label("Message").fill("Draft figures for the #budget2027 review are in.")
    ana.get_by_label("Who can see this").select_option(label="Budget 2027")
    submit(ana, ana.get_by_role("button", name="Publish"))
    assert ana.get_by_text("Draft figures for the").first.is_visible()
    post_link = ana.locator("a[href^='/posts/']").first.get_attribute("href")
    post_path = re.match(r"/posts/\d+/", post_link).group(0)
    post_url = f"{e2e_server}{post_path}"

    bob = sign_in("bob")
    assert bob.get_by_text("Draft figures for the").first.is_visible()
    bob.goto(post_url)
    assert bob.get_by_text("Draft figures for the").first.is_visible()

    carl = sign_in("carl")
    assert carl.get_by_text("Draft figures for the").count() == 0
    response = carl.goto(post_url)
    assert response.status == 404
    assert carl.get_by_text("Draft figures for the").count() == 0
    carl.goto(f"{e2e_server}/tags/budget2027/")
    assert carl.get_by_text("Draft figures for the").count() == 0


def test_composer_errors_keep_what_was_typed(sign_in):
    """An over-long post is refused next to the field, and the text is still there."""
    page = sign_in("bob")
    text = "x" * 5001
    page.get_by_label("Message").fill(text)
    submit(page, page.get_by_role("button", name="Publish"))
    assert page.get_by_label("Message").input_value() == text
    field = page.get_by_label("Message")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.get_by_text("5,000").first.is_visible()


def test_home_fits_a_phone_and_works_by_keyboard(sign_in):
    """At 390 px nothing scrolls sideways; the skip link is the first thing Tab reaches."""
    page = sign_in("carl", width=390)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
