from django import forms
from django.contrib import admin, messages
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import actions
from .models import Attachment, Comment, Hashtag, Post, Reaction, Report


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


class ReportAdminForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ("status",)

    def clean_status(self):
        status = self.cleaned_data["status"]
        report = self.instance
        if (
            status == Report.Status.OPEN
            and Report.objects.filter(
                post_id=report.post_id, reporter_id=report.reporter_id, status=Report.Status.OPEN
            )
            .exclude(pk=report.pk)
            .exists()
        ):
            raise forms.ValidationError(
                _("This person has reported the post again since: that report is open.")
            )
        return status


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Moderators (the "Moderators" group: view and change reports, feeds/migrations/0002)
    list reports and resolve them: the status is the only thing they change; who resolved it
    and when are recorded. Reports are made by staff on the site, never here."""

    form = ReportAdminForm
    list_display = ("id", "post", "reason", "reporter", "created", "status", "resolved_by")
    list_filter = ("status", "reason")
    list_select_related = ("post", "reporter", "resolved_by")
    search_fields = ("details", "reporter__username", "post__body")
    date_hierarchy = "created"
    fields = (
        "post",
        "post_author",
        "post_text",
        "post_state",
        "reporter",
        "reason",
        "details",
        "created",
        "status",
        "resolved",
        "resolved_by",
    )
    readonly_fields = tuple(name for name in fields if name != "status")  # moderators set status
    actions = ["resolve"]

    @admin.display(description=_("author of the post"))
    def post_author(self, report: Report) -> str:
        return report.post.author.get_username()

    @admin.display(description=_("text of the post"))
    def post_text(self, report: Report) -> str:
        return Truncator(report.post.body).chars(2000)

    @admin.display(description=_("post deleted"), boolean=True)
    def post_state(self, report: Report) -> bool:
        return report.post.deleted is not None

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj: Report, form, change) -> None:
        # The status is the only field moderators change (feeds.actions records the rest).
        if "status" in form.changed_data:
            actions.set_report_status(report=obj, status=obj.status, moderator=request.user)

    @admin.action(description=_("Mark the selected reports as resolved"), permissions=["change"])
    def resolve(self, request, queryset) -> None:
        count = actions.resolve_reports(
            report_ids=queryset.values_list("pk", flat=True), moderator=request.user
        )
        message = ngettext("%(count)d report resolved.", "%(count)d reports resolved.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)
