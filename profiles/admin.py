from django.contrib import admin

from .models import Agency, Department, ExpertiseTag, Follow, Profile


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ("name", "parent")


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "slug")
    search_fields = ("name", "short_name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "agency", "parent")
    list_filter = ("agency",)
    search_fields = ("name",)
    autocomplete_fields = ("parent",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "agency", "department", "job_title")
    list_filter = ("agency",)
    search_fields = ("display_name", "user__username", "job_title")
    raw_id_fields = ("user", "manager", "department")
    filter_horizontal = ("expertise",)


@admin.register(ExpertiseTag)
class ExpertiseTagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created")
    raw_id_fields = ("follower", "followee")
