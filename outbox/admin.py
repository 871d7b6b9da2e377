from django.contrib import admin

from .models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "object_id", "attempts", "available_at", "last_error")
    list_filter = ("topic",)
    readonly_fields = ("topic", "object_id", "payload", "created", "attempts", "last_error")
