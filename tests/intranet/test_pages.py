"""The intranet pages: who may read them, what each page type shows, search, the guidelines
link, and bad input (unknown page types, broken rich text, files that are not images)."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase

from groups.models import Group
from intranet import selectors
from intranet.models import AgencyPage, IntranetHomePage, NewsArticle, StandardPage
from tests.factories import GroupFactory, UserFactory
from tests.intranet.conftest import add_draft, guide, news, publish

pytestmark = pytest.mark.django_db

Image = get_image_model()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (11, 83, 148)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_intranet_home_is_the_sites_root_and_needs_signing_in(client, home, user):
    assert Site.objects.get(is_default_site=True).root_page.specific == home
    response = client.get("/intranet/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(user)
    assert client.get("/intranet/").status_code == 200


def test_a_deactivated_account_reads_nothing(client, home, moderator):
    article = publish(news(home), moderator)
    gone = UserFactory(is_active=False)
    client.force_login(gone)
    assert client.get(article.url).status_code == 302


def test_the_home_lists_news_guides_and_agencies(web, home, moderator, agency):
    publish(news(home), moderator)
    publish(guide(home), moderator)
    publish(
        add_draft(home, AgencyPage(title="Agency 0 page", slug="agency-0", agency=agency)),
        moderator,
    )
    page = web.get("/intranet/").content.decode()
    assert "Budget 2027 is out" in page and "What the new budget means" in page
    assert "Community guidelines" in page and "Agency 0 page" in page
    assert 'aria-current="page"' in page  # the "Intranet" item of the main navigation


def test_a_news_article_page(web, home, moderator, agency):
    article = news(home, agency=agency)
    article.tags.add("budget")
    publish(article, moderator)
    page = web.get(article.url).content.decode()
    assert "<h1>Budget 2027 is out</h1>" in page
    assert "The <b>details</b> are in the attached note." in page
    assert f"For {agency.name}" in page and "budget" in page


def test_an_agency_page_shows_contacts_its_open_groups_and_news(web, home, moderator, agency):
    open_group = GroupFactory(name="Open data club", kind=Group.Kind.OPEN)
    turned_private = GroupFactory(name="Now private", kind=Group.Kind.OPEN)
    agency_page = AgencyPage(
        title="About the agency",
        slug="about-agency",
        agency=agency,
        about="<p>We count things.</p>",
        contacts=[
            (
                "contact",
                {
                    "name": "Ada Desk",
                    "role": "Helpdesk",
                    "email": "help@example.gov",
                    "phone": "123",
                },
            )
        ],
    )
    add_draft(home, agency_page)
    agency_page.groups.set([open_group, turned_private])
    publish(agency_page, moderator)
    Group.objects.filter(pk=turned_private.pk).update(kind=Group.Kind.PRIVATE)
    publish(news(home, agency=agency, title="Agency news"), moderator)
    publish(news(home, title="Everyone news"), moderator)
    page = web.get(agency_page.url).content.decode()
    assert "We count things." in page and "Ada Desk" in page and "mailto:help@example.gov" in page
    assert "Open data club" in page and "Now private" not in page
    assert "Agency news" in page and "Everyone news" not in page


def test_one_page_per_agency(home, agency, moderator):
    """Checked when a page is validated: the admin's form, or publishing."""
    publish(add_draft(home, AgencyPage(title="First", slug="first", agency=agency)), moderator)
    second = add_draft(home, AgencyPage(title="Second", slug="second", agency=agency))
    with pytest.raises(ValidationError, match="already has a page"):
        publish(second, moderator)


# --- search -----------------------------------------------------------------------------------


def test_search_finds_live_pages_for_staff_only(home, moderator, user):
    publish(news(home, body="<p>The procurement reform starts in spring.</p>"), moderator)
    add_draft(home, StandardPage(title="Draft procurement policy", slug="draft", body="<p>x</p>"))
    results = selectors.search_pages(viewer=user, query="procurement", limit=10)
    assert [(r.kind, r.title) for r in results] == [("page", "Budget 2027 is out")]
    assert results[0].url == "/intranet/budget-2027-is-out/"
    assert "procurement reform" in results[0].snippet
    assert selectors.search_pages(viewer=UserFactory(is_active=False), query="procurement") == []
    assert selectors.search_pages(viewer=user, query="   ") == []


def test_search_snippets_are_escaped(home, moderator, user):
    publish(
        news(home, title="Tags <b>here</b>", slug="tags", lead="<script>x</script> lead"), moderator
    )
    [result] = selectors.search_pages(viewer=user, query="lead")
    assert "<script>" not in result.snippet and "&lt;b&gt;" in result.title_snippet


# --- the community guidelines link -------------------------------------------------------------


def test_the_composer_links_to_the_guidelines_once_published(web, home, moderator):
    page = web.get(reverse("feeds:home")).content.decode()
    assert (
        'class="composer__guidelines' in page
        and 'href="/intranet/community-guidelines/"' not in page
    )
    publish(guide(home), moderator)
    page = web.get(reverse("feeds:home")).content.decode()
    assert 'href="/intranet/community-guidelines/"' in page


# --- bad input --------------------------------------------------------------------------------


def test_an_unknown_page_type_in_the_admin_is_not_found(client, home, moderator):
    client.force_login(moderator)
    url = f"/cms/pages/add/intranet/nosuchpage/{home.pk}/"
    assert client.get(url).status_code == 404
    assert client.get(f"/cms/pages/add/intranet/newsarticle/{home.pk}/").status_code == 200


def test_a_file_that_is_not_an_image_is_refused(client, moderator):
    client.force_login(moderator)
    fake = SimpleUploadedFile("photo.png", b"#!/bin/sh\necho not an image\n", "image/png")
    response = client.post(reverse("wagtailimages:add"), {"title": "Photo", "file": fake})
    assert response.status_code == 200  # the form again, with the reason
    assert "not an image or a corrupted image" in str(response.context["form"].errors["file"])
    assert not Image.objects.exists()


def test_a_real_image_is_served_to_staff_only(client, moderator, user):
    client.force_login(moderator)
    upload = SimpleUploadedFile("photo.png", png_bytes(), "image/png")
    response = client.post(reverse("wagtailimages:add"), {"title": "Photo", "file": upload})
    assert response.status_code == 302
    rendition = Image.objects.get().get_rendition("width-20")
    assert rendition.url.startswith("/files/images/")
    client.force_login(user)
    served = client.get(rendition.url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    client.logout()
    assert client.get(rendition.url).status_code == 302
    client.force_login(user)
    assert client.get("/files/images/../secret_key").status_code == 404


def test_broken_rich_text_is_stored_and_shown_safely(web, home, moderator):
    """Markup from an import or an old revision: unclosed tags, a script, a missing image."""
    body = (
        '<p>Unclosed <b>bold <script>alert("x")</script><a href="javascript:alert(1)">link</a>'
        '<embed embedtype="image" id="999999" format="fullwidth" alt="gone"/>'
        '<p onclick="steal()">still here'
    )
    article = publish(news(home, body=body), moderator)
    assert NewsArticle.objects.get(pk=article.pk).body == body  # nothing lost
    response = web.get(article.url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "still here" in page and "Unclosed" in page
    assert "alert(" not in page and "onclick" not in page and "javascript:" not in page


# --- page types -------------------------------------------------------------------------------


class TestPageTypes(WagtailPageTestCase):
    def test_where_each_page_type_may_live(self):
        self.assertAllowedParentPageTypes(IntranetHomePage, {Page})
        self.assertAllowedSubpageTypes(IntranetHomePage, {NewsArticle, StandardPage, AgencyPage})
        self.assertAllowedParentPageTypes(NewsArticle, {IntranetHomePage})
        self.assertAllowedParentPageTypes(StandardPage, {IntranetHomePage, StandardPage})
        self.assertAllowedSubpageTypes(NewsArticle, set())

    def test_an_editor_can_create_a_standard_page(self):
        from wagtail.test.utils.form_data import nested_form_data, rich_text

        home = IntranetHomePage.objects.get()
        self.login()
        self.assertCanCreate(
            home,
            StandardPage,
            nested_form_data(
                {
                    "title": "How we work",
                    "slug": "how-we-work",
                    "body": rich_text("<p>Openly.</p>"),
                    "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0},
                }
            ),
        )


def test_documents_are_served_to_staff_only(client, moderator, user):
    client.force_login(moderator)
    upload = SimpleUploadedFile("policy.txt", b"Our travel policy.\n", "text/plain")
    response = client.post(reverse("wagtaildocs:add"), {"title": "Travel policy", "file": upload})
    assert response.status_code == 302
    from wagtail.documents import get_document_model

    document = get_document_model().objects.get()
    assert document.url.startswith("/documents/")
    client.force_login(user)
    served = client.get(document.url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"Our travel policy.\n"
    client.logout()
    assert client.get(document.url).status_code == 302
    client.force_login(moderator)
    bad = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream")
    response = client.post(reverse("wagtaildocs:add"), {"title": "Tool", "file": bad})
    assert response.status_code == 200 and get_document_model().objects.count() == 1
