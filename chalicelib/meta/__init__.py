"""Meta: liveness and the API contract (OpenAPI document, docs page)."""
