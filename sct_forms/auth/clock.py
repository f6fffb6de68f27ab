"""The one clock that sign-in throttling and session lifetimes read (tests freeze it here)."""

from __future__ import annotations

from datetime import datetime

from sct_forms.models import utcnow


def now() -> datetime:
    """The current time, aware and in UTC."""
    return utcnow()
