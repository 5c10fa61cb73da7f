"""ostscan: find Outlook OST copies of a mailbox and tie them to audit-log Sync sessions."""

from __future__ import annotations

__version__ = "0.1.0"
TOOL_NAME = "ostscan"
