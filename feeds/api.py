"""The posts API: feeds, posts, comments, reactions.

Each view parses its input with a serializer, calls one action or selector, and serializes.
Every read goes through `feeds.selectors` (which start from `permissions.visible_posts`), so
a post the caller may not see answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from operator import itemgetter

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from groups import selectors as group_selectors
from intranet.api import (
    EnumField,
    ErrorDetailSerializer,
    QuerySerializer,
    RenderInViewMixin,
    StrictSerializer,
    absolute_url,
    datetime_writer,
    parse,
    parse_query,
)
from intranet.paths import url_maker
from profiles import selectors as profile_selectors
from profiles.api import PersonSerializer, person_data, person_values_data

from . import actions, idempotency, selectors
from .cursors import encode_cursor
from .idempotency import IdempotentRequest, Replay
from .models import Attachment, Comment, IdempotencyKey, Post, Reaction

# --- representations -------------------------------------------------------------------------


class PostGroupSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    kind = EnumField(Attachment.Kind.choices, enum_name="AttachmentKindEnum", read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="In bytes.")
    url = serializers.SerializerMethodField(help_text="Download (signed-in staff who may see it).")

    def get_url(self, attachment) -> str:
        return absolute_url(self.context.get("request"), attachment.get_absolute_url())


class ReactionsSerializer(serializers.Serializer):
    """Reaction counts by kind, and the kinds the caller reacted with."""

    reactions = serializers.SerializerMethodField()
    my_reactions = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.DictField(child=serializers.IntegerField(), help_text="Count by kind.")
    )
    def get_reactions(self, post: Post):
        return {kind: count for kind, _label, count, _mine in post.reaction_counts}

    @extend_schema_field(
        serializers.ListField(child=EnumField(Reaction.Kind.choices, enum_name="ReactionKindEnum"))
    )
    def get_my_reactions(self, post: Post):
        return [kind for kind, _label, _count, mine in post.reaction_counts if mine]


class PostSerializer(ReactionsSerializer):
    """A post as the caller may see it (reads `decorate_posts` data the selectors attach)."""

    id = serializers.IntegerField(read_only=True)
    cursor = serializers.SerializerMethodField(
        help_text="Pass as `before` for older posts, or as `since` for newer ones."
    )
    author = PersonSerializer(read_only=True)
    body = serializers.CharField(read_only=True, help_text="Markdown, as written.")
    body_html = serializers.CharField(read_only=True, help_text="Rendered and sanitised.")
    audience = EnumField(Post.Audience.choices, enum_name="AudienceEnum", read_only=True)
    group = PostGroupSerializer(read_only=True, allow_null=True)
    is_announcement = serializers.BooleanField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    edited = serializers.DateTimeField(read_only=True, allow_null=True)
    hashtags = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    comment_count = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The post's page.")

    field_order = (
        "id", "cursor", "author", "body", "body_html", "audience", "group", "is_announcement",
        "created", "edited", "hashtags", "attachments", "comment_count", "reactions",
        "my_reactions", "url",
    )  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        return {name: fields[name] for name in self.field_order}

    def to_representation(self, post: Post) -> dict:
        return post_data(post, self.context.get("request"))

    def get_cursor(self, post: Post) -> str:
        return encode_cursor(post.pk)

    def get_hashtags(self, post: Post) -> list[str]:
        return [tag.name for tag in post.hashtags.all()]

    def get_url(self, post: Post) -> str:
        return absolute_url(self.context.get("request"), post.get_absolute_url())


class PostDataContext:
    """What the posts of one answer share: the request, the URL templates (`url_maker`) and
    each author's data (a feed page shows the same people many times)."""

    def __init__(self, request):
        self.request = request
        self.post_path = url_maker("feeds:post")
        self.attachment_path = url_maker("feeds:attachment")
        self.profile_path = url_maker("profiles:detail", str)
        self.datetime = datetime_writer()
        self._authors: dict[int, dict] = {}  # by user id
        self._row_authors: dict[str, dict] = {}  # by user name (`author_of_row`)

    def author(self, user) -> dict:
        found = self._authors.get(user.pk)
        if found is None:
            found = self._authors[user.pk] = person_data(user, self.request, self.profile_path)
        return found

    def author_of_row(self, row: selectors.PostRow) -> dict:
        """`author` for the author of a `selectors.PostRow`."""
        found = self._row_authors.get(row.username)
        if found is None:
            if row.profile_id is None:  # as `as_profile` shows an account with no profile
                display_name, job_title, agency = row.username, "", None
            else:
                display_name, job_title = row.display_name, row.job_title
                agency = (row.agency_id, row.agency_slug, row.agency_name, row.agency_short_name)
                if row.agency_id is None:
                    agency = None
            found = self._row_authors[row.username] = person_values_data(
                username=row.username,
                display_name=display_name,
                agency=agency,
                job_title=job_title,
                request=self.request,
                profile_path=self.profile_path,
            )
        return found


def post_data(post: Post, request, context: PostDataContext | None = None) -> dict:
    """What PostSerializer's fields declare (they stay the schema), built directly: on a feed
    page DRF's per-field machinery took longer than reading the page (docs/BENCHMARKS.md,
    "Home feed"). tests/api/test_fast_data.py compares it with the declared fields' output.
    `context` is shared by the posts of one page."""
    if context is None:
        context = PostDataContext(request)
    counts = post.reaction_counts
    group = post.group
    return _post_values_data(
        context,
        id=post.pk,
        author=context.author(post.author),
        body=post.body,
        body_html=post.body_html,
        audience=post.audience,
        group=None if group is None else (group.slug, group.name),
        is_announcement=post.is_announcement,
        created=post.created,
        edited=post.edited,
        hashtags=[tag.name for tag in selectors.related_list(post, "hashtags")],
        attachments=[
            (a.pk, a.original_name, a.kind, a.content_type, a.size)
            for a in selectors.related_list(post, "attachments")
        ],
        comment_count=post.comment_count,
        reactions={kind: count for kind, _label, count, _mine in counts},
        my_reactions=[kind for kind, _label, _count, mine in counts if mine],
    )


_REACTION_KINDS = tuple(Reaction.Kind.values)


def post_row_data(row: selectors.PostRow, context: PostDataContext) -> dict:
    """`post_data` of a post read as a `selectors.PostRow` (no model instances)."""
    tally = row.reaction_tally or {}
    mine = (row.my_reaction_kinds or "").split(",")
    return _post_values_data(
        context,
        id=row.id,
        author=context.author_of_row(row),
        body=row.body,
        body_html=row.body_html,
        audience=row.audience,
        group=None if row.group_slug is None else (row.group_slug, row.group_name),
        is_announcement=row.is_announcement,
        created=row.created,
        edited=row.edited,
        hashtags=sorted(tag["name"] for tag in row.tag_rows or ()),
        attachments=[
            (a["id"], a["original_name"], a["kind"], a["content_type"], a["size"])
            for a in sorted(row.attachment_rows or (), key=itemgetter("id"))
        ],
        comment_count=row.comment_count,
        reactions={kind: tally.get(kind, 0) for kind in _REACTION_KINDS},
        my_reactions=[kind for kind in _REACTION_KINDS if kind in mine],
    )


def _post_values_data(
    context: PostDataContext,
    *,
    id: int,  # noqa: A002  (the field's name)
    author: dict,
    body: str,
    body_html: str,
    audience: str,
    group: tuple[str, str] | None,
    is_announcement: bool,
    created,
    edited,
    hashtags: list[str],
    attachments: list[tuple],
    comment_count: int,
    reactions: dict[str, int],
    my_reactions: list[str],
) -> dict:
    """A post's representation from plain values; `group`: (slug, name); `attachments`:
    (id, name, kind, content type, size) each."""
    request, attachment_path, write_datetime = (
        context.request,
        context.attachment_path,
        context.datetime,
    )
    return {
        "id": id,
        "cursor": encode_cursor(id),
        "author": author,
        "body": body,
        "body_html": body_html,
        "audience": audience,
        "group": None if group is None else {"slug": group[0], "name": group[1]},
        "is_announcement": is_announcement,
        "created": write_datetime(created),
        "edited": None if edited is None else write_datetime(edited),
        "hashtags": hashtags,
        "attachments": [
            {
                "id": pk,
                "name": name,
                "kind": kind,
                "content_type": content_type,
                "size": size,
                "url": absolute_url(request, attachment_path(pk)),
            }
            for pk, name, kind, content_type, size in attachments
        ],
        "comment_count": comment_count,
        "reactions": reactions,
        "my_reactions": my_reactions,
        "url": absolute_url(request, context.post_path(id)),
    }


class FeedPageSerializer(serializers.Serializer):
    results = PostSerializer(source="items", many=True, read_only=True)
    next = serializers.CharField(
        source="next_cursor",
        read_only=True,
        allow_null=True,
        help_text="Pass as `before` for the next (older) page; null at the end.",
    )
    newest = serializers.CharField(
        source="newest_cursor",
        read_only=True,
        allow_null=True,
        help_text="Pass as `since` to read what was posted after this page.",
    )
    has_more = serializers.BooleanField(read_only=True)


def feed_rows_data(page: selectors.FeedPage, request) -> dict:
    """`FeedPageSerializer(page).data` for a page of `selectors.PostRow`s (a feed read with
    `as_rows`), built directly (instantiating the serializer copies the whole tree of declared
    fields on every request); tests/api/test_fast_data.py compares them."""
    context = PostDataContext(request)
    return {
        "results": [post_row_data(row, context) for row in page.items],
        "next": page.next_cursor,
        "newest": page.newest_cursor,
        "has_more": bool(page.has_more),
    }


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    post = serializers.IntegerField(source="post_id", read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    author = PersonSerializer(read_only=True)
    body = serializers.CharField(read_only=True)
    body_html = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    edited = serializers.DateTimeField(read_only=True, allow_null=True)


class CommentSerializer(ReplySerializer):
    replies = ReplySerializer(source="thread_replies", many=True, read_only=True)


# --- inputs ----------------------------------------------------------------------------------


class FeedQuerySerializer(QuerySerializer):
    before = serializers.CharField(
        required=False, allow_blank=True, help_text="A `next` cursor: read older posts."
    )
    since = serializers.CharField(
        required=False, allow_blank=True, help_text="A `newest` cursor: read newer posts."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=selectors.MAX_PAGE_SIZE, help_text="Page size."
    )

    def validate(self, attrs):
        if attrs.get("before") and attrs.get("since"):
            raise serializers.ValidationError("Pass either `before` or `since`, not both.")
        return attrs


class PostCreateSerializer(StrictSerializer):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Markdown, at most 5,000 characters."
    )
    audience = EnumField(
        Post.Audience.choices,
        enum_name="AudienceEnum",
        required=False,
        help_text="Defaults to `group` when a group is named, else `everyone`.",
    )
    group = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="The group's slug."
    )
    is_announcement = serializers.BooleanField(required=False, default=False)
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="Files (multipart requests only).",
    )


class PostEditSerializer(StrictSerializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class CommentCreateSerializer(StrictSerializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    parent = serializers.IntegerField(
        required=False, allow_null=True, help_text="The comment this replies to."
    )


class ReactionInputSerializer(StrictSerializer):
    kind = EnumField(Reaction.Kind.choices, enum_name="ReactionKindEnum")


class ReactionQuerySerializer(QuerySerializer):
    kind = EnumField(Reaction.Kind.choices, enum_name="ReactionKindEnum")


# --- writing once (Idempotency-Key) -----------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.KEY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: the same key sent again (after a timeout, say) writes nothing "
        "new and answers 201 with what the first request wrote, as it is now (404 if it has "
        "been deleted since or is no longer yours to see), with `Idempotent-Replayed: true`. "
        "Choose a new key (a UUID) for each new post or comment; keys are per person, at "
        "most 255 printable ASCII characters (else a 400), compared exactly, and remembered "
        "for a day. The same key with another input or endpoint is a 422; while its first "
        "request is still being written, a 409."
    ),
)
REPLAYED = OpenApiParameter(
    idempotency.REPLAYED_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    response=[201],
    description="`true` when the answer is that of an earlier request with the same key "
    "(also on the 404 that says what it wrote is no longer shown).",
)
KEY_RESPONSES = {
    409: OpenApiResponse(
        ErrorDetailSerializer,
        description="The first request with this Idempotency-Key is still being written: "
        "try again after `Retry-After` seconds.",
    ),
    422: OpenApiResponse(
        ErrorDetailSerializer,
        description="This Idempotency-Key was used for a different request: use a new key.",
    ),
}


def _idempotency_key(request) -> str | None:
    """The request's Idempotency-Key, None without one; a malformed key is a 400 on the
    header's name (feeds.idempotency.parse_key)."""
    value = request.headers.get(idempotency.KEY_HEADER)
    return None if value is None else idempotency.parse_key(value)


def _replayed(data, *, status_code=status.HTTP_201_CREATED, **headers) -> Response:
    headers[idempotency.REPLAYED_HEADER] = "true"
    return Response(data, status=status_code, headers=headers)


def _replayed_gone() -> Response:
    """What the API answers for a post or comment it does not show (deleted since, or no
    longer the caller's to see): the 404 of any missing one, marked as a replay so that a
    client knows its earlier request did happen and must not be sent with a new key."""
    return _replayed(
        {"detail": exceptions.NotFound.default_detail}, status_code=status.HTTP_404_NOT_FOUND
    )


def _replayed_post(request, post_id: int) -> Response:
    """The answer to a post request sent again with its key: the post as GET shows it now,
    read through the selectors (so through the permission module), never from the key."""
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    if post is None:
        return _replayed_gone()
    location = absolute_url(request, reverse("api:post-detail", args=[post.pk]))
    return _replayed(PostSerializer(post, context={"request": request}).data, Location=location)


def _replayed_comment(request, post: Post, comment_id: int) -> Response:
    """The answer to a comment request sent again with its key: the comment as the post's
    comment list shows it now (a thread with its replies so far), else the 404."""
    comment = _comment_as_listed(request, post, comment_id)
    if comment is None:
        return _replayed_gone()
    return _replayed(CommentSerializer(comment, context={"request": request}).data)


def _comment_as_listed(request, post: Post, comment_id: int) -> Comment | None:
    for thread in selectors.comments_for_post(viewer=request.user, post=post):
        if thread.pk == comment_id:
            return thread
        for reply in thread.thread_replies:
            if reply.pk == comment_id:
                reply.thread_replies = []
                return reply
    return None


# --- helpers ---------------------------------------------------------------------------------


def _post_or_404(request, post_id: int) -> Post:
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    if post is None:
        raise Http404
    return post


def _post_response(request, post_id: int, *, status_code=status.HTTP_200_OK, **kwargs):
    post = _post_or_404(request, post_id)
    data = PostSerializer(post, context={"request": request}).data
    return Response(data, status=status_code, **kwargs)


# --- feeds -----------------------------------------------------------------------------------


class _FeedView(RenderInViewMixin, APIView):
    def feed(self, request, **page) -> selectors.FeedPage:
        """Read one page of `PostRow`s (`as_rows`); `page` holds `before`, `since`, `limit`
        and the URL's arguments."""
        raise NotImplementedError

    @extend_schema(parameters=[FeedQuerySerializer], responses=FeedPageSerializer)
    def get(self, request, **kwargs):
        query = parse_query(FeedQuerySerializer, request)
        page = self.feed(
            request,
            before=query.get("before") or None,
            since=query.get("since") or None,
            limit=query.get("limit"),
            **kwargs,
        )
        return Response(feed_rows_data(page, request))


class HomeFeedView(_FeedView):
    """Your posts, people you follow, your groups and announcements, newest first."""

    def feed(self, request, **page):
        return selectors.posts_for_home(viewer=request.user, as_rows=True, **page)


class GroupFeedView(_FeedView):
    """A group's posts (none for outsiders of a private group)."""

    def feed(self, request, *, slug: str, **page):
        group = group_selectors.group_get(viewer=request.user, slug=slug)
        if group is None:
            raise Http404
        return selectors.posts_for_group(viewer=request.user, group=group, as_rows=True, **page)


class PersonFeedView(_FeedView):
    """What someone wrote, as far as you may see it."""

    def feed(self, request, *, username: str, **page):
        profile = profile_selectors.profile_get(viewer=request.user, username=username)
        if profile is None:
            raise Http404
        return selectors.posts_for_profile(
            viewer=request.user, author=profile.user, as_rows=True, **page
        )


class HashtagFeedView(_FeedView):
    """Posts with a hashtag."""

    def feed(self, request, *, tag: str, **page):
        return selectors.posts_for_hashtag(viewer=request.user, tag=tag, as_rows=True, **page)


# --- posts -----------------------------------------------------------------------------------


class PostCreateView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "application/json": PostCreateSerializer,
            "multipart/form-data": PostCreateSerializer,
        },
        parameters=[IDEMPOTENCY_KEY, REPLAYED],
        responses={
            201: OpenApiResponse(
                PostSerializer,
                description="The post written (or, for a key sent before, the post written then).",
            ),
            **KEY_RESPONSES,
        },
        summary="Write a post",
    )
    def post(self, request):
        key = _idempotency_key(request)
        data = parse(PostCreateSerializer, request.data)
        once = IdempotentRequest.of(key, endpoint=IdempotencyKey.Endpoint.API_POST, values=data)
        group = None
        if data.get("group"):
            group = group_selectors.group_get(viewer=request.user, slug=data["group"])
            if group is None:
                raise Http404
        default_audience = Post.Audience.GROUP if group else Post.Audience.EVERYONE
        try:
            post = actions.create_post(
                author=request.user,
                body=data["body"],
                audience=data.get("audience") or default_audience,
                group=group,
                attachments=data.get("attachments", []),
                is_announcement=data["is_announcement"],
                once=once,
            )
        except Replay as replay:
            return _replayed_post(request, replay.post_id)
        location = absolute_url(request, reverse("api:post-detail", args=[post.pk]))
        post = selectors.post_as_written(post=post, viewer=request.user)
        data = PostSerializer(post, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


class PostDetailView(APIView):
    @extend_schema(responses=PostSerializer)
    def get(self, request, post_id: int):
        return _post_response(request, post_id)

    @extend_schema(request=PostEditSerializer, responses=PostSerializer, summary="Edit your post")
    def patch(self, request, post_id: int):
        data = parse(PostEditSerializer, request.data)
        post = _post_or_404(request, post_id)
        actions.edit_post(post=post, editor=request.user, body=data["body"])
        return _post_response(request, post_id)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, post_id: int):
        actions.delete_post(post=_post_or_404(request, post_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- comments --------------------------------------------------------------------------------


class PostCommentsView(APIView):
    @extend_schema(
        responses=CommentSerializer(many=True),
        summary="A post's comments, oldest first, with their replies",
    )
    def get(self, request, post_id: int):
        post = _post_or_404(request, post_id)
        comments = selectors.comments_for_post(viewer=request.user, post=post)
        return Response(CommentSerializer(comments, many=True, context={"request": request}).data)

    @extend_schema(
        request=CommentCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, REPLAYED],
        responses={
            201: OpenApiResponse(
                CommentSerializer,
                description="The comment written (or, for a key sent before, the comment "
                "written then, with its replies so far).",
            ),
            **KEY_RESPONSES,
        },
    )
    def post(self, request, post_id: int):
        key = _idempotency_key(request)
        data = parse(CommentCreateSerializer, request.data)
        post = _post_or_404(request, post_id)
        once = IdempotentRequest.of(
            key, endpoint=IdempotencyKey.Endpoint.API_COMMENT, values={**data, "post": post.pk}
        )
        parent = None
        if data.get("parent") is not None:
            parent = selectors.comment_get(viewer=request.user, comment_id=data["parent"])
            if parent is None:
                raise serializers.ValidationError({"parent": ["There is no such comment."]})
        try:
            comment = actions.add_comment(
                post=post, author=request.user, body=data["body"], parent=parent, once=once
            )
        except Replay as replay:
            return _replayed_comment(request, post, replay.comment_id)
        comment.thread_replies = []
        data = CommentSerializer(comment, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, comment_id: int):
        comment = selectors.comment_get(viewer=request.user, comment_id=comment_id)
        if comment is None:
            raise Http404
        actions.delete_comment(comment=comment, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- reactions -------------------------------------------------------------------------------


class PostReactionsView(APIView):
    def _reactions(self, request, post_id: int, *, status_code=status.HTTP_200_OK):
        post = _post_or_404(request, post_id)
        return Response(ReactionsSerializer(post).data, status=status_code)

    @extend_schema(
        request=ReactionInputSerializer,
        responses={
            201: OpenApiResponse(ReactionsSerializer, description="Your reaction was added."),
            200: OpenApiResponse(ReactionsSerializer, description="You had already reacted so."),
        },
    )
    def post(self, request, post_id: int):
        data = parse(ReactionInputSerializer, request.data)
        created = actions.react(
            post=_post_or_404(request, post_id), user=request.user, kind=data["kind"]
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return self._reactions(request, post_id, status_code=code)

    @extend_schema(
        request=ReactionInputSerializer,
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                enum=Reaction.Kind.values,
                required=False,
                description="The reaction to take back, if not named in the body.",
            )
        ],
        responses={200: ReactionsSerializer},
        summary="Take a reaction back",
    )
    def delete(self, request, post_id: int):
        if request.data:
            data = parse(ReactionInputSerializer, request.data)
        else:
            data = parse_query(ReactionQuerySerializer, request)
        actions.unreact(post=_post_or_404(request, post_id), user=request.user, kind=data["kind"])
        return self._reactions(request, post_id)
