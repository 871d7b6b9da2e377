from django.contrib import admin

from .models import DirectoryIdentity


@admin.register(DirectoryIdentity)
class DirectoryIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "source", "external_id", "last_seen", "deactivated")
    list_filter = ("kind", "provider_id")
    search_fields = ("user__username", "user__email", "external_id", "dn")
    raw_id_fields = ("user",)
    readonly_fields = ("created", "last_seen")
