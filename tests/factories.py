"""factory_boy factories for the whole project's tests."""

import factory
from django.contrib.auth import get_user_model

from feeds.models import Comment, Post
from feeds.rendering import render
from groups.models import Group, Membership
from profiles.models import Agency, Department, Profile

PASSWORD = "correct horse battery staple"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Agency {n}")
    short_name = factory.Sequence(lambda n: f"AG{n}")
    slug = factory.Sequence(lambda n: f"agency-{n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)
    is_active = True

    @factory.post_generation
    def profile(obj, create, extracted, **kwargs):  # noqa: N805
        if not create:
            return
        obj.save()
        agency = kwargs.pop("agency", None) if "agency" in kwargs else AgencyFactory()
        Profile.objects.create(
            user=obj,
            display_name=kwargs.pop("display_name", obj.username.title()),
            agency=agency,
            **kwargs,
        )


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Working group {n}")
    slug = factory.Sequence(lambda n: f"working-group-{n}")
    kind = Group.Kind.OPEN


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class PostFactory(factory.django.DjangoModelFactory):
    """A post row written directly (no action): for worlds built by tests."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Post number {n}")
    body_html = factory.LazyAttribute(lambda p: render(p.body).html)
    audience = Post.Audience.EVERYONE
    agency = factory.LazyAttribute(lambda p: p.author.profile.agency)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment {n}")
    body_html = factory.LazyAttribute(lambda c: render(c.body).html)
