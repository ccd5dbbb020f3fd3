"""Newsdesk: a chat assistant over a news archive that cites every claim."""

from __future__ import annotations

__version__ = "0.1.0"
