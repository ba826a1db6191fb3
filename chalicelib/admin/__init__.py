"""Administration: API keys (create, list, revoke)."""
