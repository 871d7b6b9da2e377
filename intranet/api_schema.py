"""The OpenAPI schema documents Agora's API (/api/) only, not Wagtail's admin API (/cms/)."""


def only_agora_api(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: keep the endpoints under /api/."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
