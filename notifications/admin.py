from django.contrib import admin

from .models import Digest, Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "key", "actor_count", "activity_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("recipient", "actor", "post", "comment", "group", "digest")
    search_fields = ("recipient__username", "key")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "delivery")
    list_filter = ("kind", "delivery")
    raw_id_fields = ("user",)


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ("user", "day", "item_count", "created", "sent_at")
    list_filter = ("day",)
    raw_id_fields = ("user",)
