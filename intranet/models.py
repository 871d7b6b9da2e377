"""The intranet's pages (Wagtail): a home, news articles, standard pages, agency pages.

Pages are served under /intranet/ to signed-in staff (`wagtail_hooks.require_staff`) and
edited at /cms/ by the Editors (draft, submit for moderation) and Moderators (publish). A
published news article announces itself in the feeds of the people it targets
(`intranet.actions.announce_news`); `NewsAnnouncement` remembers which post that is, outside
the page's revisions, so republishing edits that post and unpublishing withdraws it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from taggit.models import TaggedItemBase
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

# What editors may put in rich text: structure, emphasis, links, documents and images (no raw
# HTML, no embeds from other sites). Output is sanitised again when rendered (`safe_richtext`).
RICH_TEXT_FEATURES = [
    "h2", "h3", "h4", "bold", "italic", "ol", "ul", "hr", "link", "document-link", "image",
    "blockquote",
]  # fmt: skip
GUIDELINES_SLUG = "community-guidelines"


class IntranetHomePage(Page):
    """The root of the intranet (the Wagtail site's root page): latest news and the guides."""

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["intranet.NewsArticle", "intranet.StandardPage", "intranet.AgencyPage"]
    max_count = 1

    class Meta:
        verbose_name = _("intranet home")

    def get_context(self, request, *args, **kwargs):
        from . import selectors

        context = super().get_context(request, *args, **kwargs)
        context["news"] = selectors.latest_news(limit=12)
        context["guides"] = selectors.standard_pages(parent=self)
        context["agencies"] = selectors.agency_pages(parent=self)
        return context


class NewsArticleTag(TaggedItemBase):
    content_object = ParentalKey(
        "intranet.NewsArticle", on_delete=models.CASCADE, related_name="tagged_items"
    )


class NewsArticle(Page):
    """Agency news. Publishing it announces it to all staff, or to one agency's staff."""

    lead = models.TextField(
        _("lead"),
        max_length=500,
        help_text=_("One or two sentences: shown in the feed announcement and news lists."),
    )
    image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = RichTextField(_("body"), features=RICH_TEXT_FEATURES)
    agency = models.ForeignKey(
        "profiles.Agency",
        verbose_name=_("for the staff of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Leave empty to announce it to all staff."),
    )
    tags = ClusterTaggableManager(through=NewsArticleTag, blank=True, verbose_name=_("tags"))

    content_panels = [
        *Page.content_panels,
        FieldPanel("lead"),
        FieldPanel("image"),
        FieldPanel("body"),
        MultiFieldPanel([FieldPanel("agency"), FieldPanel("tags")], heading=_("Audience")),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("lead"),
        index.SearchField("body"),
        index.FilterField("agency"),
    ]
    parent_page_types = ["intranet.IntranetHomePage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("news article")
        verbose_name_plural = _("news articles")


class StandardPage(Page):
    """Guidelines, policies, help, "how we work"."""

    body = RichTextField(_("body"), features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("body")]
    parent_page_types = ["intranet.IntranetHomePage", "intranet.StandardPage"]
    subpage_types = ["intranet.StandardPage"]

    class Meta:
        verbose_name = _("standard page")
        verbose_name_plural = _("standard pages")


class ContactBlock(blocks.StructBlock):
    name = blocks.CharBlock(label=_("name"), max_length=120)
    role = blocks.CharBlock(label=_("role"), max_length=120, required=False)
    email = blocks.EmailBlock(label=_("email"), required=False)
    phone = blocks.CharBlock(label=_("phone"), max_length=40, required=False)

    class Meta:
        icon = "user"
        template = "intranet/blocks/contact.html"


class AgencyPage(Page):
    """One agency: about it, whom to contact, its open groups and its latest news."""

    agency = models.ForeignKey(
        "profiles.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="+"
    )
    about = RichTextField(_("about"), blank=True, features=RICH_TEXT_FEATURES)
    contacts = StreamField([("contact", ContactBlock())], blank=True, verbose_name=_("contacts"))
    groups = ParentalManyToManyField(
        "groups.Group",
        blank=True,
        related_name="+",
        verbose_name=_("open groups"),
        limit_choices_to={"kind": "open"},
        help_text=_("Open groups the agency runs or recommends."),
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("agency"),
        FieldPanel("about"),
        FieldPanel("contacts"),
        FieldPanel("groups"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("about")]
    parent_page_types = ["intranet.IntranetHomePage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("agency page")
        verbose_name_plural = _("agency pages")

    def clean(self):
        super().clean()
        if (
            self.agency_id
            and AgencyPage.objects.filter(agency_id=self.agency_id).exclude(pk=self.pk).exists()
        ):
            raise ValidationError({"agency": _("This agency already has a page.")})

    def get_context(self, request, *args, **kwargs):
        from . import selectors

        context = super().get_context(request, *args, **kwargs)
        context["open_groups"] = selectors.agency_open_groups(viewer=request.user, page=self)
        context["news"] = selectors.latest_news(agency=self.agency, limit=5)
        return context


class NewsAnnouncement(models.Model):
    """The feed post that announces a news article (kept out of the page's revisions)."""

    page = models.OneToOneField(NewsArticle, on_delete=models.CASCADE, related_name="announcement")
    post = models.OneToOneField("feeds.Post", on_delete=models.PROTECT, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("news announcement")
        verbose_name_plural = _("news announcements")

    def __str__(self) -> str:
        return f"page {self.page_id} → post {self.post_id}"
