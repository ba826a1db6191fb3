"""Contacts: one record per E.164 number; read by any written form."""
