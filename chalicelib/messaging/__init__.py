"""Sending campaigns: the send pipeline, delivery feedback, short links."""
