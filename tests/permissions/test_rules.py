"""The permission rules, one situation at a time, through every form of the module."""

from itertools import product

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.auth.models import Group as AuthGroup
from django.utils import timezone

import permissions
from feeds import selectors
from feeds.models import Post, Report
from groups.actions import join_group, leave_group
from groups.models import Group, Invitation, Membership
from tests.factories import (
    AgencyFactory,
    GroupFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_explicit(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False


def sees(user, post) -> bool:
    """The three forms must agree; return their common answer."""
    post = Post.objects.get(pk=post.pk)
    in_queryset = permissions.visible_posts(user).filter(pk=post.pk).exists()
    one = permissions.can_view_post(user, post)
    in_audience = (
        user.is_authenticated and permissions.post_audience(post).filter(pk=user.pk).exists()
    )
    assert in_queryset == one == in_audience, (in_queryset, one, in_audience)
    return one


def group_post(group, author=None):
    author = author or UserFactory()
    return PostFactory(author=author, audience=Post.Audience.GROUP, group=group)


def test_agency_post_is_for_its_agency_only(user, other_user, outsider):
    """An agency post is seen by its agency, not by another agency nor by people without one."""
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    no_agency = UserFactory(profile__agency=None)
    assert sees(user, post)
    assert sees(other_user, post)
    assert not sees(outsider, post)
    assert not sees(no_agency, post)


def test_everyone_post_is_seen_by_all_staff_but_not_anonymous(user, outsider):
    """An everyone post reaches every active member of staff, with or without agency."""
    post = PostFactory(author=user)
    assert sees(outsider, post)
    assert sees(UserFactory(profile__agency=None), post)
    assert not sees(AnonymousUser(), post)


@pytest.mark.parametrize("kind", [Group.Kind.PRIVATE, Group.Kind.SECRET])
def test_closed_group_posts_follow_membership(kind, user):
    """Private and secret group posts are for members: visible after joining, not after
    leaving."""
    group = GroupFactory(kind=kind)
    MembershipFactory(group=group, user=UserFactory(), role=Membership.Role.OWNER)
    post = group_post(group)
    assert not sees(user, post)
    Invitation.objects.create(group=group, invitee=user)
    assert not sees(user, post), "an invitation alone does not open the content"
    join_group(group=group, user=user)
    assert sees(user, post)
    leave_group(group=group, user=user)
    assert not sees(user, post)


def test_open_group_posts_are_seen_by_everyone(user, outsider):
    """An open group's posts are readable by all staff, members or not."""
    group = GroupFactory(kind=Group.Kind.OPEN)
    post = group_post(group)
    assert sees(user, post)
    assert sees(outsider, post)


def test_deleted_posts_are_seen_by_nobody(user):
    """A deleted post is invisible to everyone, its author and site staff included."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    post = PostFactory(author=user, deleted=timezone.now())
    assert not sees(user, post)
    assert not sees(admin, post)
    assert selectors.post_get(viewer=user, post_id=post.pk) is None


def test_deactivated_users_see_nothing(user):
    """A leaver sees no post, no group and no profile, even their own."""
    group = GroupFactory(kind=Group.Kind.OPEN)
    MembershipFactory(group=group, user=user)
    posts = [
        PostFactory(author=user),
        PostFactory(author=user, audience=Post.Audience.AGENCY),
        group_post(group, author=user),
    ]
    user.is_active = False
    user.save()
    for post in posts:
        assert not sees(user, post)
    assert not permissions.visible_groups(user).exists()
    assert not permissions.can_view_group(user, group)
    assert not permissions.can_view_profiles(user)
    assert not permissions.is_member(user, group)


def test_secret_group_is_known_to_members_and_invitees_only(user, other_user, outsider):
    """Outsiders cannot know a secret group exists; members and invitees can."""
    group = GroupFactory(kind=Group.Kind.SECRET)
    MembershipFactory(group=group, user=user)
    Invitation.objects.create(group=group, invitee=other_user)
    for person, expected in [(user, True), (other_user, True), (outsider, False)]:
        assert permissions.can_view_group(person, group) is expected
        assert permissions.visible_groups(person).filter(pk=group.pk).exists() is expected
    # A declined invitation closes it again.
    Invitation.objects.filter(invitee=other_user).update(status=Invitation.Status.DECLINED)
    assert not permissions.can_view_group(other_user, group)


def test_private_group_is_listed_for_everyone(outsider):
    """A private group's existence is public; its content is not."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    assert permissions.can_view_group(outsider, group)
    assert not permissions.can_read_group_content(outsider, group)


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Membership.Role.OWNER, True), (Membership.Role.ADMIN, True), (Membership.Role.MEMBER, False)],
)
def test_group_managers_moderate_their_group_posts(role, expected, user):
    """Owners and admins moderate posts in their group; plain members do not."""
    group = GroupFactory(kind=Group.Kind.PRIVATE)
    MembershipFactory(group=group, user=user, role=role)
    post = group_post(group)
    MembershipFactory(group=group, user=post.author)
    assert permissions.can_moderate_post(user, post) is expected
    assert permissions.can_delete_post(user, post) is expected


def test_site_staff_moderate_what_they_can_see(user):
    """Site staff moderate any post they can see, but not one hidden from them."""
    staff = UserFactory(is_staff=True)
    post = PostFactory(author=user)
    assert permissions.can_moderate_post(staff, post)
    secret = GroupFactory(kind=Group.Kind.SECRET)
    hidden = group_post(secret)
    assert not permissions.can_moderate_post(staff, hidden)


def test_a_group_admin_does_not_moderate_outside_their_group(user):
    """Managing one group gives no rights over posts elsewhere."""
    group = GroupFactory()
    MembershipFactory(group=group, user=user, role=Membership.Role.OWNER)
    assert not permissions.can_moderate_post(user, PostFactory())
    assert not permissions.can_moderate_post(user, group_post(GroupFactory()))


def test_only_the_author_edits(user, other_user):
    """Editing is the author's alone; moderators may delete, not edit."""
    staff = UserFactory(is_staff=True)
    post = PostFactory(author=user)
    assert permissions.can_edit_post(user, post)
    assert not permissions.can_edit_post(other_user, post)
    assert not permissions.can_edit_post(staff, post)
    assert permissions.can_delete_post(staff, post)
    assert not permissions.can_delete_post(other_user, post)


def test_agency_post_stays_with_the_agency_it_was_written_in(user, other_user):
    """An author who moves agency leaves their old agency posts with the old agency."""
    old_agency = user.profile.agency
    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    new_agency = AgencyFactory()
    new_colleague = UserFactory(profile__agency=new_agency)
    user.profile.agency = new_agency
    user.profile.save()
    assert post.agency == old_agency
    assert sees(other_user, post), "the old colleagues still see it"
    assert not sees(new_colleague, post), "the new agency does not"
    # A new agency post goes to the new agency.
    new_post = PostFactory(author=user, audience=Post.Audience.AGENCY, agency=new_agency)
    assert sees(new_colleague, new_post)
    assert not sees(other_user, new_post)


def test_announcements_need_site_staff(user):
    """Only active site staff publish announcements."""
    staff = UserFactory(is_staff=True)
    assert permissions.can_publish_announcement(staff)
    assert not permissions.can_publish_announcement(user)
    staff.is_active = False
    assert not permissions.can_publish_announcement(staff)
    assert not permissions.can_publish_announcement(AnonymousUser())


def test_who_may_invite(user, other_user):
    """Any member invites to an open group; only managers to a private or secret one."""
    for kind, member_may in [
        (Group.Kind.OPEN, True),
        (Group.Kind.PRIVATE, False),
        (Group.Kind.SECRET, False),
    ]:
        group = GroupFactory(kind=kind)
        MembershipFactory(group=group, user=user, role=Membership.Role.ADMIN)
        MembershipFactory(group=group, user=other_user)
        assert permissions.can_invite(user, group)
        assert permissions.can_invite(other_user, group) is member_may
        assert not permissions.can_invite(UserFactory(), group)


def test_comments_and_attachments_follow_their_post(user, outsider):
    """A comment or attachment is visible exactly when its post is."""
    from feeds.models import Attachment, Comment

    post = PostFactory(author=user, audience=Post.Audience.AGENCY)
    comment = Comment.objects.create(post=post, author=user, body="hi", body_html="<p>hi</p>")
    attachment = Attachment.objects.create(
        post=post, file="attachments/x.txt", kind="document", content_type="text/plain", size=1,
        original_name="x.txt",
    )  # fmt: skip
    assert permissions.can_view_comment(user, comment)
    assert permissions.can_view_attachment(user, attachment)
    assert not permissions.can_view_comment(outsider, comment)
    assert not permissions.can_view_attachment(outsider, attachment)
    assert not permissions.visible_comments(outsider).exists()
    assert selectors.attachment_get(viewer=outsider, attachment_id=attachment.pk) is None
    assert selectors.attachment_get(viewer=user, attachment_id=attachment.pk) == attachment


def test_report_moderators_are_whom_the_admin_lets_resolve_reports(rf):
    """Every mix of active, site staff, superuser and the permission (none, view only,
    change directly, change through a group): `report_moderators()` is exactly the people
    `can_moderate_reports` accepts, who are exactly those Django's admin lets change a
    report."""
    change = Permission.objects.get(codename="change_report")
    view = Permission.objects.get(codename="view_report")
    handlers = AuthGroup.objects.create(name="Report handlers")
    handlers.permissions.add(change)
    people = []
    for active, staff, superuser, grant in product(
        (True, False), (True, False), (True, False), ("none", "view", "direct", "group")
    ):
        person = UserFactory(is_active=active, is_staff=staff, is_superuser=superuser)
        if grant == "view":
            person.user_permissions.add(view)
        elif grant == "direct":
            person.user_permissions.add(change)
        elif grant == "group":
            person.groups.add(handlers)
        people.append(person)

    report_admin = admin.site._registry[Report]
    expected = set()
    for person in people:
        request = rf.get("/admin/feeds/report/")
        request.user = type(person).objects.get(pk=person.pk)  # no cached permissions
        admin_lets_in = admin.site.has_permission(request)
        admin_lets_change = admin_lets_in and report_admin.has_change_permission(request)
        assert permissions.can_moderate_reports(request.user) is admin_lets_change, person
        if admin_lets_change:
            expected.add(person.pk)
    in_queryset = set(permissions.report_moderators().values_list("pk", flat=True))
    assert in_queryset == expected
    assert len(expected) == 6  # active staff: superusers (4 grants), direct, group
    assert not permissions.can_moderate_reports(AnonymousUser())
