"""Demo data for trying Agora: agencies, ~200 staff, follows, ~20 groups, ~2,000 posts.

Idempotent: a second run finds the demo data and only prints the sign-in details. Content is
written through the same actions as the web UI and API (so it obeys the same rules), then
spread over the last two months.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from feeds import actions as feed_actions
from feeds.models import Comment, Post, Reaction
from groups import actions as group_actions
from groups.models import Group, Membership
from profiles import actions as profile_actions
from profiles.models import Agency, Department, Follow

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "agora-demo"  # noqa: S105  (a published demo login, embedded default only)
EDITOR_USERNAME = "editor"

AGENCIES = {
    ("Ministry of Finance", "MoF"): {
        "Budget Directorate": ["Spending Review", "Forecasting"],
        "Tax Policy": ["Indirect Taxes", "Tax Administration"],
        "Procurement Office": [],
    },
    ("Department of Health", "DoH"): {
        "Public Health": ["Vaccination Programme", "Health Data"],
        "Hospitals Division": [],
        "Digital Health": ["Patient Records"],
    },
    ("Environment Agency", "EA"): {
        "Climate Adaptation": ["Flood Risk"],
        "Air Quality": [],
        "Permits and Inspections": [],
    },
    ("Government Digital Service", "GDS"): {
        "Platforms": ["Identity", "Notify"],
        "Design and Accessibility": [],
        "Data Office": ["Open Data"],
    },
    ("National Statistics Office", "NSO"): {
        "Census": [],
        "Economic Statistics": ["Prices"],
        "Methodology": [],
    },
}
FIRST = (
    "Ana Ben Chloé David Elif Farid Greta Hugo Inès Jonas Karin Léa Malik Nora Omar Paula "
    "Quentin Rosa Sami Tara Ugo Vera Wim Xenia Yusuf Zoé Aino Bruno Carla Dmitri Emma Felix "
    "Giulia Hana Ivan Julia Kofi Lina Marco Nadia"
).split()
LAST = (
    "Martin Novak Dubois Costa Jensen Rossi Schmidt Moreau Haddad Lindqvist Kowalski Nagy "
    "Fischer Laurent Silva Okafor Petrov Romero Tanaka Virtanen Weber Yilmaz Zeller Bernard "
    "Ferreira Horvat Janssen Keller Leroy Mendes"
).split()
TITLES = (
    "Policy Adviser", "Senior Analyst", "Data Scientist", "Service Designer", "Head of Unit",
    "Procurement Officer", "Programme Manager", "Statistician", "Inspector", "Legal Adviser",
    "Developer", "User Researcher", "Communications Officer", "Economist", "Project Officer",
)  # fmt: skip
EXPERTISE = (
    "procurement", "open data", "accessibility", "GDPR", "cloud", "Python", "statistics",
    "user research", "budgeting", "EU funding", "flood modelling", "public health",
    "change management", "legal drafting", "cyber security", "translation", "GIS",
)  # fmt: skip
LOCATIONS = ("Brussels", "Luxembourg", "Strasbourg", "Lyon", "Ghent", "Liège", "Remote")
TAGS = (
    "procurement", "opendata", "accessibility", "budget2027", "cloud", "gdpr", "hiring",
    "remotework", "santé", "climate", "census", "ai", "lessonslearned", "training", "security",
)  # fmt: skip
TOPICS = (
    "Has anyone run a {tag} pilot with a small supplier? We need lessons learned before the "
    "tender goes out next month.",
    "We published our **{tag}** checklist for the whole department. Feedback welcome, "
    "especially from other agencies.",
    "Quick question on #{tag}: which template do you use for the impact assessment?",
    "Summary of today's workshop:\n\n- what worked: early user research\n- what didn't: "
    "late legal review\n- next: a shared register of suppliers",
    "Nous cherchons des retours sur le projet #{tag}. Qui a déjà travaillé avec l'équipe "
    "juridique sur ce sujet ?",
    "Reminder: the {tag} community call is on Thursday. Agenda in the group, add your topics.",
    "Three things I learned migrating a legacy service to the cloud: start with the data, "
    "involve security early, and budget for training.",
    "Our team is hiring a data engineer. Internal mobility welcome. DM me for details.",
    "Great result from the accessibility audit: 42 issues fixed, two left. Thanks to "
    "everyone who tested with screen readers.",
    "Does anyone have a plain-language guide to GDPR retention periods for case files?",
)
COMMENTS = (
    "Thanks for sharing, very useful.",
    "We did something similar last year, happy to talk.",
    "Could you share the template?",
    "+1, we have the same problem in our directorate.",
    "Merci, c'est exactement ce qu'il nous fallait.",
    "I'll forward this to our procurement team.",
    "Interesting. What was the timeline?",
)
GROUPS = [
    ("Open Data Network", Group.Kind.OPEN, "Publishing and reusing government data."),
    ("Accessibility Champions", Group.Kind.OPEN, "Making every service usable by everyone."),
    ("Procurement Practitioners", Group.Kind.OPEN, "Tenders, suppliers and contract tips."),
    ("Cloud Migration Community", Group.Kind.OPEN, "Moving services to the cloud, safely."),
    ("Plain Language", Group.Kind.OPEN, "Writing so that citizens understand."),
    ("Communauté francophone", Group.Kind.OPEN, "Échanges entre collègues francophones."),
    ("New Starters", Group.Kind.OPEN, "Welcome! Ask anything about working here."),
    ("Remote Work Tips", Group.Kind.OPEN, "Working well from anywhere."),
    ("Budget 2027 Preparation", Group.Kind.PRIVATE, "Cross-agency budget planning."),
    ("GDPR Officers", Group.Kind.PRIVATE, "Data protection officers of every agency."),
    ("Heads of Unit Forum", Group.Kind.PRIVATE, "Management peer support."),
    ("Census 2031 Planning", Group.Kind.PRIVATE, "Preparing the next census."),
    ("AI in Government Working Group", Group.Kind.PRIVATE, "Responsible use of AI."),
    ("Climate Adaptation Taskforce", Group.Kind.PRIVATE, "Floods, heat and resilience."),
    ("Health Data Platform", Group.Kind.PRIVATE, "The shared health data platform project."),
    ("Security Incident Response", Group.Kind.SECRET, "Coordinating incident response."),
    ("Reorganisation Steering", Group.Kind.SECRET, "Planning the 2027 reorganisation."),
    ("Tax Fraud Investigations", Group.Kind.SECRET, "Confidential case coordination."),
    ("Ministerial Briefings", Group.Kind.SECRET, "Preparing briefings for ministers."),
    ("Union Negotiations", Group.Kind.SECRET, "Management side of the negotiations."),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print a demo sign-in."

    def add_arguments(self, parser):
        parser.add_argument("--staff", type=int, default=200)
        parser.add_argument("--posts", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, staff: int, posts: int, seed: int, **options):
        if staff < 12:
            raise CommandError("--staff must be at least 12.")
        User = get_user_model()
        if User.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write("Demo data is already loaded.")
            with transaction.atomic():  # a database seeded before the intranet existed
                self._intranet()
        else:
            rng = random.Random(seed)
            with transaction.atomic():
                self._seed(rng, staff=staff, posts=posts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Sign in at http://127.0.0.1:8000/ as {DEMO_USERNAME} / {DEMO_PASSWORD} "
                f"(staff editor and admin: {EDITOR_USERNAME} / {DEMO_PASSWORD})"
            )
        )

    def _seed(self, rng: random.Random, *, staff: int, posts: int) -> None:
        departments = self._agencies()
        users = self._staff(rng, departments, count=staff)
        self.stdout.write(f"  {len(users)} staff in {Agency.objects.count()} agencies")
        self._follows(rng, users)
        groups = self._groups(rng, users)
        self.stdout.write(f"  {Follow.objects.count()} follows, {len(groups)} groups")
        self._posts(rng, users, groups, count=posts)
        self.stdout.write(
            f"  {Post.objects.count()} posts, {Comment.objects.count()} comments, "
            f"{Reaction.objects.count()} reactions"
        )
        self._intranet()

    def _agencies(self) -> list[Department]:
        leaves = []
        for (name, short), units in AGENCIES.items():
            agency, _ = Agency.objects.get_or_create(
                slug=short.lower(), defaults={"name": name, "short_name": short}
            )
            for unit, teams in units.items():
                parent, _ = Department.objects.get_or_create(agency=agency, parent=None, name=unit)
                leaves.append(parent)
                for team in teams:
                    child, _ = Department.objects.get_or_create(
                        agency=agency, parent=parent, name=team
                    )
                    leaves.append(child)
        return leaves

    def _staff(self, rng: random.Random, departments: list[Department], *, count: int):
        users = []
        names = [(f, last) for f in FIRST for last in LAST]
        rng.shuffle(names)
        for i in range(count):
            if i == 0:
                username, display = DEMO_USERNAME, "Demo Colleague"
            elif i == 1:
                username, display = EDITOR_USERNAME, "Eda Editor"
            else:
                first, last = names[i]
                username = f"{first}.{last}".lower()
                display = f"{first} {last}"
            department = departments[i % len(departments)] if i > 1 else departments[0]
            profile = profile_actions.create_staff_member(
                username=username,
                display_name=display,
                email=f"{username}@example.gov",
                password=DEMO_PASSWORD if i < 2 else None,
                agency=department.agency,
                department=department,
                job_title=rng.choice(TITLES),
                location=rng.choice(LOCATIONS),
                languages=rng.choice(["English", "English, French", "French, Dutch", "German"]),
                bio="Working on better public services.",
                expertise=rng.sample(EXPERTISE, k=rng.randint(1, 4)),
            )
            if i >= 2:
                profile.user.set_unusable_password()
                profile.user.save(update_fields=["password"])
            users.append(profile.user)
        editor = users[1]
        editor.is_staff = editor.is_superuser = True
        editor.save(update_fields=["is_staff", "is_superuser"])
        return users

    def _follows(self, rng: random.Random, users) -> None:
        popular = users[2:12]  # a few widely followed people
        edges = set()
        for user in users:
            for other in rng.sample(users, k=min(len(users), rng.randint(3, 15))) + popular:
                if other.pk != user.pk and rng.random() < 0.8:
                    edges.add((user.pk, other.pk))
        Follow.objects.bulk_create(
            [Follow(follower_id=a, followee_id=b) for a, b in sorted(edges)],
            ignore_conflicts=True,
        )

    def _groups(self, rng: random.Random, users):
        demo = users[0]
        groups = []
        for i, (name, kind, description) in enumerate(GROUPS):
            owner = users[2 + i % (len(users) - 2)]
            group = group_actions.create_group(
                creator=owner, name=name, description=description, kind=kind
            )
            members = rng.sample(users[2:], k=min(len(users) - 2, rng.randint(5, 40)))
            Membership.objects.bulk_create(
                [Membership(group=group, user=u) for u in members if u.pk != owner.pk],
                ignore_conflicts=True,
            )
            # The demo colleague sees every kind from the inside, and one secret group not at all.
            if i % 3 == 0 or name == "Security Incident Response":
                Membership.objects.get_or_create(group=group, user=demo)
            if name == "Union Negotiations":
                group_actions.invite(group=group, inviter=owner, invitee=demo)
            groups.append(group)
        return groups

    def _posts(self, rng: random.Random, users, groups, *, count: int) -> None:
        members_of = {
            g.pk: list(Membership.objects.filter(group=g).values_list("user_id", flat=True))
            for g in groups
        }
        by_id = {u.pk: u for u in users}
        created = []
        for n in range(count):
            roll = rng.random()
            group = None
            if roll < 0.35:
                group = rng.choice(groups)
                author = by_id[rng.choice(members_of[group.pk])]
                audience = Post.Audience.GROUP
            else:
                author = rng.choice(users)
                audience = Post.Audience.AGENCY if roll < 0.5 else Post.Audience.EVERYONE
            tag = rng.choice(TAGS)
            body = rng.choice(TOPICS).format(tag=tag)
            if rng.random() < 0.3:
                body += f" #{rng.choice(TAGS)}"
            if rng.random() < 0.25:
                body += f" cc @{rng.choice(users).username}"
            post = feed_actions.create_post(
                author=author,
                body=body,
                audience=audience,
                group=group,
                is_announcement=(author.is_staff and n % 50 == 0 and group is None),
            )
            created.append(post)
            readers = members_of[group.pk] if group and not group.is_open else None
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                commenter = by_id[rng.choice(readers)] if readers else rng.choice(users)
                if audience == Post.Audience.AGENCY and not readers:
                    same = [u for u in users[:60] if u.profile.agency_id == post.agency_id]
                    commenter = rng.choice(same or [author])
                feed_actions.add_comment(post=post, author=commenter, body=rng.choice(COMMENTS))
        self._reactions(rng, created, users, members_of)
        self._spread_in_time(created)

    def _reactions(self, rng: random.Random, posts, users, members_of) -> None:
        rows = []
        kinds = list(Reaction.Kind.values)
        for post in posts:
            pool = members_of[post.group_id] if post.group_id else [u.pk for u in users]
            if post.audience == Post.Audience.AGENCY:
                pool = [u.pk for u in users if u.profile.agency_id == post.agency_id]
            chosen = rng.sample(pool, k=min(len(pool), rng.choice([0, 1, 2, 4, 8])))
            rows.extend(Reaction(post=post, user_id=uid, kind=rng.choice(kinds)) for uid in chosen)
        Reaction.objects.bulk_create(rows, ignore_conflicts=True)

    def _spread_in_time(self, posts) -> None:
        """Posts were all written now; spread them over 60 days, keeping time order = id order."""
        now = timezone.now()
        step = timedelta(days=60) / max(len(posts), 1)
        for i, post in enumerate(posts):
            post.created = now - (len(posts) - i) * step
        Post.objects.bulk_update(posts, ["created"], batch_size=500)
        comments = list(Comment.objects.select_related("post"))
        for comment in comments:
            later = comment.post.created + timedelta(minutes=5 + comment.pk % 300)
            comment.created = min(later, now)
        Comment.objects.bulk_update(comments, ["created"], batch_size=500)

    # --- the intranet: home, guides, agency pages, news (which announce themselves) ----------

    def _intranet(self) -> None:
        summary = seed_intranet()
        if summary:
            self.stdout.write(summary)


def seed_intranet() -> str | None:
    """The intranet's guides, a page per agency and news, published by `editor` (made a
    moderator): the demo's, and the browser tests' (tests/e2e/make_world.py). Idempotent:
    does nothing once any news article exists. Returns what it made, in a line."""
    from intranet.actions import grant_role
    from intranet.models import (
        GUIDELINES_SLUG,
        AgencyPage,
        IntranetHomePage,
        NewsArticle,
        StandardPage,
    )

    home = IntranetHomePage.objects.first()
    editor = get_user_model().objects.filter(username=EDITOR_USERNAME).first()
    if home is None or editor is None or NewsArticle.objects.exists():
        return None
    grant_role(user=editor, role="moderator")

    def publish(page):
        page.save_revision(user=editor).publish(user=editor)
        return page

    def add(parent, page):
        page.live = False
        page.owner = editor
        parent.add_child(instance=page)
        return publish(page)

    home.intro = (
        "<p>News from the agencies, the guides we work by, and who to ask. "
        "The conversation happens in the feed; the reference lives here.</p>"
    )
    publish(home)
    for title, slug, body in INTRANET_GUIDES:
        add(home, StandardPage(title=title, slug=slug, body=body))
    open_groups = list(Group.objects.filter(kind=Group.Kind.OPEN).order_by("name"))
    for i, agency in enumerate(Agency.objects.order_by("name")):
        page = AgencyPage(
            title=agency.name,
            slug=agency.slug,
            agency=agency,
            about=f"<p>{agency.name} ({agency.short_name}) serves the public across the "
            "country. This page says who we are and whom to ask.</p>",
            contacts=[
                (
                    "contact",
                    {
                        "name": f"{agency.short_name} Helpdesk",
                        "role": "Questions",
                        "email": f"help@{agency.slug}.example.gov",
                        "phone": "",
                    },
                ),
            ],
        )
        page.groups.set(open_groups[i % len(open_groups) :][:2] if open_groups else [])
        add(home, page)
    agencies = {a.slug: a for a in Agency.objects.all()}
    for title, lead, body, agency_slug, tags in INTRANET_NEWS:
        article = NewsArticle(
            title=title, lead=lead, body=body, agency=agencies.get(agency_slug or "")
        )
        article.tags.add(*tags)
        add(home, article)
    return (
        f"  intranet: {NewsArticle.objects.count()} news articles, guidelines at "
        f"/intranet/{GUIDELINES_SLUG}/"
    )


INTRANET_GUIDES = [
    (
        "Community guidelines",
        "community-guidelines",
        "<h2>Be respectful</h2><p>Disagree with ideas, never with people. Assume good faith.</p>"
        "<h2>Share nothing classified or personal</h2><p>Agora is for work in the open: no "
        "classified material, no personal data of citizens or colleagues.</p>"
        "<h2>Report what is wrong</h2><p>If a post breaks these rules, tell a moderator or "
        "the group's admins.</p>",
    ),
    (
        "How we work",
        "how-we-work",
        "<p>We work in the open by default, write things down, and ask early.</p>"
        "<ul><li>Post questions where others can find the answers.</li>"
        "<li>Use groups for projects, and announcements for what everyone must know.</li></ul>",
    ),
    (
        "Help: using Agora",
        "help",
        "<p>Follow colleagues, join groups, and choose how you hear about things on the "
        "<b>Notifications</b> page.</p>",
    ),
]
INTRANET_NEWS = [
    (
        "Welcome to the new staff network",
        "Agora brings our conversations, groups and the intranet together in one place.",
        "<p>From today, news, guides and your colleagues' posts live side by side. "
        "Start by reading the <b>community guidelines</b>.</p>",
        None,
        ["agora", "welcome"],
    ),
    (
        "Budget 2027: the timetable",
        "The spending review opens next month; here is what every directorate needs to do.",
        "<p>Directorates submit their first estimates by the end of the month.</p>"
        "<h2>Key dates</h2><ul><li>Estimates: end of month</li><li>Review: six weeks later</li>"
        "</ul>",
        "mof",
        ["budget2027"],
    ),
    (
        "Vaccination programme: autumn campaign",
        "The autumn campaign starts in two weeks; the teams involved have been told.",
        "<p>The campaign runs for eight weeks across all regions.</p>",
        "doh",
        ["santé"],
    ),
    (
        "Accessibility audit results",
        "42 issues fixed across our services, and two left to go.",
        "<p>Thanks to everyone who tested with screen readers.</p>",
        None,
        ["accessibility"],
    ),
]
