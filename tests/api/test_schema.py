"""The OpenAPI document."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .test_url_coverage import api_operations

pytestmark = pytest.mark.django_db


@pytest.mark.api_endpoint("schema", "GET")
def test_schema_is_an_openapi_document_of_every_operation(api):
    response = api.get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Agora API"
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }
    # every operation but the schema itself (SERVE_INCLUDE_SCHEMA is off) is documented
    assert len(documented) == len(api_operations() - {("schema", "GET")})
    assert ("/api/posts/{post_id}/", "PATCH") in documented
    assert "tokenAuth" in document["components"]["securitySchemes"]


@pytest.mark.api_wrong_user("schema", "GET")
def test_schema_needs_a_signed_in_user(client_for):
    assert client_for().get(reverse("api:schema")).status_code == 401
