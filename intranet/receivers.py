"""Wagtail's page signals, handed to the intranet's actions (no domain logic here).

`page_published` covers every way a page goes live: the editor's "Publish", a moderator's
approval at the end of a workflow, scheduled publishing. A failure to announce never breaks
the publication (the page is live either way); it is logged for an administrator, and
publishing again retries it.
"""

from __future__ import annotations

import logging

from django.db.models.signals import pre_delete
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished

from . import actions
from .models import NewsArticle

logger = logging.getLogger(__name__)


@receiver(page_published, sender=NewsArticle)
def news_published(sender, instance, revision=None, **kwargs):
    try:
        actions.announce_news(page=instance, revision=revision)
    except Exception:
        logger.exception("Could not announce news article %s in the feeds", instance.pk)


@receiver(page_unpublished, sender=NewsArticle)
def news_unpublished(sender, instance, **kwargs):
    try:
        actions.withdraw_news(page=instance)
    except Exception:
        logger.exception("Could not withdraw the announcement of news article %s", instance.pk)


@receiver(pre_delete, sender=NewsArticle)
def news_deleted(sender, instance, **kwargs):
    actions.withdraw_news(page=instance)
