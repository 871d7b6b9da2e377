from django.contrib import admin

from .models import Group, Invitation, JoinRequest, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(JoinRequest)
class JoinRequestAdmin(admin.ModelAdmin):
    list_display = ("group", "user", "status", "created")
    list_filter = ("status",)
    raw_id_fields = ("group", "user", "decided_by")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("group", "invitee", "inviter", "status", "created")
    list_filter = ("status",)
    raw_id_fields = ("group", "invitee", "inviter")
