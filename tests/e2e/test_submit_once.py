"""Publishing once in a real browser. The server's one-time form token is the guarantee
(tests/feeds/test_idempotency.py); static/js/agora.js spares the second request and says
the form is on its way. (A double click on a submit button is one request in Chromium
already: the second submission replaces the first before it leaves; so here the first
request is held until the checks are done.)"""

import re
import time
import uuid

import pytest

pytestmark = pytest.mark.integration


def _expect():
    from playwright.sync_api import expect

    return expect


def _cards(page, text: str):
    return page.locator("article.post-card", has_text=text)


# The form is sent into a frame of its own, so that the page stays put (and scriptable)
# while its request is held.
SEND_INTO_A_FRAME = """() => {
  const sink = document.createElement("iframe");
  sink.name = "sink";
  document.body.append(sink);
  document.querySelector("form[data-submit-once]").target = "sink";
}"""


def test_the_button_says_it_is_busy_and_keeps_its_name_and_focus(sign_in):
    """While the post is on its way the button is aria-disabled, still named "Publish" and
    still focused, and Enter again sends nothing. A page shown again from the back/forward
    cache gets its button back; sent again from there, the form carries the same token and
    the server writes nothing new."""
    expect = _expect()
    page, button, held, text = _publish_held(sign_in("bob"), "Held")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Publish"
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert len(held) == 1

    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    assert button.get_attribute("aria-disabled") is None
    with page.expect_response(lambda r: r.url.endswith("/posts/new/")):
        held[0].continue_()
    page.keyboard.press("Enter")  # the same form, the same token
    _wait_for(page, lambda: len(held) == 2)
    with page.expect_response(lambda r: r.url.endswith("/posts/new/")) as second:
        held[1].continue_()
    assert second.value.status == 302
    page.reload()
    expect(_cards(page, text)).to_have_count(1)


def test_a_submission_that_never_comes_back_gives_the_button_back(sign_in):
    """A request stopped in the browser (or lost) tells the page nothing: after the form's
    hold (here 1.5 s, 10 s by default) the button comes back, and the form sent again
    carries the same token."""
    expect = _expect()
    page, button, held, text = _publish_held(sign_in("bob"), "Stopped", hold_ms=1500)
    _wait_for(page, lambda: button.get_attribute("aria-disabled") is None)
    assert page.evaluate("document.activeElement.textContent.trim()") == "Publish"
    page.keyboard.press("Enter")
    _wait_for(page, lambda: len(held) == 2)
    first, second = (_form_token(route.request.post_data) for route in held)
    assert first and first == second
    # The second submission replaced the first in the frame, as it replaces a stopped one in
    # a tab: the first request is cancelled. (The server's side of a key sent twice is
    # tests/feeds/test_idempotency.py.)
    with page.expect_response(lambda r: r.url.endswith("/posts/new/")) as answer:
        held[1].continue_()
    assert answer.value.status == 302
    page.reload()
    expect(_cards(page, text)).to_have_count(1)


def _publish_held(page, prefix: str, *, hold_ms: int | None = None):
    """Publish a new text from the composer by Enter on its focused button, the request held
    (the route's list): (page, button, held requests, text), the button aria-disabled."""
    held = []
    page.route("**/posts/new/", lambda route: held.append(route))
    page.evaluate(SEND_INTO_A_FRAME)
    if hold_ms is not None:
        page.evaluate(
            f"document.querySelector('form[data-submit-once]').dataset.submitOnce = '{hold_ms}'"
        )
    text = f"{prefix} {uuid.uuid4().hex[:8]}"
    page.get_by_label("Message").fill(text)
    button = page.get_by_role("button", name="Publish")
    button.focus()
    page.keyboard.press("Enter")
    _wait_for(page, lambda: len(held) == 1)
    assert button.get_attribute("aria-disabled") == "true"
    return page, button, held, text


def _form_token(body: str) -> str | None:
    """The form_token field of a multipart body (the composer sends files)."""
    found = re.search(r'name="form_token"\r\n\r\n([^\r]*)\r\n', body)
    return found.group(1) if found else None


def _wait_for(page, condition, timeout: float = 5.0) -> None:
    """Until `condition()`; Playwright's sync API hears of requests only while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(20)


def test_a_reply_form_delivered_live_is_sent_with_a_token_of_its_own(sign_in, e2e_server):
    """A thread that arrives over the socket is rendered once for everybody, with an empty
    token; the script gives the reply its own when it is sent."""
    expect = _expect()
    ana = sign_in("ana")
    text = f"Reply to me {uuid.uuid4().hex[:8]}"
    ana.get_by_label("Message").fill(text)
    ana.get_by_label("Who can see this").select_option(label="Budget 2027")
    with ana.expect_navigation():
        ana.get_by_role("button", name="Publish").click()
    link = _cards(ana, text).locator("a.post-card__time")
    post_url = f"{e2e_server}{link.get_attribute('href')}"

    bob = sign_in("bob")
    bob.goto(post_url)
    bob.wait_for_selector("[data-live][data-live-state=connected]")
    ana.goto(post_url)
    ana.get_by_label("Your comment").fill("Live thread")
    with ana.expect_navigation():
        ana.get_by_role("button", name="Comment").click()

    thread = bob.locator("[data-comment-thread]", has_text="Live thread")
    expect(thread).to_be_visible(timeout=5000)
    assert thread.locator("input[name=form_token]").get_attribute("value") in (None, "")
    held = []
    bob.route("**/comments/", lambda route: held.append(route))
    thread.locator("summary").click()
    thread.get_by_label("Your comment").fill("A reply")
    thread.get_by_role("button", name="Reply").click(no_wait_after=True)
    _wait_for(bob, lambda: len(held) == 1)
    sent = dict(pair.split("=", 1) for pair in held[0].request.post_data.split("&"))
    assert len(sent["form_token"]) == 36  # a UUID
    with bob.expect_navigation():
        held[0].continue_()
    expect(bob.locator("article.comment", has_text="A reply")).to_be_visible()
