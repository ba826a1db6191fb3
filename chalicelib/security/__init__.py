"""API security: scoped API keys, the authorizer, per-key rate limits, CORS."""
