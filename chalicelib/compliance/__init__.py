"""Compliance: PROFECO's REPEP list and LFPDPPP consent records (chalicelib/compliance)."""
