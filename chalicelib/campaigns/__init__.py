"""Campaigns: audience snapshots, outcomes and ROI."""
