"""A clock for tests to move by hand: sign-in throttling and session lifetimes read it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sct_forms.models import utcnow


class FrozenClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def freeze_clock(monkeypatch) -> FrozenClock:
    """Freeze ``sct_forms.auth.clock.now`` at the real time; move it with ``advance``."""
    frozen = FrozenClock(utcnow())
    monkeypatch.setattr("sct_forms.auth.clock.now", frozen)
    return frozen
