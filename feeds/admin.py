from django.contrib import admin

from .models import Attachment, Comment, Hashtag, Post, Reaction


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ("original_name", "kind", "content_type", "size")
    fields = readonly_fields


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Staff moderation: the body is read-only here; deleting is soft, through the action."""

    list_display = ("id", "author", "audience", "group", "is_announcement", "created", "deleted")
    list_filter = ("audience", "is_announcement", ("deleted", admin.EmptyFieldListFilter))
    search_fields = ("body", "author__username")
    raw_id_fields = ("author", "group", "agency", "deleted_by")
    readonly_fields = ("body_html", "created", "edited")
    inlines = [AttachmentInline]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "author", "created", "deleted")
    raw_id_fields = ("post", "parent", "author")
    search_fields = ("body",)


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ("post", "user", "kind", "created")
    raw_id_fields = ("post", "user")
