"""Audit-log ingestion: every export format responders have, normalised to sync and bind events."""
