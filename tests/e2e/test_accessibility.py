"""Accessibility in a real browser: every main page audited by axe-core (WCAG 2.1 A and AA
rules), and what an audit of a page cannot see, by keyboard and at 320 px.

axe-core is the accessibility engine browsers' own audit tools use; it is a test-only npm
package (tests/e2e/axe: `npm ci --prefix tests/e2e/axe`), injected into each page as it
stands: contrast of the rendered colours, names of controls and links, landmarks, headings,
ARIA, the document's language. It looks at a page, not at a keyboard: the tests at the end
of this module tab through pages (a focus ring on every control), use the report dialog by
keyboard alone and check that nothing scrolls sideways at 320 px. That a label says the
right thing is for the view tests and tests/e2e/test_journeys.py.

The world (tests/e2e/make_world.py): Ana (Finance) owns the private group "Budget 2027",
with Bob (Health) as a member; Carl (Health) is in neither, and a member of Bob's open group
"Open Data Network"; Dana (Finance) reads Agora in French; `editor` published the demo's
intranet pages.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.conftest import signed_in_page, submit, violations

pytestmark = pytest.mark.integration

PHONE, DESKTOP = 390, 1280


def _expect():
    from playwright.sync_api import expect

    return expect


def audit(page, axe_script: str, url: str, status: int = 200) -> list[str]:
    """Open `url` (answered with `status`) and return its violations, each prefixed with the
    page's path."""
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response)
    path = re.sub(r"^https?://[^/]+", "", url)
    path = path if len(path) <= 60 else f"{path[:57]}..."
    return [f"{path}: {line}" for line in violations(page, axe_script)]


@pytest.fixture(scope="module")
def discussed(browser, e2e_server):
    """A post by Ana in "Budget 2027" with a hashtag, a mention of Bob and a long link (one
    unbreakable word), which Bob liked and commented on; returns its path and its tag."""
    tag = f"audit{uuid.uuid4().hex[:6]}"
    # A context each: cookies cleared in a shared one would race any request still on its way.
    contexts = [browser.new_context(), browser.new_context()]
    try:
        ana = signed_in_page(contexts[0], e2e_server, "ana")
        ana.get_by_label("Message").fill(
            f"Figures for the #{tag} review, @bob please check: https://data.example.gov/"
            "datasets/budget-2027/quarterly-figures-by-directorate-and-programme-final.csv"
        )
        ana.get_by_label("Who can see this").select_option(label="Budget 2027")
        submit(ana, ana.get_by_role("button", name="Publish"))
        card = ana.locator("article.post-card", has_text=tag)
        href = card.locator("a[href^='/posts/']").first.get_attribute("href")
        path = re.match(r"/posts/\d+/", href).group(0)
        bob = signed_in_page(contexts[1], e2e_server, "bob")
        bob.goto(f"{e2e_server}{path}")
        with bob.expect_response(lambda response: response.request.method == "POST") as liked:
            bob.get_by_role("button", name=re.compile("Like")).first.click()
        assert liked.value.ok, liked.value.status
        bob.get_by_label("Your comment").first.fill("Checked: the totals match.")
        submit(bob, bob.get_by_role("button", name="Comment", exact=True).first)
        _expect()(bob.locator("article.comment", has_text="the totals match")).to_be_visible()
    finally:
        for context in contexts:
            context.close()
    return {"path": path, "tag": tag}


def test_signed_in_pages_pass_axe(sign_in, e2e_server, axe_script, discussed):
    """Ana's pages (author of the post, owner of the group), on a desktop and on a phone."""
    paths = [
        "/",
        discussed["path"],
        f"/tags/{discussed['tag']}/",
        "/people/",
        "/people/ana/",
        "/people/bob/",
        "/people/ana/followers/",
        "/people/ana/following/",
        "/people/?q=bob",
        "/people/me/edit/",
        f"{discussed['path']}edit/",
        f"{discussed['path']}delete/",
        "/groups/",
        "/groups/new/",
        "/groups/budget-2027/",
        "/groups/budget-2027/members/",
        "/groups/budget-2027/edit/",
        "/search/",
        f"/search/?q={discussed['tag']}",
        "/search/?q=nothingmatchesthisword",
        "/notifications/",
        "/notifications/preferences/",
        "/intranet/",
        "/intranet/community-guidelines/",
        "/intranet/mof/",  # an agency's page
        "/intranet/welcome-to-the-new-staff-network/",  # a news article
    ]
    found = []
    for width in (DESKTOP, PHONE):
        page = sign_in("ana", width=width)
        for path in paths:
            found += [f"{width}px {line}" for line in audit(page, axe_script, e2e_server + path)]
        found += audit(page, axe_script, e2e_server + "/posts/999999/", status=404)
    assert found == [], "\n".join(found)


def test_member_and_outsider_pages_pass_axe(sign_in, e2e_server, axe_script, discussed):
    """Bob (a member, mentioned, author of the comment: his notifications and the comment's
    controls) and Carl (outside the private group: its page offers to ask to join, its post
    is a 404; a member of an open group; no notifications)."""
    found = []
    bob = sign_in("bob")
    for path in [
        discussed["path"],
        f"{discussed['path']}report/",  # the report form as its own page (without script)
        "/notifications/",
        "/groups/budget-2027/",
        "/people/ana/",
    ]:
        found += audit(bob, axe_script, e2e_server + path)
    carl = sign_in("carl", width=PHONE)
    for path in [
        "/",
        "/groups/",
        "/groups/open-data-network/",
        "/groups/budget-2027/",
        "/groups/budget-2027/request/",
    ]:
        found += audit(carl, axe_script, e2e_server + path)
    found += audit(carl, axe_script, e2e_server + "/notifications/")  # nothing yet
    assert carl.goto(e2e_server + discussed["path"]).status == 404  # the group's post
    found += [f"{discussed['path']} (404): {line}" for line in violations(carl, axe_script)]
    assert found == [], "\n".join(found)


def test_forms_with_errors_and_dialogs_pass_axe(sign_in, e2e_server, axe_script, discussed):
    """Pages as they come back with errors, and the report dialog open."""
    found = []
    page = sign_in("bob")
    page.get_by_label("Message").fill("x" * 5001)
    submit(page, page.get_by_role("button", name="Publish"))
    assert page.get_by_label("Message").get_attribute("aria-invalid") == "true"
    found += [f"/ (post too long): {line}" for line in violations(page, axe_script)]

    page.goto(e2e_server + "/groups/new/")
    submit(page, page.locator("form[method=post] button[type=submit]").last)
    assert page.locator("[aria-invalid=true]").count() >= 1
    found += [f"/groups/new/ (empty): {line}" for line in violations(page, axe_script)]

    for query in ["?q=" + "long " * 120, "?q=budget&date_from=2026-13-45", '?q="unbalanced']:
        found += audit(page, axe_script, f"{e2e_server}/search/{query}", status=400)
        assert page.locator("[aria-invalid=true]").count() == 1

    page.goto(f"{e2e_server}{discussed['path']}report/")
    submit(page, page.locator("form[method=post] button[type=submit]").last)  # no reason chosen
    assert page.locator("[aria-invalid=true]").count() >= 1
    found += [f"report page (no reason): {line}" for line in violations(page, axe_script)]

    page.goto(e2e_server + discussed["path"])
    page.locator("[data-report-link]").first.click()
    page.wait_for_selector("dialog[open]")
    found += [f"report dialog: {line}" for line in violations(page, axe_script)]
    assert found == [], "\n".join(found)


def test_french_pages_pass_axe(sign_in, e2e_server, axe_script):
    """Dana reads Agora in French: the same rules hold, and the page says it is French."""
    page = sign_in("dana", width=PHONE)
    found = []
    for path in [
        "/",
        "/search/?q=budget",
        "/groups/",
        "/people/dana/",
        "/notifications/",
        "/intranet/",
    ]:
        found += audit(page, axe_script, e2e_server + path)
        assert page.evaluate("document.documentElement.lang") == "fr"
    assert found == [], "\n".join(found)


def test_signed_out_pages_pass_axe(browser, e2e_server, axe_script):
    """The sign-in page, empty and after a wrong password."""
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    try:
        page = context.new_page()
        found = audit(page, axe_script, e2e_server + "/accounts/login/")
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill("not her password")
        submit(page, page.get_by_role("button", name="Sign in"))
        assert page.url.endswith("/accounts/login/")
        found += [f"/accounts/login/ (refused): {line}" for line in violations(page, axe_script)]
    finally:
        context.close()
    assert found == [], "\n".join(found)


# What the focused element looks like: its outline and box shadow, whether it is on screen.
FOCUS_STATE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const label = el.getAttribute("aria-label") || el.textContent || el.name || "";
    const tag = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
    return {
        name: tag + " " + label.trim().replace(/\\s+/g, " ").slice(0, 40),
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
        shadow: style.boxShadow !== "none",
        shown: box.width > 0 && box.height > 0 && style.visibility !== "hidden",
    };
}"""


def tab_through(page, limit: int = 300) -> list[dict]:
    """Press Tab from the top of the page until focus leaves the page or comes back to the
    first element; the focus state after each press."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state is None or (seen and state["name"] == seen[0]["name"]):
            break
        seen.append(state)
    else:
        raise AssertionError(f"Tab never left the page after {limit} presses (a focus trap?)")
    return seen


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_keyboard_focus_is_always_visible(sign_in, e2e_server, discussed, width):
    """WCAG 2.4.7: every control Tab reaches on the home page and the post page is on screen
    and drawn with a focus ring; the composer, a card's reactions and the comment form are
    among them (axe cannot check this: it looks at a page, not at a keyboard)."""
    page = sign_in("bob", width=width)
    for path, expected in [
        ("/", ["textarea#composer_body", "button Publish", "Like"]),
        (discussed["path"], ["Like", "Comment"]),
    ]:
        page.goto(e2e_server + path)
        states = tab_through(page)
        names = [s["name"] for s in states]
        for part in expected:
            assert any(part in name for name in names), (path, part, "; ".join(names))
        hidden = [s["name"] for s in states if not s["shown"]]
        unmarked = [s["name"] for s in states if not (s["outline"] or s["shadow"])]
        assert hidden == [] and unmarked == [], (path, hidden, unmarked)


NARROWEST = 320  # WCAG 1.4.10 (Reflow): content at 320 CSS px needs no sideways scrolling


def test_pages_reflow_at_320_px(sign_in, e2e_server, discussed):
    """At 320 px wide (a small phone, or 1280 px zoomed to 400%) no page scrolls sideways:
    long words, links, tables and forms wrap or scroll inside themselves."""
    page = sign_in("ana", width=NARROWEST)
    wide = []
    for path in [
        "/",
        discussed["path"],
        f"{discussed['path']}report/",
        f"/tags/{discussed['tag']}/",
        f"/search/?q={discussed['tag']}",
        "/people/",
        "/people/bob/",
        "/people/me/edit/",
        "/groups/",
        "/groups/new/",
        "/groups/budget-2027/",
        "/groups/budget-2027/members/",
        "/notifications/",
        "/notifications/preferences/",
        "/intranet/",
        "/intranet/mof/",
        "/intranet/welcome-to-the-new-staff-network/",
    ]:
        assert page.goto(e2e_server + path).status == 200, path
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            wide.append(f"{path}: {overflow}px too wide")
    assert wide == [], "\n".join(wide)


def test_report_dialog_works_by_keyboard(sign_in, e2e_server, discussed):
    """The report dialog by keyboard alone: Enter on "Report" opens it with focus on the
    first reason, Escape closes it and gives focus back to the link; opened again, a reason
    chosen with the arrow keys and the form sent with Enter, the page says so."""
    expect = _expect()
    page = sign_in("bob")
    page.goto(e2e_server + discussed["path"])
    link = page.locator("[data-report-link]").first
    link.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    assert dialog.get_attribute("aria-labelledby") == "report-dialog-title"
    focused = page.evaluate("document.activeElement.type + ':' + document.activeElement.name")
    assert focused == "radio:reason"

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert page.evaluate("document.activeElement.hasAttribute('data-report-link')")

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("ArrowDown")  # the second reason (arrow keys move and check)
    checked = page.locator("dialog input[name=reason]:checked")
    expect(checked).to_have_count(1)
    page.locator("dialog button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("The moderators will look at the post you reported.")).to_be_visible()
