"""A post's card, as every feed, the post page and live updates show it, rendered to HTML.

The card is the markup a feed repeats twenty times a page, and the template engine spent most
of the home page's time on it (about a millisecond a card: a hundred variable lookups, three
includes, five small reaction forms; docs/BENCHMARKS.md, "Home feed"). So it is built here,
in Python: every value goes through `_e` (HTML-escaped, as `{{ value }}` is) except the
post's `body_html`, sanitised when it was saved (feeds.rendering); every word through
gettext (`makemessages` finds these strings like any other). URLs come from one `reverse()`
per URL name (`intranet.paths.path_for`). tests/feeds/test_cards.py checks the markup, the
escaping and the translations. Templates place a card with `{% post_card post %}`
(feeds/templatetags/agora_ui.py); the reactions view answers the buttons alone to the script
(`reactions`). `avatar` is components/avatar.html's markup, which the other pages include.

What a card shows (the post as `feeds.selectors` decorates it: author and profile, group and
agency loaded; attachments, `reaction_counts`, `comment_count` and `can_edit` set):
- the author's avatar, name (a heading, level `heading_level`), job title and agency;
- the time (relative in feeds, the full date on the post page), "edited", and the audience
  badge (announcement, group, agency only, everyone);
- the body, the attachments (images inline, documents as download links with their size);
- the reaction buttons (each a small POST form, so they work without JavaScript), the
  comment count, and Edit/Delete for the author or Report for anyone else.

`full`: on the post page (the full date, no comment link, no Delete). `live`: rendered once
for every viewer by feeds.realtime: no CSRF token, no "mine" state, and Edit/Delete hidden
for static/js/live.js to show to the author. `no_report`: no "Report" link (on the report
and delete pages).
"""

from __future__ import annotations

from html import escape

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import filesizeformat
from django.utils import formats
from django.utils.dateformat import format as date_format_string
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext, ngettext

from intranet.paths import path_for

from . import selectors
from .models import Post, Reaction

# --- values ---------------------------------------------------------------------------------


def _e(value) -> str:
    """`value` as `{{ value }}` prints it: HTML-escaped (Django's `escape` is this too)."""
    return escape(str(value))


def _number(value) -> str:
    return _e(formats.localize(value))


def _datetime(value) -> str:
    """`{{ value|date:"DATETIME_FORMAT" }}`: local time, the language's format, escaped."""
    return _e(formats.date_format(template_localtime(value), "DATETIME_FORMAT"))


_WORDS: dict[str | None, dict[str, str]] = {}


def _words() -> dict[str, str]:
    """The card's fixed words in the active language, escaped (looked up once a language)."""
    language = get_language()
    words = _WORDS.get(language)
    if words is None:
        words = {
            "announcement": _e(gettext("Announcement")),
            "in_group": _e(gettext("Posted in group:")),
            "agency_only": _e(gettext("Agency only")),
            "everyone": _e(gettext("Everyone")),
            "edited": _e(gettext("edited")),
            "reactions": _e(gettext("Reactions")),
            "edit": _e(gettext("Edit")),
            "delete": _e(gettext("Delete")),
            "report": _e(gettext("Report")),
            "this_post": _e(gettext("this post")),
            **{f"kind:{kind}": _e(label) for kind, label in Reaction.Kind.choices},
        }
        _WORDS[language] = words
    return words


# --- parts ----------------------------------------------------------------------------------


def avatar(profile, username: str, size: str = "") -> str:
    """The person's photo, or their initials (decorative: the name is shown beside it)."""
    from .templatetags.agora_ui import initials

    modifier = f" avatar--{_e(size)}" if size else ""
    if profile and profile.avatar:
        src = _e(path_for("profiles:avatar", username))
        return f'<img class="avatar{modifier}" src="{src}" alt="" loading="lazy" decoding="async">'
    letters = _e(initials(profile.display_name if profile else ""))
    return f'<span class="avatar avatar--initials{modifier}" aria-hidden="true">{letters}</span>'


def _badges(post: Post, words: dict) -> str:
    parts = []
    if post.is_announcement:
        parts.append(f'<span class="badge badge--announcement">{words["announcement"]}</span>')
    if post.audience == Post.Audience.GROUP and post.group:
        parts.append(
            f'<a class="badge badge--group" href="{_e(post.group.get_absolute_url())}">'
            f'<span class="visually-hidden">{words["in_group"]} </span>{_e(post.group.name)}</a>'
        )
    elif post.audience == Post.Audience.AGENCY:
        if post.agency:
            name = _e(post.agency.short_name or post.agency.name)
            label = gettext("%(agency)s only") % {"agency": name}
        else:
            label = words["agency_only"]
        parts.append(f'<span class="badge badge--agency">{label}</span>')
    else:
        parts.append(f'<span class="badge">{words["everyone"]}</span>')
    return "\n      ".join(parts)


def _attachments(post: Post) -> str:
    attachments = selectors.related_list(post, "attachments")
    if not attachments:
        return ""
    images, documents = [], []
    for attachment in attachments:
        url = _e(attachment.get_absolute_url())
        if attachment.kind == "image":
            alt = gettext("Attached image: %(name)s") % {"name": _e(attachment.original_name)}
            images.append(
                f'<a class="attachment-image" href="{url}"><img src="{url}" alt="{alt}" '
                'loading="lazy" decoding="async"></a>'
            )
        else:
            size = _e(filesizeformat(attachment.size))
            documents.append(
                f'<li><a href="{url}" download>{_e(attachment.original_name)}</a> '
                f'<span class="muted">({size})</span></li>'
            )
    return (
        '<div class="attachments">\n    '
        + "\n    ".join(images)
        + '\n  <ul class="attachment-documents">\n    '
        + "\n    ".join(documents)
        + "\n  </ul>\n</div>"
    )


def _reactions(post: Post, words: dict, *, back_to: str, csrf_token: str, live: bool) -> str:
    pk = int(post.pk)
    react_url = _e(path_for("feeds:react", pk))
    token = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">'
        if csrf_token and not live
        else ""
    )
    next_value = _e(back_to)
    items = []
    for kind, label, count, mine in post.reaction_counts:
        label_html = words.get(f"kind:{kind}") or _e(label)
        number = f'<span class="reaction__count">{_number(count)}</span>' if count else ""
        items.append(
            f'<li>\n      <form method="post" action="{react_url}" class="reaction-form" '
            f"data-reaction-form>\n        {token}\n"
            f'        <input type="hidden" name="kind" value="{_e(kind)}">\n'
            f'        <input type="hidden" name="action" value="{"remove" if mine else "add"}">\n'
            f'        <input type="hidden" name="next" value="{next_value}">\n'
            f'        <button type="submit" class="reaction{" reaction--on" if mine else ""}" '
            f'aria-pressed="{"true" if mine else "false"}">\n'
            f'          <span class="reaction__label">{label_html}</span>\n'
            f"          {number}\n        </button>\n      </form>\n    </li>"
        )
    return (
        f'<div class="reactions" id="reactions-{pk}" data-reactions>\n'
        f'  <p class="visually-hidden" id="reactions-{pk}-label">{words["reactions"]}</p>\n'
        f'  <ul class="reactions__list" aria-labelledby="reactions-{pk}-label">\n    '
        + "\n    ".join(items)
        + "\n  </ul>\n</div>"
    )


def _actions(post: Post, words: dict, *, full: bool, live: bool, no_report: bool) -> str:
    pk = int(post.pk)
    parts = []
    if not full:
        count = getattr(post, "comment_count", 0) or 0
        label = ngettext("%(counter)s comment", "%(counter)s comments", count) % {
            "counter": _number(count)
        }
        url = _e(path_for("feeds:post", pk))
        parts.append(f'<a href="{url}#comments" data-comment-count>{label}</a>')
    this_post = f'<span class="visually-hidden"> {words["this_post"]}</span>'
    owner_links = [
        f'<a href="{_e(path_for("feeds:post_edit", pk))}">{words["edit"]}{this_post}</a>'
    ]
    if not full:
        delete_url = _e(path_for("feeds:post_delete", pk))
        owner_links.append(f'<a href="{delete_url}">{words["delete"]}{this_post}</a>')
    can_edit = getattr(post, "can_edit", False)
    if can_edit:
        parts.extend(owner_links)
    elif live:  # rendered once for everyone: the page shows these to the author only
        links = "\n          ".join(owner_links)
        parts.append(
            f'<span data-live-owner="{int(post.author_id)}" hidden>\n          {links}\n'
            "        </span>"
        )
    if not can_edit and not no_report:
        report_url = _e(path_for("feeds:post_report", pk))
        parts.append(
            f'<a href="{report_url}" class="post-card__report" data-report-link>'
            f"{words['report']}{this_post}</a>"
        )
    return "\n      ".join(parts)


# --- the card -------------------------------------------------------------------------------


def reactions(post: Post, *, back_to: str, csrf_token: str = "", live: bool = False) -> SafeString:
    """The reaction toggle buttons of `post` (`post.reaction_counts`: kind, label, count,
    mine); each form comes back to `back_to`. Without `csrf_token` (live) the script adds it."""
    html = _reactions(post, _words(), back_to=back_to, csrf_token=csrf_token, live=live)
    return SafeString(html)


def post_card(
    post: Post,
    *,
    back_to: str = "",
    csrf_token: str = "",
    heading_level: int = 3,
    full: bool = False,
    live: bool = False,
    no_report: bool = False,
) -> SafeString:
    """The card of `post` (see the module's docstring); reaction forms come back to
    `back_to` (the page it is shown on)."""
    words = _words()
    pk = int(post.pk)
    author = post.author
    profile = author.profile
    level = int(heading_level or 3)
    meta = []
    if profile.job_title:
        meta.append(f"<span>{_e(profile.job_title)}</span>")
    if profile.agency:
        meta.append(f"<span>{_e(profile.agency.short_name or profile.agency.name)}</span>")
    meta_html = "\n        ".join(meta)
    created = _datetime(post.created)
    when = created if full else _e(naturaltime(post.created))
    iso = _e(date_format_string(template_localtime(post.created), "c"))
    edited = (
        f'<span class="post-card__edited" title="{_datetime(post.edited)}">{words["edited"]}</span>'
        if post.edited
        else ""
    )
    url = _e(path_for("feeds:post", pk))
    profile_url = _e(path_for("profiles:detail", author.username))
    name = _e(profile.display_name or author.username)
    announcement = " post-card--announcement" if post.is_announcement else ""
    reactions_html = _reactions(post, words, back_to=back_to, csrf_token=csrf_token, live=live)
    return SafeString(
        f'<article class="post-card{announcement}" id="post-{pk}" '
        f'aria-labelledby="post-{pk}-author">\n'
        '  <header class="post-card__header">\n'
        f"    {avatar(profile, author.username)}\n"
        '    <div class="post-card__byline">\n'
        f'      <h{level} class="post-card__author" id="post-{pk}-author">'
        f'<a href="{profile_url}">{name}</a></h{level}>\n'
        f'      <p class="post-card__meta">\n        {meta_html}\n      </p>\n'
        '      <p class="post-card__meta">\n'
        f'        <a href="{url}" class="post-card__time"><time datetime="{iso}" '
        f'title="{created}">{when}</time></a>\n'
        f"        {edited}\n"
        "      </p>\n"
        "    </div>\n"
        f'    <p class="post-card__badges">\n      {_badges(post, words)}\n    </p>\n'
        "  </header>\n\n"
        # body_html was sanitised when the post was saved (feeds.rendering: nh3 allowlist)
        f'  <div class="post-card__body prose">{post.body_html}</div>\n\n'
        f"  {_attachments(post)}\n\n"
        '  <footer class="post-card__footer">\n'
        f"    {reactions_html}\n"
        '    <p class="post-card__actions">\n'
        f"      {_actions(post, words, full=full, live=live, no_report=no_report)}\n"
        "    </p>\n"
        "  </footer>\n"
        "</article>"
    )
