"""Audiences: extraction, do-not-contact list, campaigns and their return."""
